"""Records from every file type LLaMA-Factory reads a dataset from: JSON, JSON Lines, CSV, Parquet and Arrow.

LLaMA-Factory 0.9.5 loads a local file through `datasets` by its suffix (FILEEXT2TYPE in its extras/constants.py);
the same suffixes are read here, streamed, so a million-record file is never whole in memory:
    .json     a JSON array, one record at a time (readers.py)
    .jsonl    JSON Lines (readers.py)
    .csv      pyarrow's streaming CSV reader; every column is text, an empty cell is null (as pandas, and so
              `datasets`, reads it)
    .parquet  pyarrow, one batch of rows at a time
    .arrow    Arrow IPC, stream or file format (`datasets` saves the stream format)
A null in a tabular file is a value the row does not have, so its key is left out of the record, as a JSON file
would leave it out: a converter sees the same record from the JSON and the tabular copy. Locations are readers.py's
"record N" and "line N", and "row N" (1-based, the header not counted) for tabular files.
"""

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipelines.core.errors import RecordError
from pipelines.core.readers import iter_json_records, open_regular

BATCH_ROWS = 4096


def iter_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(location, record) of each record in `path`, read by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl"):
        return iter_json_records(path)
    if suffix not in TABULAR:
        raise RecordError(str(path), "file", "-", f"unsupported type {suffix or '(no suffix)'}; supported: {', '.join(SUPPORTED)}")
    open_regular(path).close()  # a missing file, a FIFO or a device is refused before pyarrow opens it
    return _rows(path, TABULAR[suffix])


def _rows(path: Path, batches: Callable[[Path], Iterator]) -> Iterator[tuple[str, Any]]:
    import pyarrow as pa

    number = 0
    try:
        for batch in batches(path):
            for row in batch.to_pylist():
                number += 1
                yield f"row {number}", _without_nulls(row)
    except (pa.ArrowException, OSError) as exc:
        where = f"row {number + 1}" if number else "file"
        raise RecordError(str(path), where, "-", f"cannot read as {path.suffix.lower()[1:]}: {exc}") from None
    if not number:
        raise RecordError(str(path), "file", "-", "file has no rows")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _csv_batches(path: Path) -> Iterator:
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise RecordError(str(path), "file", "-", "file is empty")
    # Text, never numbers or dates: a converter checks types itself and a column of digits is still a column of text.
    text = pa_csv.ConvertOptions(column_types={name: pa.string() for name in header}, strings_can_be_null=True)
    yield from pa_csv.open_csv(path, convert_options=text)


def _parquet_batches(path: Path) -> Iterator:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        yield from parquet.iter_batches(batch_size=BATCH_ROWS)


def _arrow_batches(path: Path) -> Iterator:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:
            source.seek(0)
            reader = pa.ipc.open_file(source)
            yield from (reader.get_batch(i) for i in range(reader.num_record_batches))
            return
        yield from reader


TABULAR = {".csv": _csv_batches, ".parquet": _parquet_batches, ".arrow": _arrow_batches}
SUPPORTED = (".json", ".jsonl", *TABULAR)
