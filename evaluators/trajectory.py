"""Trajectory task metrics: generated days checked one by one, compared as a population, and written as files.

Every validation row is one generated day (with several samples per prompt, every pass's rows are). The
reference days are the validation labels, each once; the training days are the task's built training split.
Every day is read in canonical words (data/trajectory/synonyms.yaml) before any check or metric. metrics.json
holds, per variant and for the references scored by the same checks:

    n, days           rows scored (n is what the headline table and its intervals read); parsed: how many of
                      them follow the grammar
    format_ok, temporal_ok, speed_ok, persona_ok, all_ok
                      share of days passing (a day that does not parse passes nothing); see trajectory_checks.py
    coord_in_region   share of the activity points of parsed days inside the district polygon
    place_known       share of the activity lines of parsed days naming a table place at its coordinates
    place_rules       activity lines by the rule that matched their place (name, alias, normalised, nearest, none)
    extra_fields      persona fields beyond the grammar's four -> days that have them (kept, not refused)
    by_persona        persona -> the per-day checks of that persona's days
    jsd_*, duplicate_share, memorisation_share
                      population realism against the references (variants only); see trajectory_population.py
and, beside them, `noise_floor` (each JSD of the training days against the references) and `clock_step_min`
(speed_ok's allowance: the task's option, else the grid of the reference days).

The references are a sanity row: every check should be 1.0 on them. Where one is not, the eval says so on the
terminal and at the top of the report (EvalResult.warnings): the data or the evaluator is wrong, not the model.
report.md lists the worst offenders with their reasons, the map (trajectory_map.png) and the distributions;
trajectory_days_<variant>.geojson and trajectory_stops.csv hold the days for GIS and pandas
(trajectory_export.py).
"""

from collections import Counter
from dataclasses import replace
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
    clock_step,
    read_day,
)
from evaluators.trajectory_export import write_geojson, write_stops_csv
from evaluators.trajectory_plots import distributions_plot, fmt, map_plot
from evaluators.trajectory_population import (
    FEATURES,
    distributions,
    features,
    noise_floor,
    population_metrics,
)
from pipelines.core.errors import RecordError
from pipelines.core.paths import REPO_ROOT
from pipelines.core.readers import iter_json_records
from pipelines.core.text import strip_think
from pipelines.data.dataset_info import dataset_file, load_dataset_info
from pipelines.trajectory.geo import load_region
from pipelines.trajectory.grammar import Day
from pipelines.trajectory.personas import load_rules
from pipelines.trajectory.places import MATCH_RULES, load_places
from pipelines.trajectory.synonyms import Synonyms, load_synonyms

MAP_FILE = "trajectory_map.png"
STOPS_FILE = "trajectory_stops.csv"
WORST_SHOWN = 8
REASON_CHARS = 160
REFERENCE = "reference"
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
        "synonyms": {"type": "string", "description": "Repo-relative synonym tables (schema trajectory_synonyms), applied before every check and metric."},
        "speed_limit_kmh": {"type": "number", "exclusiveMinimum": 0, "description": f"speed_ok limit (default {DEFAULT_SPEED_LIMIT_KMH:g})."},
        "place_tolerance_m": {"type": "number", "exclusiveMinimum": 0, "description": f"place_known distance (default {DEFAULT_PLACE_TOLERANCE_M:g})."},
        "clock_step_min": {"type": "integer", "minimum": 0, "description": "Minutes of travel a zero gap may hide in speed_ok (default: the grid of the reference days' clock times)."},
    },
}


def load_world(options: dict) -> World:
    return World(
        load_places(REPO_ROOT / options["places"]),
        load_region(REPO_ROOT / options["polygon"]),
        load_rules(REPO_ROOT / options["rules"]),
        load_synonyms(REPO_ROOT / options["synonyms"]) if "synonyms" in options else Synonyms(),
        options.get("speed_limit_kmh", DEFAULT_SPEED_LIMIT_KMH),
        options.get("place_tolerance_m", DEFAULT_PLACE_TOLERANCE_M),
        options.get("clock_step_min", 0),
    )


def distinct_labels(rows: list[dict]) -> dict[str, int]:
    """Each distinct label -> the predictions line (1-based) it first appears on."""
    first_line: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        first_line.setdefault(strip_think(row["label"]), number)
    return first_line


def with_clock_step(world: World, options: dict, labels: dict[str, int]) -> World:
    """The task's clock_step_min, else the grid the reference days' clock times sit on."""
    if "clock_step_min" in options:
        return world
    return replace(world, clock_step_min=clock_step([day for day in (read_day(text, world)[0] for text in labels) if day]))


