"""Reading raw JSON / JSON Lines files into located records, with errors that name file and position."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.core.errors import RecordError


def read_text(path: Path) -> str:
    """The file's UTF-8 text; an empty or non-UTF-8 file is a RecordError, never a traceback."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RecordError(str(path), "file", "-", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RecordError(str(path), f"line {line}", "-", f"not UTF-8 (byte {exc.start}: {exc.reason})") from None
    if not text.strip():
        raise RecordError(str(path), "file", "-", "file is empty")
    return text


def iter_json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (location, record) from a JSON array file or a JSON Lines file (by suffix .jsonl)."""
    path = Path(path)
    text = read_text(path)
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(str(path), f"line {number}", "-", f"not valid JSON: {exc.msg}") from None
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(str(path), f"line {exc.lineno} column {exc.colno}", "-", f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise RecordError(str(path), "file", "(top level)", f"expected a JSON array of records, got {type(data).__name__}")
    for index, record in enumerate(data):
        yield f"record {index}", record
