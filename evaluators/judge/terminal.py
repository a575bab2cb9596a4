"""The judge's table in the terminal after `eval`'s headline, printed whole (evaluators/reporting/whole_tables.py):
per judged set the items scored, parse and call failures, the overall mean and the mean of each dimension, then
the Pearson r, the commonest failure reasons and what the endpoint refused."""

import json
from pathlib import Path

from rich.console import Console

from evaluators.judge.aggregate import pearson_text, pooled_reasons
from evaluators.reporting.whole_tables import print_table

REASONS_SHOWN = 3


def _mean(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def judge_table(judge: dict) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows): per judged set the items scored, the failures and the means."""
    header = ["judged set", "scored", "parse fail", "call fail", "mean", "mean per dimension"]
    rows = []
    for label, s in judge["sets"].items():
        # key=mean: one word each, so a narrow terminal wraps between dimensions, never inside one.
        dimensions = "  ".join(f"{key}={_mean(d['mean'])}" for key, d in s["dimensions"].items())
        rows.append([label, f"{s['scored']}/{s['items']}", str(s["parse_failures"]), str(s["call_failures"]), _mean(s["overall"]["mean"]), dimensions])
    return f"LLM judge: {judge['model']}", header, rows


def judge_lines(judge: dict) -> list[str]:
    lines = []
    if "pearson" in judge:
        p = judge["pearson"]
        between = " and ".join(p["between"])
        lines.append(f"Pearson r ({between}): {pearson_text(p['r'], p['pairs'])}")
    lines += [f"{n} × {reason}" for reason, n in pooled_reasons(judge["sets"].values()).most_common(REASONS_SHOWN)]
    endpoint = judge.get("endpoint", {})
    if endpoint.get("response_format", "").startswith("dropped"):
        lines.append(f"response_format {endpoint['response_format']}")
    return lines


def print_judge(eval_dir: Path, out: Console) -> None:
    """The judge's table and lines from eval_dir/metrics.json; nothing when the eval had no judge."""
    path = Path(eval_dir) / "metrics.json"
    judge = json.loads(path.read_text(encoding="utf-8")).get("judge") if path.exists() else None
    if not judge:
        return
    title, header, rows = judge_table(judge)
    print_table(out, header, rows, title)
    for line in judge_lines(judge):
        # markup off: a reason may quote "[[n]]" or a server's own brackets.
        out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
