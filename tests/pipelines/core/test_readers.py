"""Raw JSON readers: every bad input is a RecordError naming file, position and field, never a traceback."""

import pytest

from pipelines.behavior.samples import decode_json
from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.readers import LONE_SURROGATE, TOO_DEEP, iter_json_records


@pytest.mark.parametrize("name, text, location", [("deep.json", "[" * 100_000, "file"), ("deep.jsonl", '{"a": 1}\n' + "[" * 100_000, "line 2")])
def test_deeply_nested_json_is_a_record_error(tmp_path, name, text, location):
    # Issue 8 case 6: `[` x 100000 used to end in a bare RecursionError.
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        list(iter_json_records(path))
    assert str(caught.value) == f"{path}: {location}: -: {TOO_DEEP}"


def test_lone_surrogate_in_jsonl_names_line_and_field(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": "ok \\ud83d\\ude00"}\n{"a": {"b": ["x", "\\udc00"]}}\n', encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        list(iter_json_records(path))
    assert str(caught.value) == f"{path}: line 2: a.b.1: {LONE_SURROGATE}"  # line 1 is a valid pair (an emoji)


def test_behavior_log_line_with_a_lone_surrogate_or_deep_nesting_is_invalid():
    with pytest.raises(InvalidRecord) as caught:
        decode_json('{"user": "u1", "title": "\\ud800"}')
    assert (caught.value.field, caught.value.reason) == ("title", LONE_SURROGATE)
    with pytest.raises(InvalidRecord) as caught:
        decode_json("[" * 100_000)
    assert caught.value.reason == TOO_DEEP
