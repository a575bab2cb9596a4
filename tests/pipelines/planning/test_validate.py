"""Every generated recipe passes LLaMA-Factory's parser, and each kind of mistake is named."""

import json
import socket

import pytest
import torch
import yaml

from pipelines.core.gpus import load_tiers
from pipelines.core.models import ModelChoice, local_copy
from pipelines.core.paths import relative
from pipelines.core.tasks import load_task, task_names
from pipelines.planning.plan import PlanError
from pipelines.planning.recipe import training_recipe
from pipelines.planning.validate import validate_recipe

TASK_TIERS = [(task, tier) for task in task_names() for tier in load_tiers()]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="bf16 is checked for real where CUDA exists")


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def registered(tmp_path):
    """A dataset_dir registering every task's train and val sets, the names a recipe must use.

    dataset_info/dataset_info.json is a build output; which tasks were built is not the recipe's concern.
    """
    out = tmp_path / "datasets"
    out.mkdir()
    names = [load_task(task).dataset_name(split) for task in task_names() for split in ("train", "val")]
    (out / "dataset_info.json").write_text(json.dumps({name: {"file_name": f"{name}.json"} for name in names}))
    return out


@pytest.mark.parametrize(("task_name", "tier_name"), TASK_TIERS)
def test_every_generated_recipe_passes(task_name, tier_name, tmp_path, registered, no_network):
    task, tier = load_task(task_name), load_tiers()[tier_name]
    try:
        recipe = training_recipe(task, tier, ModelChoice(task.model["base"]), output_dir=tmp_path / "adapter")
    except PlanError as exc:
        assert tier_name in str(exc)
        assert any(method in str(exc) for method in ("LoRA", "QLoRA", "full fine-tuning"))
        return
    # Planning read the shape from architectures.yaml: the hub id (or a copy already on disk) is kept as is.
    base = task.model["base"]
    assert recipe.args["model_name_or_path"] in (base, relative(local_copy(base)))
    recipe.sections["dataset"]["dataset_dir"] = str(registered)

    result = validate_recipe(recipe.write(tmp_path / f"{task_name}-{tier_name}.yaml"))

    assert result.ok, "\n".join(result.lines())
    assert result.notes == []
    if tier.backend == "cpu":
        assert result.skipped == []
    elif not torch.cuda.is_available():
        precision = "pure_bf16" if recipe.args["pure_bf16"] else "bf16" if tier.bf16 else "fp16"
        assert f"{precision} (no CUDA here)" in result.skipped


# --- rejections --------------------------------------------------------------------------------------


@pytest.fixture
def write_recipe(tmp_path, registered):
    """Write a small valid CPU recipe with `changes` applied (a value of None drops the key)."""

    def write(**changes):
        args = {
            "model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
            "stage": "sft",
            "do_train": True,
            "finetuning_type": "lora",
            "lora_rank": 8,
            "dataset": "telecom_train",
            "eval_dataset": "telecom_val",
            "dataset_dir": str(registered),
            "template": "qwen",
            "cutoff_len": 512,
            "output_dir": str(tmp_path / "out"),
            "per_device_train_batch_size": 1,
            "learning_rate": 1.0e-4,
            "report_to": "none",
        }
        args.update(changes)
        path = tmp_path / "recipe.yaml"
        path.write_text(yaml.safe_dump({k: v for k, v in args.items() if v is not None}))
        return path

    return write


def test_the_base_recipe_is_valid(write_recipe):
    result = validate_recipe(write_recipe())
    assert (result.ok, result.problems, result.skipped, result.notes) == (True, [], [], [])


def test_unknown_key(write_recipe):
    result = validate_recipe(write_recipe(lora_rnak=8))
    assert result.problems == ["lora_rnak: unknown key (did you mean lora_rank?)"]


def test_bad_value_type(write_recipe):
    result = validate_recipe(write_recipe(learning_rate="fast"))
    assert result.problems == ["learning_rate: 'fast' is not float"]


