"""Open registries: converters, evaluators, judge rubrics and POI sources register themselves by name with a decorator.

Like LLaMA-Factory's `register_dataset_converter`, any module can add an entry; `load_task` asks here whether a
task's converter and evaluator exist and checks the task's options against the JSON Schema each one declares.
Looking up a name imports the package's module of that name; listing the entries (or a name no such module
registers) imports every module of the package, so a new module is found without being listed anywhere. This is
also the only way the lower layers reach a higher package.
"""

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.core.errors import DomaintuneError


@dataclass(frozen=True)
class Entry:
    name: str
    fn: Callable[..., Any]
    options_schema: dict = field(default_factory=lambda: {"type": "object"})
    path_options: tuple[str, ...] = ()  # option keys naming repo-relative files that must exist
    example: Any = None  # one input record (a converter's), shown by `domaintune formats` and converted by a test


@dataclass
class Registry:
    kind: str  # "converter", "evaluator", ...: used in messages
    package: str  # the package whose modules register entries here
    entries: dict[str, Entry] = field(default_factory=dict)
    _discovered: bool = False

    def register(self, name: str, options_schema: dict | None = None, path_options: tuple[str, ...] = (), example: Any = None):
        def decorator(fn):
            if name in self.entries and self.entries[name].fn is not fn:
                raise DomaintuneError(f"{self.kind} {name!r} is registered twice")
            self.entries[name] = Entry(name, fn, options_schema or {"type": "object"}, tuple(path_options), example)
            return fn

        return decorator

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{self.package}.{module.name}")

    def names(self) -> list[str]:
        self._discover()
        return sorted(self.entries)

    def get(self, name: str) -> Entry:
        # An entry lives in the module of its own name by convention: importing that one alone keeps every
        # command from paying for the imports of all the others (the judge's HTTP client, nltk, scipy, ...).
        if name not in self.entries and name.isidentifier() and importlib.util.find_spec(f"{self.package}.{name}"):
            importlib.import_module(f"{self.package}.{name}")
        if name not in self.entries:
            self._discover()
        if name not in self.entries:
            raise DomaintuneError(f"unknown {self.kind} {name!r}; {self.kind}s are: {', '.join(self.names())}")
        return self.entries[name]


CONVERTERS = Registry("converter", "pipelines.converters")
EVALUATORS = Registry("evaluator", "evaluators")
POI_SOURCES = Registry("POI source", "pipelines.agent.sources")  # where `agent-data`'s map tools look
register_converter = CONVERTERS.register
register_evaluator = EVALUATORS.register
register_poi_source = POI_SOURCES.register
