"""Progress for people: bars for long loops over user data, and the lines that say what a command is doing.

Progress goes to stderr, so stdout keeps only results (tables, paths) and pipes well. On a terminal it is live;
off one (CI logs, `| tee`, notebooks) it is plain lines that read the same in a file. A command of one step at a time
says each with `step` (eval, compare, demo); a command made of many counted phases (`domaintune data`) shows them in
one `Phases` display, a row per phase on a terminal and a line per phase off one.
"""

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Self, TextIO, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "record") -> Iterator[T]:
    if _ACTIVE is not None and _ACTIVE.current is not None:  # part of a Phases display: one display, not two
        return _ACTIVE.current.track(items, detail=desc, unit=unit)
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
class Step:
    title: str
    detail: str = ""  # what the phase counted, said when it ends ("15 rows scored")
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None

    @property
    def seconds(self) -> float:
        return (self.ended or time.perf_counter()) - self.started


@contextmanager
def step(title: str, console: Console | None = None) -> Iterator[Step]:
    """One step of a command: `title: detail (time)` when it ends (set `detail` inside); on a terminal also
    `title …` when it starts, so a long step is not silent. A step that fails says nothing: its error does."""
    out = console or status_console()
    current = Step(title)
    if out.is_terminal:
        out.print(Text(f"{title} …"), soft_wrap=True)
    yield current
    current.ended = time.perf_counter()
    done = Text("✓ ", style="green") if out.is_terminal else Text()
    out.print(done.append(f"{title}: {current.detail + ' ' if current.detail else ''}({duration(current.seconds)})"), soft_wrap=True)


class Phase:
    """One phase of a Phases display: counts what it has done, shows it on a terminal, says it in a line off one."""

    REFRESH_EVERY = 1024  # items counted between updates of the display: a million records must not mean a million redraws

    def __init__(self, phases: "Phases", name: str, unit: str):
        self.phases, self.name, self.unit = phases, name, unit
        self.count, self.detail, self.started = 0, "", time.perf_counter()
        self.task = phases.live.add_task(name, total=None, unit=unit, detail="") if phases.live else None

    def update(self, n: int = 1) -> None:
        self.count += n
        if self.task is not None:
            self.phases.live.update(self.task, completed=self.count, detail=self.detail)

    def track(self, items: Iterable[T], detail: str = "", unit: str | None = None) -> Iterator[T]:
        self.detail, self.unit = detail, unit or self.unit
        if self.task is not None:
            self.phases.live.update(self.task, unit=self.unit)
        pending = 0
        for item in items:
            yield item
            pending += 1
            if pending == self.REFRESH_EVERY:
                self.update(pending)
                pending = 0
        self.update(pending)

    def close(self, stopped: bool = False) -> None:
        seconds = time.perf_counter() - self.started
        if self.task is not None:
            self.phases.live.update(self.task, total=self.count, completed=self.count, detail="")
            self.phases.live.stop_task(self.task)
        elif not (self.phases.quiet or stopped):  # off a terminal the error that stopped a phase is its one line
            rate = f" ({self.count / seconds:,.0f}/s)" if seconds > 0 and self.count else ""
            self.phases.echo(f"{self.phases.title}: {self.name}: {self.count:,} {self.unit}{'s' * (self.count != 1)} in {duration(seconds)}{rate}")


class Phases:
    """One progress display for a command made of phases (read, dedup, split, ...): on a terminal a row per phase
    with its count, rate and time, rows kept as the phases finish; off a terminal (logs, pipes, CI) one line per
    phase when it ends; nothing at all when `quiet`. While it is open, `progress()` counts into the current phase
    instead of drawing a bar of its own."""

    def __init__(self, title: str, stream: TextIO | None = None, quiet: bool = False):
        self.title, self.stream, self.quiet = title, stream or sys.stderr, quiet
        self.live = None
        if self.stream.isatty() and not quiet:
            self.live = Progress(
                TextColumn("{task.description:>9}"),
                BarColumn(),
                TextColumn("{task.completed:>12,.0f} {task.fields[unit]}s"),
                _Rate(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[detail]}"),
                console=Console(file=self.stream),
            )
        self.current: Phase | None = None

    def __enter__(self) -> Self:
        global _ACTIVE
        self.previous, _ACTIVE = _ACTIVE, self
        if self.live:
            self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        _ACTIVE = self.previous
        if self.live:
            self.live.stop()

    @contextmanager
    def phase(self, name: str, unit: str = "record") -> Iterator[Phase]:
        self.current = Phase(self, name, unit)
        try:
            yield self.current
        except BaseException:
            self.current.close(stopped=True)
            raise
        else:
            self.current.close()
        finally:
            self.current = None

    def echo(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class _Rate(ProgressColumn):
    """Items per second: while the phase runs, and its average once it has finished."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed or (task.completed / task.elapsed if task.elapsed else None)
        return Text(f"{speed:>10,.0f}/s" if speed else " " * 12)


_ACTIVE: Phases | None = None
