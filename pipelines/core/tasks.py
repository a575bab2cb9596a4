"""Tasks are YAML files in recipes/tasks/, validated by recipes/schema/task.schema.json.

Loading a task also checks what would otherwise fail only after training: that its converter and evaluator
exist, that their options match the JSON Schema each one declares, and that the files those options name exist.
Adding a task that reuses an existing converter and evaluator is a new YAML file and nothing else.
"""

from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT, TASKS_DIR
from pipelines.core.readers import DEFAULT_MAX_RECORD_BYTES
from pipelines.core.registry import CONVERTERS, EVALUATORS, Registry
from pipelines.core.schema import load_yaml_validated, schema_problems


@dataclass(frozen=True)
class Task:
    name: str
    config: dict
    path: Path

    @property
    def description(self) -> str:
        return self.config["description"]

    @property
    def source_paths(self) -> list[Path]:
        return [REPO_ROOT / p for p in self.config["source"]["paths"]]

    @property
    def scenarios_path(self) -> Path | None:
        rel = self.config.get("scenarios")
        return REPO_ROOT / rel if rel else None

    @property
    def max_record_bytes(self) -> int:
        return self.config["source"].get("max_record_bytes", DEFAULT_MAX_RECORD_BYTES)

    @property
    def model(self) -> dict:
        return self.config["model"]

    @property
    def train(self) -> dict:
        return self.config["train"]

    @property
    def eval(self) -> dict:
        return self.config["eval"]

    def dataset_name(self, split: str) -> str:
        return f"{self.name}_{split}"


def task_names() -> list[str]:
    return sorted(p.stem for p in TASKS_DIR.glob("*.yaml"))


def load_task(name: str) -> Task:
    path = TASKS_DIR / f"{name}.yaml"
    if not path.exists():
        raise DomaintuneError(f"unknown task {name!r}; tasks are: {', '.join(task_names())}")
    return load_task_file(path)


def load_task_file(path: Path) -> Task:
    path = Path(path)
    config = load_yaml_validated(path, "task")
    if config["name"] != path.stem:
        raise DomaintuneError(f"{path}: name: {config['name']!r} must match the file name {path.stem!r}")
    source = config["source"]
    # `judge` belongs to the report (any task may have it; the task schema checks it), not to the evaluator.
    evaluation = {k: v for k, v in config["eval"].items() if k not in ("evaluator", "judge")}
    problems = _plugin_problems(CONVERTERS, source["converter"], source.get("options", {}), "source.options")
    problems += _plugin_problems(EVALUATORS, config["eval"]["evaluator"], evaluation, "eval")
    if problems:
        raise DomaintuneError(f"{path}: invalid task:\n  " + "\n  ".join(problems))
    return Task(name=config["name"], config=config, path=path)


def _plugin_problems(registry: Registry, name: str, options: dict, where: str) -> list[str]:
    try:
        entry = registry.get(name)
    except DomaintuneError as exc:
        return [f"{where.split('.')[0]}: {exc}"]
    problems = []
    for problem in schema_problems(options, entry.options_schema):
        field, _, message = problem.partition(": ")
        problems.append(f"{where}: {message}" if field == "(top level)" else f"{where}.{problem}")
    for key in entry.path_options:
        if key in options and not (REPO_ROOT / options[key]).exists():
            problems.append(f"{where}.{key}: file {options[key]} does not exist")
    return problems
