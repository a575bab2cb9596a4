"""Progress for people: bars for long loops over user data, and the lines that say what a command is doing.

Progress goes to stderr, so stdout keeps only results (tables, paths) and pipes well. On a terminal it is live;
off one (CI logs, `| tee`, notebooks) it is plain lines that read the same in a file.
"""

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from rich.console import Console
from rich.text import Text
from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "record") -> Iterator[T]:
    # disable=None turns the bar off when stderr is not a TTY, so CI logs and benchmarks pay nothing for it.
    return tqdm(items, desc=desc, unit=unit, unit_scale=True, disable=None, mininterval=0.5, leave=False)


def status_console() -> Console:
    """Where progress and phase lines go: stderr, live when it is a terminal."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def duration(seconds: float) -> str:
    """`4.2 s` under a minute, `3 min 05 s` above: what a person reads at a glance."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"


@dataclass
class Phase:
    title: str
    detail: str = ""  # what the phase counted, said when it ends ("15 rows scored")
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None

    @property
    def seconds(self) -> float:
        return (self.ended or time.perf_counter()) - self.started


@contextmanager
def phase(title: str, console: Console | None = None) -> Iterator[Phase]:
    """One step of a command: `title: detail (time)` when it ends (set `detail` inside); on a terminal also
    `title …` when it starts, so a long step is not silent. A step that fails says nothing: its error does."""
    out = console or status_console()
    step = Phase(title)
    if out.is_terminal:
        out.print(Text(f"{title} …"), soft_wrap=True)
    yield step
    step.ended = time.perf_counter()
    done = Text("✓ ", style="green") if out.is_terminal else Text()
    out.print(done.append(f"{title}: {step.detail + ' ' if step.detail else ''}({duration(step.seconds)})"), soft_wrap=True)
