"""`domaintune predict --endpoint` end to end against a scripted OpenAI-compatible server on loopback
(tests/pipelines/conftest.py): the real `openai` client over real HTTP, prompts rendered by LLaMA-Factory's own
dataset pipeline, and `eval` reading what it wrote, for every task."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.paths import REPO_ROOT, WORKSPACE_ENV
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.run.predict import segments
from tests.pipelines.conftest import OPENAI_FIELDS

pytestmark = pytest.mark.slow(80)  # seconds of a quiet 2-core machine: started first under xdist

TASKS = ("telecom", "behavior", "restaurant", "trajectory")
DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Every task's datasets, built once for the module."""
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WORKSPACE_ENV, str(root))
        for name in TASKS:
            build_task(load_task(name))
    return root


@pytest.fixture
def here(built, monkeypatch) -> Path:
    monkeypatch.setenv(WORKSPACE_ENV, str(built))
    return built


def predict(engine, out: Path, task: str = "telecom", *extra: str, env: dict | None = None):
    args = ["predict", "--task", task, "--base-only", "--model", "tiny", "--endpoint", engine.base_url, "--endpoint-model", "m",
            "-o", str(out), *extra]
    return CliRunner().invoke(cli, args, env=env)


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "generated_predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def llamafactory_prompts(task_name: str, max_samples: int) -> tuple[list[list[int]], list[str], object, list[list[dict]]]:
    """The prompt ids and labels LLaMA-Factory's own converter and template give each record, the tokenizer, and each
    record's conversation as chat messages (its system prompt, then its turns before the answer)."""
    from llamafactory.data.converter import get_dataset_converter
    from llamafactory.data.parser import get_dataset_list
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    from pipelines.core.models import resolve_model
    from pipelines.core.paths import dataset_dir

    task = load_task(task_name)
    data_args = DataArguments(template=task.model["template"], enable_thinking=task.model["enable_thinking"], dataset_dir=str(dataset_dir()))
    tokenizer = AutoTokenizer.from_pretrained(REPO_ROOT / resolve_model(task, "tiny").path)
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    prompts, labels, conversations = [], [], []
    for attr in get_dataset_list([p["dataset"] for p in segments(task, max_samples)], str(dataset_dir())):
        converter = get_dataset_converter(attr.formatting, attr, data_args)
        for record in json.loads((dataset_dir() / attr.dataset_name).read_text(encoding="utf-8"))[:max_samples]:
            converted = converter(record)
            ids, label = template.encode_oneturn(tokenizer, converted["_prompt"] + converted["_response"], converted["_system"], converted["_tools"])
            prompts.append(ids)
            labels.append(tokenizer.decode(label, skip_special_tokens=True))
            system = [{"role": "system", "content": converted["_system"]}] if converted["_system"] else []
            conversations.append(system + converted["_prompt"])
    return prompts, labels, tokenizer, conversations


@pytest.mark.parametrize("task", TASKS)
def test_every_tasks_endpoint_predictions_pass_eval(here, fake_engine, tmp_path, task):
    prompts, labels, tokenizer, _ = llamafactory_prompts(task, 3)
    by_prompt = dict(zip(map(tuple, prompts), labels))
    fake_engine.respond = lambda prompt_ids, index: by_prompt[tuple(prompt_ids)]  # the record's label (trajectory: one prompt for all)
    out = tmp_path / "predict"
    result = predict(fake_engine, out, task, "--set", "max_samples=3")
    assert result.exit_code == 0, result.output
    rows, parts = rows_of(out), json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert parts == segments(load_task(task), 3)
    assert len(rows) == sum(p["n"] for p in parts)
    # The server got, token for token, what LLaMA-Factory's own template makes of each record (system prompt, thinking),
    # and the rows are do_predict's: prompts and labels in dataset order, every pass after the other.
    assert sorted(fake_engine.prompts()) == sorted(prompts)
    passes = len(rows) // len(prompts)
    assert [r["prompt"] for r in rows] == [tokenizer.decode(ids, skip_special_tokens=False) for ids in prompts] * passes
    assert [r["label"] for r in rows] == labels * passes
    if task == "trajectory":  # 4 passes x 3 records, each record asked on its own although their prompts are one
        assert len(fake_engine.requests) == 3 and {r["predict"] for r in rows} <= set(labels)
    else:
        assert [r["predict"] for r in rows] == labels

    evaluated = CliRunner().invoke(cli, ["eval", "--task", task, "--predictions", str(out / "generated_predictions.jsonl")])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))
    perfect = {"telecom": lambda m: m["adapter"]["rouge_l"], "behavior": lambda m: m["adapter"]["exact"]}
    if task in perfect:  # answers equal to the labels score 1 where the metric compares with the label
        assert perfect[task](metrics) == pytest.approx(1.0)
    assert metrics["adapter"]["n"] == parts[0]["n"]


