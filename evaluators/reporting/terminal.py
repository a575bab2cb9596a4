"""`eval`'s result in the terminal: warnings, the headline table (adapter, base and baselines with intervals) printed
whole (evaluators/reporting/whole_tables.py), the verdicts, a judge's table when there was one, and report.html."""

import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from evaluators.reporting.summary import cell, label
from evaluators.reporting.whole_tables import console, print_table


def headline(summary: dict) -> tuple[list[str], list[list[str]], list[str]]:
    """The headline table as (header, rows, styles): models bold, baselines dim."""
    header = ["", "n", *(f"{metric} [95% CI]" for metric in summary["metrics"])]
    rows = [[label(row), str(row["n"]) if row["n"] is not None else "–", *(cell(row, m) for m in summary["metrics"])] for row in summary["rows"]]
    styles = ["bold" if row["kind"] == "model" else "dim" for row in summary["rows"]]
    return header, rows, styles


def verdict_lines(summary: dict) -> list[str]:
    lines = [f"{row['name']}: {row['verdict']}" for row in summary["rows"] if row.get("verdict")]
    lines += [f"baseline {row['name']} not applicable: {row['not_applicable']}" for row in summary["rows"] if "not_applicable" in row]
    return lines + summary["differences"]


def load_summary(report_md: Path) -> dict:
    from evaluators.reporting.summary import SUMMARY_FILE

    return json.loads((report_md.parent / SUMMARY_FILE).read_text(encoding="utf-8"))


def scored(summary: dict) -> str:
    """`adapter 15, base 15 predictions scored`: what an eval counted, for its progress line."""
    counts = [f"{row['name']} {row['n']}" for row in summary["rows"] if row["kind"] == "model" and row["n"] is not None]
    return f"{', '.join(counts)} predictions scored" if counts else "scored"


def print_report(report_md: Path, title: str, out: Console | None = None) -> None:
    """After `eval`: the headline table of the report's summary.json, the verdicts, and where report.html is."""
    from evaluators.judge.terminal import print_judge
    from evaluators.reporting.page import HTML_FILE

    out = out or console()
    summary = load_summary(report_md)
    for warning in summary.get("warnings", []):  # absent from a summary.json written before warnings existed
        out.print(Text.assemble(("Warning:", "bold red"), f" {warning}"), soft_wrap=True)
    if summary["metrics"]:
        header, rows, styles = headline(summary)
        print_table(out, header, rows, title, styles)
        for line in verdict_lines(summary):
            out.print(Text(f"  {line}"), soft_wrap=True)
    print_judge(report_md.parent, out)
    out.print(Text(f"html: {report_md.parent / HTML_FILE}"), soft_wrap=True)
