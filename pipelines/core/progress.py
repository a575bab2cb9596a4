"""Progress for long loops over user data: bars on a terminal, silent in logs and pipes; and one display of
phases for a command made of several steps (`Phases`: `domaintune data`), a line per phase off a terminal."""

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text
from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "record") -> Iterator[T]:
    if _ACTIVE is not None and _ACTIVE.current is not None:  # part of a Phases display: one display, not two
        return _ACTIVE.current.track(items, detail=desc, unit=unit)
    # disable=None turns the bar off when stderr is not a TTY, so CI logs and benchmarks pay nothing for it.
    return tqdm(items, desc=desc, unit=unit, unit_scale=True, disable=None, mininterval=0.5, leave=False)


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
            self.phases.echo(f"{self.phases.title}: {self.name}: {self.count:,} {self.unit}{'s' * (self.count != 1)} in {seconds:.1f} s{rate}")


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

    def __enter__(self) -> "Phases":
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
