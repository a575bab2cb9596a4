"""`--pois csv:FILE` (or a file ending in .csv): one POI per row, a header naming the columns.

Columns are the keys of recipes/schema/poi_feature.schema.json (name, lng and lat required; cuisine required
for restaurants; kind, id, city, address, rating, avg_price optional; an empty cell is a missing value), UTF-8,
coordinates GCJ-02:

    kind,name,lng,lat,city,address,cuisine,rating,avg_price
    place,北京市五道口,116.338096,39.99256,北京,,,,
    ,姥姥家春饼(五道口店),116.341911,39.992045,,成府路23号,东北菜,4.4,70
"""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from pipelines.agent.features import local_source
from pipelines.agent.pois import LocalSource
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.readers import read_text
from pipelines.core.registry import register_poi_source

NUMBERS = ("lng", "lat", "rating", "avg_price")


@register_poi_source("csv", example="csv:my_city.csv")
def open_csv(arg: str | None) -> LocalSource:
    if not arg:
        raise DomaintuneError("--pois csv needs a file: csv:FILE")
    path = Path(arg)
    return local_source(path, rows(path, read_text(path)), "csv")


def rows(path: Path, text: str) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        if None in row:
            raise RecordError(str(path), f"line {reader.line_num}", "-", f"{len(row[None])} more cell(s) than the header has columns")
        # The schema names an unknown column; a number that does not parse stays text for the schema to refuse.
        fields = {key.strip(): value.strip() for key, value in row.items() if value and value.strip()}
        for key in NUMBERS:
            if key in fields:
                try:
                    fields[key] = float(fields[key])
                except ValueError:
                    pass
        yield f"line {reader.line_num}", fields