def test_a_greedy_request_carries_do_predicts_settings_and_the_key_of_the_named_variable(here, fake_engine, tmp_path):
    out = tmp_path / "p"
    result = predict(fake_engine, out, "telecom", "--set", "max_samples=1", "--endpoint-api-key-env", "MY_KEY", env={"MY_KEY": "sk-secret-123"})
    assert result.exit_code == 0
    body = fake_engine.requests[0]
    assert (body["temperature"], body["n"], body["max_tokens"], body["repetition_penalty"]) == (0.0, 1, 256, 1.0)
    assert "top_p" not in body and "top_k" not in body
    assert set(fake_engine.auth) == {"Bearer sk-secret-123"}
    written = "".join(p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file())
    assert "sk-secret-123" not in result.output + result.stderr + written
    assert "MY_KEY" in written  # predict.json names the variable, never its value


def test_samples_per_prompt_asks_n_and_writes_the_passes_one_after_the_other(here, fake_engine, tmp_path):
    asked = []

    def respond(prompt_ids, index):  # one request at a time: the r-th request is record r's
        if index == 0:
            asked.append(prompt_ids)
        return f"record {len(asked) - 1} sample {index}"

    fake_engine.respond = respond
    out = tmp_path / "predict"
    assert predict(fake_engine, out, "trajectory", "--set", "max_samples=3", "--set", "max_new_tokens=64", "--concurrency", "1").exit_code == 0
    bodies = fake_engine.requests
    assert len(bodies) == 3 and {b["n"] for b in bodies} == {4}
    assert {(b["temperature"], b["top_p"], b["top_k"], b["max_tokens"], b["repetition_penalty"]) for b in bodies} == {(0.7, 0.9, 50, 64, 1.0)}
    assert 151645 in bodies[0]["stop_token_ids"]  # <|im_end|>, where do_predict's generate() stops
    # 4 passes x 3 records: pass k holds the k-th answer of each record, records in dataset order.
    assert [r["predict"] for r in rows_of(out)] == [f"record {r} sample {k}" for k in range(4) for r in range(3)]
    info = json.loads((out / "predict.json").read_text(encoding="utf-8"))
    assert (info["rows"], info["prompts"], info["asked"], info["settings"]["n"], info["model"]) == (12, 3, 3, 4, "m")
    assert info["completion_tokens"] == 12 * 5  # "record R sample K": 4 words + 1 per answer in the fake's usage


def test_429_and_a_timeout_are_retried(here, fake_engine, tmp_path):
    fake_engine.faults.extend([429, "slow"])
    out = tmp_path / "p"
    result = predict(fake_engine, out, "telecom", "--set", "max_samples=2", "--request-timeout", "1")
    assert result.exit_code == 0, result.output
    rows, prompts = rows_of(out), fake_engine.prompts()
    assert len(rows) == 2 + 2  # 2 validation + 2 scenario prompts
    assert len(prompts) == 4 + 2  # every prompt once, and two of them again after the 429 and the timeout
    assert len({tuple(p) for p in prompts}) == 4


