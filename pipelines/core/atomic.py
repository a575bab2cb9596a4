"""Atomic file writes: a crash or a bad record never leaves a half-written output behind.

Files get the mode every other file the project writes gets (0666 less the umask, 0644 by default), not mkstemp's
0600. A full disk is a DomaintuneError naming the file and the space it needed, not an anonymous OSError.
"""

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import workspace

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def file_mode() -> int:
    """0666 less this process's umask: what open() gives a new file."""
    # os.umask can only be read by setting it; set it straight back (the CLI has one thread when it writes).
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} bytes"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}"


def disk_full(path: Path | str | None, needed: int | None) -> DomaintuneError:
    """The error for a write of `path` (None: unknown) that ran out of space: what it needed and what is free."""
    where = Path(path).parent if path else workspace()
    try:
        free = f"{_size(shutil.disk_usage(where).free)} free in {where}"
    except OSError:
        free = f"free space in {where} unknown"
    what = f"writing it needs {_size(needed)}, {free}" if needed is not None else free
    return DomaintuneError(f"{path or 'writing a file'}: no space left on device: {what}; free some space and run again")


def write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException as exc:  # Ctrl-C included: no temporary file is left behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise disk_full(path, len(data)) from None
        raise


def write_json(path: Path, data: Any) -> None:
    # sort_keys is left off on purpose: record field order is part of what users read in the files.
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
