"""Validation of YAML/JSON configuration against the JSON Schemas in recipes/schema."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import SCHEMA_DIR


@cache
def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def schema_problems(data: Any, schema: dict) -> list[str]:
    """Every problem, each as 'field.path: message', so one run reports them all."""
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(map(str, error.absolute_path)) or "(top level)"
        problems.append(f"{where}: {error.message}")
    return problems


def load_yaml_validated(path: Path, schema_name: str) -> dict:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DomaintuneError(f"{path}: cannot read YAML: {exc}") from None
    problems = schema_problems(data, load_schema(schema_name))
    if problems:
        raise DomaintuneError(f"{path}: invalid {schema_name}:\n  " + "\n  ".join(problems))
    return data

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
    return field_path or "(record)", _shortened(error.message, error.instance)


SHOWN_CHARS = 80  # of a value quoted in a message: a whole tools list or document would bury the reason


def _shortened(message: str, value: Any) -> str:
    shown = repr(value)
    if len(shown) <= SHOWN_CHARS or shown not in message:
        return message
    return message.replace(shown, f"{shown[:SHOWN_CHARS]}... ({len(shown):,} characters)")