def test_failed_prompts_are_one_line_and_a_rerun_asks_only_them(here, fake_engine, tmp_path):
    fake_engine.faults.extend([500] * 5)  # one prompt: its try and 4 retries
    out = tmp_path / "p"
    result = predict(fake_engine, out, "telecom", "--set", "max_samples=2", "--concurrency", "1")
    assert result.exit_code == 1
    error = result.stderr.strip().splitlines()[-1]  # after LLaMA-Factory's progress bars
    assert error.startswith("Error: 1 of 4 prompts asked of") and "(HTTP 500 after 4 retries: scripted failure); the 3 answered are kept in" in error
    assert not (out / "generated_predictions.jsonl").exists()
    assert len((out / "answers.partial.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    failed = fake_engine.prompts()[0]

    fake_engine.requests.clear()
    assert predict(fake_engine, out, "telecom", "--set", "max_samples=2").exit_code == 0
    assert fake_engine.prompts() == [failed]
    assert len(rows_of(out)) == 4 and not (out / "answers.partial.jsonl").exists()
    assert json.loads((out / "predict.json").read_text(encoding="utf-8"))["resumed"] == 3


def test_an_interrupted_predict_resumes_without_asking_again(here, fake_engine, tmp_path):
    out = tmp_path / "p"
    fake_engine.answer_limit = 3  # then the server stops answering: predict waits, and is interrupted
    command = [DOMAINTUNE, "predict", "--task", "telecom", "--base-only", "--model", "tiny", "--endpoint", fake_engine.base_url,
               "--endpoint-model", "m", "-o", str(out), "--set", "max_samples=5", "--concurrency", "1"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out / "answers.partial.jsonl"
    deadline = time.monotonic() + 300
    while not (journal.exists() and journal.read_bytes().count(b"\n") == 3 and len(fake_engine.requests) == 4):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines()[-1] == "Stopped: predict --endpoint: stopped by SIGTERM"
    assert not (out / "generated_predictions.jsonl").exists()
    answered = fake_engine.prompts()[:3]

    fake_engine.answer_limit, fake_engine.requests = None, []
    assert predict(fake_engine, out, "telecom", "--set", "max_samples=5").exit_code == 0
    asked_again = fake_engine.prompts()
    assert len(asked_again) == 10 - 3 and not any(p in asked_again for p in answered)
    rows = rows_of(out)
    assert len(rows) == sum(p["n"] for p in json.loads((out / "segments.json").read_text(encoding="utf-8"))) == 10
    info = json.loads((out / "predict.json").read_text(encoding="utf-8"))
    assert (info["asked"], info["resumed"]) == (7, 3)


def test_an_unknown_model_stops_with_one_line(here, fake_engine, tmp_path):
    fake_engine.models = {"other"}
    result = predict(fake_engine, tmp_path / "p", "telecom", "--set", "max_samples=1")
    assert result.exit_code == 1
    # The server lists its models and 'm' is not one: the 404 is about the model, not about token-id prompts.
    assert result.stderr.strip().splitlines()[-1] == f"Error: HTTP 404: {fake_engine.base_url} has no completions for model 'm' (model m does not exist)"
    assert fake_engine.paths == ["/v1/completions"]


def test_a_url_without_v1_is_told_to_add_it(here, fake_engine, tmp_path):
    base = fake_engine.base_url.removesuffix("/v1")
    args = ["predict", "--task", "telecom", "--base-only", "--model", "tiny", "--endpoint", base, "--endpoint-model", "m",
            "-o", str(tmp_path / "p"), "--set", "max_samples=1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    # auto tried token ids, then chat: both 404, and the line names the option to fix.
    assert fake_engine.paths == ["/completions", "/chat/completions"]
    assert result.stderr.strip().splitlines()[-1] == f"Error: HTTP 404 at {base}: OpenAI-compatible servers answer under /v1; try --endpoint {base}/v1"


def test_endpoint_and_engine_are_exclusive(here, fake_engine, tmp_path):
    result = predict(fake_engine, tmp_path / "p", "telecom", "--engine", "vllm")
    assert result.exit_code == 2 and "give one of them" in result.output
    result = CliRunner().invoke(cli, ["predict", "--task", "telecom", "--endpoint", fake_engine.base_url])
    assert result.exit_code == 2 and "--endpoint URL needs --endpoint-model NAME" in result.output
    result = CliRunner().invoke(cli, ["predict", "--task", "telecom", "--endpoint-api", "chat"])
    assert result.exit_code == 2 and "--endpoint-api goes with --endpoint URL" in result.output


def test_rows_follow_the_segments_and_a_torn_journal_line_is_asked_again(tmp_path):
    from pipelines.run.endpoint_predict import (
        jobs_of,
        read_answers,
        request_of,
        rows_of,
    )
    from pipelines.run.rendering import Rendered

    generation = {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "top_k": 50, "max_new_tokens": 8, "repetition_penalty": 1.0,
                  "skip_special_tokens": True}
    conversation = {"system": "", "tools": "", "messages": [{"role": "user", "content": "q"}]}
    rendered = Rendered([[1], [1], [2]], ["p0", "p1", "s0"], ["l0", "l1", "m0"], generation, [9], None, [conversation] * 3, [False] * 3)
    parts = [{"split": "val", "dataset": "v", "n": 4, "passes": 2}, {"split": "scenarios", "dataset": "s", "n": 1, "passes": 1}]
    jobs, request = jobs_of(rendered, parts), request_of(rendered)
    keys = [job.key("completions", "m", request) for job in jobs]
    assert [job.n for job in jobs] == [2, 2, 1] and len(set(keys)) == 3  # one prompt, two records
    assert not set(keys) & {job.key("chat", "m", request) for job in jobs}  # each API's answers are its own
    assert [(r["prompt"], r["predict"], r["label"]) for r in rows_of(rendered, parts, [["a", "b"], ["c", "d"], ["e"]])] == [
        ("p0", "a", "l0"), ("p1", "c", "l1"), ("p0", "b", "l0"), ("p1", "d", "l1"), ("s0", "e", "m0")]
    journal = tmp_path / "answers.partial.jsonl"
    journal.write_text(json.dumps({"key": keys[0], "texts": ["a", "b"]}) + "\n" + '{"key": "' + keys[1] + '", "te', encoding="utf-8")
    assert set(read_answers(journal)) == {keys[0]}
    # An answer holding a raw line separator (written with ensure_ascii=False) is one line; a torn UTF-8 tail is not kept.
    kept = {"key": keys[1], "texts": ["a\u2028b", "c"]}
    journal.write_bytes((json.dumps(kept, ensure_ascii=False) + "\n").encode("utf-8") + '{"key": "x", "texts": ["中'.encode()[:-1])
    assert read_answers(journal) == {keys[1]: kept}


def info_of(out: Path) -> dict:
    return json.loads((out / "predict.json").read_text(encoding="utf-8"))


def notes(result) -> list[str]:
    """The lines predict printed about how it asks (LLaMA-Factory's own logging left aside)."""
    return [line for line in result.stderr.splitlines() if line.startswith("http://127.0.0.1")]


def test_chat_sends_each_records_conversation_with_do_predicts_settings(here, fake_engine, tmp_path):
    _, labels, _, conversations = llamafactory_prompts("telecom", 2)
    by_question = {c[-1]["content"]: label for c, label in zip(conversations, labels)}
    fake_engine.respond = lambda messages, index: by_question[messages[-1]["content"]]
    out = tmp_path / "p"
    result = predict(fake_engine, out, "telecom", "--set", "max_samples=2", "--endpoint-api", "chat")
    assert result.exit_code == 0, result.output
    # Chat only, the system prompt and the question of every record (2 validation, 2 scenarios) as LLaMA-Factory reads them.
    assert fake_engine.paths == ["/v1/chat/completions"] * 4
    assert sorted(map(json.dumps, fake_engine.prompts())) == sorted(map(json.dumps, conversations))
    assert conversations[0][0] == {"role": "system", "content": "你是一名中国移动的专业客服。"}
    body = fake_engine.requests[0]
    assert (body["temperature"], body["n"], body["max_tokens"], body["repetition_penalty"]) == (0.0, 1, 256, 1.0)
    assert 151645 in body["stop_token_ids"] and "chat_template_kwargs" not in body and "top_k" not in body
    line = f"{fake_engine.base_url} is not llamafactory-cli api: the server's own chat template renders the prompts, which may not be LLaMA-Factory's qwen"
    assert notes(result) == [line]
    assert [r["predict"] for r in rows_of(out)] == [r["label"] for r in rows_of(out)] == labels
    info = info_of(out)
    assert info["api"] == {"name": "chat", "prompts": "chat messages, rendered by the server's own chat template (not necessarily LLaMA-Factory's)",
                           "server": None, "n": "per request", "notes": [line],
                           "extra_fields": ["repetition_penalty", "skip_special_tokens", "stop_token_ids"]}
    assert info["prompt_tokens"] == sum(len(m["content"]) for c in conversations for m in c)  # the server's count (the fake's: characters)
    evaluated = CliRunner().invoke(cli, ["eval", "--task", "telecom", "--predictions", str(out / "generated_predictions.jsonl")])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))["adapter"]["rouge_l"] == pytest.approx(1.0)


def predict_sampled(engine, out: Path, *extra: str):
    """trajectory's first 2 records, 4 samples each, asked one request at a time; the server answers "answer C", C
    counting every answer it gave (so a record's samples are consecutive)."""
    given = []

    def respond(messages, index):
        given.append(index)
        return f"answer {len(given) - 1}"

    engine.respond = respond
    result = predict(engine, out, "trajectory", "--set", "max_samples=2", "--concurrency", "1", *extra)
    assert result.exit_code == 0, result.output
    return result


def sampled_rows(first: int = 0) -> list[str]:
    """2 records x 4 samples, answered from "answer FIRST" on, as do_predict's rows: pass k holds each record's k-th."""
    return [f"answer {first + 4 * r + k}" for k in range(4) for r in range(2)]


def test_auto_asks_llamafactorys_chat_endpoint_once_token_ids_are_refused(here, fake_engine, tmp_path):
    fake_engine.completions, fake_engine.owned_by = False, "owner"  # llamafactory-cli api: no /v1/completions
    out = tmp_path / "p"
    result = predict_sampled(fake_engine, out, "--set", "max_new_tokens=64")
    # Decided once: one refused completions request, then every record by chat, its 4 samples as n.
    assert fake_engine.paths == ["/v1/completions"] + ["/v1/chat/completions"] * 2
    chat = fake_engine.requests[1:]
    assert {(b["n"], b["temperature"], b["top_p"], b["max_tokens"], b["do_sample"], b["presence_penalty"]) for b in chat} == {(4, 0.7, 0.9, 64, True, 1.0)}
    assert not {"top_k", "repetition_penalty", "stop_token_ids"} & set(chat[0])  # LLaMA-Factory's api reads presence_penalty
    why = (f"{fake_engine.base_url} refused token-id prompts (HTTP 404: {fake_engine.base_url} has no completions for model 'm' "
           "(Not Found)): asking its chat endpoint for the whole run")
    assert notes(result) == [why]
    assert [r["predict"] for r in rows_of(out)] == sampled_rows()
    info = info_of(out)["api"]
    assert (info["name"], info["server"], info["n"], info["extra_fields"], info["notes"]) == (
        "chat", "llamafactory-cli api", "per request", ["do_sample", "presence_penalty"], [why])


def test_a_server_without_n_or_vllms_fields_is_asked_one_sample_at_a_time_without_them(here, fake_engine, tmp_path):
    fake_engine.openai_fields_only, fake_engine.chat_n = True, "refuse"  # as a hosted API might
    out = tmp_path / "p"
    result = predict_sampled(fake_engine, out, "--endpoint-api", "chat")
    # The first record: refused with the fields and n=4, with the fields and n=1, without them and n=4; then asked
    # without them, one sample a request, as is every other record.
    bodies = fake_engine.requests
    assert [(b["n"], "top_k" in b) for b in bodies[:3]] == [(4, True), (1, True), (4, False)]
    assert len(bodies) == 3 + 2 * 4 and all(b["n"] == 1 and set(b) <= OPENAI_FIELDS for b in bodies[3:])
    base = fake_engine.base_url
    assert notes(result)[1:] == [
        f"{base} does not take n > 1 (HTTP 400 (not retried): n > 1 is not supported): each sample is a request of its own",
        (f"{base} refused the fields beyond OpenAI's (repetition_penalty, skip_special_tokens, stop_token_ids, top_k; "
         "HTTP 400 (not retried): Unrecognized request argument supplied: repetition_penalty): they are left out, so its own defaults apply")]
    assert [r["predict"] for r in rows_of(out)] == sampled_rows()
    info = info_of(out)
    assert (info["api"]["n"], info["api"]["extra_fields"], info["asked"]) == ("one request per sample", [], 2)
    assert info["completion_tokens"] == 8 * 3  # "answer C": 2 words + 1 in the fake's usage, summed over the requests of each record


def test_a_server_that_ignores_n_is_asked_one_sample_at_a_time(here, fake_engine, tmp_path):
    fake_engine.chat_n = "ignore"
    out = tmp_path / "p"
    result = predict_sampled(fake_engine, out, "--endpoint-api", "chat")
    assert [b["n"] for b in fake_engine.requests] == [4] + [1] * 8
    assert notes(result)[1:] == [f"{fake_engine.base_url} does not take n > 1 (1 answers where 4 were asked): each sample is a request of its own"]
    # The answer to n=4 had one choice ("answer 0"): that record is asked again, one sample a request.
    assert [r["predict"] for r in rows_of(out)] == sampled_rows(first=1)


def test_chat_predictions_resume_asking_only_what_failed(here, fake_engine, tmp_path):
    fake_engine.completions, fake_engine.owned_by = False, "owner"
    fake_engine.faults.extend([500] * 5)  # the first chat request: its try and 4 retries
    out = tmp_path / "p"
    result = predict(fake_engine, out, "telecom", "--set", "max_samples=2", "--concurrency", "1")
    assert result.exit_code == 1
    assert "Error: 1 of 4 prompts asked of" in result.stderr and "(HTTP 500 after 4 retries: scripted failure)" in result.stderr
    failed = fake_engine.prompts()[1]
    assert len((out / "answers.partial.jsonl").read_text(encoding="utf-8").splitlines()) == 3

    fake_engine.requests.clear()
    fake_engine.paths.clear()
    result = predict(fake_engine, out, "telecom", "--set", "max_samples=2")
    assert result.exit_code == 0, result.output
    # Decided again (token ids refused), and only the failed record asked by chat.
    assert fake_engine.paths == ["/v1/completions", "/v1/chat/completions"] and fake_engine.prompts()[1] == failed
    info = info_of(out)
    assert (info["rows"], info["asked"], info["resumed"], info["api"]["name"]) == (4, 1, 3, "chat")


def test_chat_says_which_prompts_go_whole_that_do_predict_cuts(here, fake_engine, tmp_path):
    # A 24-token cutoff cuts every telecom prompt (its system prompt alone is longer): the completions API sends
    # LLaMA-Factory's cut ids, chat the whole conversation, and says so.
    short = ("--set", "max_samples=2", "--set", "cutoff_len=24")
    ids, _, _, conversations = llamafactory_prompts("telecom", 2)
    assert all(len(prompt) > 24 for prompt in ids)
    result = predict(fake_engine, tmp_path / "completions", "telecom", *short, "--endpoint-api", "completions")
    assert result.exit_code == 0, result.output
    sent = fake_engine.prompts()
    assert len(sent) == 4 and notes(result) == []
    assert all(len(cut) <= 24 and any(whole[: len(cut)] == cut for whole in ids) for cut in sent)  # heads of the prompts
    assert info_of(tmp_path / "completions")["prompts_cut_to_cutoff_len"] == 4  # 2 validation records, 2 scenarios
    result = predict(fake_engine, tmp_path / "chat", "telecom", *short, "--endpoint-api", "chat")
    assert result.exit_code == 0, result.output
    assert notes(result)[-1] == (f"{fake_engine.base_url} gets 4 of 4 prompts whole as chat messages although they are longer "
                                 "than cutoff_len 24, which do_predict and the completions API cut them to (raise cutoff_len, or ask a "
                                 "completions endpoint)")
    assert sorted(map(json.dumps, fake_engine.prompts()[4:])) == sorted(map(json.dumps, conversations))  # whole


def test_prompts_within_cutoff_len_are_not_counted_as_cut(here, fake_engine, tmp_path):
    result = predict(fake_engine, tmp_path / "p", "telecom", "--set", "max_samples=2", "--endpoint-api", "chat")
    assert result.exit_code == 0, result.output
    assert info_of(tmp_path / "p")["prompts_cut_to_cutoff_len"] == 0
    assert not any("cutoff_len" in line for line in notes(result))
