"""A JSON array read record by record gives what json.load gives, and its errors say where, like json's own."""

import json
import random

import pytest

from pipelines.core import json_array
from pipelines.core.errors import RecordError
from pipelines.core.json_array import iter_json_array


def elements(path, max_bytes=None) -> list[tuple]:
    with open(path, "rb") as file:
        return list(iter_json_array(path, file, max_bytes))


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["str", "int", "float", "bool", "null"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice('ab "\\\n\t中文é😀{}[],:') for _ in range(rng.randint(0, 12)))
    if kind == "int":
        return rng.randint(-10**12, 10**12)
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_records_equal_json_load_whatever_the_chunk_boundaries(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(json_array, "CHUNK", chunk)
    rng = random.Random(chunk)
    for n in range(20):
        records = [random_value(rng) for _ in range(rng.randint(0, 6))]
        text = json.dumps(records, ensure_ascii=n % 2 == 0, indent=None if n % 3 else 2)
        path = tmp_path / "a.json"
        path.write_text(("\ufeff" if n % 5 == 0 else "") + text, encoding="utf-8")
        assert [record for _, record, _, _ in elements(path)] == json.loads(text)


@pytest.mark.parametrize(
    "text",
    ['[{"a":1} {"b":2}]', "[1,]", "[1] x", '[{"a": "unterminated}]', '[\n {"a": 1},\n {"b": 2, }\n]', "[\n\n  tru"],
)
@pytest.mark.parametrize("chunk", [2, 1 << 20])
def test_syntax_errors_name_the_line_and_column_json_names(tmp_path, monkeypatch, text, chunk):
    monkeypatch.setattr(json_array, "CHUNK", chunk)
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(RecordError) as caught:
        elements(path)
    exc = expected.value
    assert str(caught.value) == f"{path}: line {exc.lineno} column {exc.colno}: -: not valid JSON: {exc.msg}"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "file: -: file is empty"),
        (b"  \n ", "file: -: file is empty"),
        (b'{"a": 1}', "file: (top level): expected a JSON array of records, got dict"),
        (b'[\n{"a": "ok"},\n{"a": "\xff"}]', "line 3: -: not UTF-8 (byte 22: invalid start byte)"),
    ],
)
def test_file_problems_are_record_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(RecordError) as caught:
        elements(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_record_with_a_unicode_escape_is_flagged_for_the_lone_surrogate_check(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"a": "x"}, {"a": "\\u00e9"}]', encoding="utf-8")
    assert [escaped for _, _, escaped, _ in elements(path)] == [False, True]


def test_elements_are_numbered_from_1_and_sized_only_where_they_may_exceed_the_limit(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"a": "x"}, {"a": "' + "话" * 10 + '"}]', encoding="utf-8")
    # {"a": "x"} is 10 characters: at most 40 bytes, under 50, so not measured; the second is 19 characters
    # (9 + 10 x 3 bytes = 39 bytes of UTF-8) and may exceed 50, so it is measured.
    assert [(number, size) for number, _, _, size in elements(path, 50)] == [(1, None), (2, 39)]
    assert [size for _, _, _, size in elements(path)] == [None, None]
