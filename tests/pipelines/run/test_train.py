"""Launch environment and run folders: LLaMA-Factory's own torchrun / Ray paths, never a home-made launcher."""

import json
import time

import pytest
import yaml

from pipelines.core.gpus import get_tier
from pipelines.core.models import ModelChoice
from pipelines.core.paths import WORKSPACE_ENV
from pipelines.core.tasks import load_task
from pipelines.planning.recipe import training_recipe
from pipelines.run.train import launch_env

DISTRIBUTED = ("NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NPROC_PER_NODE", "FORCE_TORCHRUN", "USE_RAY")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in DISTRIBUTED:
        monkeypatch.delenv(key, raising=False)


def test_single_device_runs_plainly():
    assert launch_env(multi_device=False, ray=False) == {}


def test_multi_device_forces_torchrun():
    assert launch_env(multi_device=True, ray=False) == {"FORCE_TORCHRUN": "1"}


def test_multi_node_passes_the_rendezvous_through(monkeypatch):
    for key, value in {"NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(key, value)
    assert launch_env(multi_device=False, ray=False) == {
        "NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500", "FORCE_TORCHRUN": "1",
    }


def test_ray_uses_llamafactory_ray_path():
    assert launch_env(multi_device=True, ray=True) == {"USE_RAY": "1"}


def test_multi_gpu_recipe_writes_its_deepspeed_config_beside_it(tmp_path, monkeypatch):
    # An empty workspace: no length statistics, so no packing, and 16 samples per step are 16 rows.
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path))
    recipe = training_recipe(load_task("telecom"), get_tier("4090x2"), ModelChoice("Qwen/Qwen2.5-1.5B-Instruct"), output_dir=tmp_path / "adapter")
    path = recipe.write(tmp_path / "train.yaml")
    args = yaml.safe_load(path.read_text(encoding="utf-8"))
    ds = json.loads((tmp_path / "train.deepspeed.json").read_text(encoding="utf-8"))
    assert args["deepspeed"] == str(tmp_path / "train.deepspeed.json")
    assert ds["zero_optimization"]["stage"] == 2  # LoRA on several GPUs: ZeRO-2
    assert args["per_device_train_batch_size"] * args["gradient_accumulation_steps"] * 2 == 16


def test_recipe_header_names_the_command_tier_and_estimate(tmp_path):
    path = training_recipe(load_task("telecom"), get_tier("4090"), ModelChoice("Qwen/Qwen2.5-1.5B-Instruct"), output_dir=tmp_path / "adapter").write(tmp_path / "r.yaml")
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    assert header[0] == "# telecom on 4090: 中国移动客服问答 (Alpaca JSON) → Qwen2.5-1.5B-Instruct LoRA"
    assert header[1] == "# Run:  domaintune train --task telecom --gpu 4090"
    assert header[2] == f"#   or: llamafactory-cli train {tmp_path / 'r.yaml'}"
    assert header[3].startswith("# Estimated peak memory per device: ") and header[3].endswith(" GB (see `domaintune estimate`).")
    assert any("bf16" in line for line in header) and any("FlashAttention-2" in line for line in header)


def test_a_tier_this_machine_cannot_run_is_refused_before_anything_is_written(monkeypatch, tmp_path):
    import dataclasses

    import torch

    from pipelines.core.errors import DomaintuneError
    from pipelines.core.gpus import get_tier
    from pipelines.run import train as train_module

    monkeypatch.setattr(train_module.importlib.util, "find_spec", lambda name: object())  # deepspeed "installed"
    more_than_here = dataclasses.replace(get_tier("4090x2"), devices=torch.cuda.device_count() + 1)
    with pytest.raises(DomaintuneError, match=rf"tier 4090x2 needs {more_than_here.devices} CUDA GPU\(s\) per node; this machine has {torch.cuda.device_count()}"):
        train_module.check_machine(more_than_here)
    train_module.check_machine(get_tier("cpu"))  # every machine has a CPU

    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    with pytest.raises(DomaintuneError):
        train_module.train(load_task("telecom"), more_than_here, ModelChoice("Qwen/Qwen2.5-1.5B-Instruct"))
    assert list(tmp_path.iterdir()) == []


