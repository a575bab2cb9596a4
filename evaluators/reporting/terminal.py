"""The headline table in the terminal (rich): adapter, base and baselines with intervals, then the verdicts."""

import json
import shutil
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evaluators.reporting.summary import cell, label

# Wide enough for three "0.1234 [0.1000, 0.1500]" columns on one line each, also when output is piped.
MIN_WIDTH = 120


def headline_table(summary: dict, title: str = "") -> Table:
    table = Table(title=title or None)
    table.add_column("", no_wrap=True)
    table.add_column("n", justify="right")
    for metric in summary["metrics"]:
        table.add_column(f"{metric} [95% CI]", justify="right", no_wrap=True)
    for row in summary["rows"]:
        style = "bold" if row["kind"] == "model" else "dim"
        n = str(row["n"]) if row["n"] is not None else "–"
        table.add_row(label(row), n, *(cell(row, m) for m in summary["metrics"]), style=style)
    return table


def verdict_lines(summary: dict) -> list[str]:
    lines = [f"{row['name']}: {row['verdict']}" for row in summary["rows"] if row.get("verdict")]
    lines += [f"baseline {row['name']} not applicable: {row['not_applicable']}" for row in summary["rows"] if "not_applicable" in row]
    return lines + summary["differences"]


def console() -> Console:
    return Console(width=max(shutil.get_terminal_size((MIN_WIDTH, 24)).columns, MIN_WIDTH))


def print_report(report_md: Path, title: str, out: Console | None = None) -> None:
    """After `eval`: the headline table of the report's summary.json, the verdicts, and where report.html is."""
    from evaluators.judge.terminal import print_judge
    from evaluators.reporting.page import HTML_FILE
    from evaluators.reporting.summary import SUMMARY_FILE

    out = out or console()
    summary = json.loads((report_md.parent / SUMMARY_FILE).read_text(encoding="utf-8"))
    for warning in summary.get("warnings", []):  # absent from a summary.json written before warnings existed
        out.print(f"[bold red]Warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if summary["metrics"]:
        out.print(headline_table(summary, title))
        for line in verdict_lines(summary):
            out.print(f"  {line}", highlight=False, soft_wrap=True)
    print_judge(report_md.parent, out)
    out.print(f"html: {report_md.parent / HTML_FILE}", highlight=False, soft_wrap=True)
