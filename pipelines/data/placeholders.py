"""`{{name}}` placeholders in records (LLaMA-Factory's identity.json has them), filled from the task's `vars:`.

    vars: {name: 小移, author: 中国移动}     # in recipes/tasks/<task>.yaml

Every string of every target record is filled; a placeholder left without a value stops the build with the
unfilled names, since a model trained on `{{name}}` verbatim answers with it.
"""

import re
from collections import Counter
from typing import Any

from pipelines.converters.records import Example
from pipelines.core.errors import DomaintuneError

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _fill(value: Any, variables: dict[str, str], unfilled: set[str]) -> Any:
    if isinstance(value, str):
        def replace(match: re.Match) -> str:
            if match[1] in variables:
                return variables[match[1]]
            unfilled.add(match[1])
            return match[0]

        return PLACEHOLDER.sub(replace, value) if "{{" in value else value
    if isinstance(value, list):
        return [_fill(item, variables, unfilled) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, variables, unfilled) for key, item in value.items()}
    return value


def fill_placeholders(examples: list[Example], variables: dict[str, str], where: str) -> None:
    """Fill each example's record in place; DomaintuneError naming every unfilled placeholder and its record count."""
    missing = Counter()
    for example in examples:
        unfilled: set[str] = set()
        record = example.record
        filled = _fill(record, variables, unfilled)
        if filled != record:  # only then: records built on demand (behavior logs) stay unbuilt
            example.record = filled
        missing.update(unfilled)
    if missing:
        names = ", ".join(f"{{{{{name}}}}} ({n} record{'s' * (n > 1)})" for name, n in sorted(missing.items()))
        raise DomaintuneError(f"{where}: vars: placeholders with no value: {names}; give each a value under `vars:` in the task YAML")