def reference_results(labels: dict[str, int], source: Path, world: World) -> list[DayResult]:
    """The distinct labels checked; a label that does not parse names its predictions line."""
    results = [check_day(number - 1, text, world) for text, number in labels.items()]
    for result in results:
        if result.day is None:
            raise RecordError(str(source), f"line {result.index + 1}", "label", f"the reference day does not parse: {result.problems['format_ok'][0]}")
    return results


def training_days(inp: EvalInput, world: World) -> list[Day] | None:
    """The built training split's days as the metrics read them; None when no training split is registered."""
    name = inp.task.dataset_name("train")
    if name not in load_dataset_info(inp.dataset_dir):
        return None
    path = dataset_file(name, inp.dataset_dir)
    results = (check_day(i, record["output"], world) for i, (_, record) in enumerate(iter_json_records(path)))
    return [r.placed() for r in results if r.day is not None]


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


def by_persona(results: list[DayResult]) -> dict[str, dict]:
    """Persona -> day_metrics of the parsed days of that persona (canonical persona names, in order of appearance)."""
    groups: dict[str, list[DayResult]] = {}
    for r in results:
        if r.day is not None:
            groups.setdefault(r.day.persona, []).append(r)
    return {persona: day_metrics(group) for persona, group in groups.items()}


def place_rules(results: list[DayResult]) -> dict[str, int]:
    """Activity lines by the rule that matched their place; `none` for lines no rule matched."""
    counts = Counter(m.rule if m else "none" for r in results for m in r.matches)
    return {rule: counts[rule] for rule in (*MATCH_RULES, "none")}


def extra_fields(results: list[DayResult]) -> dict[str, int]:
    return dict(Counter(label for r in results if r.day for label in {label for label, _ in r.day.extra_fields}))


def described(results: list[DayResult]) -> dict:
    return {**day_metrics(results), "place_rules": place_rules(results), "extra_fields": extra_fields(results), "by_persona": by_persona(results)}


def sanity_warnings(reference: dict) -> list[str]:
    """One line per check the references do not all pass: they are the data, so the data or the checks are wrong."""
    failing = [f"{name} {reference[name]:.3f}" for name in (*CHECKS, "all_ok") if reference[name] is not None and reference[name] < 1]
    if not failing:
        return []
    return [(
        f"sanity row: the validation references score {', '.join(failing)} (every check should be 1.0 on them): "
        "a data or evaluator problem, not the model's; report.md lists the failing reference days"
    )]


def worst_offenders(results: list[DayResult]) -> list[list]:
    ranked = sorted((r for r in results if r.failed), key=lambda r: (-len(r.failed), r.index))[:WORST_SHOWN]
    # A day that does not parse fails every check for that one reason, so only the format problem is shown.
    return [
        [r.index + 1, r.day.persona if r.day else "-", ", ".join(r.failed), "; ".join(shorten(r.problems[name][0]) for name in (r.failed if r.day else ["format_ok"]))]
        for r in ranked
    ]


