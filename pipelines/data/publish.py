"""Publishing a task's datasets as a unit: every file is written into a hidden staging folder first, then all of
them and their `dataset_info.json` entries switch in together under the dataset_info lock.

A failed or interrupted build (bad record, Ctrl-C, disk full) leaves the previous set byte-identical: before the
switch nothing visible has changed; during it SIGINT/SIGTERM wait, and any error puts the previous files back.
"""

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.data.dataset_info import info_lock, load_dataset_info, write_dataset_info


class Staging:
    """`.staging-<task>-*/` inside the dataset folder (same file system, so the final renames are atomic)."""

    def __init__(self, dataset_dir: Path, task: str):
        dataset_dir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f".staging-{task}-", dir=dataset_dir))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, file_name: str) -> Path:
        return self.dir / file_name


def write_records(path: Path, records: Iterable[dict]) -> set[str]:
    """Write a JSON array one record at a time (the same bytes as json.dumps(indent=2)); returns the keys used.

    Streaming keeps a million-sample split from ever being one string in memory.
    """
    keys: set[str] = set()
    index = -1
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("[")
        for index, record in enumerate(records):
            keys.update(record)
            text = json.dumps(record, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            try:
                f.write(("," if index else "") + "\n  " + text)
            except UnicodeEncodeError:
                raise DomaintuneError(f"{path.name}: record {index}: {_surrogate_field(record)}: lone surrogate (not valid Unicode); fix it in the input") from None
        f.write("\n]\n" if index >= 0 else "]\n")
    return keys


def _surrogate_field(record: dict) -> str:
    for key, value in record.items():
        text = json.dumps(value, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return key
    return "-"


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block is done, then deliver them, so a switch is never half-done.

    Python handlers, not a signal mask: the kernel may hand a signal to any thread (tokenizers, torch start some),
    while Python always runs its handlers in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def publish(dataset_dir: Path, staging: Staging, files: list[str], entries: dict[str, dict], stale: Iterable[str] = ()) -> None:
    """Move the staged `files` into `dataset_dir`, delete `stale` ones, and register `entries`: all or nothing."""
    backup = staging.path(".previous")
    backup.mkdir()
    switched: list[tuple[Path, Path | None]] = []  # (published path, hard link to its previous bytes)
    with info_lock(dataset_dir), signals_deferred():
        info = {**load_dataset_info(dataset_dir), **entries}
        try:
            for name in [*files, *stale]:
                target = dataset_dir / name
                saved = backup / name if target.exists() else None
                if saved:
                    os.link(target, saved)
                switched.append((target, saved))
                if name in files:
                    os.replace(staging.path(name), target)
                else:
                    target.unlink(missing_ok=True)
            write_dataset_info(info, dataset_dir)
        except BaseException:
            for target, saved in reversed(switched):
                if saved:
                    os.replace(saved, target)
                else:
                    target.unlink(missing_ok=True)
            raise
