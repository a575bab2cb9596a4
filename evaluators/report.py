"""`domaintune eval`: score predictions with the task's evaluator and write metrics.json, summary.json (the headline
table with intervals and verdicts, evaluators/reporting/), report.md, the self-contained report.html and PNGs."""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from evaluators.base import EVALUATORS, EvalInput
from evaluators.judge.client import JudgeConfig
from evaluators.judge.section import judge_section
from evaluators.plots import loss_curve
from evaluators.predictions import coverage_note, load_segments
from evaluators.reporting.options import eval_options
from evaluators.reporting.page import demo_note, write_page
from evaluators.reporting.runinfo import RunInfo
from evaluators.reporting.summary import SUMMARY_FILE, markdown, summarize
from pipelines.core.atomic import write_json, write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import VARIANTS, RunLayout
from pipelines.core.paths import dataset_dir, relative
from pipelines.core.readers import iter_json_records, record_limit
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import dataset_file
from pipelines.data.fingerprint import check_unchanged


def variant_files(predictions: Path) -> dict[str, Path]:
    """The given file, plus its sibling variant when `predict` wrote both into a run's predict/ folder."""
    predictions = Path(predictions)
    variant = predictions.parent.name
    run = RunLayout(predictions.parents[2]) if len(predictions.parents) > 2 else None
    if variant not in VARIANTS or run is None or run.predictions(variant) != predictions:
        return {"adapter": predictions}
    return {v: run.predictions(v) for v in VARIANTS if v == variant or run.predictions(v).exists()}


def partial_notes(task: Task, files: dict[str, Path], segmented: dict[str, dict[str, list[dict]]]) -> list[str]:
    """A line for each variant whose predictions answer fewer validation rows than the registered set has."""
    try:
        records = sum(1 for _ in iter_json_records(dataset_file(task.dataset_name("val"))))
    except DomaintuneError:
        return []  # no validation set registered here to compare with
    notes = [coverage_note(files[v], len(s["val"]), records) for v, s in segmented.items()]
    return [note for note in notes if note]


def evaluate(task: Task, predictions: Path, out_dir: Path | None = None, judge: JudgeConfig | None = None, allow_changed_data: bool = False,
             eval_overrides: dict | None = None, notify: Callable[[str], None] = lambda note: None) -> Path:
    """Evaluate and write metrics.json, summary.json, report.md and report.html; returns report.md's path.
    With `judge`, an LLM judge scores too (any task); `eval_overrides` replace `eval` options for this eval only.

    A run's predictions are scored only against the datasets it trained on (datasets.json); `allow_changed_data`
    scores them anyway, and the report says so at the top. Predictions of only part of the validation set are
    scored, flagged in the headline and told to `notify`.
    """
    options = eval_options(task, eval_overrides)
    run = RunLayout.containing(predictions)
    data_note = check_unchanged(run.datasets, task.name, allow_changed_data) if run else None
    files = variant_files(predictions)
    out_dir = Path(out_dir) if out_dir else run.eval_dir if run else Path(predictions).parent / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    with record_limit(task.max_record_bytes):
        segmented = {variant: load_segments(path) for variant, path in files.items()}
        partial = partial_notes(task, files, segmented)
    for note in partial:
        notify(note)
    inp = EvalInput(
        task=task,
        predictions={v: s["val"] for v, s in segmented.items()},
        scenarios={v: s["scenarios"] for v, s in segmented.items() if "scenarios" in s},
        out_dir=out_dir,
        options=options,
        sources=files,
        dataset_dir=dataset_dir(),
    )
    result = EVALUATORS.get(options["evaluator"]).fn(inp)
    if judge is not None:
        judge_metrics, judge_md = judge_section(inp, judge)
        result = replace(result, metrics={**result.metrics, "judge": judge_metrics}, report_md=result.report_md + "\n\n" + judge_md)
    summary = {**summarize(result, list(files)), "partial": partial}
    info = RunInfo.read(run.root) if run else None
    note = demo_note(info) if info else ""
    warnings = [*([data_note] if data_note else []), *partial, *result.warnings]
    sections = [
        f"# {task.name} evaluation",
        f"_{task.description}_ — generated {datetime.now():%Y-%m-%d %H:%M}",
        *(f"**Warning: {warning}**" for warning in warnings),
        # The base model the run trained, so a report of the tiny demo model cannot pass for a real one.
        *([f"Trained model: `{info.model}` (run `{relative(run.root)}`)"] if info else []),
        *([f"> {note}"] if note else []),
        *([f"Eval options overridden for this eval: {eval_overrides}"] if eval_overrides else []),
        "Predictions: " + ", ".join(f"{v}: `{relative(p)}`" for v, p in files.items()),
        markdown(summary),
        result.report_md,
    ]
    loss_png = loss_curve(out_dir / "loss.png", info.loss_points("loss"), info.loss_points("eval_loss")) if info else None
    if loss_png:
        sections += ["## Training loss", f"![loss]({loss_png.name})"]
    write_json(out_dir / "metrics.json", result.metrics)
    write_json(out_dir / SUMMARY_FILE, summary)
    report = out_dir / "report.md"
    write_text(report, "\n\n".join(s for s in sections if s) + "\n")
    write_page(task, result, summary, inp.predictions, out_dir, run, info, files, " ".join(warnings) or None)
    return report
