"""`domaintune download` and every command's missing model: a hub's files into models/<owner>/<name>, whole or absent.

The files go to `models/<owner>/.<name>.partial` first and are renamed into place only when every listed file is
there and checked, so a folder named like a model is always a whole one. Only one process downloads a model at a
time (a file lock beside it); under that lock any partial folder of the model is left by a process that is gone:

- a failed download (the network dropped, the hub erred) or Ctrl-C keeps its partial folder, and the next download
  of the model resumes it (complete files are kept; pipelines/core/hubs.py says what each client does with the rest);
- SIGTERM (a service manager, `kill`) removes it: the download was stopped, not interrupted;
- SIGKILL cannot be caught: its partial folder is resumed by the next download like a failed one, and the
  `.<name>.partial-*` folders of earlier versions, which cannot be resumed, are removed.

`.download.json` inside the model records the hub, revision and the files' checksums: the run trained on it says which.
"""

import json
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path, PurePosixPath

from filelock import FileLock, Timeout

from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError, Interrupted, signals_raise
from pipelines.core.hubs import DEFAULT_HUB, Listing, get_hub
from pipelines.core.paths import models_dir, relative

RECORD_FILE = ".download.json"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def check_model_id(model_id: str) -> str:
    """A hub id `owner/name` that is safe to join under models/: two plain names, neither `.`-led nor `..`."""
    problem = None
    if PurePosixPath(model_id).is_absolute() or model_id.startswith("\\"):
        problem = "is an absolute path"
    elif ".." in model_id.replace("\\", "/").split("/"):
        problem = "contains `..`"
    elif model_id.count("/") != 1:
        problem = "is not owner/name"
    elif not all(part and part[0] not in "._-" and set(part) <= _NAME_CHARS for part in model_id.split("/")):
        problem = "has a part that is empty, starts with . _ or -, or holds characters other than letters, digits and . _ -"
    if problem:
        raise DomaintuneError(f"model id {model_id!r} {problem}: a hub id is owner/name, e.g. Qwen/Qwen2.5-1.5B-Instruct")
    return model_id


def local_copy(model_id: str) -> Path:
    return models_dir() / model_id


def is_complete(folder: Path) -> bool:
    """A downloaded model (its record) or one copied in by hand (a config.json; an empty folder is not a model)."""
    return (folder / RECORD_FILE).is_file() or (folder / "config.json").is_file()


def read_record(folder: Path) -> dict:
    try:
        record = json.loads((Path(folder) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def partial_of(target: Path) -> Path:
    return target.parent / f".{target.name}.partial"


def download(model_id: str, hub: str = DEFAULT_HUB, on_listing: Callable[[Listing], None] = lambda listing: None) -> Path:
    """Fetch the model's files from the hub into models/<id>; a complete copy already there is replaced at the end.

    `on_listing` hears what will be fetched (sizes, revision) once the hub has answered and before any byte flows.
    """
    target = local_copy(check_model_id(model_id))
    chosen = get_hub(hub)
    listing = chosen.listing(model_id)  # first, so a hub that cannot be reached leaves nothing behind
    on_listing(listing)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target):
        _remove_stale(target)
        partial = partial_of(target)
        partial.mkdir(exist_ok=True)
        with _partial_kept_or_removed(partial, f"download of {model_id}"):
            chosen.fetch(listing, partial)
            _prune(partial, listing)
            write_json(partial / RECORD_FILE, record_of(listing))
        _swap(partial, target)
    return target


def record_of(listing: Listing) -> dict:
    return {
        "hub": listing.hub,
        "model_id": listing.model_id,
        "revision": listing.revision,
        "commit": listing.commit,
        "files_sha256": listing.files_digest(),
        "files": {f.path: f.sha256 or f.git_sha1 for f in listing.files},
        "downloaded": datetime.now().isoformat(timespec="seconds"),
    }


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    lock = FileLock(str(target.parent / f".{target.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise DomaintuneError(f"{relative(target)} is being downloaded by another process; wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()


def _remove_stale(target: Path) -> None:
    """Leftovers no process of ours can resume: earlier versions' `.<name>.partial-*` folders, a replaced copy."""
    for stale in [*target.parent.glob(f".{target.name}.partial-*"), target.parent / f".{target.name}.old"]:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _partial_kept_or_removed(partial: Path, what: str) -> Iterator[None]:
    """SIGTERM removes the partial folder and stops with 143; a failure or Ctrl-C keeps it for the next download."""
    try:
        with signals_raise(what):
            yield
    except Interrupted as exc:
        if exc.signum == signal.SIGTERM:
            shutil.rmtree(partial, ignore_errors=True)
        raise
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT, f"{what} ({_kept(partial)}; the same command resumes it)") from None
    except DomaintuneError as exc:
        raise DomaintuneError(f"{exc}; {_kept(partial)}, which the same command resumes") from None


def _kept(partial: Path) -> str:
    size = sum(p.stat().st_size for p in partial.rglob("*") if p.is_file())
    return f"{size / 2**20:,.1f} MiB kept in {relative(partial)}"


def _prune(partial: Path, listing: Listing) -> None:
    """Only the listed files go into the model: a resumed folder may hold files of an older revision."""
    listed = {f.path for f in listing.files}
    for path in sorted(partial.rglob("*"), reverse=True):
        name = path.relative_to(partial).as_posix()
        if path.is_file() and name not in listed:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _swap(partial: Path, target: Path) -> None:
    """Rename the whole download into place; a previous copy is moved aside first and removed after."""
    old = target.parent / f".{target.name}.old"
    if target.exists():
        target.rename(old)
    partial.rename(target)
    shutil.rmtree(old, ignore_errors=True)
