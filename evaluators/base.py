"""What an evaluator receives and returns, and how it registers.

An evaluator is a function `evaluate(inp: EvalInput) -> EvalResult` in a module of this package, registered
with `@register_evaluator(name, options_schema=..., path_options=...)` under the name a task's YAML gives in
`eval.evaluator`; `load_task` checks the task's `eval` options against that schema. It may write figures (PNG)
into `inp.out_dir`; the caller writes `metrics.json`, `report.md` and `report.html` atomically, adds the run's
recipe, loss curves, confidence intervals and verdicts (evaluators/report/).

Conventions the report reads from `EvalResult.metrics`:
    metrics[variant][metric]       a number per model variant ("adapter", "base") and headline metric
    metrics["baselines"][name]     the same numbers for a baseline, or {"not_applicable": "<why>"} when the
                                   baseline cannot run on this data (it is then never compared with)
"""

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.registry import EVALUATORS, register_evaluator
from pipelines.core.tasks import Task

__all__ = ["EVALUATORS", "EvalInput", "EvalResult", "register_evaluator"]


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
    dataset_dir: Path | None = None  # where the task's built datasets (and sidecars) are


@dataclass
class EvalResult:
    metrics: dict
    report_md: str
    # The metrics the terminal table, verdicts and HTML page lead with; the first is the one verdicts use.
    # All are higher-is-better fractions. Empty: the report shows no headline table.
    headline: tuple[str, ...] = ()
    # Variant -> metric -> one entry per validation sample, in dataset order, for bootstrap intervals and the
    # worst/best samples: a float where the metric is their mean, a [numerator, denominator] pair where the
    # metric is a ratio of sums (a micro average such as term recall).
    per_sample: dict[str, dict[str, list]] = field(default_factory=dict)
    # Problems with the data or the evaluator itself (e.g. the references failing their own checks): `eval` prints
    # each on the terminal and at the top of report.md and report.html, before any number is read.
    warnings: list[str] = field(default_factory=list)
