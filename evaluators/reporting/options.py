"""Evaluation options for one eval: the task YAML's `eval` section with command-line overrides, re-validated."""

from evaluators.base import EVALUATORS
from pipelines.core.errors import DomaintuneError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_schema, schema_problems
from pipelines.core.tasks import Task

# Keys of `eval` that belong to the report, not to the evaluator's options schema (see load_task).
REPORT_KEYS = ("evaluator", "judge")


def eval_options(task: Task, overrides: dict | None = None) -> dict:
    """`task.eval` with `overrides` set last (`judge` key by key over the task's own); raises one line per problem
    the evaluator's schema, or the task schema's `eval.judge`, finds."""
    overrides = overrides or {}
    options = {**task.eval, **overrides}
    if "evaluator" in overrides:
        raise DomaintuneError("eval.evaluator cannot be overridden for one eval; it is part of the task")
    if isinstance(overrides.get("judge"), dict):
        options["judge"] = {**task.eval.get("judge", {}), **overrides["judge"]}
    entry = EVALUATORS.get(options["evaluator"])
    problems = schema_problems({k: v for k, v in options.items() if k not in REPORT_KEYS}, entry.options_schema)
    if "judge" in overrides:
        judge_schema = load_schema("task")["properties"]["eval"]["properties"]["judge"]
        problems += [f"judge.{problem}".replace("judge.(top level)", "judge") for problem in schema_problems(options["judge"], judge_schema)]
    problems += [f"{key}: file {options[key]} does not exist" for key in entry.path_options if key in overrides and not (REPO_ROOT / str(options[key])).exists()]
    if problems:
        raise DomaintuneError(f"eval options of task {task.name} with the overrides: " + "; ".join(problems))
    return options
