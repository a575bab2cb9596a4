"""Evaluators score LLaMA-Factory's generated_predictions.jsonl; one module per task's metrics.

An evaluator is a function `evaluate(inp: EvalInput) -> EvalResult` registered in `EVALUATORS` below by
the name a task's YAML gives in `eval.evaluator`. It may write figures (PNG) into `inp.out_dir`; the
caller writes `metrics.json` and `report.md` atomically and appends the training-loss section.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import DomaintuneError
from pipelines.tasks import Task

# name -> module; each module has `evaluate(EvalInput) -> EvalResult`.
EVALUATORS = {"telecom": "evaluators.telecom", "behavior": "evaluators.behavior"}


@dataclass
class EvalInput:
    task: Task
    # Variant ("adapter", "base") -> rows {"prompt", "predict", "label"} of the validation set.
    predictions: dict[str, list[dict]]
    # Same variants -> rows of the task's fixed scenario prompts (empty when the task has none).
    scenarios: dict[str, list[dict]]
    out_dir: Path
    options: dict = field(default_factory=dict)  # the task's `eval` section
    # Variant -> the generated_predictions.jsonl it was read from, so errors can name the file.
    sources: dict[str, Path] = field(default_factory=dict)


@dataclass
class EvalResult:
    metrics: dict
    report_md: str
    figures: list[Path] = field(default_factory=list)


def get_evaluator(name: str) -> Callable[[EvalInput], EvalResult]:
    if name not in EVALUATORS:
        raise DomaintuneError(f"unknown evaluator {name!r}; evaluators are: {', '.join(sorted(EVALUATORS))}")
    return importlib.import_module(EVALUATORS[name]).evaluate
