"""The one error type user data raises, so the CLI can print it as a single line instead of a traceback."""

import signal
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
