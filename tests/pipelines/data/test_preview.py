"""Preview renders through LLaMA-Factory's own template; the label segment is exactly what is trained."""

import dataclasses
import json

import pytest

from pipelines.core.tasks import load_task
from pipelines.data.dataset_info import entry_for
from pipelines.data.encoding import load_encoder
from pipelines.data.preview import render

RECORD = {"instruction": "你好", "input": "", "output": "答", "history": [["早", "早上好"]]}


def task_with(template, thinking):
    task = load_task("telecom")
    return dataclasses.replace(task, config={**task.config, "model": {**task.model, "template": template, "enable_thinking": thinking}})


@pytest.mark.parametrize(
    "template, thinking, last_prompt_tail, last_label",
    [
        # Qwen3 with thinking on learns an empty think block in the label ...
        ("qwen3", True, "<|im_start|>assistant\n", "<think>\n\n</think>\n\n答<|im_end|>\n"),
        # ... with thinking off the empty block moves into the prompt and is not trained.
        ("qwen3", False, "<|im_start|>assistant\n<think>\n\n</think>\n\n", "答<|im_end|>\n"),
        ("qwen3_nothink", False, "<|im_start|>assistant\n", "答<|im_end|>\n"),
        ("qwen", False, "<|im_start|>assistant\n", "答<|im_end|>\n"),
    ],
)
def test_label_tokens_follow_template_and_thinking(template, thinking, last_prompt_tail, last_label):
    task = task_with(template, thinking)
    encoder = load_encoder(task)
    tokenizer = encoder.tokenizer
    sample = render(task, RECORD, entry_for("d.json", [RECORD]), encoder)
    labels = [text for text, is_label in sample.segments if is_label]
    assert labels[-1] == last_label
    assert sample.segments[-2][0].endswith(f"<|im_start|>user\n你好<|im_end|>\n{last_prompt_tail}")
    assert len(labels) == 2  # history answers are trained too (LLaMA-Factory's default)
    assert sample.label_tokens == sum(len(tokenizer.encode(t)) for t in labels)
    assert not sample.truncated


def test_system_prompt_and_truncation_flag():
    task = task_with("qwen", False)
    long = {"instruction": "问" * 5000, "input": "", "output": "答", "system": "你是客服。"}
    sample = render(task, long, entry_for("d.json", [long]), load_encoder(task))
    assert sample.segments[0][0].startswith("<|im_start|>system\n你是客服。<|im_end|>\n")
    assert sample.truncated and sample.prompt_tokens > task.train["cutoff_len"]


def test_sharegpt_tools_are_shown_in_the_prompt_and_function_calls_are_trained():
    task = task_with("qwen", False)
    record = {
        "conversations": [
            {"from": "human", "value": "北京天气？"},
            {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "北京"}}'},
            {"from": "observation", "value": "晴"},
            {"from": "gpt", "value": "北京晴。"},
        ],
        "system": "你是助手。",
        "tools": '[{"name": "get_weather", "description": "查询天气", "parameters": {"type": "object", "properties": {}}}]',
    }
    sample = render(task, record, entry_for("d.json", [record]), load_encoder(task))
    prompts = [text for text, is_label in sample.segments if not is_label]
    labels = [text for text, is_label in sample.segments if is_label]
    assert prompts[0].startswith("<|im_start|>system\n你是助手。\n\n# Tools")
    assert '"name": "get_weather", "description": "查询天气"' in prompts[0]
    assert labels == ['<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call><|im_end|>\n', "北京晴。<|im_end|>\n"]
    assert prompts[1] == "<|im_start|>user\n<tool_response>\n晴\n</tool_response><|im_end|>\n<|im_start|>assistant\n"


def test_preview_reads_only_the_records_it_shows(tmp_path, monkeypatch):
    # The dataset file breaks after its third record: showing two must not parse it, or any record after them.
    from pipelines.core.paths import WORKSPACE_ENV
    from pipelines.data.dataset_info import register
    from pipelines.data.preview import preview

    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path))
    folder = tmp_path / "dataset_info"
    folder.mkdir()
    good = ",\n".join(json.dumps({**RECORD, "instruction": f"问题{i}"}, ensure_ascii=False) for i in range(3))
    (folder / "telecom_train.json").write_text("[\n" + good + ",\n{ broken", encoding="utf-8")
    register({"telecom_train": entry_for("telecom_train.json", [RECORD])}, folder)
    samples = preview(task_with("qwen", False), "telecom_train", 2)
    assert [s.segments[-2][0].endswith(f"问题{i}<|im_end|>\n<|im_start|>assistant\n") for i, s in enumerate(samples)] == [True, True]
