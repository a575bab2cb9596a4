"""ShareGPT, the whole of LLaMA-Factory's spec: tool turns, system/tools columns, custom tags, its ordering rules."""

import json

import pytest

from pipelines.converters.sharegpt import convert
from pipelines.core.errors import RecordError
from pipelines.core.registry import CONVERTERS

WEATHER_TOOLS = '[{"name": "get_weather", "description": "查询城市天气", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]'


def records(path, options=None, skip_invalid=False):
    return [e.record for e in convert([path], options or {}, skip_invalid).examples]


def test_registered_under_its_name():
    assert CONVERTERS.get("sharegpt").fn is convert


def test_tool_calling_records_keep_every_turn_system_and_tools(fixtures):
    out = records(fixtures / "formats/sharegpt_tools.json")
    assert len(out) == 6
    assert out[0] == {
        "conversations": [
            {"from": "human", "value": "北京明天天气怎么样？"},
            {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "北京"}}'},
            {"from": "observation", "value": '{"weather": "晴", "high": 20}'},
            {"from": "gpt", "value": "北京明天晴，最高 20 度。"},
        ],
        "system": "你是助手。",
        "tools": WEATHER_TOOLS,
    }
    assert json.loads(out[4]["tools"])[0]["name"] == "query_bill"  # a list in the input, its JSON text out
    assert [t["from"] for t in out[4]["conversations"]] == ["human", "function_call", "observation", "gpt", "human", "gpt"]
    assert out[5] == {"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "你好，有什么可以帮您？"}]}


def test_both_spellings_and_a_leading_system_turn(fixtures):
    assert records(fixtures / "telecom/sharegpt.json") == [
        {
            "conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "您好"}, {"from": "human", "value": "查话费"}, {"from": "gpt", "value": "发送CXHF"}],
            "system": "客服",
        },
        {"conversations": [{"from": "human", "value": "退订彩铃"}, {"from": "gpt", "value": "发送0000到10086"}], "system": "你是客服"},
    ]


def test_custom_columns_and_tags_are_read_and_written_with_the_default_ones(tmp_path):
    record = {"messages": [{"speaker": "system", "text": "S"}, {"speaker": "me", "text": "Q"}, {"speaker": "bot", "text": "A"}], "functions": WEATHER_TOOLS}
    (tmp_path / "custom.jsonl").write_text(json.dumps(record), encoding="utf-8")
    options = {"columns": {"messages": "messages", "tools": "functions"}, "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "me", "assistant_tag": "bot"}}
    assert records(tmp_path / "custom.jsonl", options) == [
        {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}], "system": "S", "tools": WEATHER_TOOLS}
    ]
    with pytest.raises(RecordError) as info:  # without the role tags, the default ones apply
        records(tmp_path / "custom.jsonl", {"columns": {"messages": "messages"}, "tags": {"role_tag": "speaker", "content_tag": "text"}})
    assert str(info.value).endswith("custom.jsonl: line 1: messages[1].speaker: unknown role 'me'; roles are human, gpt, observation, function_call, system")


H, G = {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}
F, O = {"from": "function_call", "value": '{"name": "f", "arguments": {}}'}, {"from": "observation", "value": "r"}


@pytest.mark.parametrize(
    "record, message",
    [
        # The first turn out of place is named, counting from the file's own list (a system turn is index 0).
        ({"conversations": [H, O, F, G]}, "conversations[1].from: 'observation' where LLaMA-Factory expects gpt or function_call"),
        ({"conversations": [H, F, G, G]}, "conversations[2].from: 'gpt' where LLaMA-Factory expects human or observation"),
        ({"conversations": [{"from": "system", "value": "s"}, H, H, G]}, "conversations[2].from: 'human' where LLaMA-Factory expects gpt or function_call"),
        ({"conversations": [{"role": "assistant", "content": "a"}]}, "conversations[0].role: 'assistant' (gpt) where LLaMA-Factory expects human or observation"),
        ({"conversations": [H, F, O]}, "conversations: ends with a observation turn; the last turn must be gpt or function_call, the answer the model learns"),
        ({"conversations": [H, {"from": "function_call", "value": "get_weather(北京)"}]}, "conversations[1].value: a function call must be JSON {\"name\", \"arguments\"}: Expecting value"),
        ({"conversations": [H, {"from": "function_call", "value": '{"name": "f"}'}]}, "conversations[1].value: a function call must be JSON {\"name\", \"arguments\"} (or a list of them), got '{\"name\": \"f\"}'"),
        ({"conversations": [{"from": "bot", "value": "x"}, G]}, "conversations[0].from: unknown role 'bot'; roles are human, user, gpt, assistant, observation, function_call, system"),
        ({"conversations": [{"from": "human"}, G]}, "conversations[0]: no content: expected key 'value' or 'content'"),
        ({"conversations": [H, {"from": "gpt", "value": " "}]}, "conversations[1].value: empty gpt turn"),
        ({"conversations": [H, G], "tools": "get_weather"}, "tools: not a JSON list of function definitions: Expecting value"),
        ({"conversations": [H, G], "tools": '{"name": "f"}'}, "tools: must be a JSON list of function definitions, each with a name"),
        ({"conversations": [H, G], "images": ["cat.png"]}, "images: multimodal columns are not supported by this task's model"),
        ({"conversations": []}, "conversations: [] should be non-empty"),
    ],
)
def test_bad_records_name_file_record_turn_and_field(tmp_path, record, message):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"conversations": [H, G]}, record], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RecordError) as info:
        records(path)
    assert str(info.value) == f"{path}: record 2: {message}"


def test_fields_not_carried_over_are_counted_per_record(tmp_path):
    rows = [{"conversations": [{**H, "weight": 0}, G], "id": 1}, {"conversations": [H, G], "id": 2, "source": "web"}, {"conversations": [H, G]}]
    (tmp_path / "d.json").write_text(json.dumps(rows), encoding="utf-8")
    conversion = convert([tmp_path / "d.json"], {}, False)
    assert len(conversion.examples) == 3
    assert conversion.dropped == {"id": 2, "source": 1, "conversations[].weight": 1}


def test_skip_invalid_names_the_first_ten_skipped_records_and_counts_all(tmp_path):
    rows = [{"conversations": [G, H]}] * 12 + [{"conversations": [H, G]}]
    (tmp_path / "d.json").write_text(json.dumps(rows), encoding="utf-8")
    conversion = convert([tmp_path / "d.json"], {}, True)
    assert len(conversion.examples) == 1
    assert conversion.skipped == {"conversations[0].from: 'gpt' where LLaMA-Factory expects human or observation": 12}
    assert conversion.skipped_records() == f"{tmp_path / 'd.json'}: records 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more"
