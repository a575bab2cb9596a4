"""Trajectory task metrics: generated Lujiazui days checked one by one and compared as a population.

Every validation row is one generated day (with several samples per prompt, every pass's rows are). The
reference days are the validation labels, each once. metrics.json holds, per variant and for the references
scored by the same checks (a sanity row: every check should be 1.0 on them):

    n, days           rows scored (n is what the headline table and its intervals read); parsed: how many of
                      them follow the grammar
    format_ok, temporal_ok, speed_ok, persona_ok, all_ok
                      share of days passing (a day that does not parse passes nothing); see trajectory_checks.py
    coord_in_region   share of the activity points of parsed days inside the district polygon
    place_known       share of the activity lines of parsed days naming a table place at its coordinates
    jsd_*, duplicate_share
                      population realism against the references (variants only); see trajectory_population.py

report.md lists the worst offenders with their reasons, the map (trajectory_map.png) and the distributions.
"""

from pathlib import Path

from evaluators.base import EvalInput, EvalResult, register_evaluator
from evaluators.tables import markdown_table
from evaluators.trajectory_checks import (
    CHECKS,
    DEFAULT_PLACE_TOLERANCE_M,
    DEFAULT_SPEED_LIMIT_KMH,
    DayResult,
    World,
    check_day,
)
from evaluators.trajectory_plots import distributions_plot, fmt, map_plot
from evaluators.trajectory_population import (
    FEATURES,
    distributions,
    features,
    population_metrics,
)
from pipelines.core.errors import RecordError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.schema import load_yaml_validated
from pipelines.core.text import strip_think
from pipelines.trajectory.geo import load_region
from pipelines.trajectory.places import load_places

MAP_FILE = "trajectory_map.png"
WORST_SHOWN = 8
REASON_CHARS = 160
POOLED = {"coord_in_region", "place_known"}  # shares of points / lines, not of days
# What the headline table, intervals and verdicts lead with: every day check passed, then the checks users ask
# about first (the population JSDs are lower-is-better, so they stay in the report's own tables).
HEADLINE = ("all_ok", "format_ok", "coord_in_region", "temporal_ok", "persona_ok")

OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["polygon", "places", "rules"],
    "properties": {
        "polygon": {"type": "string", "description": "Repo-relative GeoJSON of the district (Polygon or MultiPolygon)."},
        "places": {"type": "string", "description": "Repo-relative place table (schema trajectory_places)."},
        "rules": {"type": "string", "description": "Repo-relative persona rules (schema trajectory_rules)."},
        "speed_limit_kmh": {"type": "number", "exclusiveMinimum": 0, "description": f"speed_ok limit (default {DEFAULT_SPEED_LIMIT_KMH:g})."},
        "place_tolerance_m": {"type": "number", "exclusiveMinimum": 0, "description": f"place_known distance (default {DEFAULT_PLACE_TOLERANCE_M:g})."},
    },
}


def load_world(options: dict) -> World:
    return World(
        load_places(REPO_ROOT / options["places"]),
        load_region(REPO_ROOT / options["polygon"]),
        load_yaml_validated(REPO_ROOT / options["rules"], "trajectory_rules")["personas"],
        options.get("speed_limit_kmh", DEFAULT_SPEED_LIMIT_KMH),
        options.get("place_tolerance_m", DEFAULT_PLACE_TOLERANCE_M),
    )


def reference_results(rows: list[dict], source: Path, world: World) -> list[DayResult]:
    """The distinct labels, in order, checked; a label that does not parse names its predictions line."""
    first_line = {}
    for number, row in enumerate(rows, start=1):
        first_line.setdefault(strip_think(row["label"]), number)
    results = [check_day(number - 1, label, world) for label, number in first_line.items()]
    for result in results:
        if result.day is None:
            raise RecordError(str(source), f"line {result.index + 1}", "label", f"the reference day does not parse: {result.problems['format_ok'][0]}")
    return results


def day_metrics(results: list[DayResult]) -> dict:
    """The shares of per_sample over all days: a mean of the day checks, passing over all points of the pooled ones
    (None with no day, or no point, to count)."""
    metrics: dict = {"n": len(results), "days": len(results), "parsed": sum(1 for r in results if r.day)}
    for name, scores in per_sample(results).items():
        if name in POOLED:
            points = sum(total for _, total in scores)
            metrics[name] = sum(passing for passing, _ in scores) / points if points else None
        else:
            metrics[name] = sum(scores) / len(scores) if scores else None
    return metrics


