"""`domaintune eval`: score predictions with the task's evaluator and write metrics.json, report.md and PNGs."""

from datetime import datetime
from pathlib import Path

import yaml

from pipelines.atomic import write_json, write_text
from pipelines.paths import relative
from pipelines.predict import PREDICTIONS_FILE, VARIANTS, predict_dir
from pipelines.tasks import Task

from . import EvalInput, get_evaluator
from .plots import loss_curve
from .predictions import load_segments


def variant_files(predictions: Path) -> dict[str, Path]:
    """The given file, plus its sibling variant when `predict` wrote both (…/predict/{adapter,base}/)."""
    predictions = Path(predictions)
    variant = predictions.parent.name if predictions.parent.name in VARIANTS else "adapter"
    files = {variant: predictions}
    for other in VARIANTS:
        sibling = predict_dir(predictions.parent.parent.parent, other) / PREDICTIONS_FILE
        if other != variant and predictions.parent.name in VARIANTS and sibling.exists():
            files[other] = sibling
    return dict(sorted(files.items(), key=lambda kv: VARIANTS.index(kv[0])))


def find_run_dir(path: Path) -> Path | None:
    for parent in Path(path).resolve().parents:
        if (parent / "train.yaml").exists():
            return parent
    return None


def trained_model(run_dir: Path) -> str:
    """The base model the run trained, so a report of the tiny demo model cannot pass for a real one."""
    recipe = yaml.safe_load((run_dir / "train.yaml").read_text(encoding="utf-8")) or {}
    return recipe.get("model_name_or_path", "unknown")


def evaluate(task: Task, predictions: Path, out_dir: Path | None = None) -> Path:
    """Evaluate and write the report; returns the report's path."""
    files = variant_files(predictions)
    run_dir = find_run_dir(predictions)
    out_dir = Path(out_dir) if out_dir else (run_dir or Path(predictions).parent) / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    segmented = {variant: load_segments(path) for variant, path in files.items()}
    inp = EvalInput(
        task=task,
        predictions={v: s["val"] for v, s in segmented.items()},
        scenarios={v: s["scenarios"] for v, s in segmented.items() if "scenarios" in s},
        out_dir=out_dir,
        options=task.eval,
        sources=files,
    )
    result = get_evaluator(task.eval["evaluator"])(inp)
    sections = [
        f"# {task.name} evaluation",
        f"_{task.description}_ — generated {datetime.now():%Y-%m-%d %H:%M}",
        *([f"Trained model: `{trained_model(run_dir)}` (run `{relative(run_dir)}`)"] if run_dir else []),
        "Predictions: " + ", ".join(f"{v}: `{relative(p)}`" for v, p in files.items()),
        result.report_md,
    ]
    loss_png = loss_curve(run_dir / "adapter" / "trainer_log.jsonl", out_dir / "loss.png") if run_dir else None
    if loss_png:
        sections += ["## Training loss", f"![loss]({loss_png.name})"]
    write_json(out_dir / "metrics.json", result.metrics)
    report = out_dir / "report.md"
    write_text(report, "\n\n".join(sections) + "\n")
    return report
