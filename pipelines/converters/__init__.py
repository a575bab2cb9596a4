"""Converters turn one raw input format into the target records, registered by name.

The target record (the one schema every converter produces, LLaMA-Factory's Alpaca format):

    {"instruction": str,            # the user's turn; never empty
     "input": str,                  # extra context appended to the instruction ("" when none)
     "output": str,                 # the assistant's answer the model learns; never empty
     "system": str,                 # optional: system prompt ("" falls back to the task's)
     "history": [[str, str], ...]}  # optional: earlier (user, assistant) turns, oldest first

A converter is a function `(paths, options, skip_invalid) -> Conversion`. Record-wise formats use
`convert_records` below; formats that need the whole stream (event logs) produce `Example`s themselves
and may set `group`/`order` so a chronological split can keep the future out of training.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import DomaintuneError, RecordError
from ..progress import progress
from ..readers import iter_json_records


class InvalidRecord(Exception):
    """Raised by a `to_target` for a problem a JSON Schema cannot express (e.g. turn order)."""

    def __init__(self, field: str, reason: str):
        super().__init__(field, reason)
        self.field, self.reason = field, reason


@dataclass
class Example:
    record: dict
    group: str = ""
    order: Any = None


@dataclass
class Conversion:
    examples: list[Example]
    skipped: Counter = field(default_factory=Counter)  # reason -> count, filled only with skip_invalid


def first_schema_error(record: Any, validator: jsonschema.Draft202012Validator) -> tuple[str, str] | None:
    """(field, reason) of the most specific schema violation, or None for a valid record."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(record))
    if error is None:
        return None
    field_path = ".".join(map(str, error.absolute_path))
    if error.validator == "required":
        # jsonschema reports a missing key at the parent; the user wants the key's own name.
        missing = [k for k in error.validator_value if k not in error.instance]
        field_path = ".".join(filter(None, [field_path, missing[0] if missing else ""]))
    return field_path or "(record)", error.message


def convert_records(
    paths: Iterable[Path],
    schema: dict,
    to_target: Callable[[dict], dict],
    skip_invalid: bool,
) -> Conversion:
    """Validate each record of JSON/JSONL files against `schema` and map it with `to_target`."""
    validator = jsonschema.Draft202012Validator(schema)
    conversion = Conversion(examples=[])
    for path in paths:
        for location, record in progress(iter_json_records(path), desc=Path(path).name):
            problem = first_schema_error(record, validator)
            if problem is None:
                try:
                    conversion.examples.append(Example(record=to_target(record)))
                    continue
                except InvalidRecord as exc:
                    problem = (exc.field, exc.reason)
            if not skip_invalid:
                raise RecordError(str(path), location, *problem)
            conversion.skipped[f"{problem[0]}: {problem[1]}"] += 1
    return conversion


def _registry() -> dict[str, Callable[..., Conversion]]:
    from . import alpaca, behavior_log, sharegpt

    return {"alpaca": alpaca.convert, "sharegpt": sharegpt.convert, "behavior_log": behavior_log.convert}


def get_converter(name: str) -> Callable[..., Conversion]:
    converters = _registry()
    if name not in converters:
        raise DomaintuneError(f"unknown converter {name!r}; converters are: {', '.join(sorted(converters))}")
    return converters[name]
