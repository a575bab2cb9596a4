"""Reading LLaMA-Factory's generated_predictions.jsonl and splitting it by the datasets it was made from."""

import json
from pathlib import Path

from pipelines.core.errors import RecordError
from pipelines.core.layout import SEGMENTS_FILE
from pipelines.core.readers import iter_json_records, read_text
from pipelines.core.schema import schema_problems
from pipelines.core.text import strip_think

FIELDS = ("prompt", "predict", "label")
# What `domaintune predict` writes beside the predictions (pipelines/run/predict.py segments()).
SEGMENTS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["split", "n"],
        "properties": {"split": {"type": "string"}, "n": {"type": "integer", "minimum": 0}},
    },
}


def load_predictions(path: Path) -> list[dict]:
    rows = []
    for location, row in iter_json_records(Path(path)):
        if not isinstance(row, dict):
            raise RecordError(str(path), location, "(record)", "expected a JSON object")
        for name in FIELDS:
            if not isinstance(row.get(name), str):
                raise RecordError(str(path), location, name, "missing or not a string")
        rows.append(row)
    return rows


def load_segments(path: Path) -> dict[str, list[dict]]:
    """Rows grouped by source dataset, using segments.json when predict wrote one (else all rows are 'val')."""
    path = Path(path)
    rows = load_predictions(path)
    segments_path = path.parent / SEGMENTS_FILE
    if not segments_path.exists():
        return {"val": rows}
    segments = read_segments(segments_path)
    if sum(s["n"] for s in segments) != len(rows):
        raise RecordError(str(path), "file", "-", f"{len(rows)} predictions but {segments_path} describes {sum(s['n'] for s in segments)}")
    out, start = {}, 0
    for segment in segments:
        out[segment["split"]] = rows[start : start + segment["n"]]
        start += segment["n"]
    return out


def read_segments(path: Path) -> list[dict]:
    again = "written by `domaintune predict`; run it again to rewrite it"
    try:
        segments = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise RecordError(str(path), f"line {exc.lineno} column {exc.colno}", "-", f"not valid JSON ({exc.msg}); {again}") from None
    problems = schema_problems(segments, SEGMENTS_SCHEMA)
    if problems:
        field, _, reason = problems[0].partition(": ")
        raise RecordError(str(path), "file", field, f"{reason}; {again}")
    return segments


def check_labels(rows: list[dict], records: list[dict], source: str) -> None:
    """Row i must answer record i of the validation set: its label is that record's output (whitespace aside).

    Evaluators that join predictions to dataset records or sidecars by position call this first, so predictions
    from an earlier build of the dataset are refused instead of being scored against the wrong records."""
    if len(rows) > len(records):
        raise RecordError(source, "file", "-", f"{len(rows)} predictions but the validation set has {len(records)} records")
    for index, (row, record) in enumerate(zip(rows, records)):
        if strip_think(row["label"]).split() != record["output"].split():
            raise RecordError(source, f"line {index + 1}", "label",
                              f"is not the output of validation record {index + 1}; predict again after `domaintune data`")


def coverage_note(path: Path, val_rows: int, val_records: int) -> str | None:
    """A line saying the predictions at `path` answer fewer validation rows than the set has (records x the passes
    segments.json gives, 1 without it), or None when they answer all: the metrics are then of a part only."""
    segments_path = Path(path).parent / SEGMENTS_FILE
    segments = read_segments(segments_path) if segments_path.exists() else []
    passes = next((s.get("passes", 1) for s in segments if s["split"] == "val"), 1)
    expected = val_records * passes
    if val_rows >= expected:
        return None
    return f"{path}: {val_rows} of the {expected} validation rows predicted; the metrics cover only those {val_rows}"
