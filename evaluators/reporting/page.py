"""A run's eval/report.html: recipe and environment, headline table and chart, loss curves, worst and best
samples, the task's own report, and links to the files, in one self-contained page."""

from datetime import datetime
from html import escape
from pathlib import Path

from evaluators.base import EvalResult
from evaluators.plots import headline_chart
from evaluators.reporting import html
from evaluators.reporting.runinfo import RunInfo
from evaluators.reporting.samples import worst_and_best
from pipelines.core.atomic import write_text
from pipelines.core.layout import RunLayout
from pipelines.core.tasks import Task

HTML_FILE = "report.html"
HEADLINE_PNG = "headline.png"


def demo_note(info: RunInfo) -> str:
    """Said wherever a tiny-model run's numbers appear, so they are never read as the task's."""
    if not info.is_tiny:
        return ""
    overridden = f" with these training settings overridden: {info.overridden}" if info.overridden else ""
    predicted = f" and these prediction settings (both variants): {info.predict_overridden}" if info.predict_overridden else ""
    return (
        f"Demo settings: this run trained the embedded random-weight tiny model `{Path(info.model).name}`{overridden}{predicted}; "
        "that is not the task's real model or recipe. Its numbers show that the path from data to report works and "
        "that training moves the model; they say nothing about what the task's model reaches."
    )


def environment_section(info: RunInfo) -> str:
    parts = ["<h2>Recipe and environment</h2>", html.key_values(info.headline_settings())]
    if info.datasets:
        rows = []
        for name, digest in info.datasets.items():
            stats = info.lengths.get(name, {})
            lengths = ", ".join(f"{k} {stats[k]:.0f}" if isinstance(stats[k], float) else f"{k} {stats[k]}" for k in ("records", "mean", "p50", "p90", "max", "over_cutoff") if k in stats)
            rows.append([name, digest[:16], lengths or "not measured"])
        parts += ["<h3>Datasets</h3>", html.table(["dataset", "sha256", "tokens per sample"], rows)]
    if info.versions:
        parts += ["<h3>Package versions</h3>", html.key_values(info.versions)]
    return "\n".join(parts)


def loss_section(info: RunInfo, out_dir: Path) -> str:
    png = out_dir / "loss.png"
    evals = "validation loss logged" if info.loss_points("eval_loss") else "no validation loss logged (eval_strategy: no)"
    return f"<h2>Training and validation loss</h2><p>{escape(evals)}</p>" + html.image(png, "loss curve") if png.exists() else ""


def samples_section(result: EvalResult, predictions: dict[str, list[dict]]) -> str:
    if not result.headline:
        return ""
    metric = result.headline[0]
    picked = worst_and_best(metric, result.per_sample, predictions)
    if not picked["worst"]:
        return ""
    variants = list(predictions)
    return "\n".join([
        f"<h2>Worst and best validation samples</h2><p>Ranked by the adapter's {escape(metric)}; answers beside the reference.</p>",
        "<h3>Worst</h3>", html.samples_table(picked["worst"], variants, metric),
        "<h3>Best</h3>", html.samples_table(picked["best"], variants, metric),
    ])


def write_page(task: Task, result: EvalResult, summary: dict, predictions: dict[str, list[dict]], out_dir: Path,
               run: RunLayout | None, info: RunInfo | None, sources: dict[str, Path], warning: str | None = None) -> Path:
    note = demo_note(info) if info else ""
    chart = headline_chart(out_dir / HEADLINE_PNG, summary)
    verdicts = [f"<li><b>{escape(r['name'])}</b>: {escape(r['verdict'])}</li>" for r in summary["rows"] if r.get("verdict")]
    sections = [
        f"<h1>{escape(task.name)} evaluation</h1>",
        f"<p><i>{escape(task.description)}</i> — generated {datetime.now():%Y-%m-%d %H:%M}" + (f" — run <code>{escape(run.root.name)}</code>" if run else "") + "</p>",
        f'<p class="warning">{escape(warning)}</p>' if warning else "",
        f'<p class="note">{escape(note)}</p>' if note else "",
        "<h2>Headline</h2>" if summary["metrics"] else "",
        html.headline_table(summary) if summary["metrics"] else "",
        f'<ul class="verdict">{"".join(verdicts)}</ul>' if verdicts else "",
        "<ul>" + "".join(f"<li>{escape(d)}</li>" for d in summary["differences"]) + "</ul>" if summary["differences"] else "",
        html.image(chart, "headline metrics"),
        loss_section(info, out_dir) if info else "",
        samples_section(result, predictions),
        environment_section(info) if info else "",
        "<h2>Task report</h2>" + html.markdown_html(result.report_md, out_dir),
        html.links(_files(out_dir, run, sources), out_dir),
    ]
    write_text(out_dir / HTML_FILE, html.page(f"{task.name} evaluation", sections))
    return out_dir / HTML_FILE


def _files(out_dir: Path, run: RunLayout | None, sources: dict[str, Path]) -> list[Path]:
    own = [out_dir / "metrics.json", out_dir / "summary.json", out_dir / "report.md", *sorted(out_dir.glob("*.csv")), *sorted(out_dir.glob("*.geojson"))]
    run_files = [run.train_recipe, run.train_log, run.versions, run.datasets, run.trainer_log] if run else []
    return own + list(sources.values()) + run_files
