"""Tool-calling data end to end: a ShareGPT or OpenAI-messages file -> a task -> registered sharegpt datasets with
tools -> two training steps of the tiny model through `llamafactory-cli train` (about 25 s on a CPU). Both sources
build the same columns, so one training, of the converted OpenAI messages, covers what LLaMA-Factory reads."""

import json

import pytest
import yaml

from pipelines.core.gpus import get_tier
from pipelines.core.models import resolve_model
from pipelines.core.paths import dataset_dir
from pipelines.core.readers import iter_json_records
from pipelines.core.tasks import load_task_file
from pipelines.data.build import build_task
from pipelines.data.dataset_info import load_dataset_info
from pipelines.run.train import train

pytestmark = pytest.mark.slow(25)  # seconds of a quiet 2-core machine: started first under xdist


def write_task(folder, name, converter, source):
    config = {
        "name": name,
        "description": f"tool calling from {converter}",
        "source": {"converter": converter, "paths": [str(source)]},
        "split": {"strategy": "random", "val_fraction": 0.2, "seed": 0},
        "model": {"base": "Qwen/Qwen2.5-1.5B-Instruct", "template": "qwen", "enable_thinking": False},
        "train": {"method": "lora", "lora_rank": 4, "lora_alpha": 8, "lora_target": "all", "cutoff_len": 512, "effective_batch_size": 2, "learning_rate": 1.0e-4, "num_train_epochs": 1},
        "predict": {"max_new_tokens": 16},
        "eval": {"evaluator": "telecom", "glossary": "evaluators/glossaries/telecom.txt"},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_task_file(path)


def build(tmp_path, fixtures, converter, fixture):
    source = fixtures / "formats" / fixture
    task = write_task(tmp_path, f"tools_{converter}", converter, source)
    return source, task, build_task(task)


@pytest.mark.parametrize("converter, fixture", [("sharegpt", "sharegpt_tools.json"), ("openai_messages", "openai_messages.jsonl")])
def test_tool_calling_records_build_as_sharegpt_with_tools(tmp_path, fixtures, converter, fixture):
    source, task, summary = build(tmp_path, fixtures, converter, fixture)

    info = load_dataset_info()
    assert {info[task.dataset_name(split)]["formatting"] for split in ("train", "val")} == {"sharegpt"}
    # 4 of the 6 records train; only one record of each file lacks tools, so the train split has them.
    assert info[task.dataset_name("train")]["columns"] == {"messages": "conversations", "system": "system", "tools": "tools"}
    read = sum(1 for _ in iter_json_records(source))
    assert summary.counts[task.dataset_name("train")] + summary.counts[task.dataset_name("val")] == read == 6
    built = [r for split in ("train", "val") for r in json.loads((dataset_dir() / f"{task.dataset_name(split)}.json").read_text(encoding="utf-8"))]
    assert sum(1 for r in built for t in r["conversations"] if t["from"] == "function_call") >= 4


def test_converted_tool_calling_records_train(tmp_path, fixtures):
    _, task, _ = build(tmp_path, fixtures, "openai_messages", "openai_messages.jsonl")
    overrides = {"max_steps": 2, "eval_strategy": "no", "save_strategy": "no", "logging_steps": 1, "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1}
    run = train(task, get_tier("cpu"), resolve_model(task, "tiny"), overrides=overrides, quiet=True)
    log = [json.loads(line) for line in (run.adapter / "trainer_log.jsonl").read_text().splitlines()]
    assert log[-1]["current_steps"] == 2
    assert (run.adapter / "adapter_model.safetensors").exists()
