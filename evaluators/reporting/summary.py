"""The headline table of one evaluation as plain data (written to eval/summary.json, read by `compare`).

    {"metrics": [headline metrics, primary first],
     "rows": [{"name", "kind": "model" | "baseline", "n", "values": {metric: x | None},
               "intervals": {metric: [low, high]}, "verdict" (models), "not_applicable" (baselines),
               "by_construction": {metric: why} (baselines: metrics they meet whatever the model does)}],
     "differences": [one line per metric: adapter vs base, with the intervals],
     "warnings": [the evaluator's EvalResult.warnings: problems with the data or the evaluator],
     "partial": [one line per variant whose predictions cover only part of the validation set] (written by eval)}
"""

from evaluators.base import EvalResult
from evaluators.reporting import verdict
from evaluators.reporting.intervals import SMALL_N, Interval, bootstrap

MODEL, BASELINE = "model", "baseline"
SUMMARY_FILE = "summary.json"


def _model_row(name: str, metrics: dict, per_sample: dict, headline: tuple[str, ...]) -> dict:
    n = metrics.get("n")
    intervals = {}
    if n is not None and n < SMALL_N:
        # A metric without a value (nothing to score, e.g. no name to ground) gets no interval either.
        for metric in (m for m in headline if metrics.get(m) is not None):
            interval = bootstrap(per_sample.get(metric, []))
            if interval is not None:
                intervals[metric] = [interval.low, interval.high]
    return {"name": name, "kind": MODEL, "n": n, "values": {m: metrics.get(m) for m in headline}, "intervals": intervals}


def _baseline_row(name: str, metrics: dict, headline: tuple[str, ...]) -> dict:
    if "not_applicable" in metrics:
        return {"name": name, "kind": BASELINE, "n": None, "values": dict.fromkeys(headline), "intervals": {}, "not_applicable": metrics["not_applicable"]}
    row = {"name": name, "kind": BASELINE, "n": metrics.get("n"), "values": {m: metrics.get(m) for m in headline}, "intervals": {}}
    by_construction = {m: why for m, why in metrics.get("by_construction", {}).items() if m in headline}
    return {**row, "by_construction": by_construction} if by_construction else row


def interval(row: dict, metric: str) -> Interval | None:
    pair = row["intervals"].get(metric)
    return Interval(*pair) if pair else None


def summarize(result: EvalResult, variants: list[str]) -> dict:
    headline = tuple(result.headline)
    rows = [_model_row(v, result.metrics[v], result.per_sample.get(v, {}), headline) for v in variants if v in result.metrics]
    baselines = [_baseline_row(name, m, headline) for name, m in result.metrics.get("baselines", {}).items()]
    if headline:
        primary = headline[0]
        scores = {b["name"]: b["values"][primary] for b in baselines}
        reasons = {b["name"]: b["not_applicable"] for b in baselines if "not_applicable" in b}
        constructed = {b["name"]: f"meets {primary} by construction ({b['by_construction'][primary]})"
                       for b in baselines if primary in b.get("by_construction", {})}
        for row in rows:
            row["verdict"] = verdict.against_baselines(row["values"][primary], scores, reasons, constructed)
    by_name = {row["name"]: row for row in rows}
    differences = []
    if {"adapter", "base"} <= set(by_name):
        adapter, base = by_name["adapter"], by_name["base"]
        differences = [
            verdict.adapter_vs_base(m, adapter["values"][m], base["values"][m], interval(adapter, m), interval(base, m))
            for m in headline
            if adapter["values"][m] is not None and base["values"][m] is not None
        ]
    return {"metrics": list(headline), "rows": rows + baselines, "differences": differences, "warnings": list(result.warnings)}


def cell(row: dict, metric: str) -> str:
    """`0.1234 [0.1000, 0.1500]`, or the reason a baseline cannot run."""
    if "not_applicable" in row:
        return verdict.NOT_APPLICABLE
    value = row["values"].get(metric)
    if value is None:
        return "–"
    if metric in row.get("by_construction", {}):
        return f"{value:.4f} (by construction)"
    ci = interval(row, metric)
    return f"{value:.4f} {ci}" if ci else f"{value:.4f}"


def label(row: dict) -> str:
    return row["name"] if row["kind"] == MODEL else f"baseline: {row['name']}"


def has_verdicts(summary: dict) -> bool:
    """Only a task with baselines has verdicts; without them the column is left out."""
    return any(r.get("verdict") or "not_applicable" in r for r in summary["rows"])


def verdict_cell(row: dict, summary: dict) -> list[str]:
    return [row.get("verdict") or row.get("not_applicable", "")] if has_verdicts(summary) else []


def markdown(summary: dict) -> str:
    """The headline section of report.md (and of `compare`)."""
    from evaluators.tables import markdown_table

    if not summary["metrics"]:
        return ""
    header = ["", "n", *summary["metrics"], *(["verdict"] if has_verdicts(summary) else [])]
    rows = [[label(r), r["n"] if r["n"] is not None else "–", *(cell(r, m) for m in summary["metrics"]), *verdict_cell(r, summary)] for r in summary["rows"]]
    partial = [f"**Partial predictions:** {note}" for note in summary.get("partial", [])]
    lines = ["## Headline", *partial, "Metric [95% bootstrap interval over samples]; higher is better.", markdown_table(header, rows)]
    if summary["differences"]:
        lines.append("\n".join(f"- {d}" for d in summary["differences"]))
    return "\n\n".join(lines)
