"""Raw JSON readers: every bad input is a RecordError naming file, position and field, never a traceback."""

import json
import os
from pathlib import Path

import pytest

from pipelines.behavior.samples import decode_json
from pipelines.core.errors import InvalidRecord, RecordError
from pipelines.core.readers import (
    LONE_SURROGATE,
    TOO_DEEP,
    iter_json_records,
    read_text,
    record_limit,
)


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


# Issue 20: raw line and paragraph separators are legal inside JSON strings; LLaMA-Factory writes them so.
SEPARATORS = "a\u2028b\u2029c\u0085d"


def test_jsonl_lines_end_at_newline_only(tmp_path):
    path = tmp_path / "x.jsonl"
    rows = [{"text": SEPARATORS}, {"text": "plain"}]
    path.write_bytes("\r\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode() + b"\n\n")
    assert list(iter_json_records(path)) == [("line 1", rows[0]), ("line 2", rows[1])]


def test_a_record_over_the_limit_is_refused_with_its_size(tmp_path):
    small = json.dumps({"text": "x"})  # 13 bytes
    big = json.dumps({"text": "话" * 40}, ensure_ascii=False)  # 12 + 120 bytes
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text(f"{small}\n{big}\n", encoding="utf-8")
    array = tmp_path / "x.json"
    array.write_text(f"[{small}, {big}]", encoding="utf-8")
    with record_limit(100):
        for path, location in ((jsonl, "line 2"), (array, "record 2")):
            with pytest.raises(RecordError) as caught:
                list(iter_json_records(path))
            assert str(caught.value).startswith(f"{path}: {location}: -: 132 bytes, over the limit of 100 bytes for one record")
    assert len(list(iter_json_records(jsonl))) == 2  # the default limit, 1 MiB


@pytest.mark.parametrize("kind, make", [("a FIFO (named pipe)", os.mkfifo), ("a directory", os.mkdir)])
def test_non_regular_files_are_refused_without_blocking(tmp_path, kind, make):
    path = tmp_path / "input.jsonl"
    make(path)
    with pytest.raises(RecordError) as caught:
        list(iter_json_records(path))
    assert str(caught.value) == f"{path}: file: -: not a regular file but {kind}; give a file"


def test_a_device_is_refused_before_it_is_read():
    # /dev/zero never ends: read whole, it used to take every byte of memory.
    with pytest.raises(RecordError, match="not a regular file but a character device"):
        read_text(Path("/dev/zero"))
