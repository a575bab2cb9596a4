"""Tasks are YAML files in recipes/tasks/, validated by recipes/schema/task.schema.json.

Adding a task that reuses an existing converter and evaluator is a new YAML file and nothing else.
"""

from dataclasses import dataclass
from pathlib import Path

from .errors import DomaintuneError
from .paths import REPO_ROOT, TASKS_DIR
from .schema import load_yaml_validated


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
    config = load_yaml_validated(path, "task")
    if config["name"] != name:
        raise DomaintuneError(f"{path}: name: {config['name']!r} must match the file name {name!r}")
    return Task(name=name, config=config, path=path)
