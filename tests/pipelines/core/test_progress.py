"""Progress lines: a command's steps (one line when a step ends, with what it counted and how long it took), and the
Phases display of a command of many counted phases (a row per phase on a terminal, a line per phase off one)."""

import io

import pytest
from rich.console import Console

from pipelines.core.progress import Phases, duration, progress, step


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_phases(stream, quiet=False):
    with Phases("demo", stream, quiet=quiet) as phases:
        with phases.phase("read"):
            for _ in progress(range(2500), desc="a.json"):  # a converter's own bar counts into the phase
                pass
        with phases.phase("write", unit="file") as phase:
            phase.update(3)


def test_off_a_terminal_each_phase_is_one_line_with_count_and_rate():
    out = io.StringIO()
    run_phases(out)
    lines = out.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == ["demo: read: 2,500 records", "demo: write: 3 files"]
    assert all(line.endswith("/s)") for line in lines)


def test_on_a_terminal_every_phase_stays_in_one_display():
    out = Terminal()
    run_phases(out)
    text = out.getvalue()
    assert "read" in text and "2,500 records" in text and "write" in text and "3 files" in text
    assert "demo: read:" not in text  # the rows, not the log lines


def test_quiet_shows_nothing_and_a_stopped_phase_leaves_its_line_to_the_error():
    out = io.StringIO()
    run_phases(out, quiet=True)
    assert out.getvalue() == ""
    try:
        with Phases("demo", out) as phases, phases.phase("read"):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert out.getvalue() == ""  # the command's one-line error (or "Stopped: Ctrl-C") says what happened


def test_off_a_terminal_a_step_is_one_line_when_it_ends():
    out = Console(file=io.StringIO(), width=20)
    with step("eval: scoring runs/a/predict/adapter/generated_predictions.jsonl", out) as done:
        assert out.file.getvalue() == ""
        done.detail = "adapter 15, base 15 predictions scored"
    line = out.file.getvalue()
    # Whole however narrow the console: a line a log keeps, never wrapped or cut.
    assert line.startswith("eval: scoring runs/a/predict/adapter/generated_predictions.jsonl: adapter 15, base 15 predictions scored (")
    assert line.endswith(" s)\n") and line.count("\n") == 1


def test_on_a_terminal_a_step_also_says_when_it_starts_and_a_failed_one_ends_silently():
    out = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    with pytest.raises(ValueError), step("[1/4] data", out):
        raise ValueError("bad record")
    assert out.file.getvalue() == "[1/4] data …\n"  # the error says what went wrong, not a "done" line


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (0.04, 4.25, 59.9, 60, 125.4, 3725)] == ["0.0 s", "4.2 s", "59.9 s", "1 min 00 s", "2 min 05 s", "62 min 05 s"]
