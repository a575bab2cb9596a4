"""Verdict lines that never claim more than the numbers hold.

Against baselines: only applicable baselines are compared (one that cannot run on this data is "not applicable",
with its reason, never a 0 the model trivially beats), and "beats every baseline" is said only when every
baseline is applicable. Adapter against base: when both have intervals and they overlap, the difference is
"no significant difference", whatever its sign.
"""

from evaluators.reporting.intervals import Interval

NOT_APPLICABLE = "not applicable"


def against_baselines(model: float | None, baselines: dict[str, float | None], reasons: dict[str, str]) -> str:
    """One line comparing a model's primary metric with the baselines' (None: not applicable); "" without baselines."""
    if not baselines:
        return ""
    if model is None:  # e.g. a share of recommended names when the model named none: nothing to compare
        return "no verdict: the model has no value for this metric"
    applicable = {name: value for name, value in baselines.items() if value is not None}
    missing = "; ".join(f"{name}: {reasons.get(name, NOT_APPLICABLE)}" for name in baselines if name not in applicable)
    if not applicable:
        return f"no verdict: no baseline is applicable ({missing})"
    best = max(sorted(applicable), key=applicable.get)
    margin = model - applicable[best]
    if margin <= 0:
        return f"❌ does not beat baseline {best} ({margin:+.4f})"
    if len(applicable) == len(baselines):
        return f"✅ beats every baseline (+{margin:.4f} over {best})"
    return f"above the {len(applicable)} applicable baseline(s) (+{margin:.4f} over {best}); {NOT_APPLICABLE}: {missing}"


def adapter_vs_base(metric: str, adapter: float | None, base: float | None, adapter_ci: Interval | None, base_ci: Interval | None) -> str:
    if adapter is None or base is None:
        return f"{metric}: not comparable (no value for the {'adapter' if adapter is None else 'base'})"
    difference = adapter - base
    if adapter_ci is None or base_ci is None:
        return f"{metric}: adapter − base = {difference:+.4f}"
    if adapter_ci.overlaps(base_ci):
        return f"{metric}: no significant difference (adapter − base = {difference:+.4f}, within the 95% intervals {adapter_ci} and {base_ci})"
    side = "above" if difference > 0 else "below"
    return f"{metric}: adapter {side} base by {difference:+.4f}; the 95% intervals {adapter_ci} and {base_ci} do not overlap"
