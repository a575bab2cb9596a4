"""`domaintune compare RUN_A RUN_B [...]`: runs side by side, metrics, settings (those that differ marked) and loss.

Writes compare.md, compare.html (self-contained) and loss.png into one folder and returns the tables for the
terminal (evaluators/reporting/terminal.py prints them whole). Metrics come from each run's eval/summary.json, so a
run is compared as its last `eval` scored it.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from evaluators.plots import loss_curves
from evaluators.reporting import html
from evaluators.reporting.runinfo import RunInfo
from evaluators.reporting.summary import SUMMARY_FILE, cell
from evaluators.tables import markdown_table
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.layout import RunLayout

DIFFERS = "≠"
MISSING = "–"


@dataclass
class Comparison:
    markdown: str
    html: Path
    differing: list[str]  # the settings whose values are not the same in every run
    tables: list[tuple[str, list[str], list[list]]]  # (title, header, rows) of the metrics (no rows: none evaluated), the settings
    loss_png: Path | None


def _summary(run: Path) -> dict:
    path = RunLayout(run).eval_dir / SUMMARY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"metrics": [], "rows": [], "differences": []}


def differing_settings(infos: list[RunInfo]) -> tuple[list[str], list[str]]:
    """(every setting key in first-seen order, the keys whose values are not all equal)."""
    settings = [info.settings() for info in infos]
    keys = list(dict.fromkeys(k for s in settings for k in s))
    return keys, [k for k in keys if len({s.get(k, MISSING) for s in settings}) > 1]


def metrics_rows(labels: list[str], summaries: list[dict]) -> tuple[list[str], list[list]]:
    metrics = list(dict.fromkeys(m for s in summaries for m in s["metrics"]))
    rows = [
        [label, row["name"], row["n"] if row["n"] is not None else MISSING, *(cell(row, m) if m in summary["metrics"] else MISSING for m in metrics)]
        for label, summary in zip(labels, summaries)
        for row in summary["rows"]
        if row["kind"] == "model"
    ]
    return ["run", "model", "n", *metrics], rows


def compare(runs: list[Path], out_dir: Path) -> Comparison:
    if len(runs) < 2:
        raise DomaintuneError("compare needs at least two run folders")
    for run in runs:
        if not RunLayout(run).train_recipe.exists():
            raise DomaintuneError(f"{run}: not a run folder (no train.yaml)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    infos = [RunInfo.read(run) for run in runs]
    labels = [Path(run).name for run in runs]
    summaries = [_summary(run) for run in runs]
    keys, differing = differing_settings(infos)
    settings = [info.settings() for info in infos]
    setting_rows = [[DIFFERS if k in differing else "", k, *(s.get(k, MISSING) for s in settings)] for k in keys]
    metric_header, metric_rows = metrics_rows(labels, summaries)
    metrics_title, settings_title = "Metrics (95% bootstrap interval)", f"Settings ({len(differing)} differ, marked {DIFFERS})"
    png = loss_curves(out_dir / "loss.png", {label: {k: info.loss_points(k) for k in ("loss", "eval_loss")} for label, info in zip(labels, infos)})

    markdown = "\n\n".join([
        f"# Comparing {len(runs)} runs",
        f"## {metrics_title}",
        markdown_table(metric_header, metric_rows) if metric_rows else "_No run has been evaluated (`domaintune eval`)._",
        f"## {settings_title}",
        markdown_table(["", "setting", *labels], setting_rows),
        *([f"Loss curves: {png}"] if png else []),
    ])
    write_text(out_dir / "compare.md", markdown + "\n")
    page = html.page("compare runs", [
        f"<h1>Comparing {len(runs)} runs</h1>",
        "<h2>Metrics (95% bootstrap interval)</h2>",
        html.table(metric_header, metric_rows) if metric_rows else "<p>No run has been evaluated.</p>",
        f"<h2>Settings ({len(differing)} differ, highlighted)</h2>",
        html.table(["", "setting", *labels], setting_rows, ["differs" if k in differing else "" for k in keys]),
        "<h2>Loss</h2>" + html.image(png, "loss curves") if png else "",
    ])
    write_text(out_dir / "compare.html", page)
    tables = [(metrics_title, metric_header, metric_rows), (settings_title, ["", "setting", *labels], setting_rows)]
    return Comparison(markdown, out_dir / "compare.html", differing, tables, png)
