"""Per-sample data evaluators need but the model must not see (an agent's tool results, say), kept beside a split.

`<dataset>.meta.jsonl` has one JSON object per line, line i for record i of the dataset's JSON file.
"""

import json
from pathlib import Path

from pipelines.core.atomic import write_text
from pipelines.core.readers import iter_json_records


def meta_path(dataset_dir: Path, dataset: str) -> Path:
    return Path(dataset_dir) / f"{dataset}.meta.jsonl"


def write_meta(dataset_dir: Path, dataset: str, metas: list[dict | None]) -> Path:
    lines = [json.dumps(meta or {}, ensure_ascii=False, sort_keys=True) for meta in metas]
    path = meta_path(dataset_dir, dataset)
    write_text(path, "\n".join(lines) + "\n")
    return path


def read_meta(dataset_dir: Path, dataset: str) -> list[dict]:
    """The sidecar's objects in record order; [] when the dataset has none."""
    path = meta_path(dataset_dir, dataset)
    return [record for _, record in iter_json_records(path)] if path.exists() else []
