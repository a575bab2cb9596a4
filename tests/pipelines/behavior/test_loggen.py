from collections import Counter

import pytest
from click.testing import CliRunner

from pipelines.behavior.events import EVENTS, parse_line, render, validate_event
from pipelines.behavior.loggen import (
    PERSONAS,
    SAMPLE_DIR,
    SAMPLE_SET,
    format_events,
    generate_events,
    write_events,
    write_sample_set,
)
from pipelines.cli.behavior import gen_logs
from pipelines.converters.behavior_log import (
    LoggedEvent,
    convert,
    read_events,
    sessions,
)
from pipelines.core.errors import DomaintuneError


def test_same_seed_same_events_other_seed_other_events():
    assert generate_events(days=2, seed=3) == generate_events(days=2, seed=3)
    assert generate_events(days=2, seed=3) != generate_events(days=2, seed=4)


def test_a_longer_log_starts_with_the_shorter_one():
    one_day = generate_events(days=1, seed=5)
    assert one_day == [e for e in generate_events(days=2, seed=5) if e["ts"] < "2025-05-27"]
    assert generate_events(n_events=700, seed=5) == generate_events(n_events=1500, seed=5)[:700]


def test_event_count_is_exact_and_time_ordered():
    events = generate_events(n_events=1234, seed=0)
    assert len(events) == 1234
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)


def test_every_generated_event_is_valid_and_renders_back():
    events = generate_events(days=2, seed=7)
    for event in events:
        validate_event(event)
        parsed = parse_line(render(event))
        assert parsed is not None and parsed.event == event["event"]
    assert set(Counter(e["event"] for e in events)) == set(EVENTS)  # every action occurs
    assert {e["user"] for e in events} == set(PERSONAS)


def test_workdays_skip_weekends_and_each_block_is_one_session():
    events = generate_events(days=6, seed=0, personas=["office_worker"])
    assert sorted({e["ts"][:10] for e in events}) == ["2025-05-26", "2025-05-27", "2025-05-28", "2025-05-29", "2025-05-30", "2025-06-02"]
    logged = [LoggedEvent(i, e["user"], render(e).encode()) for i, e in enumerate(events)]
    assert len(list(sessions(logged, 30))) == 6 * 2  # the office worker's morning and afternoon, every day


def test_committed_sample_set_is_the_generators_output(tmp_path):
    written = write_sample_set(tmp_path)
    assert [p.name for p in written] == [f.name for f in SAMPLE_SET]
    for path in written:
        assert path.read_bytes() == (SAMPLE_DIR / path.name).read_bytes(), f"regenerate with: domaintune gen-logs --sample-set -o {SAMPLE_DIR}"
    sizes = [p.stat().st_size for p in written]
    assert sum(sizes) < 1_000_000
    events = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in written) - 1  # one CSV header
    assert 2_000 <= events <= 4_000


def test_only_the_shuffled_sample_file_is_out_of_order():
    for sample in SAMPLE_SET:
        stamps = [event.ts for event in read_events([SAMPLE_DIR / sample.name], {}, False)[0]]
        assert (stamps != sorted(stamps)) == sample.shuffled, sample.name


def test_formats_round_trip_through_the_converter(tmp_path):
    events = generate_events(days=1, seed=2, personas=["student"])
    outputs = {suffix: convert([write_events(events, tmp_path / f"student{suffix}")], {}, False) for suffix in (".jsonl", ".csv", ".txt")}
    reference = [e.record for e in outputs[".jsonl"].examples]
    assert reference and all([e.record for e in c.examples] == reference for c in outputs.values())


def test_text_logs_hold_one_user_and_bad_arguments_are_errors():
    with pytest.raises(DomaintuneError, match="a .txt log holds one user's rendered lines"):
        format_events(generate_events(days=1), ".txt")
    with pytest.raises(DomaintuneError, match="either a number of events or a number of days"):
        generate_events()
    with pytest.raises(DomaintuneError, match="unknown persona"):
        generate_events(days=1, personas=["astronaut"])


def test_gen_logs_command(tmp_path):
    result = CliRunner().invoke(gen_logs, ["-o", str(tmp_path / "x.csv"), "--events", "50", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{tmp_path / 'x.csv'}\n"
    assert (tmp_path / "x.csv").read_text(encoding="utf-8") == format_events(generate_events(n_events=50, seed=2), ".csv")
    assert "Example: domaintune gen-logs" in CliRunner().invoke(gen_logs, ["--help"]).output


def test_gen_logs_sample_set_command(tmp_path):
    result = CliRunner().invoke(gen_logs, ["--sample-set", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [str(tmp_path / f.name) for f in SAMPLE_SET]
    mixed = CliRunner().invoke(gen_logs, ["--sample-set", "-o", str(tmp_path), "--events", "5"])
    assert mixed.exit_code == 2
    assert "--sample-set writes the fixed default set; it takes only -o and --seed" in mixed.output
