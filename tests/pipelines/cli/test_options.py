"""Options several commands share: every command that reads dataset_info/ first undoes a switch that a killed
`data` left half done, and says so (issue 20: preview, train and predict used to read the half-switched set)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.data.publish import recover_interrupted

UNDONE = "Note: undid the telecom build killed while publishing: put back telecom_train.json, telecom_val.json"


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def half_switched(tmp_path_factory, kill_mid_switch):
    """A workspace whose good telecom set (returned as bytes) was being replaced by a build killed mid-switch."""
    root = tmp_path_factory.mktemp("half_switched")
    datasets = root / "workspace/dataset_info"
    build_task(load_task("telecom"), [Path(__file__).parents[2] / "fixtures/telecom/good.json"], dataset_dir=datasets)
    published = snapshot(datasets)
    new = root / "new.json"
    new.write_text(json.dumps([{"instruction": f"问题{i}", "input": "", "output": f"新回答{i}"} for i in range(6)], ensure_ascii=False), encoding="utf-8")
    assert kill_mid_switch(new, datasets).returncode == -9
    assert snapshot(datasets) != published
    return root / "workspace", published


@pytest.fixture
def workspace_copy(half_switched, tmp_path, monkeypatch):
    workspace, published = half_switched
    copy = tmp_path / "workspace"
    shutil.copytree(workspace, copy)
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(copy))
    return copy / "dataset_info", published


@pytest.mark.parametrize(
    "args, exit_code",
    [
        (["train", "--task", "telecom"], 2),  # stops at the missing --gpu, after the recovery
        (["predict", "--task", "telecom"], 1),  # no trained run
        (["eval", "--task", "telecom"], 1),  # no predictions
        (["webui", "--port", "BUSY"], 1),  # the port is taken
    ],
)
def test_readers_of_the_datasets_undo_a_half_done_switch_first(workspace_copy, busy_port, args, exit_code):
    datasets, published = workspace_copy
    result = CliRunner().invoke(cli, [str(busy_port) if a == "BUSY" else a for a in args])
    assert result.exit_code == exit_code, result.output
    assert result.output.startswith(UNDONE)
    assert snapshot(datasets) == published
    assert not [p for p in datasets.iterdir() if p.is_dir()]  # the dead build's staging folder is gone


def test_preview_shows_the_previous_set_not_the_half_switched_one(workspace_copy):
    datasets, published = workspace_copy
    result = CliRunner().invoke(cli, ["preview", "--dataset", "telecom_train", "-n", "5"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(UNDONE) and "新回答" not in result.output
    assert "telecom_train #0" in result.output and snapshot(datasets) == published


KILLED_WRITING_DATASET_INFO = """
import os, signal, sys
from pathlib import Path
from pipelines.core import atomic
from pipelines.data.dataset_info import register

def die(src, dst):
    os.kill(os.getpid(), signal.SIGKILL)  # the temporary file is written, the rename not done

atomic.os.replace = die
register({"extra": {"file_name": "extra.json"}}, Path(sys.argv[1]))
"""


def test_no_temporary_file_outlives_a_recovery(workspace_copy):
    datasets, published = workspace_copy
    recover_interrupted(datasets)  # only the killed write this time
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITING_DATASET_INFO, str(datasets)], check=False, capture_output=True)
    assert killed.returncode == -9, killed.stderr
    assert len(list(datasets.glob(".dataset_info.json.*.tmp"))) == 1
    result = CliRunner().invoke(cli, ["eval", "--task", "telecom"])
    assert result.output == "Error: no predictions of telecom found; run `domaintune predict --task telecom` first\n"
    assert snapshot(datasets) == published  # the temporary file is gone, dataset_info.json as it was
