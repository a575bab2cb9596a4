"""Building datasets: de-duplication, seeded split, byte-identical rebuilds, registration, nothing half-written."""

import json

import pytest

from pipelines.core.errors import RecordError
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task


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
    assert set(first) == {"dataset_info.json", "telecom_train.json", "telecom_val.json", "telecom_scenarios.json"}


def test_registration_keeps_other_entries_and_uses_llamafactory_columns(telecom, fixtures, dataset_dir):
    other = {"my_data": {"file_name": "mine.json", "formatting": "sharegpt"}}
    (dataset_dir / "dataset_info.json").write_text(json.dumps(other), encoding="utf-8")
    build_task(telecom, [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    info = read(dataset_dir / "dataset_info.json")
    assert info["my_data"] == other["my_data"]
    assert list(info) == ["my_data", "telecom_train", "telecom_val", "telecom_scenarios"]
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