def test_missing_launcher_packages_are_named(monkeypatch):
    from pipelines.core.errors import DomaintuneError
    from pipelines.core.gpus import get_tier
    from pipelines.run import train as train_module

    monkeypatch.setattr(train_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DomaintuneError, match=r"--ray needs the ray package"):
        train_module.check_machine(get_tier("cpu"), ray=True)
    with pytest.raises(DomaintuneError, match=r"tier 4090x2 trains with DeepSpeed, which is not installed: pip install deepspeed"):
        train_module.check_machine(get_tier("4090x2"))


def test_train_tells_the_departures_from_the_task_before_launching(monkeypatch, long_telecom_samples):
    # Qwen2.5-7B on the 8 GB laptop with 400-token samples: paged 8-bit AdamW and rank 8 instead of the task's 32.
    from pipelines.run import train as train_module

    heard = []
    monkeypatch.setattr(train_module, "check_machine", lambda tier, ray: None)  # no 8 GB CUDA card here
    monkeypatch.setattr(train_module, "dataset_hashes", lambda names: {})

    def launch(command, recipe_file, *args, **kwargs):
        heard.append(("launch", yaml.safe_load(recipe_file.read_text(encoding="utf-8"))["lora_rank"]))
        raise RuntimeError("not training here")

    monkeypatch.setattr(train_module, "run_llamafactory", launch)
    with pytest.raises(RuntimeError, match="not training here"):
        train_module.train(load_task("telecom"), get_tier("3080-laptop"), ModelChoice("Qwen/Qwen2.5-7B-Instruct"), notify=heard.append)
    assert [item if isinstance(item, tuple) else item[:28] for item in heard] == [
        "Paged 8-bit AdamW (bitsandby",
        "LoRA rank 8, not the task's ",
        ("launch", 8),
    ]


def test_train_says_the_expected_time_then_the_measured_one_and_records_the_weights(monkeypatch, long_telecom_samples):
    from pipelines.run import train as train_module

    heard = []
    monkeypatch.setattr(train_module, "check_machine", lambda tier, ray: None)  # no CUDA card here
    monkeypatch.setattr(train_module, "dataset_hashes", lambda names: {})

    def launch(command, recipe_file, log_path, *args, **kwargs):
        # What LLaMA-Factory's LogCallback writes: 5 steps after 30 s (start-up included), 10 after 40 s.
        run_dir = recipe_file.parent
        (run_dir / "adapter").mkdir()
        entries = [{"current_steps": 5, "total_steps": 30, "elapsed_time": "0:00:30"}, {"current_steps": 10, "total_steps": 30, "elapsed_time": "0:00:40"}]
        (run_dir / "adapter" / "trainer_log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
        deadline = time.monotonic() + 30
        while not any(line.startswith("Measured") for line in heard) and time.monotonic() < deadline:
            time.sleep(0.1)

    monkeypatch.setattr(train_module, "run_llamafactory", launch)
    weights = {"model": "Qwen/Qwen2.5-1.5B-Instruct", "model_hub": "modelscope", "model_revision": "master", "model_files_sha256": "ab12"}
    run = train_module.train(
        load_task("telecom"), get_tier("4090"), ModelChoice("Qwen/Qwen2.5-1.5B-Instruct", None, weights), inform=heard.append
    )
    # 100 samples x 400 tokens (the fixture) x 3 epochs; then 2 s per step between the entries, 20 steps left.
    assert heard[0].startswith("Expected training time on 4090: about ")
    assert "(40,000 tokens per epoch x 3 epochs = 120,000 tokens at ~" in heard[0]
    assert heard[1].startswith("Measured after 10 of 30 steps: ") and heard[1].endswith("; about 40 s left.")
    versions = json.loads(run.versions.read_text(encoding="utf-8"))
    assert {k: versions[k] for k in weights} == weights and "torch" in versions
