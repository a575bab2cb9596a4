"""Building datasets: de-duplication, seeded split, byte-identical rebuilds, registration, nothing half-written."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.llamafactory_demo import tabular_copy
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.data.publish import recover_interrupted


@pytest.fixture
def telecom():
    return load_task("telecom")


def read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_build_dedupes_splits_and_fills_system(telecom, fixtures, dataset_dir):
    summary = build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    assert (summary.read, summary.duplicates) == (5, 1)
    # 4 unique records, val_fraction 0.1 -> ceil(0.4) = 1 validation record
    assert summary.counts == {"telecom_train": 3, "telecom_val": 1, "telecom_scenarios": 12}
    train, val = read(dataset_dir / "telecom_train.json"), read(dataset_dir / "telecom_val.json")
    assert len({json.dumps(r, sort_keys=True) for r in train + val}) == 4
    # A record's own system prompt wins; the rest get the task's.
    systems = {r["instruction"]: r["system"] for r in train + val}
    assert systems["怎么查话费？"] == "你是客服。"
    assert systems["5G套餐有哪些？"] == "你是一名中国移动的专业客服。"


def test_rebuild_is_byte_identical(telecom, dataset_dir):
    build_task(telecom, dataset_dir=dataset_dir)
    first = {p.name: p.read_bytes() for p in dataset_dir.iterdir()}
    build_task(telecom, dataset_dir=dataset_dir)
    assert {p.name: p.read_bytes() for p in dataset_dir.iterdir()} == first
    # No staging folder is left behind; only the lock file beside the published set.
    datasets = ("telecom_train", "telecom_val", "telecom_scenarios")
    assert set(first) == {"dataset_info.json", ".dataset_info.json.lock"} | {f"{d}{ext}" for d in datasets for ext in (".json", ".stats.json")}


def test_registration_keeps_other_entries_and_uses_llamafactory_columns(telecom, fixtures, dataset_dir):
    other = {"my_data": {"file_name": "mine.json", "formatting": "sharegpt"}}
    (dataset_dir / "dataset_info.json").write_text(json.dumps(other), encoding="utf-8")
    build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    info = read(dataset_dir / "dataset_info.json")
    assert info["my_data"] == other["my_data"]
    # Sorted, so the file is the same whichever task was built first.
    assert list(info) == ["my_data", "telecom_scenarios", "telecom_train", "telecom_val"]
    assert info["telecom_val"] == {
        "file_name": "telecom_val.json",
        "formatting": "alpaca",
        "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system"},
    }
    assert info["telecom_train"]["columns"]["history"] == "history"


@pytest.mark.parametrize("bad", ["missing_output.json", "wrong_type.json", "malformed.json", "empty.json", "not_utf8.json"])
def test_bad_input_writes_nothing_and_keeps_previous_outputs(telecom, fixtures, dataset_dir, bad):
    build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    before = {p.name: p.read_bytes() for p in dataset_dir.iterdir()}
    with pytest.raises(RecordError, match=bad):
        build_task(telecom, [fixtures / "telecom/good.json", fixtures / "telecom" / bad], dataset_dir=dataset_dir)
    assert {p.name: p.read_bytes() for p in dataset_dir.iterdir()} == before


def test_bad_input_on_empty_dir_leaves_it_empty(telecom, fixtures, dataset_dir):
    with pytest.raises(RecordError):
        build_task(telecom, [fixtures / "telecom/missing_output.json"], dataset_dir=dataset_dir)
    assert list(dataset_dir.iterdir()) == []


def test_skip_invalid_builds_the_rest(telecom, fixtures, dataset_dir):
    summary = build_task(telecom, [fixtures / "telecom/wrong_type.json"], skip_invalid=True, dataset_dir=dataset_dir)
    assert summary.read == 3 and summary.skipped == {"output: 42 is not of type 'string'": 1}
    assert summary.counts["telecom_train"] + summary.counts["telecom_val"] == 2
    assert "  skipped 1: output: 42 is not of type 'string'" in summary.lines()


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


@pytest.fixture
def published(telecom, fixtures, dataset_dir):
    """A good telecom set already published; returns its bytes, which a failed build must leave as they are."""
    build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    return snapshot(dataset_dir)


def write_input(path, records):
    path.write_text(json.dumps(records, ensure_ascii=True), encoding="utf-8")
    return path


GOOD = [{"instruction": f"问题{i}", "input": "", "output": f"回答{i}"} for i in range(6)]


def test_lone_surrogate_is_one_line_error_and_keeps_previous_set(telecom, dataset_dir, published, tmp_path):
    # Issue 8 case 1: "\ud800" used to reach the writer and fail with a bare UnicodeEncodeError half-way.
    bad = write_input(tmp_path / "bad.json", GOOD + [{"instruction": "q", "input": "", "output": "x\ud800y"}])
    with pytest.raises(RecordError) as caught:
        build_task(telecom, [bad], dataset_dir=dataset_dir)
    assert str(caught.value) == f"{bad}: record 7: output: lone surrogate escape (\\uD800-\\uDFFF) is not valid Unicode; fix or remove it"
    assert snapshot(dataset_dir) == published


def test_interrupt_while_writing_leaves_previous_set_byte_identical(telecom, dataset_dir, published, tmp_path, monkeypatch):
    # Issue 8 case 1: Ctrl-C after train was written used to leave a new train beside the old val.
    from pipelines.data import build

    written = []

    def interrupted_after_first(path, records):
        if written:
            raise KeyboardInterrupt
        written.append(path)
        return real(path, records)

    real = build.write_records
    monkeypatch.setattr(build, "write_records", interrupted_after_first)
    with pytest.raises(KeyboardInterrupt):
        build_task(telecom, [write_input(tmp_path / "new.json", GOOD)], dataset_dir=dataset_dir)
    assert written and snapshot(dataset_dir) == published  # no staging folder left either


def test_failure_during_the_switch_puts_the_previous_files_back(telecom, dataset_dir, published, tmp_path, monkeypatch):
    from pipelines.data import publish

    calls = []
    real = publish.os.replace

    def fail_second(src, dst):
        if Path(dst).parent == dataset_dir:  # switched in, not written into the staging folder
            calls.append(dst)
        if len(calls) == 2:  # train is already switched when val fails
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(publish.os, "replace", fail_second)
    with pytest.raises(OSError):
        build_task(telecom, [write_input(tmp_path / "new.json", GOOD)], dataset_dir=dataset_dir)
    assert [path.name for path in calls[:2]] == ["telecom_train.json", "telecom_val.json"]  # then the roll-back's
    assert snapshot(dataset_dir) == published


def test_a_build_killed_mid_switch_is_undone_by_the_next_one(telecom, dataset_dir, published, tmp_path, kill_mid_switch):
    # SIGKILL cannot be waited for as Ctrl-C is: the journal the switch wrote lets the next build put things back.
    new = write_input(tmp_path / "new.json", GOOD)
    killed = kill_mid_switch(new, dataset_dir)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert any(p.name.startswith(".staging-telecom-") for p in dataset_dir.iterdir())
    half = {p.name: p.read_bytes() for p in dataset_dir.iterdir() if p.is_file()}
    changed = {name for name in published if half.get(name) != published[name]}
    assert changed == {"telecom_train.json", "telecom_val.json"}  # half-switched: dataset_info.json still the old one
    assert recover_interrupted(dataset_dir) == [
        (
            "undid the telecom build killed while publishing: put back telecom_train.json, telecom_val.json, "
            "telecom_scenarios.json, telecom_train.stats.json, telecom_val.stats.json, telecom_scenarios.stats.json, "
            "dataset_info.json"
        )
    ]
    assert snapshot(dataset_dir) == published
    # Killed again, the next `domaintune data` undoes it first, says so, then publishes the new set.
    kill_mid_switch(new, dataset_dir)
    summary = build_task(telecom, [new], dataset_dir=dataset_dir)
    assert summary.lines()[1].startswith("  first undid the telecom build killed while publishing: put back telecom_train.json")
    assert summary.counts["telecom_train"] + summary.counts["telecom_val"] == 6
    assert not [p for p in dataset_dir.iterdir() if p.is_dir()]


def test_staging_folders_of_builds_that_are_gone_are_removed(dataset_dir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True, text=True).stdout.strip()
    gone = dataset_dir / f".staging-telecom-{dead}-abc123"
    running = dataset_dir / f".staging-behavior-{os.getpid()}-def456"
    old_style = dataset_dir / ".staging-telecom-x1y2z3"  # named before the pid was part of the name
    for folder in (gone, running, old_style):
        (folder / "telecom_train.json").parent.mkdir(parents=True)
        (folder / "telecom_train.json").write_text("[]")
    assert recover_interrupted(dataset_dir) == []
    assert sorted(p.name for p in dataset_dir.iterdir() if p.is_dir()) == [running.name]


@pytest.mark.parametrize(
    "records, skip_invalid, counts",
    [
        ([], False, "0 usable record(s) split into 0 train and 0 val"),
        ([{"instruction": "q", "input": "", "output": 1}] * 3, True, "0 usable record(s) split into 0 train and 0 val"),
        (GOOD[:1], False, "1 usable record(s) split into 1 train and 0 val"),
    ],
    ids=["empty", "all-invalid-skipped", "one-record"],
)
def test_empty_split_is_refused_and_keeps_previous_set(telecom, dataset_dir, published, tmp_path, records, skip_invalid, counts):
    # Issue 8 case 2: these used to publish `[]` (or an empty val) with exit 0.
    path = write_input(tmp_path / "few.json", records)
    with pytest.raises(DomaintuneError) as caught:
        build_task(telecom, [path], skip_invalid=skip_invalid, dataset_dir=dataset_dir)
    message = str(caught.value)
    assert message.startswith(f"{telecom.path}: {counts}; ") and "needs at least 2 usable records" in message
    assert len(message.splitlines()) == 1
    assert snapshot(dataset_dir) == published


def test_stale_sidecar_of_an_earlier_build_is_removed(telecom, fixtures, dataset_dir):
    (dataset_dir / "telecom_val.meta.jsonl").write_text("{}\n", encoding="utf-8")
    build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    assert not (dataset_dir / "telecom_val.meta.jsonl").exists()


def test_summary_names_the_first_ten_skipped_records_with_reasons_and_counts_fields_not_carried_over(telecom, tmp_path, dataset_dir):
    rows = [{"instruction": "q", "output": 42}] * 12 + [
        {"instruction": f"问{i}", "input": "", "output": "答", "id": i, "meta": {"src": "web"} if i else None} for i in range(3)
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    summary = build_task(telecom, [path], skip_invalid=True, dataset_dir=dataset_dir)
    lines = summary.lines()
    named = [line for line in lines if line.startswith("  removed ")]
    assert named == [f"  removed {path}: record {i}: output: 42 is not of type 'string'" for i in range(1, 11)]
    assert "  and 2 more removed records (--report-skipped FILE names every one)" in lines
    assert "  skipped 12: output: 42 is not of type 'string'" in lines
    assert lines[lines.index("  not carried over: id (in 3 records)") + 1] == "  not carried over: meta (in 3 records)"


# --- every input LLaMA-Factory reads builds the same datasets ------------------------------------------------


def built(task, inputs, dataset_dir) -> dict[str, bytes]:
    build_task(task, inputs, dataset_dir=dataset_dir, quiet=True)
    return {p.name: p.read_bytes() for p in dataset_dir.iterdir() if p.suffix == ".json"}


@pytest.mark.parametrize("suffix", [".parquet", ".arrow", ".jsonl"])
def test_a_columnar_or_jsonl_copy_builds_the_datasets_of_its_json(telecom, fixtures, tmp_path, suffix):
    # good.json has a system prompt on one record and a history on another: null elsewhere in the columns.
    records = read(fixtures / "telecom/good.json")
    copy = tmp_path / f"good{suffix}"
    if suffix == ".jsonl":
        copy.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    else:
        tabular_copy(records, copy)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    assert built(telecom, [copy], tmp_path / "a") == built(telecom, [fixtures / "telecom/good.json"], tmp_path / "b")


def test_a_csv_copy_builds_the_datasets_of_its_json(telecom, tmp_path):
    # CSV has no nesting (no history) and reads an empty cell as null: "input": "" comes back as no input, the same.
    records = [{**r, "input": "在北京" if i % 2 else ""} for i, r in enumerate(GOOD)]
    json_file = write_input(tmp_path / "flat.json", records)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    assert built(telecom, [tabular_copy(records, tmp_path / "flat.csv")], tmp_path / "a") == built(telecom, [json_file], tmp_path / "b")


def test_a_parquet_copy_of_tool_calls_builds_the_sharegpt_datasets_of_its_json(telecom, fixtures, tmp_path):
    sharegpt = dataclasses.replace(telecom, config={**telecom.config, "source": {"converter": "sharegpt", "paths": []}})
    source = fixtures / "formats/glaive_toolcall.json"
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    parquet = tabular_copy(read(source), tmp_path / "tools.parquet")
    assert built(sharegpt, [parquet], tmp_path / "a") == built(sharegpt, [source], tmp_path / "b")


# --- what is left out is counted by reason and named ------------------------------------------------------------


def test_exact_duplicates_are_named_with_the_record_they_repeat_and_listed_in_the_report(telecom, dataset_dir, tmp_path):
    rows = GOOD + [GOOD[1], {"instruction": "q", "input": "", "output": 7}, GOOD[4], GOOD[1]]
    path = write_input(tmp_path / "dups.json", rows)
    report = tmp_path / "skipped.txt"
    summary = build_task(telecom, [path], skip_invalid=True, dataset_dir=dataset_dir, report_skipped=report, quiet=True)
    assert (summary.read, summary.duplicates, summary.near_duplicates) == (10, 3, 0)
    assert report.read_text(encoding="utf-8").splitlines() == [
        f"{path}: record 8: output: 7 is not of type 'string'",
        f"{path}: record 7: exact duplicate of record 2",
        f"{path}: record 9: exact duplicate of record 5",
        f"{path}: record 10: exact duplicate of record 2",
    ]
    lines = summary.lines()
    assert lines[0] == "telecom: 10 records read, 3 exact duplicates removed"
    assert f"  removed {path}: record 7: exact duplicate of record 2" in lines
    assert f"  every removed record (4): {report}" in lines


def test_near_duplicates_a_converter_marks_are_counted_apart_from_exact_ones():
    from pipelines.converters.records import Conversion, Example
    from pipelines.data.build import deduplicate

    def example(text, line, key):
        return Example(record={"instruction": text, "input": "", "output": "a"}, origin=("m.jsonl", f"line {line}"), near_key=key)

    # Line 2 repeats line 1 exactly (so it is not counted as near); line 3 differs only in what the key ignores.
    conversion = Conversion([example("问：", 1, "k"), example("问：", 2, "k"), example("问:", 3, "k"), example("别的", 4, "j")])
    exact, near = deduplicate(conversion)
    assert exact == [("m.jsonl", "line 2", "exact duplicate of line 1")]
    assert near == [("m.jsonl", "line 3", "near duplicate of line 1")]
    assert [e.origin[1] for e in conversion.examples] == ["line 1", "line 4"]


def test_with_nothing_usable_left_the_reasons_are_printed_before_the_error(telecom, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    path = write_input(tmp_path / "bad.json", [{"instruction": "q", "input": "", "output": i} for i in range(12)])
    result = CliRunner().invoke(cli, ["data", "--task", "telecom", "--input", str(path), "--skip-invalid"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "  skipped 12: output: 0 is not of type 'string'" not in lines  # one reason per value: counted apart
    assert sum(line.startswith("  skipped 1: output: ") for line in lines) == 12
    assert [line for line in lines if line.startswith("  removed ")][:2] == [
        f"  removed {path}: record 1: output: 0 is not of type 'string'",
        f"  removed {path}: record 2: output: 1 is not of type 'string'",
    ]
    assert "  and 2 more removed records (--report-skipped FILE names every one)" in lines
    assert lines[-1].startswith(f"Error: {telecom.path}: 0 usable record(s) split into 0 train and 0 val")


def test_off_a_terminal_each_phase_of_the_build_is_one_line(telecom, fixtures, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipelines.cli.main import cli

    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path / "workspace"))
    result = CliRunner().invoke(cli, ["data", "--task", "telecom", "--input", str(fixtures / "telecom/good.json")])
    assert result.exit_code == 0, result.output
    phases = [line.split(": ")[1] for line in result.output.splitlines() if line.startswith("telecom: ") and " in " in line]
    assert phases == ["read", "dedup", "split", "write", "sample", "tokenizer", "tokenize", "statistics", "publish"]
    assert "telecom: read: 17 records in " in result.output  # 5 records and the 12 scenarios
    assert "telecom: write: 16 records in " in result.output  # 3 train, 1 val, 12 scenarios
