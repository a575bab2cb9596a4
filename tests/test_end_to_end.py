"""The whole path with real tools: tiny model, `domaintune` CLI, real `llamafactory-cli` train/predict/export.

One telecom LoRA training serves the module (telecom's predict and eval run in the demo's tests, on its run:
tests/pipelines/cli/test_demo.py); behavior trains, predicts and scores on its own."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from pipelines.core.paths import REPO_ROOT
from pipelines.planning.estimate import PAGED_ADAMW_8BIT

pytestmark = pytest.mark.slow(130)  # seconds of a quiet 2-core machine: started first under xdist

DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))


def run(*args: str) -> str:
    result = subprocess.run([DOMAINTUNE, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, f"domaintune {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def trained_run() -> Path:
    """One LoRA training for the module: 3 steps with the planner's last-resort optimizer (paged 8-bit AdamW; on a CPU
    bitsandbytes runs it unpaged, with the same states) and a checkpoint at the end, so its states can be read."""
    run("data", "--task", "telecom")
    out = run("train", "--task", "telecom", "--gpu", "cpu", "--model", "tiny", "--set", "max_steps=3", "--set", "eval_strategy=no",
              "--set", "save_strategy=steps", "--set", "save_steps=3", "--set", "logging_steps=1", "--set", f"optim={PAGED_ADAMW_8BIT}",
              "--set", "per_device_train_batch_size=1", "--set", "gradient_accumulation_steps=1")
    return Path(out.strip().splitlines()[-1].removeprefix("adapter: ")).parent


def test_train_writes_a_run_folder_with_provenance(trained_run):
    recipe = (trained_run / "train.yaml").read_text(encoding="utf-8")
    assert recipe.startswith("# telecom on cpu")
    assert "max_steps: 3" in recipe and "template: qwen" in recipe
    versions = json.loads((trained_run / "versions.json").read_text())
    assert versions["llamafactory"] == "0.9.5"
    hashes = json.loads((trained_run / "datasets.json").read_text())
    assert set(hashes) == {"telecom_train", "telecom_val"} and all(len(h) == 64 for h in hashes.values())
    adapter = trained_run / "adapter"
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 32
    weights = load_file(adapter / "adapter_model.safetensors")
    assert any("q_proj.lora_A" in k for k in weights) and any("down_proj.lora_B" in k for k in weights)
    log = [json.loads(line) for line in (adapter / "trainer_log.jsonl").read_text().splitlines()]
    assert log[-1]["current_steps"] == 3
    assert "***** train metrics *****" in (trained_run / "train.log").read_text()


def test_a_recipe_naming_paged_8bit_adamw_trains_with_it(trained_run):
    assert yaml.safe_load((trained_run / "train.yaml").read_text(encoding="utf-8"))["optim"] == PAGED_ADAMW_8BIT
    saved = torch.load(trained_run / "adapter" / "checkpoint-3" / "optimizer.pt", weights_only=False)
    # bitsandbytes saves its moments as state1/state2 under its own key; torch's AdamW would save exp_avg/exp_avg_sq.
    states = list(saved["state"].values())
    assert {state["step"] for state in states} == {3}
    assert {key for state in states for key in state} == {"step", "__bnb_optimizer_quant_state__"}
    assert all({"state1", "state2"} <= set(state["__bnb_optimizer_quant_state__"]) for state in states)


def test_export_merges_the_adapter(trained_run, tmp_path):
    run("export", "--adapter", str(trained_run / "adapter"), "-o", str(tmp_path / "merged"))
    config = json.loads((tmp_path / "merged" / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert (tmp_path / "merged" / "tokenizer.json").exists()
    assert any(p.suffix == ".safetensors" for p in (tmp_path / "merged").iterdir())


def test_behavior_trains_predicts_and_scores_against_baselines():
    run("data", "--task", "behavior")
    small = ["--set", "max_samples=64", "--set", "max_steps=1", "--set", "per_device_train_batch_size=1", "--set", "gradient_accumulation_steps=1"]
    out = run("train", "--task", "behavior", "--gpu", "cpu", "--model", "tiny", *small, "--set", "eval_strategy=no", "--set", "save_strategy=no")
    adapter = Path(out.strip().splitlines()[-1].removeprefix("adapter: "))
    assert "template: qwen3_nothink" in (adapter.parent / "train.yaml").read_text(encoding="utf-8")

    out = run("predict", "--task", "behavior", "--adapter", str(adapter), "--skip-base", "--set", "max_samples=6", "--set", "max_new_tokens=12")
    predictions = Path(out.strip().splitlines()[-1].removeprefix("adapter: "))
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(rows) == 6 and all(" - " in r["label"] for r in rows)

    report = Path(run("eval", "--task", "behavior", "--predictions", str(predictions)).strip().splitlines()[-1].removeprefix("report: "))
    metrics = json.loads((report.parent / "metrics.json").read_text())
    assert metrics["adapter"]["n"] == 6
    assert set(metrics["baselines"]) == {"most_frequent", "repeat_last", "markov"}
    for block in (metrics["adapter"], *metrics["baselines"].values()):
        assert block["overall"] == pytest.approx(block["exact"] + 0.5 * block["partial"])
    assert (report.parent / "prediction_results.csv").exists()
