"""Judge scores summarised: per dimension mean, min, max, distribution and share of 8-9; failures by reason;
the Pearson correlation between two rubrics' per-item means where the same items have both."""

import statistics
from collections import Counter

from evaluators.judge.client import JudgeRun


def dimension_stats(scores: list[int], low: int, high: int) -> dict:
    if not scores:
        return {"n": 0, "mean": None, "min": None, "max": None, "share_8_9": None, "distribution": {}}
    counts = Counter(scores)
    return {
        "n": len(scores),
        "mean": statistics.fmean(scores),
        "min": min(scores),
        "max": max(scores),
        # The seed reported the share of 8-9 scores: good but not perfect, where most useful answers land.
        "share_8_9": sum(counts[s] for s in (8, 9)) / len(scores),
        "distribution": {str(s): counts[s] for s in range(low, high + 1)},
    }


def item_means(run: JudgeRun) -> dict[str, float]:
    """Item id -> mean over the rubric's dimensions, for scored items only."""
    return {v.id: statistics.fmean(s.score for s in v.scores.values()) for v in run.verdicts if v.scores}


def summarize(run: JudgeRun) -> dict:
    rubric = run.rubric
    scored = [v for v in run.verdicts if v.scores]
    reasons = Counter(v.failure for v in run.verdicts if v.failure)
    means = list(item_means(run).values())
    return {
        "rubric": rubric.name,
        "items": len(run.verdicts),
        "scored": len(scored),
        "parse_failures": sum(n for reason, n in reasons.items() if reason.startswith("parse:")),
        "call_failures": sum(n for reason, n in reasons.items() if reason.startswith("call:")),
        "failure_reasons": dict(reasons.most_common()),
        "calls": run.calls,
        "cached": run.cached,
        "overall": {"mean": statistics.fmean(means) if means else None, "min": min(means, default=None), "max": max(means, default=None)},
        "dimensions": {key: dimension_stats([v.scores[key].score for v in scored], rubric.low, rubric.high) for key in rubric.keys},
    }


def pearson(first: JudgeRun, second: JudgeRun) -> tuple[float | None, int]:
    """(r, pairs) over items both runs scored; r is None with fewer than 3 pairs or a constant side."""
    a, b = item_means(first), item_means(second)
    common = sorted(set(a) & set(b))
    xs, ys = [a[i] for i in common], [b[i] for i in common]
    if len(common) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None, len(common)
    return statistics.correlation(xs, ys), len(common)


def pearson_text(r: float | None, pairs: int) -> str:
    """The Pearson r as the report and the terminal say it."""
    return f"{r:.3f} over {pairs} items" if r is not None else f"not computed ({pairs} items scored by both; 3 needed, neither side constant)"


def pooled_reasons(summaries) -> Counter:
    """The failure reasons of every judged set (summarize's), added up in the order they first appear."""
    reasons = Counter()
    for s in summaries:
        reasons.update(s["failure_reasons"])
    return reasons
