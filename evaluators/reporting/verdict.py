"""Verdict lines that never claim more than the numbers hold.

Against baselines: only applicable baselines are compared (one that cannot run on this data is "not applicable",
with its reason, never a 0 the model trivially beats), and "beats every baseline" is said only when every
baseline is applicable. A baseline that meets the metric by construction (a rule that names only the agent's own
places is always grounded) is never compared on it: the line says so, and a model cannot "beat every baseline"
past it. Adapter against base: when both have intervals and they overlap, the difference is
"no significant difference", whatever its sign.
"""

from evaluators.reporting.intervals import Interval

NOT_APPLICABLE = "not applicable"


def against_baselines(model: float | None, baselines: dict[str, float | None], reasons: dict[str, str],
                      by_construction: dict[str, str] | None = None) -> str:
    """One line comparing a model's primary metric with the baselines' (None: not applicable); "" without baselines.
    `by_construction`: baseline -> how it meets this metric whatever the model does; it is not compared."""
    if not baselines:
        return ""
    if model is None:  # e.g. a share of recommended names when the model named none: nothing to compare
        return "no verdict: the model has no value for this metric"
    unfair = [f"{name} {why}: not compared" for name, why in (by_construction or {}).items() if name in baselines]
    compared = {name: value for name, value in baselines.items() if name not in (by_construction or {})}
    applicable = {name: value for name, value in compared.items() if value is not None}
    missing = "; ".join(f"{name}: {reasons.get(name, NOT_APPLICABLE)}" for name in compared if name not in applicable)
    if not applicable:
        return "no verdict: " + "; ".join([*unfair, *([f"no baseline is applicable ({missing})"] if missing else [])])
    best = max(sorted(applicable), key=applicable.get)
    margin = model - applicable[best]
    if margin <= 0:
        return "; ".join([f"❌ does not beat baseline {best} ({margin:+.4f})", *unfair])
    if len(applicable) == len(baselines):
        return f"✅ beats every baseline (+{margin:.4f} over {best})"
    notes = [*([f"{NOT_APPLICABLE}: {missing}"] if missing else []), *unfair]
    return f"above the {len(applicable)} applicable baseline(s) (+{margin:.4f} over {best}); " + "; ".join(notes)


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
