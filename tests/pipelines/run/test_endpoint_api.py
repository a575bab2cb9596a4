"""The chat form of a record's conversation, and a chat answer as do_predict writes one (pipelines/run/endpoint_api.py)."""

import json

from openai.types.chat import ChatCompletionMessage

from pipelines.run.endpoint_api import chat_messages, message_text

TOOLS = [{"name": "search_nearby", "description": "餐厅搜索", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]
CONVERSATION = {  # LLaMA-Factory's aligned form of a sharegpt record with a tool call in its history
    "system": "你是地图助手。",
    "tools": json.dumps(TOOLS, ensure_ascii=False),
    "messages": [
        {"role": "user", "content": "五道口有川菜吗？"},
        {"role": "function", "content": json.dumps({"name": "search_nearby", "arguments": {"q": "川菜"}}, ensure_ascii=False)},
        {"role": "observation", "content": "[蜀地源]"},
        {"role": "assistant", "content": "有：蜀地源。"},
        {"role": "user", "content": "多远？"},
    ],
}


def test_llamafactory_gets_its_own_function_turn_and_others_openais_tool_calls():
    ours, tools = chat_messages(CONVERSATION, llamafactory=True)
    theirs, same_tools = chat_messages(CONVERSATION, llamafactory=False)
    assert tools == same_tools == [{"type": "function", "function": TOOLS[0]}]
    assert [m["role"] for m in ours] == ["system", "user", "function", "tool", "assistant", "user"]
    assert ours[2]["content"] == CONVERSATION["messages"][1]["content"]  # llamafactory-cli api reads it as its dataset has it
    assert [m["role"] for m in theirs] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert theirs[2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "search_nearby", "arguments": '{"q": "川菜"}'}}]}
    assert ours[3] == theirs[3] == {"role": "tool", "content": "[蜀地源]"}


def test_no_system_no_tools():
    messages, tools = chat_messages({"system": "", "tools": "", "messages": [{"role": "user", "content": "hi"}]}, llamafactory=False)
    assert (messages, tools) == ([{"role": "user", "content": "hi"}], [])


def test_a_tool_call_answer_is_written_as_llamafactorys_function_turn():
    called = ChatCompletionMessage.model_validate({"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "search_nearby", "arguments": '{"q": "川菜"}'}}]})
    assert json.loads(message_text(called)) == [{"name": "search_nearby", "arguments": {"q": "川菜"}}]
    assert message_text(ChatCompletionMessage(role="assistant", content="有。")) == "有。"
    assert message_text(ChatCompletionMessage(role="assistant", content=None)) == ""
