"""`--engine vllm` without vLLM (no GPU here): the server command line `serve` and `predict` would run, the engine
choice, and `predict --engine vllm` start to stop with a stand-in server process (tests/pipelines/conftest.py run as
a module) in vLLM's place: its own process group, the real openai client, both variants through one server."""

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.errors import DomaintuneError, Interrupted
from pipelines.core.models import resolve_model
from pipelines.core.paths import REPO_ROOT, runs_dir
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.run import vllm
from pipelines.run.vllm import choose_engine, lora_rank

# tests/pipelines/conftest.py run as a module: what the command line of a vLLM server would start
STAND_IN = [sys.executable, "-m", "tests.pipelines.conftest"]


@pytest.fixture
def stand_in_importable(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))  # `-m tests....` from whatever folder the server starts in


@pytest.fixture
def lora_run(tmp_path, monkeypatch) -> Path:
    """A telecom run's folder as training leaves it, enough for serving: train.yaml and a rank-32 LoRA adapter."""
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    base = REPO_ROOT / resolve_model(load_task("telecom"), "tiny").path
    run = runs_dir() / "telecom-cpu-20250101-000000"
    (run / "adapter").mkdir(parents=True)
    (run / "train.yaml").write_text("template: qwen\nenable_thinking: false\n", encoding="utf-8")
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({"r": 32, "base_model_name_or_path": str(base)}), encoding="utf-8")
    return run


@pytest.fixture
def vllm_here(monkeypatch):
    """vLLM 'installed' on a CUDA machine; the command it is given is recorded instead of run."""
    monkeypatch.setattr(vllm, "vllm_unavailable", lambda: None)


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_serve_engine_vllm_runs_base_and_adapter_with_the_trained_template_on_the_port(lora_run, vllm_here, monkeypatch):
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    commands = []
    monkeypatch.setattr("pipelines.run.serve.run_child", lambda command: commands.append(command) or 0)
    adapter = lora_run / "adapter"
    result = CliRunner().invoke(cli, ["serve", "--task", "telecom", "--adapter", str(adapter), "--port", "8123", "--name", "tel"])
    assert result.exit_code == 0, result.output
    assert "serving http://127.0.0.1:8123/v1 as model 'tel' with vllm" in result.output
    [command] = commands
    assert command[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    base = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert (option(command, "--model"), option(command, "--served-model-name")) == (base, "tel-base")
    assert "--enable-lora" in command and option(command, "--lora-modules") == f"tel={adapter}"
    assert option(command, "--max-lora-rank") == "32"
    assert (option(command, "--host"), option(command, "--port")) == ("127.0.0.1", "8123")
    assert option(command, "--generation-config") == "vllm"
    # The chat template is LLaMA-Factory's `qwen` one, the template the run trained with.
    tokenizer = AutoTokenizer.from_pretrained(base)
    get_template_and_fix_tokenizer(tokenizer, DataArguments(template="qwen"))
    assert option(command, "--chat-template") == str(lora_run / "chat_template.jinja")
    assert Path(option(command, "--chat-template")).read_text(encoding="utf-8") == tokenizer.chat_template


def test_serve_engine_vllm_of_a_base_model_has_no_adapter(tmp_path, vllm_here, monkeypatch):
    monkeypatch.setenv("DOMAINTUNE_WORKSPACE", str(tmp_path))
    commands = []
    monkeypatch.setattr("pipelines.run.serve.run_child", lambda command: commands.append(command) or 0)
    result = CliRunner().invoke(cli, ["serve", "--task", "behavior", "--base-only", "--model", "tiny"])
    assert result.exit_code == 0, result.output
    [command] = commands
    assert option(command, "--served-model-name") == "behavior" and "--enable-lora" not in command
    assert option(command, "--port") == "8000"


def test_engine_vllm_on_a_machine_without_it_is_one_line():
    result = CliRunner().invoke(cli, ["predict", "--task", "telecom", "--base-only", "--model", "tiny", "--engine", "vllm"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: --engine vllm: ")


def test_auto_is_vllm_only_where_it_can_run(monkeypatch):
    monkeypatch.setattr(vllm, "vllm_unavailable", lambda: "vllm is not installed (pip install -e '.[vllm]' on a CUDA machine)")
    assert choose_engine("auto") == ("hf", "engine hf: vllm is not installed (pip install -e '.[vllm]' on a CUDA machine)")
    assert choose_engine("hf") == ("hf", None)
    with pytest.raises(DomaintuneError, match="^--engine vllm: vllm is not installed"):
        choose_engine("vllm")
    monkeypatch.setattr(vllm, "vllm_unavailable", lambda: None)
    assert choose_engine("auto") == ("vllm", None)


@pytest.mark.parametrize(("rank", "flag"), [(4, 8), (8, 8), (16, 16), (32, 32), (33, 64)])
def test_max_lora_rank_is_the_smallest_vllm_accepts(tmp_path, rank, flag):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": rank}))
    assert lora_rank(tmp_path) == flag


def test_a_rank_above_vllms_largest_says_to_merge(tmp_path):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 1024}))
    with pytest.raises(DomaintuneError, match="merge it"):
        lora_rank(tmp_path)


def test_predict_engine_vllm_starts_one_server_for_both_variants_and_stops_it(lora_run, vllm_here, stand_in_importable, monkeypatch):
    build_task(load_task("telecom"))
    servers = []

    def stand_in(server):  # a stand-in for vLLM that serves what the real one would be told to
        servers.append(server)
        return [*STAND_IN, f"{server.name},{server.adapter_name}", str(server.port)]

    monkeypatch.setattr(vllm, "vllm_command", stand_in)
    result = CliRunner().invoke(cli, ["predict", "--task", "telecom", "--adapter", str(lora_run / "adapter"), "--set", "max_samples=2"])
    assert result.exit_code == 0, result.output
    [server] = servers
    assert (server.name, server.adapter_name, server.adapter) == ("telecom-base", "telecom", lora_run / "adapter")
    assert server.max_model_len == 1024 + 256  # telecom's cutoff_len + max_new_tokens
    for variant, model in (("adapter", "telecom"), ("base", "telecom-base")):
        folder = lora_run / "predict" / variant
        info = json.loads((folder / "predict.json").read_text(encoding="utf-8"))
        assert (info["engine"], info["model"], info["rows"]) == ("vllm", model, 4)
        assert len((folder / "generated_predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 4
    with socket.socket() as s:  # the server's whole group was stopped on the way out
        assert s.connect_ex(("127.0.0.1", server.port)) != 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_signal_while_the_server_runs_stops_its_whole_group(tmp_path, stand_in_importable, monkeypatch, signum):
    # A closed terminal (SIGHUP) or SIGQUIT used to end us at their default and leave vLLM running on its port.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = vllm.VllmServer(model="m", name="telecom", chat_template=tmp_path / "t.jinja", port=port)
    monkeypatch.setattr(vllm, "vllm_command", lambda server: [*STAND_IN, server.name, str(server.port)])
    before = signal.getsignal(signum)
    with pytest.raises(Interrupted) as stopped, vllm.running(server, tmp_path / "vllm.log", startup_s=60):
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises at once; this is only reached if the signal was not caught
    assert stopped.value.signum == signum
    assert signal.getsignal(signum) == before  # our handler is gone with the server
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
