"""Issue 25: every command that loads a model resolves it before anything starts; a model neither local nor
downloadable stops the command in one line (model, hub, how to copy it in) with no run folder; `recipe` and
`train` say how long training will take."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.paths import WORKSPACE_ENV, models_dir, runs_dir

DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))
TELECOM_BASE = "Qwen/Qwen2.5-1.5B-Instruct"


def closed_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A workspace of its own, and both hubs at a loopback port where nothing listens."""
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("DOMAINTUNE_HUB", raising=False)
    return tmp_path


def test_train_without_the_model_stops_in_one_line_and_leaves_no_run(offline):
    # The real CLI, as a user runs it: it used to create runs/telecom-cpu-*/ and fail after ~60 s in llamafactory-cli.
    result = subprocess.run([DOMAINTUNE, "train", "--task", "telecom", "--gpu", "cpu"], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.stdout == "", result.stderr
    assert lines[0].startswith(f"Error: model {TELECOM_BASE} is not in ")
    assert "ModelScope (http://127.0.0.1:" in lines[0] and "cannot be reached (ConnectError" in lines[0]
    assert f"run `domaintune download --model {TELECOM_BASE}` and copy" in lines[0] and "or pass --model DIR" in lines[0]
    assert not runs_dir().exists() and not models_dir().exists()


def adapter_over(tmp_path: Path, base: str) -> Path:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base}), encoding="utf-8")
    return adapter


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "--task", "telecom", "--base-only", "--model", "Qwen/Qwen2.5-0.5B-Instruct"],
        ["serve", "--task", "telecom", "--base-only"],
        ["predict", "--task", "telecom", "--adapter", "{adapter}"],
        ["serve", "--task", "telecom", "--adapter", "{adapter}"],
        ["export", "--adapter", "{adapter}", "-o", "{out}"],
        ["dispatch", "--adapter", "{adapter}", "--input", "{log}", "--once"],
    ],
)
def test_every_command_that_loads_a_model_refuses_it_first(offline, command):
    adapter = adapter_over(offline, "Qwen/Qwen2.5-0.5B-Instruct")
    log = offline / "live.jsonl"
    log.write_text("", encoding="utf-8")
    args = [part.format(adapter=adapter, out=offline / "export", log=log) for part in command]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    model = "Qwen/Qwen2.5-0.5B-Instruct" if "--adapter" in command or "--model" in command else TELECOM_BASE
    assert result.output.startswith(f"Error: model {model} is not in ") and len(result.output.strip().splitlines()) == 1
    assert f"domaintune download --model {model}`" in result.output
    assert not runs_dir().exists() and not (offline / "export").exists()


def test_no_download_refuses_and_hub_names_the_other_hub(offline):
    refused = CliRunner().invoke(cli, ["train", "--task", "telecom", "--gpu", "cpu", "--no-download"])
    assert refused.exit_code == 1
    assert f"model {TELECOM_BASE} is not in " in refused.output and "--no-download refuses to fetch it from ModelScope" in refused.output
    hf = CliRunner().invoke(cli, ["train", "--task", "telecom", "--gpu", "cpu", "--hub", "huggingface"])
    assert hf.exit_code == 1
    assert "Hugging Face (http://127.0.0.1:" in hf.output and f"`domaintune download --model {TELECOM_BASE} --hub huggingface`" in hf.output
    assert not runs_dir().exists()


def test_recipe_says_the_expected_training_time_without_downloading(offline, long_telecom_samples):
    # 100 samples of 400 tokens (the fixture's statistics), 3 epochs (recipes/tasks/telecom.yaml).
    result = CliRunner().invoke(cli, ["recipe", "--task", "telecom", "--gpu", "4090"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("Expected training time"))
    assert line.startswith("Expected training time on 4090: about ")
    assert "(40,000 tokens per epoch x 3 epochs = 120,000 tokens at ~" in line and "estimate: scaled from " in line
    recipe = Path(result.output.strip().splitlines()[-1]).read_text(encoding="utf-8")
    assert f"# {line}" in recipe.splitlines()
    assert "Advice:" not in result.output


def test_a_real_model_on_the_cpu_tier_comes_with_advice(offline, long_telecom_samples):
    real = CliRunner().invoke(cli, ["recipe", "--task", "telecom", "--gpu", "cpu"])
    assert real.exit_code == 0, real.output
    assert "Advice: the cpu tier trains a real model only slowly; use a GPU tier" in real.output and "`--model tiny`" in real.output
    tiny = CliRunner().invoke(cli, ["recipe", "--task", "telecom", "--gpu", "cpu", "--model", "tiny"])
    assert tiny.exit_code == 0, tiny.output
    assert "Expected training time on cpu" in tiny.output and "Advice:" not in tiny.output


@pytest.mark.parametrize(("args", "switch"), [([], "1"), (["--hub", "huggingface"], "0")])
def test_models_picked_in_the_web_ui_come_from_the_chosen_hub(offline, monkeypatch, args, switch):
    # The UI has no model of its own: it downloads the one picked in it, where LLaMA-Factory's USE_MODELSCOPE_HUB says.
    from pipelines.run import webui as webui_module

    seen = {}
    monkeypatch.setattr(webui_module, "run_child", lambda command, env, cwd: seen.update(env) or 0)
    result = CliRunner().invoke(cli, ["webui", *args])
    assert result.exit_code == 0, result.output
    assert seen["USE_MODELSCOPE_HUB"] == switch
