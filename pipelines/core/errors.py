"""The one error type user data raises, so the CLI can print it as a single line instead of a traceback."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class DomaintuneError(Exception):
    """An error the user can fix; the CLI prints its message and exits non-zero."""


@dataclass
class RecordError(DomaintuneError):
    """A bad record in an input file, located as precisely as the format allows."""

    path: str
    location: str  # "record 3" for JSON arrays, "line 17" for line-based files
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.location}: {self.field}: {self.reason}"


class InvalidRecord(Exception):
    """Raised for a problem in one record; the caller adds the file and position (-> RecordError)."""

    def __init__(self, field: str, reason: str):
        super().__init__(field, reason)
        self.field, self.reason = field, reason


class Interrupted(DomaintuneError):
    """We were sent a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) and passed it to a child, which then exited with
    `code` (None when unknown); the CLI exits 128 + signal, like a shell."""

    def __init__(self, signum: int, what: str, code: int | None = None):
        self.signum, self.code = signum, code
        super().__init__(f"{what}: stopped by {signal.Signals(signum).name}")


@contextmanager
def signals_raise(what: str, signums: tuple[int, ...] = (signal.SIGTERM,)) -> Iterator[None]:
    """Inside the block each of `signums` raises Interrupted(signum, what), as Ctrl-C raises KeyboardInterrupt, so
    the block's own cleanup runs instead of the default end; the handlers before are put back after. Signals are
    the main thread's: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Interrupted(signum, what)

    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)
