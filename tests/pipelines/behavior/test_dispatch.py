import json
import math
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.behavior.dispatch import (
    DECISIONS,
    Predictor,
    base_model_path,
    chat_kwargs,
    decide,
    decisions,
    follow,
    line_confidence,
)
from pipelines.behavior.events import EVENTS, render
from pipelines.behavior.samples import INSTRUCTION
from pipelines.cli.behavior import dispatch
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.tasks import Task, load_task
from pipelines.core.tiny_model import build_tiny_model, tokenizer_dir

LIVE = Path(__file__).parents[2] / "fixtures" / "behavior" / "live.jsonl"
DECISION_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+): (.+)  \(confidence (\S+); predicted: (.*)\)$")


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("dispatch")
    base = build_tiny_model(root / "m")
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(target_modules="all-linear", r=4))
    model.peft_config["default"].base_model_name_or_path = str(base)
    model.save_pretrained(root / "adapter")
    return root / "adapter"


def test_dispatch_once_prints_one_decision_per_event_after_the_first(adapter):
    # 8 new tokens: a random-weight model never ends its line, and the full 64 would only cost time.
    result = CliRunner().invoke(dispatch, ["--adapter", str(adapter), "--input", str(LIVE), "--once", "--max-new-tokens", "8"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # stderr carries the weight-loading progress bars
    events = [json.loads(line) for line in LIVE.read_text(encoding="utf-8").splitlines()]
    assert len(events) == 12 and len(lines) == 11
    for line, event in zip(lines, events[1:]):
        ts, user, action, confidence, _ = DECISION_LINE.match(line).groups()
        assert (ts, user) == (event["ts"], event["user"])
        assert 0 < float(confidence) <= 1
        assert action  # an untrained model's garbage maps to "wait (...)", a real one to a decision


def test_dispatch_help_has_an_example():
    assert "Example: domaintune dispatch --adapter" in CliRunner().invoke(dispatch, ["--help"]).output


def test_a_session_gap_starts_the_history_again(adapter, tmp_path):
    events = [json.loads(line) for line in LIVE.read_text(encoding="utf-8").splitlines()[:4]]
    events[2]["ts"] = "2025-05-26 10:10:00"  # 36 min after the second event: a new session of one event
    events[3]["ts"] = "2025-05-26 10:10:04"
    log = tmp_path / "gap.jsonl"
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    assert [d.ts for d in decisions(adapter, log, load_task("behavior"), once=True, max_new_tokens=1)] == ["2025-05-26 09:20:26", "2025-05-26 10:10:04"]


def test_live_timestamps_read_on_the_wall_clock_the_model_was_trained_on(adapter, tmp_path):
    events = [json.loads(line) for line in LIVE.read_text(encoding="utf-8").splitlines()[:3]]
    events[1]["ts"] = "2025-05-26T01:20:26.700Z"  # UTC; Asia/Shanghai is 8 hours ahead
    events[2]["ts"] = 1748222430000  # epoch milliseconds of 2025-05-26 09:20:30 in Shanghai
    log = tmp_path / "iso.jsonl"
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    assert [d.ts for d in decisions(adapter, log, load_task("behavior"), once=True, max_new_tokens=1)] == ["2025-05-26 09:20:26", "2025-05-26 09:20:30"]


def test_a_bad_line_stops_with_file_line_field_reason(adapter, tmp_path):
    lines = LIVE.read_text(encoding="utf-8").splitlines(keepends=True)
    log = tmp_path / "bad.jsonl"
    log.write_text("".join(lines[:2]) + lines[2].replace("app_usage", "app_crash"), encoding="utf-8")
    with pytest.raises(RecordError) as exc:
        list(decisions(adapter, log, load_task("behavior"), once=True, max_new_tokens=1))
    assert str(exc.value).startswith(f"{log}: line 3: event: 'app_crash' is not one of")


def test_prompt_is_the_one_llamafactory_trains_on():
    from llamafactory.data.converter import AlpacaDatasetConverter
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.data.template import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    task = load_task("behavior")
    context = [render(json.loads(line)) for line in LIVE.read_text(encoding="utf-8").splitlines()[:3]]
    record = {"instruction": INSTRUCTION, "input": "\n".join(context), "output": "x"}
    converted = AlpacaDatasetConverter(DatasetAttr("file", "behavior_train"), None)(record)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    ours = Predictor(None, tokenizer, None, chat_kwargs(task)).prompt_ids(context)
    template = get_template_and_fix_tokenizer(tokenizer, DataArguments(template=task.model["template"], enable_thinking=task.model["enable_thinking"]))
    theirs, _ = template.encode_oneturn(tokenizer, converted["_prompt"] + converted["_response"], converted["_system"])
    assert ours == theirs


def test_dispatch_through_an_endpoint_decides_from_the_served_models_tokens(adapter, fake_engine):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    line = "2025-05-26 09:21:00 - 启动应用: chrome.exe"
    ids = tokenizer.encode(line + "\n", add_special_tokens=False) + [tokenizer.eos_token_id]
    # Every token at probability 0.5, the end of text too; "\n" ends the line, so confidence is 0.5.
    fake_engine.respond = lambda prompt_ids, index: (line + "\n", ids, [math.log(0.5)] * len(ids))
    args = ["--adapter", str(adapter), "--input", str(LIVE), "--once", "--endpoint", fake_engine.base_url, "--endpoint-model", "m"]
    result = CliRunner().invoke(dispatch, args)
    assert result.exit_code == 0, result.output
    events = [json.loads(text) for text in LIVE.read_text(encoding="utf-8").splitlines()]
    assert result.stdout.splitlines() == [
        f"{e['ts']} {e['user']}: preload chrome.exe  (confidence 0.5; predicted: {line})" for e in events[1:]
    ]
    first = fake_engine.requests[0]
    task = load_task("behavior")
    predictor = Predictor(None, tokenizer, task.config.get("system"), chat_kwargs(task))
    assert first["prompt"] == predictor.prompt_ids([render(e) for e in events[:2]])  # the prompt training used
    assert (first["max_tokens"], first["temperature"], first["logprobs"], first["return_tokens_as_token_ids"]) == (64, 0.0, 1, True)


def test_an_endpoint_without_token_ids_is_a_one_line_error(adapter, fake_engine):
    fake_engine.respond, fake_engine.token_ids = (lambda prompt_ids, index: ("x", [87], [0.0])), False
    result = CliRunner().invoke(dispatch, ["--adapter", str(adapter), "--input", str(LIVE), "--once", "--endpoint", fake_engine.base_url, "--endpoint-model", "m"])
    assert isinstance(result.exception, DomaintuneError) and "did not return token ids with its logprobs" in str(result.exception)


def test_thinking_switch_follows_the_template():
    def task(template, thinking):
        return Task("t", {"model": {"template": template, "enable_thinking": thinking}}, Path("t.yaml"))

    assert chat_kwargs(task("qwen3", False)) == {"enable_thinking": False}
    assert chat_kwargs(task("qwen3", True)) == {}
    assert chat_kwargs(task("qwen3_nothink", False)) == {}


@pytest.mark.parametrize(
    "line, decision",
    [
        ("2025-06-02 09:00:00 - 启动应用: chrome.exe", "preload chrome.exe"),
        ("2025-06-02 09:00:00 - 关闭应用: chrome.exe", "free memory held by chrome.exe"),
        ("2025-06-02 09:00:00 - 切换到窗口: GitHub (应用: chrome.exe)", "raise window 'GitHub' of chrome.exe"),
        ("2025-06-02 09:00:00 - 访问网站 github.com 的页面 'Issues'", "prefetch github.com"),
        ("2025-06-02 09:00:00 - 访问文件: main.py (位于 C:\\src)", "open recent file main.py in C:\\src"),
        ("2025-06-02 09:00:00 - 使用应用: Code.exe (时长: 5.00秒)", "keep Code.exe resident"),
        ("打开游戏", "wait (prediction is not an action line)"),
    ],
)
def test_decisions_per_predicted_action(line, decision):
    assert decide(line) == decision


def test_every_event_has_a_decision():
    assert set(DECISIONS) == set(EVENTS)


def test_confidence_is_the_geometric_mean_up_to_the_end_of_the_first_line():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    ids = tokenizer.encode("A\nB", add_special_tokens=False)
    assert len(ids) == 3  # "A", "\n", "B"
    line, confidence = line_confidence(tokenizer, ids, [math.log(0.5), math.log(0.25), math.log(0.1)])
    assert (line, confidence) == ("A", pytest.approx(math.sqrt(0.5 * 0.25)))
    # An immediate end of text is an empty prediction whose confidence is that token's probability.
    assert line_confidence(tokenizer, [tokenizer.eos_token_id], [math.log(0.2)]) == ("", pytest.approx(0.2))


def test_follow_waits_for_complete_lines_like_tail_f(tmp_path):
    log = tmp_path / "live.jsonl"
    log.write_text("one\n\ntwo\nthr", encoding="utf-8")
    assert list(follow(log, once=True)) == [(1, "one"), (3, "two"), (4, "thr")]

    lines = follow(log, once=False, poll_s=0.01)
    assert [next(lines), next(lines)] == [(1, "one"), (3, "two")]
    writer = threading.Timer(0.1, lambda: log.open("a", encoding="utf-8").write("ee\nfour\n"))
    writer.start()
    assert [next(lines), next(lines)] == [(4, "three"), (5, "four")]  # "thr" waited for the rest of its line
    writer.join()


def test_adapter_without_a_local_base_is_a_one_line_error(tmp_path):
    with pytest.raises(DomaintuneError, match="is not a LoRA adapter directory"):
        base_model_path(tmp_path)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Nowhere-0B"}), encoding="utf-8")
    with pytest.raises(DomaintuneError, match="base model 'Qwen/Nowhere-0B' is not available locally"):
        base_model_path(tmp_path)
