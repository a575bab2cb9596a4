"""The LLM-judge section of any task's report: data quality of the validation records, and model performance of
each predicted variant's answers to the same records, paired by record so the two can be correlated.

Data quality is judged on the validation split: the same agent output as training, and the records the
predictions answer. Options come from the task's `eval.judge` (rubrics, item limit) and the command line
(endpoint, model, key variable); answers are cached in the eval folder, so a re-run pays only for what is missing.
"""

from pathlib import Path

from evaluators.base import EvalInput
from evaluators.judge import plots
from evaluators.judge.aggregate import item_means, pearson, summarize
from evaluators.judge.cache import AnswerCache
from evaluators.judge.client import JudgeConfig, judge
from evaluators.judge.rubric import resolve_rubric
from evaluators.predictions import check_labels
from evaluators.tables import markdown_table
from pipelines.core.readers import iter_json_records
from pipelines.core.text import strip_think
from pipelines.data.dataset_info import dataset_file

CACHE_FILE = "judge_cache.sqlite"
OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "records_rubric": {"type": "string", "description": "Rubric name or YAML file for the records (default data_quality)."},
        "predictions_rubric": {"type": "string", "description": "Rubric name or YAML file for the answers (default model_performance)."},
        "max_items": {"type": "integer", "minimum": 1, "description": "Judge the first N validation records only (cost)."},
    },
}
DEFAULT_MAX_ITEMS = 100
# The seed project's judge scores of its own data and fine-tuned Qwen3-0.6B: a yardstick, not the same data.
REFERENCE = "seed project (GPT-class judge, its own 218 records): data quality 7.55, model performance 6.64, r = 0.956"


def judge_items(inp: EvalInput, limit: int) -> tuple[list[tuple[str, dict]], dict[str, list[tuple[str, dict]]]]:
    """(record items, variant -> answer items), both keyed val#i, for the first `limit` validation records."""
    path = dataset_file(inp.task.dataset_name("val"), inp.dataset_dir)
    records = [record for _, record in iter_json_records(path)][:limit]
    answers = {}
    for variant, rows in inp.predictions.items():
        check_labels(rows[:limit], records, str(inp.sources.get(variant, f"{variant} predictions")))
        answers[variant] = [(f"val#{index}", {"instruction": record["instruction"], "input": record.get("input", ""),
                                              "prediction": strip_think(row["predict"]), "reference": record["output"]})
                            for index, (record, row) in enumerate(zip(records, rows))]
    n_records = max(map(len, answers.values()), default=len(records))
    record_items = [(f"val#{i}", {"instruction": r["instruction"], "input": r.get("input", ""), "output": r["output"]})
                    for i, r in enumerate(records[:n_records])]
    return record_items, answers


def judge_section(inp: EvalInput, config: JudgeConfig) -> tuple[dict, str]:
    """(metrics["judge"], report markdown); PNGs are written into inp.out_dir."""
    options = inp.options.get("judge", {})
    records_rubric = resolve_rubric(options.get("records_rubric", "data_quality"))
    answers_rubric = resolve_rubric(options.get("predictions_rubric", "model_performance"))
    record_items, answer_items = judge_items(inp, options.get("max_items", DEFAULT_MAX_ITEMS))
    with AnswerCache(Path(inp.out_dir) / CACHE_FILE) as cache:
        runs = {f"{records_rubric.name} (records)": judge(record_items, records_rubric, config, cache)}
        for variant, items in answer_items.items():
            runs[f"{answers_rubric.name} ({variant})"] = judge(items, answers_rubric, config, cache)
    summaries = {label: summarize(run) for label, run in runs.items()}
    metrics = {"model": config.model, "sets": summaries}
    lines = ["## LLM judge", f"Judge model `{config.model}`, temperature 0; {REFERENCE}."]
    for label, summary in summaries.items():
        lines += [f"### {label}", _failures_line(summary), _dimension_table(summary)]
    first, second = runs[f"{records_rubric.name} (records)"], runs.get(f"{answers_rubric.name} (adapter)")
    if second is not None:
        r, pairs = pearson(first, second)
        metrics["pearson"] = {"between": [records_rubric.name, f"{answers_rubric.name} (adapter)"], "r": r, "pairs": pairs}
        lines.append(f"Pearson r between item means of {records_rubric.name} and the adapter's {answers_rubric.name}: "
                     + (f"{r:.3f} over {pairs} items." if r is not None else f"not computed ({pairs} items scored by both; 3 needed, neither side constant)."))
        if r is not None:
            a, b = item_means(first), item_means(second)
            shared = sorted(set(a) & set(b))
            plots.correlation(Path(inp.out_dir) / "judge_correlation.png", [(a[i], b[i]) for i in shared], r, (records_rubric.name, answers_rubric.name))
            lines.append("![judge correlation](judge_correlation.png)")
    if any(s["scored"] for s in summaries.values()):
        plots.dimension_bars(Path(inp.out_dir) / "judge_dimensions.png", summaries, records_rubric.high)
        plots.distribution(Path(inp.out_dir) / "judge_distribution.png", summaries, records_rubric.low, records_rubric.high)
        lines += ["![judge scores by dimension](judge_dimensions.png)", "![judge score distribution](judge_distribution.png)"]
    return metrics, "\n\n".join(lines)


def _failures_line(summary: dict) -> str:
    reasons = "; ".join(f"{reason} ×{n}" for reason, n in summary["failure_reasons"].items())
    return (f"{summary['scored']} of {summary['items']} items scored; parse failures {summary['parse_failures']}, "
            f"call failures {summary['call_failures']} (never imputed){': ' + reasons if reasons else ''}. "
            f"Calls this run {summary['calls']}, answers from cache {summary['cached']}.")


def _dimension_table(summary: dict) -> str:
    def cell(value, fmt="{:.2f}"):
        return "-" if value is None else fmt.format(value)

    rows = [[key, cell(s["mean"]), cell(s["min"], "{}"), cell(s["max"], "{}"), cell(s["share_8_9"], "{:.1%}"), s["n"]]
            for key, s in summary["dimensions"].items()]
    rows.append(["overall (item mean)", cell(summary["overall"]["mean"]), cell(summary["overall"]["min"]), cell(summary["overall"]["max"]), "", summary["scored"]])
    return markdown_table(["dimension", "mean", "min", "max", "8-9 share", "n"], rows)
