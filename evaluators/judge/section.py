"""The LLM-judge section of any task's report: data quality of the task's records, and model performance of each
predicted variant's answers to the validation records, paired by record so the two can be correlated.

Which records the data-quality rubric reads is `records`: `val` (default: the records the predictions answer, so
the two rubrics pair up), `train` (what the model learnt from, as the seed project judged it) or `all`; each split
read and each variant's answers stop at `max_items` (`all`: no limit). These and the call settings come from the
task's `eval.judge` with the command line's `--judge-*` options over them (evaluators/reporting/options.py); the
endpoint, model and key variable from the command line. Good answers are cached in the eval folder, so a re-run pays
only for what is missing; the section is written whatever the endpoint answers (evaluators/judge/client.py).
"""

from collections import Counter
from itertools import islice
from pathlib import Path

from evaluators.base import EvalInput
from evaluators.judge import plots
from evaluators.judge.aggregate import (
    item_means,
    pearson,
    pearson_text,
    pooled_reasons,
    summarize,
)
from evaluators.judge.cache import AnswerCache
from evaluators.judge.client import Endpoint, JudgeConfig, judge
from evaluators.judge.rubric import resolve_rubric
from evaluators.predictions import check_labels
from evaluators.tables import markdown_table
from pipelines.core.readers import iter_json_records
from pipelines.core.text import strip_think
from pipelines.data.dataset_info import dataset_file

CACHE_FILE = "judge_cache.sqlite"
DEFAULT_MAX_ITEMS = 100
SPLITS = {"val": ("val",), "train": ("train",), "all": ("train", "val")}
# The seed project's judge scores of its own data and fine-tuned Qwen3-0.6B: a yardstick, not the same data.
REFERENCE = "seed project (GPT-class judge, its own 218 records): data quality 7.55, model performance 6.64, r = 0.956"


def read_records(inp: EvalInput, split: str, limit: int | None) -> list[dict]:
    path = dataset_file(inp.task.dataset_name(split), inp.dataset_dir)
    return [record for _, record in islice(iter_json_records(path), limit)]


def judge_items(inp: EvalInput, records: str, limit: int | None) -> tuple[list[tuple[str, dict]], dict[str, list[tuple[str, dict]]]]:
    """(record items of the `records` splits, variant -> answer items of the validation records), keyed split#i."""
    val = read_records(inp, "val", limit)
    answers = {}
    for variant, rows in inp.predictions.items():
        check_labels(rows[:limit], val, str(inp.sources.get(variant, f"{variant} predictions")))
        answers[variant] = [(f"val#{index}", {"instruction": record["instruction"], "input": record.get("input", ""),
                                              "prediction": strip_think(row["predict"]), "reference": record["output"]})
                            for index, (record, row) in enumerate(zip(val, rows))]
    # Validation records only as far as the predictions go: the two rubrics judge the same records.
    read = {"val": val[: max(map(len, answers.values()), default=len(val))]}
    record_items = []
    for split in SPLITS[records]:
        chosen = read[split] if split in read else read_records(inp, split, limit)
        record_items += [(f"{split}#{i}", {"instruction": r["instruction"], "input": r.get("input", ""), "output": r["output"]})
                         for i, r in enumerate(chosen)]
    return record_items, answers


def judge_section(inp: EvalInput, config: JudgeConfig) -> tuple[dict, str]:
    """(metrics["judge"], report markdown); PNGs are written into inp.out_dir."""
    options = inp.options.get("judge", {})
    config = config.with_options(options)
    records = options.get("records", "val")
    max_items = options.get("max_items", DEFAULT_MAX_ITEMS)
    records_rubric = resolve_rubric(options.get("records_rubric", "data_quality"))
    answers_rubric = resolve_rubric(options.get("predictions_rubric", "model_performance"))
    record_items, answer_items = judge_items(inp, records, None if max_items == "all" else max_items)
    endpoint = Endpoint(config)
    with AnswerCache(Path(inp.out_dir) / CACHE_FILE) as cache:
        runs = {f"{records_rubric.name} (records)": judge(record_items, records_rubric, endpoint, cache)}
        for variant, items in answer_items.items():
            runs[f"{answers_rubric.name} ({variant})"] = judge(items, answers_rubric, endpoint, cache)
    summaries = {label: summarize(run) for label, run in runs.items()}
    metrics = {"model": config.model, "settings": {**config.settings(), "records": records, "max_items": max_items},
               "endpoint": endpoint.notes(), "sets": summaries}
    lines = ["## LLM judge", f"Judge model `{config.model}`; {REFERENCE}.", _settings_line(metrics)]
    if endpoint.stopped:
        lines.append(f"**The judge was stopped after its first refusal: {endpoint.stopped}.** The items not sent are counted as call failures.")
    for label, summary in summaries.items():
        lines += [f"### {label}", _failures_line(summary), _dimension_table(summary)]
    first, second = runs[f"{records_rubric.name} (records)"], runs.get(f"{answers_rubric.name} (adapter)")
    if second is not None:
        r, pairs = pearson(first, second)
        metrics["pearson"] = {"between": [records_rubric.name, f"{answers_rubric.name} (adapter)"], "r": r, "pairs": pairs}
        lines.append(f"Pearson r between item means of {records_rubric.name} and the adapter's {answers_rubric.name}: {pearson_text(r, pairs)}.")
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


def every_call_failed(metrics: dict) -> str | None:
    """The most frequent reason when the judge had items and every one was a failed call (nothing scored, nothing
    even unreadable), else None: `eval` then exits 1 after writing the report."""
    sets = list(metrics["sets"].values())
    if not sum(s["items"] for s in sets) or any(s["call_failures"] < s["items"] for s in sets):
        return None
    reasons = Counter()
    for reason, n in pooled_reasons(sets).items():
        reasons[reason.removeprefix("call: ").removeprefix("not sent: ")] += n  # the calls a refusal stopped count for it
    return reasons.most_common(1)[0][0]


def _settings_line(metrics: dict) -> str:
    s, endpoint = metrics["settings"], metrics["endpoint"]
    limit = "every record" if s["max_items"] == "all" else f"the first {s['max_items']} of each"
    return (f"Records judged: {s['records']} ({limit}). Temperature {s['temperature']:g}, max_tokens {s['max_tokens']}, "
            f"response_format json_object {endpoint['response_format']}, {s['concurrency']} calls at a time, "
            f"{s['timeout_s']:g} s per attempt, {s['max_retries']} retries" + (", cache ignored (--judge-refresh)." if s["refresh"] else "."))


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
