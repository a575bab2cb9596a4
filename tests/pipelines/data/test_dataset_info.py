"""Registration picks LLaMA-Factory's formatting from the target records: Alpaca, or ShareGPT with its columns and tags."""

from pipelines.data.dataset_info import entry_for

TAGS = {
    "role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
    "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system",
}


def test_sharegpt_records_register_as_sharegpt_naming_only_the_columns_they_have():
    plain = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    assert entry_for("t_train.json", [plain]) == {"file_name": "t_train.json", "formatting": "sharegpt", "columns": {"messages": "conversations"}, "tags": TAGS}
    with_tools = {**plain, "system": "s", "tools": "[]"}
    assert entry_for("t_train.json", [plain, with_tools])["columns"] == {"messages": "conversations", "system": "system", "tools": "tools"}


def test_alpaca_records_register_as_alpaca():
    entry = entry_for("t_val.json", [{"instruction": "q", "input": "", "output": "a"}])
    assert entry == {"file_name": "t_val.json", "formatting": "alpaca", "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
