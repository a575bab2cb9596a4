"""A command's phases: off a terminal one line when a phase ends, with what it counted and how long it took."""

import io

import pytest
from rich.console import Console

from pipelines.core.progress import duration, phase


def test_off_a_terminal_a_phase_is_one_line_when_it_ends():
    out = Console(file=io.StringIO(), width=20)
    with phase("eval: scoring runs/a/predict/adapter/generated_predictions.jsonl", out) as step:
        assert out.file.getvalue() == ""
        step.detail = "adapter 15, base 15 predictions scored"
    line = out.file.getvalue()
    # Whole however narrow the console: a line a log keeps, never wrapped or cut.
    assert line.startswith("eval: scoring runs/a/predict/adapter/generated_predictions.jsonl: adapter 15, base 15 predictions scored (")
    assert line.endswith(" s)\n") and line.count("\n") == 1


def test_on_a_terminal_a_phase_also_says_when_it_starts_and_a_failed_one_ends_silently():
    out = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    with pytest.raises(ValueError), phase("[1/4] data", out):
        raise ValueError("bad record")
    assert out.file.getvalue() == "[1/4] data …\n"  # the error says what went wrong, not a "done" line


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (0.04, 4.25, 59.9, 60, 125.4, 3725)] == ["0.0 s", "4.2 s", "59.9 s", "1 min 00 s", "2 min 05 s", "62 min 05 s"]
