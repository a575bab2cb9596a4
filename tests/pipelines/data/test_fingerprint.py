"""A run's datasets.json against what is registered now (issue 8 case 4): refuse naming both hashes, or allow."""

import json

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.data.fingerprint import check_unchanged, dataset_hashes, sha256

NEW = [{"instruction": f"新问题{i}", "input": "", "output": f"新回答{i}"} for i in range(4)]


@pytest.fixture
def recorded(tmp_path, fixtures, dataset_dir):
    """datasets.json of a run trained on the fixture build."""
    build_task(load_task("telecom"), [fixtures / "telecom/good.json"], dataset_dir=dataset_dir)
    path = tmp_path / "run" / "datasets.json"
    path.parent.mkdir()
    path.write_text(json.dumps(dataset_hashes(["telecom_train", "telecom_val"], dataset_dir)), encoding="utf-8")
    return path


def test_unchanged_data_passes(recorded, dataset_dir):
    assert check_unchanged(recorded, "telecom", dataset_dir=dataset_dir) is None


def test_rebuilt_data_is_refused_naming_both_hashes_and_the_command(recorded, dataset_dir, tmp_path):
    old = json.loads(recorded.read_text(encoding="utf-8"))
    new_input = tmp_path / "new.json"
    new_input.write_text(json.dumps(NEW, ensure_ascii=False), encoding="utf-8")
    build_task(load_task("telecom"), [new_input], dataset_dir=dataset_dir)
    new_val = sha256(dataset_dir / "telecom_val.json")
    with pytest.raises(DomaintuneError) as caught:
        check_unchanged(recorded, "telecom", dataset_dir=dataset_dir)
    message = str(caught.value)
    assert f"telecom_val (run: {old['telecom_val'][:12]}, registered now: {new_val[:12]})" in message
    assert "`domaintune data --task telecom`" in message and "--allow-changed-data" in message
    note = check_unchanged(recorded, "telecom", allow_changed=True, dataset_dir=dataset_dir)
    assert note.startswith(message.split(", or pass")[0]) and "Used anyway (--allow-changed-data)" in note


def test_run_without_recorded_hashes_is_not_checked(tmp_path, dataset_dir):
    assert check_unchanged(tmp_path / "datasets.json", "telecom", dataset_dir=dataset_dir) is None
