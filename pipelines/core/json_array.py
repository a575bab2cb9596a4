"""A JSON array file read one record at a time: a million-record file is never one string, nor one list, in memory.

The file is decoded in chunks and each element parsed by the json module's own scanner (`raw_decode`), so a
record is exactly what `json.load` would give. Problems are RecordErrors with the messages of readers.py: a file
that cannot be read, is not UTF-8, is empty, is not valid JSON (line and column in the file) or not an array.
"""

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pipelines.core.errors import RecordError

CHUNK = 1 << 20  # bytes decoded per read; a longer record makes the buffer grow until it fits
CUT_MARGIN = 16  # characters from the buffer's end within which a parse error may be a token cut short ("-Infinity")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Text:
    """The file's text from `pos` on, decoded chunk by chunk; counts lines so errors can say where they are."""

    def __init__(self, path: Path, file):
        self.path, self.file = path, file
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer, self.pos, self.eof = "", 0, False
        self.bytes_read, self.lines_before, self.column_before = 0, 0, 0

    def more(self) -> bool:
        """Append the next chunk, dropping what was consumed; False at the end of the file."""
        if self.eof:
            return False
        consumed = self.buffer[: self.pos]
        newlines = consumed.count("\n")
        self.lines_before += newlines
        self.column_before = len(consumed) - consumed.rfind("\n") - 1 if newlines else self.column_before + len(consumed)
        raw = self.file.read(CHUNK)
        self.eof = not raw
        pending = self.decoder.getstate()[0]
        try:
            text = self.decoder.decode(raw, final=self.eof)
        except UnicodeDecodeError as exc:
            data = pending + raw  # what the decoder saw; exc.start counts from its first byte
            line = self.lines_before + self.buffer[self.pos :].count("\n") + data[: exc.start].count(b"\n") + 1
            offset = self.bytes_read - len(pending) + exc.start
            raise RecordError(str(self.path), f"line {line}", "-", f"not UTF-8 (byte {offset}: {exc.reason})") from None
        self.bytes_read += len(raw)
        self.buffer, self.pos = self.buffer[self.pos :] + text, 0
        return True

    def skip_whitespace(self) -> str:
        """The next character that is not whitespace ("" at the end of the file)."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return ""

    def value(self, max_bytes: int | None = None) -> tuple[Any, bool, int | None]:
        """The JSON value at `pos`, whether its text holds a \\u escape, and the UTF-8 size of its text where that
        may exceed `max_bytes` (None where it cannot: UTF-8 takes at most 4 bytes a character); reads on while the
        value is incomplete."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # A value cut by the end of the buffer fails at its end (a literal, number or escape cut short) or,
                # a string, where the string starts: read on. Anywhere else the text itself is broken.
                cut = exc.pos >= len(self.buffer) - CUT_MARGIN or exc.msg.startswith("Unterminated string")
                if cut and self.more():
                    continue
                raise self.error(exc) from None
            if isinstance(value, int | float) and end > len(self.buffer) - CUT_MARGIN and self.more():
                continue  # a number the chunk boundary may have cut ("-76416" of "-764162.59"): parse it whole
            escaped = self.buffer.find("\\u", self.pos, end) >= 0
            measure = max_bytes is not None and (end - self.pos) * 4 > max_bytes
            size = len(self.buffer[self.pos : end].encode("utf-8", "surrogatepass")) if measure else None
            self.pos = end
            return value, escaped, size

    def error(self, exc: json.JSONDecodeError) -> RecordError:
        line = self.lines_before + exc.lineno
        column = exc.colno + (self.column_before if exc.lineno == 1 else 0)
        return RecordError(str(self.path), f"line {line} column {column}", "-", f"not valid JSON: {exc.msg}")

    def expected(self, what: str) -> RecordError:
        return self.error(json.JSONDecodeError(f"Expecting {what}", self.buffer, self.pos))


def iter_json_array(path: Path, file: BinaryIO, max_bytes: int | None = None) -> Iterator[tuple[int, Any, bool, int | None]]:
    """(number from 1, record, has a \\u escape, size) of each element of the JSON array read from `file` (opened
    from `path` by the caller, which checks what kind of file it is); size is the element's UTF-8 bytes where they
    may exceed `max_bytes`, else None.

    RecursionError (a record nested deeper than Python can parse) is left to the caller, which names the record.
    """
    path = Path(path)
    text = _Text(path, file)
    first = text.skip_whitespace()
    if not first:
        raise RecordError(str(path), "file", "-", "file is empty")
    if first != "[":
        value, _, _ = text.value()
        raise RecordError(str(path), "file", "(top level)", f"expected a JSON array of records, got {type(value).__name__}")
    text.pos += 1
    number = 1
    if text.skip_whitespace() == "]":
        text.pos += 1
    else:
        while True:
            record, escaped, size = text.value(max_bytes)
            yield number, record, escaped, size
            number += 1
            separator = text.skip_whitespace()
            if separator not in (",", "]"):
                raise text.expected("',' delimiter")
            text.pos += 1
            if separator == "]":
                break
            text.skip_whitespace()
    if text.skip_whitespace():
        raise text.error(json.JSONDecodeError("Extra data", text.buffer, text.pos))
