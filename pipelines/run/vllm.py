"""vLLM's OpenAI-compatible server for a run, and the choice between it and Hugging Face generate (`--engine`).

    domaintune serve --task trajectory --engine vllm --port 8000      # base model + the run's LoRA adapter
    domaintune predict --task trajectory --engine vllm                # starts it, predicts base and adapter, stops it

The server loads what the run trained: the base model with the LoRA adapter through vLLM's LoRA support (the
adapter is served under the run's name, the base under `<name>-base`), or the fully fine-tuned weights. It gets
the chat template LLaMA-Factory trained with (pipelines/run/rendering.py) for chat clients, and
`--generation-config vllm`, so sampling defaults are vLLM's and not the model's generation_config.json (the
predictions send every setting anyway). Like every child it runs as its own process group (pipelines/run/launch.py).

`--engine auto` (the default) is vLLM where it imports and a CUDA device exists, else `hf` (LLaMA-Factory's
do_predict / `llamafactory-cli api`) with one line saying why.
"""

import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError, signals_raise
from pipelines.core.layout import RunLayout
from pipelines.planning.recipe import ChatFormat
from pipelines.run.launch import (
    FORWARDED_SIGNALS,
    STOP_GRACE_S,
    log_tail,
    spawn_group,
    stop_group,
)
from pipelines.run.rendering import chat_template

ENGINES = ("auto", "hf", "vllm")
STARTUP_S = 1800  # a 7B model's first start compiles CUDA graphs; a cold disk adds minutes
POLL_S = 2.0
# vLLM sizes its LoRA buffers by --max-lora-rank, which it accepts from this list only.
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def vllm_unavailable() -> str | None:
    """Why vLLM cannot run on this machine, or None when it can."""
    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed (pip install -e '.[vllm]' on a CUDA machine)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device, and vLLM needs one"
    return None


def choose_engine(requested: str) -> tuple[str, str | None]:
    """The engine to use, and the line saying why when `auto` falls back to hf."""
    why = vllm_unavailable() if requested != "hf" else None
    if requested == "vllm" and why:
        raise DomaintuneError(f"--engine vllm: {why}")
    if requested == "auto":
        return ("hf", f"engine hf: {why}") if why else ("vllm", None)
    return requested, None


@dataclass(frozen=True)
class VllmServer:
    model: str  # the base model, or fully fine-tuned weights
    name: str  # the name `model` is served under
    chat_template: Path
    host: str = "127.0.0.1"
    port: int = 8000
    adapter: Path | None = None  # a LoRA adapter over `model`, served as `adapter_name`
    adapter_name: str | None = None
    tokenizer: str | None = None  # default: the model's
    max_model_len: int | None = None  # default: the model's context

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"http://{host}:{self.port}/v1"


def vllm_server(run: RunLayout, model_path: str, adapter: Path | None, chat: ChatFormat, name: str,
                host: str = "127.0.0.1", port: int = 8000, max_model_len: int | None = None) -> VllmServer:
    """The vLLM server of a run, its chat template written beside it: a LoRA adapter answers to `name` and its base
    model to `name`-base; merged or fully fine-tuned weights, or a base model alone, answer to `name`."""
    write_text(run.chat_template, chat_template(model_path, chat.template, chat.enable_thinking))
    if adapter is None:
        return VllmServer(model_path, name, run.chat_template, host, port, max_model_len=max_model_len)
    # LLaMA-Factory saves the tokenizer it trained with beside the adapter.
    tokenizer = str(adapter) if (Path(adapter) / "tokenizer_config.json").is_file() else model_path
    return VllmServer(model_path, f"{name}-base", run.chat_template, host, port, Path(adapter), name, tokenizer, max_model_len)


def lora_rank(adapter: Path) -> int:
    """The smallest --max-lora-rank vLLM accepts that holds the adapter's rank."""
    config = Path(adapter) / "adapter_config.json"
    try:
        rank = int(json.loads(config.read_text(encoding="utf-8"))["r"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DomaintuneError(f"{config}: no readable LoRA rank `r` ({type(exc).__name__}); train the adapter again") from None
    fitting = [r for r in LORA_RANKS if r >= rank]
    if not fitting:
        raise DomaintuneError(f"{config}: LoRA rank {rank} is above vLLM's largest ({LORA_RANKS[-1]}); merge it (`domaintune export`) and serve the merged model")
    return fitting[0]


def vllm_command(server: VllmServer) -> list[str]:
    """`python -m vllm.entrypoints.openai.api_server ...` for `server` (the entry point of every vLLM release)."""
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", server.model,
        "--served-model-name", server.name,
        "--tokenizer", server.tokenizer or server.model,
        "--chat-template", str(server.chat_template),
        "--host", server.host,
        "--port", str(server.port),
        "--trust-remote-code",
        "--generation-config", "vllm",
    ]
    if server.adapter is not None:
        command += ["--enable-lora", "--max-loras", "1", "--max-lora-rank", str(lora_rank(server.adapter)),
                    "--lora-modules", f"{server.adapter_name}={server.adapter}"]
    if server.max_model_len:
        command += ["--max-model-len", str(server.max_model_len)]
    return command


def wait_ready(process: subprocess.Popen, server: VllmServer, log: Path, startup_s: float) -> None:
    """Until the server lists its models; a server that exits or never answers is a one-line error."""
    deadline = time.monotonic() + startup_s
    while process.poll() is None:
        try:
            if httpx.get(f"{server.base_url}/models", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise DomaintuneError(f"vLLM did not answer on {server.base_url} within {startup_s:.0f} s; its log: {log}")
        time.sleep(POLL_S)
    tail = log_tail(log, 1) or ["no output"]
    raise DomaintuneError(f"vLLM exited with code {process.returncode} before serving ({tail[0][:200]}); its log: {log}")


@contextmanager
def running(server: VllmServer, log: Path, startup_s: float = STARTUP_S) -> Iterator[VllmServer]:
    """The vLLM server, up and answering, for the duration of the block; stopped (its whole group) on the way out,
    after Ctrl-C, SIGTERM, SIGHUP (a closed terminal) and SIGQUIT too."""
    log.parent.mkdir(parents=True, exist_ok=True)
    # Ctrl-C is already a KeyboardInterrupt; the others' default would end us at once and leave the server running.
    stopping = tuple(signum for signum in FORWARDED_SIGNALS if signum != signal.SIGINT)
    with open(log, "w", encoding="utf-8") as out, signals_raise("vllm", stopping):
        process = spawn_group(vllm_command(server), stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(process, server, log, startup_s)
            yield server
        finally:
            stop_group(process, grace_s=STOP_GRACE_S)
