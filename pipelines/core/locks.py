"""File locks that say whom they wait for: a command blocked by another one prints who holds the lock, then waits.

The holder is found the way `lslocks` finds it, in /proc/locks (Linux); elsewhere the message says "another
process". Nothing extra is written, so a holder killed with SIGKILL leaves nothing stale: the kernel drops its lock.
"""

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

PROC_LOCKS = Path("/proc/locks")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def waiting_lock(path: Path, what: str, say: Callable[[str], None] = _stderr) -> Iterator[None]:
    """Hold the lock file `path` for the block; when another process holds it, `say` who, then wait for it."""
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(f"Waiting for {what}: {holder(path)} holds {path} (Ctrl-C to stop waiting)")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def holder(path: Path) -> str:
    """'process 123 (domaintune data --task telecom)', or 'another process' when that cannot be told."""
    pid = _holder_pid(path)
    if pid is None:
        return "another process"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    return f"process {pid} ({_short(command)})" if command else f"process {pid}"


def _holder_pid(path: Path) -> int | None:
    try:
        st = os.stat(path)
        table = PROC_LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # "1: FLOCK  ADVISORY  WRITE 18849 fe:00:2146836 0 EOF": pid, then device major:minor:inode in hex, hex, decimal.
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for fields in map(str.split, table.splitlines()):
        if len(fields) > 5 and fields[5] == device and fields[4].isdigit() and int(fields[4]) != os.getpid():
            return int(fields[4])
    return None


def _short(command: str, limit: int = 120) -> str:
    """The command as the user typed it: a Python entry point's interpreter and script path left out."""
    words = command.split()
    if len(words) > 1 and Path(words[0]).name.startswith("python"):
        words = words[1:]
    if words:
        words[0] = Path(words[0]).name
    text = " ".join(words)
    return text if len(text) <= limit else text[: limit - 1] + "…"
