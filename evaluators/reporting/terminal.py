"""The headline table in the terminal (rich): adapter, base and baselines, with intervals and verdicts."""

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evaluators.reporting.summary import cell, has_verdicts, label, verdict_cell


def headline_table(summary: dict, title: str = "") -> Table:
    table = Table(title=title or None, show_lines=False)
    table.add_column("")
    table.add_column("n", justify="right")
    for metric in summary["metrics"]:
        table.add_column(f"{metric} [95% CI]", justify="right")
    if has_verdicts(summary):
        table.add_column("verdict")
    for row in summary["rows"]:
        style = "bold" if row["kind"] == "model" else "dim"
        n = str(row["n"]) if row["n"] is not None else "–"
        table.add_row(label(row), n, *(cell(row, m) for m in summary["metrics"]), *verdict_cell(row, summary), style=style)
    return table


def print_summary(summary: dict, title: str = "", console: Console | None = None) -> None:
    """The table, then one line per metric on adapter vs base; nothing when the task has no headline metrics."""
    if not summary["metrics"]:
        return
    console = console or Console()
    console.print(headline_table(summary, title))
    for line in summary["differences"]:
        console.print(f"  {line}", highlight=False)


def print_report(report_md: Path, console: Console | None = None) -> None:
    """After `eval`: the headline table of the report's summary.json, then where report.html is."""
    from evaluators.reporting.page import HTML_FILE
    from evaluators.reporting.summary import SUMMARY_FILE

    console = console or Console()
    summary = json.loads((report_md.parent / SUMMARY_FILE).read_text(encoding="utf-8"))
    print_summary(summary, f"{report_md.parent.parent.name}: headline metrics", console)
    console.print(f"html: {report_md.parent / HTML_FILE}", highlight=False, soft_wrap=True)
