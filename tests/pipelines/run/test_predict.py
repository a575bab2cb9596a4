"""Prediction segments and passes: a task that samples reads its validation set samples_per_prompt times."""

import json
from pathlib import Path

import pytest

from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.data.dataset_info import load_dataset_info
from pipelines.planning.recipe import ChatFormat, predict_recipe
from pipelines.run.predict import pass_datasets, segments


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """One build for the module (building measures token lengths, which takes seconds)."""
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOMAINTUNE_WORKSPACE", str(root))
        build_task(load_task("trajectory"))
    return root


@pytest.fixture
def built(workspace, monkeypatch):
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(workspace))
    return load_task("trajectory")  # samples_per_prompt: 4, 60 validation days


def test_segments_count_every_pass(built):
    assert segments(built) == [{"split": "val", "dataset": "trajectory_val", "n": 240, "passes": 4}]
    assert segments(built, max_samples=3) == [{"split": "val", "dataset": "trajectory_val", "n": 12, "passes": 4}]


def test_passes_read_the_same_file_under_alias_names(built):
    names = pass_datasets(segments(built))
    assert names == ["trajectory_val", "trajectory_val__pass2", "trajectory_val__pass3", "trajectory_val__pass4"]
    info = load_dataset_info()
    assert {info[name]["file_name"] for name in names} == {"trajectory_val.json"}
    assert info["trajectory_val__pass4"] == info["trajectory_val"]


def test_a_task_without_sampling_reads_once_and_registers_nothing(built, workspace):
    info = workspace / "dataset_info" / "dataset_info.json"
    before = info.stat().st_mtime_ns, info.read_text(encoding="utf-8")
    assert pass_datasets([{"split": "val", "dataset": "trajectory_val", "n": 60, "passes": 1}]) == ["trajectory_val"]
    assert (info.stat().st_mtime_ns, info.read_text(encoding="utf-8")) == before


@pytest.mark.parametrize(
    ("task_name", "expected"),
    [
        ("trajectory", {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 2048}),
        ("telecom", {"do_sample": False, "max_new_tokens": 256}),
    ],
)
def test_predict_recipe_samples_only_when_the_task_asks(task_name, expected, tmp_path):
    task = load_task(task_name)
    recipe = predict_recipe(task, "some/model", ChatFormat("qwen", False), None, tmp_path / "out", [task.dataset_name("val")])
    train = recipe.sections["train"]
    assert {k: train[k] for k in ("do_sample", "temperature", "top_p", "max_new_tokens") if k in train} == expected


def test_the_segments_file_predict_writes_matches_the_rows(built, tmp_path):
    # 4 passes x 3 rows: the evaluator reads them as one validation segment of 12 rows.
    from evaluators.predictions import load_segments

    out = tmp_path / "predict" / "adapter"
    out.mkdir(parents=True)
    (out / "segments.json").write_text(json.dumps(segments(built, max_samples=3)))
    rows = [{"prompt": "p", "predict": str(i), "label": "l"} for i in range(12)]
    (out / "generated_predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [r["predict"] for r in load_segments(Path(out / "generated_predictions.jsonl"))["val"]] == [str(i) for i in range(12)]
