"""Restaurant recommendations: grounding in the agent's tool results (no LLM needed), beside two baselines.

Each validation answer is checked against the context the map agent had for that question (the sidecar
dataset_info/restaurant_val.meta.jsonl; rules in evaluators/restaurant_grounding.py). Beside the model variants:
    nearest three   the three POIs nearest to the user, whatever the budget and tastes (a rule, no model)
    reference       the agent's own answers (the labels): what training teaches, the ceiling of the data
The headline counts every prompt (a refusal scores 0): `answered` and the <rate>_all means; the task's own table
shows the rates over the answers that name places beside them. The nearest-three rule names three of the agent's
POIs for every prompt, so it meets `answered` and poi_grounded by construction: it is never a verdict's yardstick
on those (evaluators/reporting/verdict.py says so instead).
A judge model's scores (`domaintune eval --judge-base-url ...`) are added by the report for every task.
"""

from pathlib import Path

from evaluators.base import EvalInput, EvalResult, register_evaluator
from evaluators.plots import bar_chart
from evaluators.predictions import check_labels
from evaluators.restaurant_grounding import (
    SHARES,
    answerable,
    check,
    find_poi,
    grounding,
    nearest_three,
    parse_names,
    prompt_scores,
)
from evaluators.tables import markdown_table
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError
from pipelines.core.readers import iter_json_records
from pipelines.core.text import strip_think
from pipelines.data.dataset_info import dataset_file
from pipelines.data.sidecar import meta_path, read_meta

CHART = "restaurant_grounding.png"
RESULTS_CSV = "grounding_results.csv"
NEAREST = "nearest_three"
LABELS = {NEAREST: "baseline: nearest three POIs", "reference": "reference: the agent's answers"}
# Over all prompts, higher is better; poi_grounded_all first (verdicts and the worst samples use it). The rates over
# answered prompts and `hallucinated` (lower is better) stay in the task's own table.
HEADLINE = ("poi_grounded_all", "answered", "within_radius_all", "within_budget_all", "cuisine_match_all")
# The task's own table and chart: each rate over answered prompts beside its value over all prompts.
COLUMNS = ("answered", *(m for rate in SHARES for m in (rate, f"{rate}_all")), "hallucinated")
# What the nearest-three rule scores 1.0 on whatever the model does: it answers every prompt with the agent's POIs.
BY_CONSTRUCTION = dict.fromkeys(("answered", "poi_grounded", "poi_grounded_all"), "it names three of the agent's own POIs for every prompt")


def contexts_for(inp: EvalInput, n_rows: int) -> list[dict | None]:
    """The agent's context of each of the first n validation records (None where the record had none)."""
    name = inp.task.dataset_name("val")
    metas = read_meta(inp.dataset_dir, name)
    if len(metas) < n_rows:
        raise DomaintuneError(f"{meta_path(inp.dataset_dir, name)}: {len(metas)} lines for {n_rows} predictions; run `domaintune data --task {inp.task.name}`")
    return [meta.get("context") for meta in metas[:n_rows]]


def score_sets(answers: dict[str, list[str]], contexts: list[dict | None]) -> dict[str, dict]:
    """Grounding of each answer set over the records that have a context."""
    with_context = [i for i, context in enumerate(contexts) if context]
    return {label: grounding([texts[i] for i in with_context], [contexts[i] for i in with_context]) for label, texts in answers.items()}


def per_sample(texts: list[str], contexts: list[dict | None]) -> dict[str, list[list[float]]]:
    """Headline metric -> [score, 1] per validation sample, [0, 0] where it is not counted (no POIs to ground in,
    or nothing in the context to check the rate against): the metric is the ratio of their sums, the mean score."""
    scores = [prompt_scores(check(text, context), context) if answerable(context) else {} for text, context in zip(texts, contexts)]
    return {metric: [[s[metric], 1] if s.get(metric) is not None else [0, 0] for s in scores] for metric in HEADLINE}


