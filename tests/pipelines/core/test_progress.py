"""Phases: one display for a command of several steps; a row per phase on a terminal, a line per phase off one."""

import io

from pipelines.core.progress import Phases, progress


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