def test_literal_values_and_bools_are_checked(write_recipe):
    result = validate_recipe(write_recipe(finetuning_type="qlora", lora_rank=True))
    assert result.problems == [
        "finetuning_type: 'qlora' is not one of 'lora', 'oft', 'freeze', 'full'",
        "lora_rank: True is not int",
    ]


def test_unknown_template(write_recipe):
    result = validate_recipe(write_recipe(template="qwen9"))
    assert result.problems == ["template: 'qwen9' is not a LLaMA-Factory template (did you mean qwen?)"]


def test_unknown_dataset_name(write_recipe, registered):
    result = validate_recipe(write_recipe(dataset="telecom_train, telecom_trian"))
    info = relative(registered / "dataset_info.json")
    assert result.problems == [f"dataset: 'telecom_trian' is not registered in {info} (did you mean telecom_train?)"]


def test_every_problem_is_reported_not_just_the_first(write_recipe):
    result = validate_recipe(write_recipe(lora_rnak=8, learning_rate="fast", template="qwen9", dataset="nope"))
    assert not result.ok
    assert sorted(problem.split(":")[0] for problem in result.problems) == [
        "dataset",
        "learning_rate",
        "lora_rnak",
        "template",
    ]


def test_llamafactory_cross_field_rules_run(write_recipe):
    result = validate_recipe(write_recipe(stage="pt", neat_packing=True))
    assert result.problems == ["LLaMA-Factory refuses it: `neat_packing` cannot be set as True except SFT."]


def test_dataclass_rules_run(write_recipe):
    result = validate_recipe(write_recipe(eval_strategy="sometimes"))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("LLaMA-Factory refuses it: sometimes is not a valid IntervalStrategy")


def test_missing_deepspeed_file(write_recipe, tmp_path):
    result = validate_recipe(write_recipe(deepspeed=str(tmp_path / "ds.json")))
    assert result.problems == [f"deepspeed: {relative(tmp_path / 'ds.json')} does not exist"]
    assert result.skipped == ["deepspeed (needs a torchrun launch; the JSON file is checked instead)"]


@no_cuda
def test_device_checks_are_skipped_and_said_so(write_recipe):
    result = validate_recipe(write_recipe(bf16=True, flash_attn="fa2"))
    assert result.ok, result.problems
    assert result.skipped[0] == "bf16 (no CUDA here)"
    assert result.skipped[1].startswith("flash_attn (")
    assert "device checks skipped: bf16 (no CUDA here)" in "\n".join(result.lines())


def test_unbuilt_datasets_are_a_note_not_a_problem(write_recipe, tmp_path):
    result = validate_recipe(write_recipe(dataset_dir=str(tmp_path / "empty")))
    assert result.ok
    assert result.notes == [
        (
            f"datasets not checked: {relative(tmp_path / 'empty' / 'dataset_info.json')} does not exist yet "
            "(`domaintune data` builds it)"
        )
    ]


def test_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- stage: sft\n")
    assert validate_recipe(path).problems == ["a recipe must be a mapping of LLaMA-Factory arguments"]


def test_value_ranges_training_enforces_are_checked(write_recipe):
    # Issue 8 case 7: LLaMA-Factory's parser accepts these; PEFT / torch refuse them only after the model loads.
    result = validate_recipe(write_recipe(lora_rank=0, learning_rate=-1, cutoff_len=-5, per_device_train_batch_size=0))
    assert result.problems == [  # in the order of the recipe file (yaml.safe_dump sorts its keys)
        "cutoff_len: -5 is less than the minimum of 1",
        "learning_rate: -1 is less than or equal to the minimum of 0",
        "lora_rank: 0 is less than the minimum of 1",
        "per_device_train_batch_size: 0 is less than the minimum of 1",
    ]


def test_every_range_key_is_a_llamafactory_key():
    from pipelines.core.schema import load_schema
    from pipelines.planning.validate import _field_hints

    assert set(load_schema("recipe_ranges")["properties"]) <= set(_field_hints())