def per_sample(results: list[DayResult]) -> dict[str, list]:
    """Each day's score: 1.0/0.0 for a day check, [points passing, points] for a pooled one (a day that does not
    parse has no points: [0, 0])."""
    scores: dict[str, list] = {}
    for name in CHECKS:
        if name in POOLED:
            scores[name] = [[len(r.day.activities) - len(r.problems[name]), len(r.day.activities)] if r.day else [0, 0] for r in results]
        else:
            scores[name] = [float(not r.problems[name]) for r in results]
    scores["all_ok"] = [float(not r.failed) for r in results]
    return scores


def worst_offenders(results: list[DayResult]) -> list[list]:
    ranked = sorted((r for r in results if r.failed), key=lambda r: (-len(r.failed), r.index))[:WORST_SHOWN]
    # A day that does not parse fails every check for that one reason, so only the format problem is shown.
    return [
        [r.index + 1, r.day.persona if r.day else "-", ", ".join(r.failed), "; ".join(shorten(r.problems[name][0]) for name in (r.failed if r.day else ["format_ok"]))]
        for r in ranked
    ]


def shorten(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


@register_evaluator("trajectory", options_schema=OPTIONS_SCHEMA, path_options=("polygon", "places", "rules"))
def evaluate(inp: EvalInput) -> EvalResult:
    world = load_world(inp.options)
    variants = list(inp.predictions)
    source = inp.sources.get(variants[0], Path("predictions"))
    references = reference_results(inp.predictions[variants[0]], source, world)
    reference_days = [r.day for r in references]
    results = {v: [check_day(i, strip_think(row["predict"]), world) for i, row in enumerate(rows)] for v, rows in inp.predictions.items()}
    metrics = {v: {**day_metrics(rs), **population_metrics([r.day for r in rs if r.day], reference_days)} for v, rs in results.items()}
    metrics["reference"] = day_metrics(references)

    panels = {v: [r.day for r in rs if r.day] for v, rs in results.items()} | {"reference": reference_days}
    map_plot(inp.out_dir / MAP_FILE, world.region, world.places, panels)
    figures = []
    for variant in variants:
        dists = distributions(features(panels[variant]), features(reference_days))
        jsds = {name: metrics[variant][f"jsd_{name}"] for name in FEATURES}
        figures.append(distributions_plot(inp.out_dir / f"trajectory_distributions_{variant}.png", dists, jsds).name)
    return EvalResult(
        metrics,
        report(metrics, results, variants, figures),
        headline=HEADLINE,
        per_sample={v: per_sample(rs) for v, rs in results.items()},
    )


def report(metrics: dict, results: dict[str, list[DayResult]], variants: list[str], figures: list[str]) -> str:
    columns = [*variants, "reference"]
    day_rows = [[name, *(cell(metrics[c][name]) for c in columns)] for name in ("days", "parsed", *CHECKS, "all_ok")]
    population_rows = [[f"jsd_{name}", *(fmt(metrics[v][f"jsd_{name}"]) for v in variants)] for name in FEATURES]
    population_rows.append(["duplicate_share", *(fmt(metrics[v]["duplicate_share"]) for v in variants)])
    sections = [
        "## Per-day checks",
        (
            "Shares of days passing; coord_in_region and place_known are shares of the activity points / lines of the days that parse. "
            "The reference column scores the validation labels with the same checks."
        ),
        markdown_table(["metric", *columns], day_rows),
        "## Population realism",
        (
            "Jensen-Shannon divergence (base 2: 0 = the reference distribution, 1 = disjoint) of generated against reference days; "
            "duplicate_share: generated days repeating an earlier generated day's activity chain."
        ),
        markdown_table(["metric", *variants], population_rows),
    ]
    for variant in variants:
        worst = worst_offenders(results[variant])
        sections += [f"## Worst offenders: {variant}", markdown_table(["row", "persona", "failed", "first reason of each"], worst) if worst else "Every day passes every check."]
    sections += ["## Map", f"![map]({MAP_FILE})", "## Distributions", *(f"![{name}]({name})" for name in figures)]
    return "\n\n".join(sections)


def cell(value) -> str:
    return str(value) if isinstance(value, int) else fmt(value)
