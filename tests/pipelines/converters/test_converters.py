"""The Alpaca converter and the shared record loop: target records, every bad-input path named by file/record/field."""

import pytest

from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.registry import CONVERTERS


def convert(name, path, skip_invalid=False):
    return CONVERTERS.get(name).fn([path], {}, skip_invalid)


def test_alpaca_keeps_optional_fields_only_when_present(fixtures):
    records = [e.record for e in convert("alpaca", fixtures / "telecom/good.json").examples]
    assert len(records) == 5
    assert records[0] == {"instruction": "光猫亮红灯怎么办？", "input": "", "output": "请检查尾纤后重启光猫。"}
    assert records[1]["system"] == "你是客服。"
    assert records[3]["history"] == [["你好", "您好，请问有什么可以帮您？"]]
    assert "history" not in records[0] and "system" not in records[0]


@pytest.mark.parametrize(
    "file, message",
    [
        ("missing_output.json", "missing_output.json: record 2: output: 'output' is a required property"),
        ("wrong_type.json", "wrong_type.json: record 3: output: 42 is not of type 'string'"),
        ("malformed.json", "malformed.json: line 3 column 23: -: not valid JSON: Expecting ',' delimiter"),
        ("empty.json", "empty.json: file: -: file is empty"),
        ("not_utf8.json", "not_utf8.json: line 1: -: not UTF-8 (byte 18: invalid start byte)"),
        ("bad_line.jsonl", "bad_line.jsonl: line 2: output: '' does not match '\\\\S'"),
    ],
)
def test_alpaca_bad_input_names_file_location_and_field(fixtures, file, message):
    with pytest.raises(RecordError) as info:
        convert("alpaca", fixtures / "telecom" / file)
    assert str(info.value).endswith(message)
    assert str(info.value).startswith(str(fixtures / "telecom" / file))


def test_skip_invalid_counts_reasons(fixtures):
    conversion = convert("alpaca", fixtures / "telecom/wrong_type.json", skip_invalid=True)
    assert len(conversion.examples) == 2
    assert dict(conversion.skipped) == {"output: 42 is not of type 'string'": 1}


def test_unknown_converter_lists_the_known_ones():
    with pytest.raises(DomaintuneError, match="alpaca"):
        CONVERTERS.get("csv-magic")
