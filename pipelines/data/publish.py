"""Publishing a task's datasets as a unit: every file is written into a hidden staging folder first, then all of
them and their `dataset_info.json` entries switch in together under the dataset_info lock.

A failed or interrupted build (bad record, Ctrl-C, disk full) leaves the previous set byte-identical: before the
switch nothing visible has changed; during it SIGINT/SIGTERM wait, and any error puts the previous files back.
A SIGKILL or power loss mid-switch cannot be waited for: the switch first hard-links every file it will replace
into the staging folder and writes a journal of them, so the next command that builds or reads the datasets
(recover_interrupted: data, preview, train, predict, eval, webui) puts the previous set back; it also removes the
staging folders of builds that were killed before their switch.
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

from pipelines.core.atomic import DISK_FULL, disk_full, write_json
from pipelines.core.errors import DomaintuneError
from pipelines.data.dataset_info import (
    INFO_FILE,
    info_lock,
    load_dataset_info,
    write_dataset_info,
)

STAGING_PREFIX = ".staging-"
BACKUP = ".previous"  # in the staging folder: hard links to the files a switch replaces
JOURNAL = "switching.json"  # in the staging folder while a switch is under way: {"replaced": [...], "new": [...]}


class Staging:
    """`.staging-<task>-<pid>-*/` inside the dataset folder (same file system, so the final renames are atomic); the
    pid tells a later build whether the folder's owner is still running."""

    def __init__(self, dataset_dir: Path, task: str):
        dataset_dir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{task}-{os.getpid()}-", dir=dataset_dir))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, file_name: str) -> Path:
        return self.dir / file_name


def write_records(path: Path, records: Iterable[dict]) -> set[str]:
    """Write a JSON array one record at a time (the same bytes as json.dumps(indent=2)); returns the keys used.

    Streaming keeps a million-sample split from ever being one string in memory. On a full disk the records not
    yet written are still serialized, only to say how large the file would have been.
    """
    keys: set[str] = set()
    chunks = _array_chunks(path, records, keys)
    size = 0  # of the chunks handed to write, the failing one included
    try:
        with open(path, "wb") as f:
            for chunk in chunks:
                size += len(chunk)
                f.write(chunk)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            needed = size + sum(map(len, chunks))
            Path(path).unlink(missing_ok=True)  # so the free space said is what a retry would have
            raise disk_full(path, needed) from None
        raise
    return keys


def _array_chunks(path: Path, records: Iterable[dict], keys: set[str]) -> Iterator[bytes]:
    """The UTF-8 bytes of the JSON array, record by record, noting each record's keys in `keys`."""
    index = -1
    yield b"["
    for index, record in enumerate(records):
        keys.update(record)
        text = json.dumps(record, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        try:
            yield (("," if index else "") + "\n  " + text).encode("utf-8")
        except UnicodeEncodeError:
            raise DomaintuneError(f"{path.name}: record {index + 1}: {_surrogate_field(record)}: lone surrogate (not valid Unicode); fix it in the input") from None
    yield b"\n]\n" if index >= 0 else b"]\n"


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
    backup = staging.path(BACKUP)
    backup.mkdir()
    with info_lock(dataset_dir), signals_deferred():
        info = {**load_dataset_info(dataset_dir), **entries}
        names = [*files, *stale, INFO_FILE]
        # Links first, then the journal, then the first visible change: a kill at any point can be undone.
        replaced = [name for name in names if (dataset_dir / name).exists()]
        for name in replaced:
            os.link(dataset_dir / name, backup / name)
        write_json(staging.path(JOURNAL), {"replaced": replaced, "new": [n for n in names if n not in replaced]})
        try:
            for name in files:
                os.replace(staging.path(name), dataset_dir / name)
            for name in stale:
                (dataset_dir / name).unlink(missing_ok=True)
            write_dataset_info(info, dataset_dir)
        except BaseException:
            _roll_back(dataset_dir, staging.dir)
            raise
        staging.path(JOURNAL).unlink()


def recover_interrupted(dataset_dir: Path) -> list[str]:
    """Undo the switch of a build that was killed mid-way, and remove the staging folders of builds that are gone
    and the temporary file of a dataset_info.json write that was killed.

    Under the dataset_info lock, which every switch and every dataset_info.json write holds and the kernel releases
    when its process dies: no live process is then mid-switch or mid-write, so a journal or a temporary file found
    is a dead one's. Every command that reads the datasets calls this first (a reader waits for a live switch to
    end). Returns a line per switch undone.
    """
    if not dataset_dir.is_dir() or not (_staging_folders(dataset_dir) or _info_temp_files(dataset_dir)):
        return []  # the common case, without creating the lock file in a folder that has none
    undone = []
    with info_lock(dataset_dir):
        for folder in _staging_folders(dataset_dir):  # again: what was there before the lock may be gone
            task, pid = _owner(folder)
            if (folder / JOURNAL).exists():
                undone.append(f"undid the {task} build killed while publishing: put back {', '.join(_roll_back(dataset_dir, folder))}")
            elif pid is not None and _alive(pid):
                continue  # a build still staging its files
            shutil.rmtree(folder, ignore_errors=True)
        for temp in _info_temp_files(dataset_dir):
            temp.unlink(missing_ok=True)
    return undone


def _staging_folders(dataset_dir: Path) -> list[Path]:
    return sorted(dataset_dir.glob(f"{STAGING_PREFIX}*"))


def _info_temp_files(dataset_dir: Path) -> list[Path]:
    """What pipelines/core/atomic.py leaves of a dataset_info.json write killed before its rename."""
    return sorted(dataset_dir.glob(f".{INFO_FILE}.*.tmp"))


def _roll_back(dataset_dir: Path, staging_dir: Path) -> list[str]:
    """Every file of the journal as it was before the switch: the saved link back, or gone if it is new.
    Returns the files put back."""
    journal = json.loads((staging_dir / JOURNAL).read_text(encoding="utf-8"))
    for name in journal["replaced"]:
        saved = staging_dir / BACKUP / name
        if saved.exists():  # absent only when this roll-back already put it back
            os.replace(saved, dataset_dir / name)
    for name in journal["new"]:
        (dataset_dir / name).unlink(missing_ok=True)
    (staging_dir / JOURNAL).unlink()
    return journal["replaced"]


def _owner(folder: Path) -> tuple[str, int | None]:
    """The task and pid of `.staging-<task>-<pid>-<random>`; no pid in a name written before it carried one."""
    parts = folder.name.removeprefix(STAGING_PREFIX).rsplit("-", 2)
    return (parts[0], int(parts[1])) if len(parts) == 3 and parts[1].isdigit() else (parts[0], None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