def shorten(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


@register_evaluator("trajectory", options_schema=OPTIONS_SCHEMA, path_options=("polygon", "places", "rules", "synonyms"))
def evaluate(inp: EvalInput) -> EvalResult:
    variants = list(inp.predictions)
    source = inp.sources.get(variants[0], Path("predictions"))
    labels = distinct_labels(inp.predictions[variants[0]])
    world = with_clock_step(load_world(inp.options), inp.options, labels)
    references = reference_results(labels, source, world)
    reference_days = [r.placed() for r in references]
    training = training_days(inp, world)
    results = {v: [check_day(i, strip_think(row["predict"]), world) for i, row in enumerate(rows)] for v, rows in inp.predictions.items()}
    panels = {v: [r.placed() for r in rs if r.day] for v, rs in results.items()} | {REFERENCE: reference_days}
    metrics: dict = {v: {**described(rs), **population_metrics(panels[v], reference_days, training)} for v, rs in results.items()}
    metrics[REFERENCE] = described(references)
    metrics["noise_floor"] = noise_floor(training, reference_days)
    metrics["clock_step_min"] = world.clock_step_min

    map_plot(inp.out_dir / MAP_FILE, world.region, world.places, panels)
    figures, reference_features = [], features(reference_days)
    for variant in variants:
        dists = distributions(features(panels[variant]), reference_features)
        jsds = {name: metrics[variant][f"jsd_{name}"] for name in FEATURES}
        figures.append(distributions_plot(inp.out_dir / f"trajectory_distributions_{variant}.png", dists, jsds).name)
    scored = results | {REFERENCE: references}
    files = [write_geojson(inp.out_dir / f"trajectory_days_{name}.geojson", rs).name for name, rs in scored.items()]
    files.append(write_stops_csv(inp.out_dir / STOPS_FILE, scored).name)
    return EvalResult(
        metrics,
        report(metrics, scored, variants, figures, files, training),
        headline=HEADLINE,
        per_sample={v: per_sample(rs) for v, rs in results.items()},
        warnings=sanity_warnings(metrics[REFERENCE]),
    )


def report(metrics: dict, scored: dict[str, list[DayResult]], variants: list[str], figures: list[str], files: list[str], training: list[Day] | None) -> str:
    columns = [*variants, REFERENCE]
    sections = [
        *sanity_section(metrics[REFERENCE], scored[REFERENCE]),
        "## Per-day checks",
        (
            "Shares of days passing; coord_in_region and place_known are shares of the activity points / lines of the days that parse. "
            f"The reference column scores the validation labels with the same checks. speed_ok allows {metrics['clock_step_min']} min of clock step per leg."
        ),
        markdown_table(["metric", *columns], [[name, *(cell(metrics[c][name]) for c in columns)] for name in ("days", "parsed", *CHECKS, "all_ok")]),
        "### By persona",
        markdown_table(["column", "persona", "days", *CHECKS, "all_ok"], [
            [c, persona, m["days"], *(cell(m[name]) for name in (*CHECKS, "all_ok"))] for c in columns for persona, m in metrics[c]["by_persona"].items()
        ]),
        "### Place matching",
        "Activity lines by the rule that matched their place to the table (name, alias, normalised name, nearest place within the tolerance).",
        markdown_table(["rule", *columns], [[rule, *(metrics[c]["place_rules"][rule] for c in columns)] for rule in (*MATCH_RULES, "none")]),
        *extra_fields_section(metrics, columns),
        *population_section(metrics, variants, training),
    ]
    for variant in variants:
        worst = worst_offenders(scored[variant])
        sections += [f"## Worst offenders: {variant}", markdown_table(["row", "persona", "failed", "first reason of each"], worst) if worst else "Every day passes every check."]
    sections += [
        "## Files",
        "The days that parse, for GIS and pandas: " + ", ".join(f"`{name}`" for name in files) + " (one GeoJSON Feature per day, one CSV row per stop).",
        "## Map", f"![map]({MAP_FILE})", "## Distributions", *(f"![{name}]({name})" for name in figures),
    ]
    return "\n\n".join(sections)


def sanity_section(reference: dict, results: list[DayResult]) -> list[str]:
    warnings = sanity_warnings(reference)
    if not warnings:
        return ["## Sanity row", "The validation references, scored as predictions, pass every check (1.0): the checks hold on the data."]
    return ["## Sanity row: the references fail", warnings[0] + ".",
            markdown_table(["row", "persona", "failed", "first reason of each"], worst_offenders(results))]


def extra_fields_section(metrics: dict, columns: list[str]) -> list[str]:
    lines = [f"- {c}: " + ", ".join(f"[{label}] in {n} days" for label, n in metrics[c]["extra_fields"].items()) for c in columns if metrics[c]["extra_fields"]]
    return ["### Persona fields beyond the grammar (kept)", "\n".join(lines)] if lines else []


def population_section(metrics: dict, variants: list[str], training: list[Day] | None) -> list[str]:
    floor = metrics["noise_floor"]
    rows = [[f"jsd_{name}", *(fmt(metrics[v][f"jsd_{name}"]) for v in variants), fmt(floor[f"jsd_{name}"]) if floor else "n/a"] for name in FEATURES]
    rows += [[name, *(fmt(metrics[v][name]) for v in variants), "–"] for name in ("duplicate_share", "memorisation_share")]
    training_note = (
        f"The noise floor scores the {len(training)} training days against the references the same way: what two samples of the same data differ by, "
        "so a JSD near it is as good as a model can get on this many days."
        if training else "No training split is registered (`domaintune data`), so there is no noise floor and no memorisation share."
    )
    return [
        "## Population realism",
        (
            "Jensen-Shannon divergence (base 2: 0 = the reference distribution, 1 = disjoint) of generated against reference days "
            "(step_interval and step_distance are LLMob's SI and SD, g_rank MoveSim's G-rank); "
            "duplicate_share: generated days repeating an earlier generated day; memorisation_share: generated days copying a training day. "
            + training_note
        ),
        markdown_table(["metric", *variants, "noise floor (train vs reference)"], rows),
    ]


def cell(value) -> str:
    return str(value) if isinstance(value, int) else fmt(value)
