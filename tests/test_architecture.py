"""The layers of pipelines/ and evaluators/: imports only point down, and nothing imports in a cycle.

Walks every module with `ast` (no import is executed), so the test sees function-level imports too.
"""

import ast
from pathlib import Path

import pytest

from pipelines.core.paths import REPO_ROOT

# Lower rank = lower layer; a module may import only modules of its own or a lower rank.
RANKS = {
    "pipelines.core": 0,
    "pipelines.behavior": 1,  # a task's own machinery (grammar, generator) sits just above core
    "pipelines.restaurant": 1,
    "pipelines.trajectory": 1,
    "pipelines.converters": 2,
    "pipelines.data": 3,
    "evaluators": 4,
    "pipelines.planning": 4,
    "pipelines.run": 5,
    "pipelines.agent": 5,  # the map agent that writes restaurant data: runs a model like `run`, keeps answers by the grounding checks
    "pipelines.cli": 6,
}
# Pairs the ranks allow but the design does not: evaluators see data, never plans or runs, and only the CLI and
# the agent (which keeps an answer only when the restaurant grounding checks pass) import an evaluator module;
# everything else reaches evaluators through the registry.
FORBIDDEN = {
    "evaluators": ("pipelines.planning", "pipelines.run", "pipelines.cli"),
    "pipelines.run": ("evaluators",),
    "pipelines.planning": ("evaluators",),
    "pipelines.agent": ("pipelines.planning",),
}
PACKAGES = ("pipelines", "evaluators")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for package in PACKAGES for p in (REPO_ROOT / package).rglob("*.py")}
    return {name: {i for i in imports_of(path) if i in modules and i != name} for name, path in modules.items()}


def layer(module: str) -> str | None:
    return max((prefix for prefix in RANKS if module == prefix or module.startswith(prefix + ".")), key=len, default=None)


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in edges.items():
        source = layer(module)
        if source is None:
            if module not in ("pipelines",):
                problems.append(f"{module} belongs to no layer")
            continue
        for target in targets:
            dest = layer(target)
            if dest is None:
                continue
            if RANKS[dest] > RANKS[source] or (dest != source and RANKS[dest] == RANKS[source]) or dest in FORBIDDEN.get(source, ()):
                problems.append(f"{module} ({source}) imports {target} ({dest})")
    return sorted(problems)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_imports_only_point_down():
    assert layer_violations(graph()) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"pipelines.core.a": {"pipelines.run.b"}, "pipelines.run.b": set()}, ["pipelines.core.a (pipelines.core) imports pipelines.run.b (pipelines.run)"]),
        ({"evaluators.x": {"pipelines.planning.plan"}, "pipelines.planning.plan": set()}, ["evaluators.x (evaluators) imports pipelines.planning.plan (pipelines.planning)"]),
        ({"pipelines.run.a": {"pipelines.core.b"}, "pipelines.core.b": set()}, []),
    ],
)
def test_the_layer_check_catches_an_upward_import(edges, expected):
    assert layer_violations(edges) == expected


def test_the_cycle_check_catches_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
