"""Every file type LLaMA-Factory reads gives the same records as its JSON: CSV, Parquet, Arrow (stream and file)."""

import json

import pytest

from bench.llamafactory_demo import tabular_copy
from pipelines.core.errors import RecordError
from pipelines.core.record_files import iter_records

RECORDS = [
    {"instruction": "怎么查话费？", "input": "", "output": "发送 CXHF 到 10086。", "system": "你是客服。"},
    {"instruction": "", "input": "12345", "output": "这是一个号码。"},
    {"instruction": "办宽带", "input": "在北京", "output": "可以，\n请拨打 10086。"},
]


def write_copy(records: list[dict], path):
    return tabular_copy(records, path, "file" if path.stem == "file" else "stream")


def records_of(path):
    return [record for _, record in iter_records(path)]


@pytest.mark.parametrize("name", ["data.parquet", "stream.arrow", "file.arrow"])
def test_columnar_copies_give_the_json_records_less_their_nulls(tmp_path, name):
    # The one record without `system` has it null in a column: left out, as the JSON leaves it out.
    path = write_copy(RECORDS, tmp_path / name)
    assert records_of(path) == RECORDS
    assert [location for location, _ in iter_records(path)] == ["row 1", "row 2", "row 3"]


def test_csv_cells_are_text_and_an_empty_cell_is_missing(tmp_path):
    # pandas (and so `datasets`) reads an empty cell as null; a column of digits stays text here.
    path = write_copy(RECORDS, tmp_path / "data.csv")
    expected = [{key: value for key, value in record.items() if value} for record in RECORDS]
    assert records_of(path) == expected
    assert records_of(path)[1]["input"] == "12345"


def test_json_and_jsonl_are_read_as_before(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(RECORDS, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS), encoding="utf-8")
    assert records_of(tmp_path / "a.json") == records_of(tmp_path / "a.jsonl") == RECORDS


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("data.txt", "hello", "file: -: unsupported type .txt; supported: .json, .jsonl, .csv, .parquet, .arrow"),
        ("data", "hello", "file: -: unsupported type (no suffix); supported: .json, .jsonl, .csv, .parquet, .arrow"),
        ("data.parquet", "not parquet at all", "file: -: cannot read as parquet: Parquet magic bytes not found"),
        ("data.arrow", "not arrow", "file: -: cannot read as arrow: "),
        ("data.csv", "", "file: -: file is empty"),
        ("data.csv", "instruction,output\n", "file: -: file has no rows"),
    ],
)
def test_unreadable_files_are_one_record_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RecordError) as caught:
        records_of(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_missing_tabular_file_is_named(tmp_path):
    with pytest.raises(RecordError, match="cannot read: No such file or directory"):
        records_of(tmp_path / "gone.parquet")
