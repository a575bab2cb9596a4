"""What a `llamafactory-cli` child is doing, read from what LLaMA-Factory writes, not from guesses.

LLaMA-Factory's LogCallback appends one JSON line to `<output_dir>/trainer_log.jsonl` per logged training step
(current_steps, total_steps, epoch, loss, lr, elapsed_time, remaining_time; eval_loss after an evaluation;
throughput in tokens/s when the run counts tokens; peak device memory in GB with RECORD_VRAM) and, when
predicting, every 5 batches. On a terminal that becomes one live line (rich) with the child's latest output
under it; off a terminal, one line per record. The child's whole output still goes to its log file.
"""

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from pipelines.core.paths import relative
from pipelines.core.progress import duration, status_console
from pipelines.planning.eta import parse_elapsed

POLL_S = 0.5


class JsonlFollower:
    """The complete lines appended to a JSONL file another process writes. What was there before we started is
    skipped; a file replaced or truncated (LLaMA-Factory deletes an old log with overwrite_output_dir) is read anew."""

    def __init__(self, path: Path):
        self.path = Path(path)
        stat = self._stat()
        self.inode, self.offset = (stat.st_ino, stat.st_size) if stat else (None, 0)

    def _stat(self) -> os.stat_result | None:
        try:
            return self.path.stat()
        except OSError:
            return None

    def records(self) -> list[dict]:
        stat = self._stat()
        if stat is None:
            return []
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            self.inode, self.offset = stat.st_ino, 0
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self.offset += len(complete)
        out = []
        for line in complete.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out


def seconds_of(clock: str | None) -> int | None:
    """LLaMA-Factory's elapsed/remaining times (`str(timedelta)`: `0:01:23`, `1 day, 2:03:04`) in seconds."""
    if not clock:
        return None
    try:
        return int(parse_elapsed(clock))
    except ValueError:
        return None


@dataclass
class StepState:
    """The latest of each figure the records gave; `per_step` (count, unit) turns steps/s into samples/s."""

    per_step: tuple[int, str] | None = None
    step: int = 0
    total: int | None = None
    epoch: float | None = None
    loss: float | None = None
    lr: float | None = None
    tokens_per_s: float | None = None
    remaining: str | None = None
    gpu_gb: tuple[float, float] | None = None  # peak allocated, peak reserved
    val_loss: tuple[float, float | None] | None = None  # value, epoch
    first: tuple[int, int] | None = None  # (step, elapsed s) of the first timed record, the origin of the speed
    steps_per_s: float | None = None

    def update(self, record: dict) -> None:
        self.step = record.get("current_steps", self.step)
        self.total = record.get("total_steps") or self.total
        self.epoch = record.get("epoch", self.epoch)
        self.remaining = record.get("remaining_time", self.remaining)
        if "eval_loss" in record:
            self.val_loss = (record["eval_loss"], record.get("epoch"))
        if "loss" in record:
            self.loss, self.lr = record["loss"], record.get("lr", self.lr)
        self.tokens_per_s = record.get("throughput", self.tokens_per_s)
        if record.get("vram_allocated", 0) > 0:
            self.gpu_gb = (record["vram_allocated"], record.get("vram_reserved", 0))
        if "eval_loss" not in record:  # an evaluation's record repeats the step with more time: no speed of its own
            self._speed(seconds_of(record.get("elapsed_time")))

    def _speed(self, elapsed: int | None) -> None:
        # Measured from the first record on (not from step 0), so a resumed run's earlier steps do not count.
        if elapsed is None:
            return
        if self.first is None:  # until a second record comes, the first one's own average
            self.first = (self.step, elapsed)
            steps, seconds = self.step, elapsed
        else:
            steps, seconds = self.step - self.first[0], elapsed - self.first[1]
        if steps > 0 and seconds > 0:
            self.steps_per_s = steps / seconds

    def figures(self, val_loss: bool = True) -> list[str]:
        """`epoch 1.25`, `loss 4.1234`, `lr 9.98e-03`, the speed, `ETA 0:01:05`, GPU memory, `val loss …`."""
        out = []
        if self.epoch is not None:
            out.append(f"epoch {self.epoch:.2f}")
        if self.loss is not None:
            out.append(f"loss {self.loss:.4f}")
        if self.lr is not None:
            out.append(f"lr {self.lr:.2e}")
        if self.tokens_per_s:
            out.append(f"{self.tokens_per_s:,.0f} tok/s")
        elif self.steps_per_s:
            count, unit = self.per_step or (1, "steps")
            out.append(f"{self.steps_per_s * count:.2f} {unit}/s")
        if self.remaining and self.step != self.total:
            out.append(f"ETA {self.remaining}")
        if self.gpu_gb:
            out.append(f"GPU peak {self.gpu_gb[0]:.1f} GB ({self.gpu_gb[1]:.1f} reserved)")
        if self.val_loss and val_loss:
            out.append(self.val_loss_text())
        return out

    def val_loss_text(self) -> str:
        value, epoch = self.val_loss
        return f"val loss {value:.4f}" + (f" (epoch {epoch:.2f})" if epoch is not None else "")

    def record_line(self, record: dict, previous_step: int) -> list[str] | None:
        """Off a terminal, what one record adds: a step's figures, or a validation loss; None for a record that
        repeats the last step (LLaMA-Factory logs the end of training once more)."""
        if "eval_loss" in record:
            return [self.counted(), self.val_loss_text()]
        if "loss" in record or self.step != previous_step:
            return [self.counted(), *self.figures(val_loss=False)]
        return None

    def counted(self) -> str:
        return f"step {self.step}/{self.total}" if self.total else ""


