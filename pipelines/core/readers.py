"""Reading raw JSON / JSON Lines files into located records, with errors that name file and position."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.core.errors import RecordError
from pipelines.core.json_array import iter_json_array

# A \uD800-\uDFFF escape; JSON joins a valid pair into one character, so only a lone one survives decoding.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
TOO_DEEP = "nested too deeply to read (Python's recursion limit); flatten the record"
LONE_SURROGATE = "lone surrogate escape (\\uD800-\\uDFFF) is not valid Unicode; fix or remove it"


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


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line, read one at a time, so a 10^7-line log is never in memory whole.

    Lines end at "\n" only (str.splitlines would also break at U+2028 and friends, which titles may contain);
    errors are read_text's: a non-UTF-8 line, an unreadable or an empty file.
    """
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below; open's own error is reported first
    except OSError as exc:
        raise RecordError(str(path), "file", "-", f"cannot read: {exc.strerror}") from None
    offset, seen = 0, False
    with f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise RecordError(str(path), f"line {number}", "-", f"not UTF-8 (byte {offset + exc.start}: {exc.reason})") from None
            offset += len(raw)
            line = line.rstrip("\n").rstrip("\r")
            if line.strip():
                seen = True
                yield number, line
    if not seen:
        raise RecordError(str(path), "file", "-", "file is empty")


def iter_json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (location, record) from a JSON array file or a JSON Lines file (by suffix .jsonl)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        text = read_text(path)
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(str(path), f"line {number}", "-", f"not valid JSON: {exc.msg}") from None
            except RecursionError:
                raise RecordError(str(path), f"line {number}", "-", TOO_DEEP) from None
            yield f"line {number}", _checked(path, f"line {number}", record, SURROGATE_ESCAPE.search(line) is not None)
        return
    try:
        for index, record, escaped in iter_json_array(path):
            yield f"record {index}", _checked(path, f"record {index}", record, escaped)
    except RecursionError:
        raise RecordError(str(path), "file", "-", TOO_DEEP) from None


def _checked(path: Path, location: str, record: Any, has_escape: bool) -> Any:
    """The record, unless it holds a lone surrogate, which no UTF-8 file can store (the build would fail later)."""
    field = lone_surrogate(record) if has_escape else None
    if field is not None:
        raise RecordError(str(path), location, field, LONE_SURROGATE)
    return record


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lone_surrogate(value: Any, where: str = "") -> str | None:
    """The dotted path of the first string (value or key) holding a lone surrogate ("(record)" for the top), or None."""
    if isinstance(value, str):
        return None if _encodable(value) else (where or "(record)")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        inner = f"{where}.{key}" if where else str(key)
        if isinstance(key, str) and not _encodable(key):
            return where or "(key)"
        found = lone_surrogate(item, inner)
        if found is not None:
            return found
    return None
