"""Tables in the terminal that stay whole: the headline table (adapter, base and baselines with intervals, then the
verdicts) and any other table a command prints through `print_table` (compare's; a judge's after the headline).

A number is never cut. On a terminal the table is drawn (rich) with cells wrapping at spaces; on one narrower than
the table's longest words, each row becomes a block of `column  value` lines. Off a terminal (a pipe, a file, a
CI log) it is plain Markdown, as in report.md, whatever the width.
"""

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaluators.reporting.summary import cell, label
from evaluators.tables import markdown_table


def console() -> Console:
    return Console(highlight=False)


def longest_word(texts: list) -> int:
    return max((len(word) for text in texts for word in str(text).split()), default=0)


def column_minimums(header: list[str], rows: list[list]) -> list[int]:
    return [longest_word([name, *(row[i] for row in rows)]) for i, name in enumerate(header)]


def narrowest(header: list[str], rows: list[list]) -> int:
    """The drawn table's width with every cell wrapped at spaces: the columns' longest words, one space of padding
    either side of each, and a border between and around them."""
    minimums = column_minimums(header, rows)
    return sum(minimums) + 2 * len(minimums) + len(minimums) + 1


def drawn_table(header: list[str], rows: list[list], title: str = "", styles: list[str] | None = None) -> Table:
    """Each column at least as wide as its longest word, so cells wrap at spaces and never inside a number."""
    table = Table(title=title or None)
    for i, (name, minimum) in enumerate(zip(header, column_minimums(header, rows))):
        table.add_column(Text(str(name)), justify="left" if i == 0 else "right", overflow="fold", min_width=minimum)
    for row, style in zip(rows, styles or [""] * len(rows)):
        table.add_row(*(Text(str(value)) for value in row), style=style or None)
    return table


def print_vertical(out: Console, header: list[str], rows: list[list], title: str = "", styles: list[str] | None = None) -> None:
    """One block per row: its first cell, then `column  value` per other column, each value on one line."""
    if title:
        out.print(Text(title, style="bold"), soft_wrap=True)
    width = max((len(str(name)) for name in header[1:]), default=0)
    for row, style in zip(rows, styles or [""] * len(rows)):
        out.print(Text(str(row[0]), style=style or ""), soft_wrap=True)
        for name, value in zip(header[1:], row[1:]):
            out.print(Text(f"  {str(name):<{width}}  {value}"), soft_wrap=True)


def print_table(out: Console, header: list[str], rows: list[list], title: str = "", styles: list[str] | None = None) -> None:
    """Print a table whole: drawn when it fits, in blocks when the terminal is too narrow, Markdown off a terminal.
    `styles` (rich style names, one per row) apply on a terminal only."""
    if not out.is_terminal:
        if title:
            out.print(Text(title), soft_wrap=True)
        out.print(Text(markdown_table(header, rows)), soft_wrap=True)
        return
    if narrowest(header, rows) <= out.width:
        out.print(drawn_table(header, rows, title, styles))
    else:  # any narrower and rich would cut words, or drop whole columns
        print_vertical(out, header, rows, title, styles)


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
    from evaluators.reporting.page import HTML_FILE

    out = out or console()
    summary = load_summary(report_md)
    if summary["metrics"]:
        header, rows, styles = headline(summary)
        print_table(out, header, rows, title, styles)
        for line in verdict_lines(summary):
            out.print(Text(f"  {line}"), soft_wrap=True)
    out.print(Text(f"html: {report_md.parent / HTML_FILE}"), soft_wrap=True)
