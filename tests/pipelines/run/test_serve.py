"""`domaintune serve` runs the real `llamafactory-cli api` on the tiny model: the openai client talks to it (plain
and streaming), `predict --endpoint` asks it by chat and `eval` reads the answers, the judge uses it as its
endpoint, and a SIGTERM stops the whole server. A random tiny model answers garbage, so the predict and judge parts
assert the pipeline (rows, counts, recorded parse failures), never the scores."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from transformers import AutoTokenizer

from evaluators.judge.aggregate import summarize
from evaluators.judge.cache import AnswerCache
from evaluators.judge.client import Endpoint, JudgeConfig, judge
from evaluators.judge.rubric import resolve_rubric
from pipelines.converters.map_agent import to_example
from pipelines.core.models import resolve_model
from pipelines.core.paths import REPO_ROOT
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.planning.recipe import ChatFormat
from pipelines.run.serve import serve_recipe

pytestmark = pytest.mark.slow(30)  # seconds of a quiet 2-core machine: started first under xdist

DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))
STARTUP_S = 180  # loading torch, transformers and LLaMA-Factory on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serve_recipe_loads_what_the_run_trained():
    task = load_task("restaurant")
    full = serve_recipe(task, "runs/r/adapter", None, ChatFormat("qwen3_nothink", False)).sections
    assert full["model"] == {"model_name_or_path": "runs/r/adapter", "trust_remote_code": True}
    assert full["method"]["finetuning_type"] == "full"
    assert full["dataset"] == {"template": "qwen3_nothink", "enable_thinking": False}
    lora = serve_recipe(task, "Qwen/Qwen3-0.6B", Path("runs/r/adapter"), ChatFormat("qwen3", True)).sections
    assert lora["model"]["adapter_name_or_path"] == "runs/r/adapter" and lora["method"]["finetuning_type"] == "lora"
    assert lora["dataset"]["enable_thinking"] is True


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen([DOMAINTUNE, "serve", "--task", "restaurant", "--base-only", "--model", "tiny", "--port", str(port)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + STARTUP_S
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            pytest.fail(f"llamafactory-cli api did not start:\n{process.stdout.read()[-3000:]}")
        time.sleep(1)
    yield process, port
    stop(process)


def stop(process: subprocess.Popen) -> None:
    # SIGTERM, never SIGKILL: `domaintune serve` forwards it to the server's own process group and waits for it,
    # where a kill would leave llamafactory-cli api running.
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_the_openai_client_talks_to_it_plainly_and_streaming(server):
    _, port = server
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
    assert [m.id for m in client.models.list().data] == ["restaurant"]
    reply = client.chat.completions.create(model="restaurant", messages=[{"role": "user", "content": "我在北京市五道口，推荐餐厅"}],
                                           temperature=0, max_tokens=8)
    assert reply.choices[0].message.role == "assistant" and isinstance(reply.choices[0].message.content, str)
    chunks = list(client.chat.completions.create(model="restaurant", messages=[{"role": "user", "content": "你好"}], max_tokens=8, stream=True))
    assert chunks and chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_predict_asks_it_by_chat_with_llamafactorys_own_prompts_and_eval_reads_them(server, tmp_path):
    _, port = server
    build_task(load_task("restaurant"))
    base, out = f"http://127.0.0.1:{port}/v1", tmp_path / "predict"
    predicted = subprocess.run([DOMAINTUNE, "predict", "--task", "restaurant", "--base-only", "--model", "tiny", "--endpoint", base,
                                "--endpoint-model", "restaurant", "--set", "max_samples=3", "--set", "max_new_tokens=8", "-o", str(out)],
                               check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    # auto: llamafactory-cli api has no /v1/completions, so the run asks its chat endpoint, saying why once; the
    # server is known as LLaMA-Factory's, whose template renders the prompts, so no line warns of another template.
    why = f"{base} refused token-id prompts (HTTP 404: {base} has no completions for model 'restaurant' (Not Found)): asking its chat endpoint for the whole run"
    assert predicted.stderr.splitlines().count(why) == 1 and "is not llamafactory-cli api" not in predicted.stderr
    parts = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "generated_predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    info = json.loads((out / "predict.json").read_text(encoding="utf-8"))
    assert [p["n"] for p in parts] == [3] and len(rows) == info["rows"] == info["asked"] == 3  # restaurant: validation only
    assert (info["api"]["name"], info["api"]["server"], info["api"]["notes"]) == ("chat", "llamafactory-cli api", [why])
    assert 0 < info["completion_tokens"] <= 8 * 3
    # The server counted, prompt by prompt, the tokens of do_predict's own prompts (system, qwen3_nothink, no think
    # block): it rendered the messages with the run's template, token for token as many.
    tokenizer = AutoTokenizer.from_pretrained(REPO_ROOT / resolve_model(load_task("restaurant"), "tiny").path)
    assert info["prompt_tokens"] == sum(len(tokenizer(row["prompt"], add_special_tokens=False).input_ids) for row in rows)

    evaluated = subprocess.run([DOMAINTUNE, "eval", "--task", "restaurant", "--predictions", str(out / "generated_predictions.jsonl")],
                               check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))["adapter"]["n"] == 3


def test_it_serves_as_the_judge_endpoint(server, tmp_path):
    _, port = server
    lines = (REPO_ROOT / "data/raw/restaurant/agent_output.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    items = [(f"r{i}", to_example(json.loads(line)).record) for i, line in enumerate(lines)]
    config = JudgeConfig(base_url=f"http://127.0.0.1:{port}/v1", model="restaurant", max_retries=0, timeout_s=120, max_tokens=16)
    endpoint = Endpoint(config)
    with AnswerCache(tmp_path / "cache.sqlite") as cache:
        first = summarize(judge(items, resolve_rubric("data_quality"), endpoint, cache))
        second = summarize(judge(items, resolve_rubric("data_quality"), endpoint, cache))
    # Random weights: every answer is recorded, scored or counted as a parse failure; none is a failed call, and
    # LLaMA-Factory takes response_format as it is sent.
    assert (first["items"], first["call_failures"], first["calls"]) == (3, 0, 3), first["failure_reasons"]
    assert first["scored"] + first["parse_failures"] == 3
    assert endpoint.notes() == {"response_format": "sent"}
    # Only scored answers are cached: the unreadable ones are asked again.
    assert (second["calls"], second["cached"]) == (first["parse_failures"], first["scored"])


def test_sigterm_stops_the_whole_server(server):
    process, port = server
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert not port_open(port), "llamafactory-cli api outlived `domaintune serve`"
