"""Reading LLaMA-Factory's generated_predictions.jsonl and splitting it by the datasets it was made from."""

import json
from pathlib import Path

from pipelines.core.errors import RecordError
from pipelines.core.layout import SEGMENTS_FILE
from pipelines.core.readers import iter_json_records

FIELDS = ("prompt", "predict", "label")


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
    segments = json.loads(segments_path.read_text(encoding="utf-8"))
    if sum(s["n"] for s in segments) != len(rows):
        raise RecordError(str(path), "file", "-", f"{len(rows)} predictions but {segments_path} describes {sum(s['n'] for s in segments)}")
    out, start = {}, 0
    for segment in segments:
        out[segment["split"]] = rows[start : start + segment["n"]]
        start += segment["n"]
    return out