class LiveProgress(Progress):
    """rich's Progress bar, with the latest figures under it and the child's latest output line under those
    (what it is loading, tokenizing, ...). Transient: once the child ends, `Watch` prints one summary line."""

    def __init__(self, watch: "Watch", console):
        self.watch = watch  # before Progress's own init, which may already render
        super().__init__(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            # Lines others print to stderr meanwhile (`train`'s measured ETA) go above the bar; stdout keeps results.
            console=console, transient=True, redirect_stdout=False,
        )

    def get_renderables(self):
        yield from super().get_renderables()
        for text, style in (("  ".join(self.watch.state.figures()), ""), (self.watch.latest, "dim")):
            if text:
                yield Text("  " + text, style=style, no_wrap=True, overflow="ellipsis")


class Watch:
    """Progress of one child run, as a context manager around it; `line` is handed each line of its output."""

    def __init__(self, title: str, trainer_log: Path | None, log_path: Path, per_step: tuple[int, str] | None = None, console=None):
        self.title, self.log_path = title, log_path
        self.follower = JsonlFollower(trainer_log) if trainer_log else None
        self.state = StepState(per_step)
        self.latest = ""
        self.console = console or status_console()
        self.live = LiveProgress(self, self.console) if self.console.is_terminal else None
        self.code: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._started = time.perf_counter()

    def __enter__(self) -> Self:
        self.console.print(Text(f"{self.title}: started, full log in {relative(self.log_path)}"), soft_wrap=True)
        if self.live:
            self.task = self.live.add_task(self.title, total=None)
            self.live.start()
        self._thread.start()
        return self

    def line(self, text: str) -> None:
        self.latest = text.strip() or self.latest

    def finished(self, code: int) -> None:
        self.code = code

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._show(self.follower.records() if self.follower else [])
        self.latest = ""
        try:
            if self.live:
                self.live.stop()
            if self.code is not None:
                self.console.print(Text(self.summary()), soft_wrap=True)
        except OSError:  # the terminal went away (SIGHUP); the log has everything
            pass

    def summary(self) -> str:
        how = "done" if self.code == 0 else f"failed (exit code {self.code})"
        figures = ", ".join([s for s in (self.state.counted(), *self.state.figures()) if not s.startswith("ETA")])
        return f"{self.title}: {how} in {duration(time.perf_counter() - self._started)}" + (f" — {figures}" if figures else "")

    def _poll(self) -> None:
        while not self._stop.wait(POLL_S):
            if self.follower:
                self._show(self.follower.records())

    def _show(self, records: list[dict]) -> None:
        for record in records:
            previous_step = self.state.step
            self.state.update(record)
            try:
                if self.live:
                    self.live.update(self.task, completed=self.state.step, total=self.state.total)
                elif (parts := self.state.record_line(record, previous_step)) is not None:
                    self.console.print(Text(f"{self.title}: " + "  ".join(parts)), soft_wrap=True)
            except OSError:  # the terminal went away (SIGHUP); the log has everything
                return