@register_evaluator("restaurant", options_schema={"type": "object", "additionalProperties": False, "properties": {}})
def evaluate(inp: EvalInput) -> EvalResult:
    if not inp.predictions or not all(inp.predictions.values()):
        raise DomaintuneError("no restaurant predictions to score")
    records = [r for _, r in iter_json_records(dataset_file(inp.task.dataset_name("val"), inp.dataset_dir))]
    for variant, rows in inp.predictions.items():
        check_labels(rows, records, str(inp.sources.get(variant, f"{variant} predictions")))
    n_rows = min(len(rows) for rows in inp.predictions.values())  # every variant answers the same first prompts
    contexts = contexts_for(inp, n_rows)
    answers = {variant: [strip_think(row["predict"]) for row in rows[:n_rows]] for variant, rows in inp.predictions.items()}
    variants = list(answers)
    answers[NEAREST] = [nearest_three(c) if c else "" for c in contexts]
    answers["reference"] = [r["output"] for r in records[:n_rows]]
    sets = score_sets(answers, contexts)
    write_results_csv(inp.out_dir / RESULTS_CSV, records[:n_rows], answers, contexts)
    bar_chart(inp.out_dir / CHART, "Grounding in the agent's tool results", list(COLUMNS),
              {LABELS.get(k, k): [m[rate] if m[rate] is not None else float("nan") for rate in COLUMNS] for k, m in sets.items()})
    # "n" per variant too: the headline table and its bootstrap intervals read it from each model's metrics.
    metrics = {"n": n_rows, "with_context": sum(1 for c in contexts if c), "with_pois": sum(map(answerable, contexts)),
               **{v: {"n": n_rows, **sets[v]} for v in variants},
               "baselines": {NEAREST: {**sets[NEAREST], "by_construction": BY_CONSTRUCTION}}, "reference": sets["reference"]}
    return EvalResult(metrics=metrics, report_md=report(metrics, sets), headline=HEADLINE,
                      per_sample={v: per_sample(answers[v], contexts) for v in variants})


def write_results_csv(path: Path, records: list[dict], answers: dict[str, list[str]], contexts: list[dict | None]) -> Path:
    """One row per answer and set: the names read and those not in the agent's POIs, for finding the offenders."""
    import pandas as pd

    rows = []
    for label, texts in answers.items():
        for record, text, context in zip(records, texts, contexts):
            names = parse_names(text)
            missing = [n for n in names if context and find_poi(n, context["pois"]) is None]
            rows.append({"set": label, "question": record["input"], "names": " | ".join(names),
                         "not_in_pois": " | ".join(missing), "answer": text})
    write_text(path, pd.DataFrame(rows).to_csv(index=False))
    return path


def report(metrics: dict, sets: dict[str, dict]) -> str:
    def cell(value):
        return "-" if value is None else f"{value:.3f}"

    rows = [[LABELS.get(key, key), m["answers"], m["named"], m["names"], *(cell(m[metric]) for metric in COLUMNS)] for key, m in sets.items()]
    return "\n\n".join([
        "## Grounding in the agent's tool results",
        (f"{metrics['with_context']} of {metrics['n']} validation answers have the agent's context, {metrics['with_pois']} of them "
         "with POIs to recommend. Over the answers that name places: `poi_grounded` is the share of recommended names found "
         "among the agent's POIs; `within_radius`, `within_budget` and `cuisine_match` are shares of those grounded names; "
         "`hallucinated` is the share of answers naming a restaurant not among the POIs (`-`: nothing to measure). Over all "
         "prompts with POIs, a refusal counting 0: `answered` is the share whose answer names a place, and each `_all` "
         "rate is the mean of the prompts' own rates. The nearest-three rule meets `answered` and `poi_grounded` by "
         f"construction. Names not found are listed per answer in `{RESULTS_CSV}`."),
        markdown_table(["answers from", "answers", "with names", "names", *COLUMNS], rows),
        f"![grounding]({CHART})",
    ])
