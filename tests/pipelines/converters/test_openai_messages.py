"""OpenAI chat messages -> ShareGPT target records: tool_calls, parallel tool results, text parts, what is dropped."""

import json

import pytest

from pipelines.converters.openai_messages import (
    CONTENT_BESIDE_CALLS,
    TOOL_JOIN,
    convert,
)
from pipelines.core.errors import RecordError


def test_tool_calls_become_function_call_turns_and_tool_results_observations(fixtures):
    conversion = convert([fixtures / "formats/openai_messages.jsonl"], {}, False)
    out = [e.record for e in conversion.examples]
    assert len(out) == 6
    assert out[0] == {
        "conversations": [
            {"from": "human", "value": "北京和杭州明天天气怎么样？"},
            {"from": "function_call", "value": '[{"name": "get_weather", "arguments": {"city": "北京"}}, {"name": "get_weather", "arguments": {"city": "杭州"}}]'},
            {"from": "observation", "value": '{"high": 20}' + TOOL_JOIN + '{"high": 18}'},  # two parallel results, one turn
            {"from": "gpt", "value": "北京最高 20 度，杭州最高 18 度。"},
        ],
        "system": "你是助手。",
        "tools": json.dumps([{"type": "function", "function": {"name": "get_weather", "description": "查询城市天气", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}], ensure_ascii=False),
    }
    assert out[4] == {"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "你好！"}]}  # text parts joined
    # The last record's "我来查一下。" beside its tool call and its `weight` have no ShareGPT place: counted, not silent.
    assert conversion.dropped == {CONTENT_BESIDE_CALLS: 1, "messages[].weight": 1}


M = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
CALL = {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}


@pytest.mark.parametrize(
    "record, message",
    [
        ({"messages": [M[1], M[0]]}, "messages[0].role: 'assistant' (gpt) where LLaMA-Factory expects human or observation"),
        ({"messages": [M[0], {"role": "tool", "content": "r"}]}, "messages[1].role: 'tool' (observation) where LLaMA-Factory expects gpt or function_call"),
        ({"messages": [M[0], M[1], {"role": "system", "content": "s"}, *M]}, "messages[2].role: a system message after the conversation started; ShareGPT keeps one system prompt, first"),
        ({"messages": [M[0], {**CALL, "tool_calls": [{"function": {"name": "f", "arguments": "{city"}}]}]}, "messages[1].tool_calls[0].function.arguments: not valid JSON: Expecting property name enclosed in double quotes"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}, M[1]]}, "messages[0].content[0]: multimodal columns are not supported by this task's model"),
        ({"messages": [M[0], CALL]}, None),  # a conversation may end with the call: LLaMA-Factory trains it
        ({"messages": [{"role": "bot", "content": "x"}, M[1]]}, "messages.0.role: 'bot' is not one of ['system', 'developer', 'user', 'assistant', 'tool']"),
    ],
)
def test_bad_records_name_file_record_message_and_field(tmp_path, record, message):
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": M}) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    if message is None:
        assert len(convert([path], {}, False).examples) == 2
        return
    with pytest.raises(RecordError) as info:
        convert([path], {}, False)
    assert str(info.value) == f"{path}: line 2: {message}"


def test_tools_as_json_text_give_the_record_tools_as_a_list_give(tmp_path, fixtures):
    # LLaMA-Factory's openai formatting takes `tools` as a list or as its JSON text; so does this converter.
    records = [json.loads(line) for line in (fixtures / "formats/openai_messages.jsonl").read_text(encoding="utf-8").splitlines()]
    as_text = [{**r, "tools": json.dumps(r["tools"], ensure_ascii=False)} if "tools" in r else r for r in records]
    path = tmp_path / "text_tools.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in as_text), encoding="utf-8")
    by_list = [e.record for e in convert([fixtures / "formats/openai_messages.jsonl"], {}, False).examples]
    assert [e.record for e in convert([path], {}, False).examples] == by_list
    assert any("tools" in r for r in by_list)


def test_broken_tools_text_is_named_without_printing_it(tmp_path):
    tools = '[{"type": "function", "function": {"name": "get_weather", "description": "' + "x" * 5000 + '"}'  # no closing ]
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": M, "tools": tools}) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as info:
        convert([path], {}, False)
    assert str(info.value) == f"{path}: line 1: tools: not a JSON list of function definitions: Expecting ',' delimiter at character 5076"
