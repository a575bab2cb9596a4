"""Validation of YAML/JSON configuration against the JSON Schemas in recipes/schema."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import DomaintuneError
from .paths import SCHEMA_DIR


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
