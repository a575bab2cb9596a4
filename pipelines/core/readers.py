"""Reading raw JSON / JSON Lines files into located records, with errors that name file and position.

Only regular files are read: a FIFO would block forever and a device such as /dev/zero never ends. One record (an
item of a JSON array, a line of JSON Lines) may hold at most `record_limit` bytes, the task's
`source.max_record_bytes`: a single 50 MB answer costs gigabytes once the tokenizer measures it.
"""

import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

from pipelines.core.errors import RecordError

# A \uD800-\uDFFF escape; JSON joins a valid pair into one character, so only a lone one survives decoding.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
TOO_DEEP = "nested too deeply to read (Python's recursion limit); flatten the record"
LONE_SURROGATE = "lone surrogate escape (\\uD800-\\uDFFF) is not valid Unicode; fix or remove it"
DEFAULT_MAX_RECORD_BYTES = 1 << 20
# Set for a whole build or eval by `record_limit`, so every converter's reads obey the task's limit without each
# converter passing it along.
_MAX_RECORD_BYTES: ContextVar[int] = ContextVar("max_record_bytes", default=DEFAULT_MAX_RECORD_BYTES)
NOT_REGULAR = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


@contextmanager
def record_limit(max_bytes: int) -> Iterator[None]:
    """Inside the block, a record larger than `max_bytes` (UTF-8) is a RecordError naming its size."""
    token = _MAX_RECORD_BYTES.set(max_bytes)
    try:
        yield
    finally:
        _MAX_RECORD_BYTES.reset(token)


def _check_size(path: Path, location: str, size: int) -> None:
    limit = _MAX_RECORD_BYTES.get()
    if size > limit:
        raise RecordError(str(path), location, "-", f"{size:,} bytes, over the limit of {limit:,} bytes for one record "
                                                    "(source.max_record_bytes in the task YAML); split or shorten it")


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for binary reading; anything but a regular file is a RecordError, raised before any read blocks."""
    try:
        # O_NONBLOCK: opening a FIFO that no one writes to returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise RecordError(str(path), "file", "-", f"cannot read: {exc.strerror}") from None
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        raise RecordError(str(path), "file", "-", f"not a regular file but {NOT_REGULAR.get(kind, 'a special file')}; give a file")
    return os.fdopen(fd, "rb")


def read_text(path: Path) -> str:
    """The file's UTF-8 text; an empty, non-UTF-8 or non-regular file is a RecordError, never a traceback."""
    with open_regular(path) as f:
        try:
            raw = f.read()
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

    Lines end at "\n" (or "\r\n") only: str.splitlines would also break at U+2028, U+2029 and U+0085, which JSON
    strings may hold raw (LLaMA-Factory writes model output with ensure_ascii=False) and titles may contain.
    Errors are read_text's (a non-UTF-8 line, an unreadable, empty or non-regular file) and a line over the limit.
    """
    offset, seen = 0, False
    with open_regular(path) as f:
        for number, raw in enumerate(f, start=1):
            _check_size(path, f"line {number}", len(raw) - raw.endswith(b"\n") - raw.endswith(b"\r\n"))
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
    """Yield (location, record) from a JSON array file ("record N") or a JSON Lines file ("line N", by suffix
    .jsonl); both count from 1, and records over the limit are refused. JSON Lines are read one line at a time."""
    path = Path(path)
    if path.suffix == ".jsonl":
        for number, line in iter_lines(path):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(str(path), f"line {number}", "-", f"not valid JSON: {exc.msg}") from None
            except RecursionError:
                raise RecordError(str(path), f"line {number}", "-", TOO_DEEP) from None
            yield f"line {number}", _checked(path, f"line {number}", record, SURROGATE_ESCAPE.search(line) is not None)
        return
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(str(path), f"line {exc.lineno} column {exc.colno}", "-", f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise RecordError(str(path), "file", "-", TOO_DEEP) from None
    if not isinstance(data, list):
        raise RecordError(str(path), "file", "(top level)", f"expected a JSON array of records, got {type(data).__name__}")
    escaped = SURROGATE_ESCAPE.search(text) is not None
    # UTF-8 takes at most 4 bytes a character, so only a longer file can hold a record over the limit; then each
    # record is measured as it would be written.
    measure = len(text) > _MAX_RECORD_BYTES.get() // 4
    del text
    for number, record in enumerate(data, start=1):  # 1-based, like lines
        location = f"record {number}"
        if measure:
            _check_size(path, location, len(json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")))
        yield location, _checked(path, location, record, escaped)


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
