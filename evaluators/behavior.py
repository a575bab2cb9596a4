"""Next-action metrics for the behavior task, next to three baselines fitted on the training split.

The first non-empty line of each prediction (thinking removed) and the reference are parsed with the log grammar
(pipelines/behavior/events.py):
    invalid  the prediction is not one rendered event line (no timestamp, unknown action, broken fields, empty)
    exact    same event, target and detail, timestamps at most `time_tolerance_s` apart (eval option, default 0)
    partial  not exact, but the same event and target (the app, site or file)
    overall  (exact + 0.5 × partial) / n
The target is the app (app_start, app_close, window_switch, app_usage), the domain (web_visit) or the file name
(file_access); the detail is the title (window_switch, web_visit), the directory (file_access), the duration
text (app_usage), or nothing (app_start, app_close).

Baselines see what the model sees, the context lines of the validation prompt, and know the training split:
    most_frequent  the (event, target) most frequent among training outputs
    repeat_last    the last context line again, detail included
    markov         the (event, target) that most often followed the last context line's (event, target) in
                   training; most_frequent's answer for a state training never saw
A baseline's timestamp is the last context line's (the next event's second cannot be known from the log), so
their `exact` at 0 s is nearly out of reach; `exact_lenient` (within LENIENT_TOLERANCE_S) shows how close they
come. Except repeat_last, their detail is the one training saw most often with that (event, target). Ties go to
the alphabetically first candidate, so baselines do not depend on file order. When a validation prompt carries
no context line, or the training split is empty, the baselines cannot run: they are "not applicable" (with the
reason) rather than a 0 every model beats, and no verdict compares with them.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evaluators.base import EvalInput, EvalResult, register_evaluator
from evaluators.reporting.verdict import NOT_APPLICABLE, against_baselines
from evaluators.tables import markdown_table
from pipelines.behavior.events import EVENTS, ParsedAction, parse_action, parse_line
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError, InvalidRecord, RecordError
from pipelines.core.readers import iter_json_records
from pipelines.core.tasks import Task
from pipelines.core.text import first_line
from pipelines.data.dataset_info import dataset_file

PARTIAL_WEIGHT = 0.5
LENIENT_TOLERANCE_S = 60  # one minute: right action at about the right time, what a prefetcher needs
VERDICTS = ("exact", "partial", "wrong", "invalid")
# The seed project's fine-tuned Qwen3-0.6B on its own 572 validation samples: a yardstick, not the same data.
REFERENCE = {"n": 572, "exact": 0.1923, "partial": 0.3776, "invalid": 0.1503, "overall": 0.3811}
REFERENCE_LABEL = "reference: seed Qwen3-0.6B, fine-tuned"
BASELINE_LABELS = {"most_frequent": "baseline: most frequent", "repeat_last": "baseline: repeat last", "markov": "baseline: Markov"}
CHART = "behavior_overall.png"
HEADLINE = ("overall", "exact")
RESULTS_CSV = "prediction_results.csv"


@dataclass(frozen=True)
class Sample:
    tail: str  # the prompt's last context line, as text ("" when the prompt has none)
    last: ParsedAction | None  # the same line parsed
    reference: ParsedAction


# LLaMA-Factory decodes prompts with special tokens kept: "...(应用: Code.exe)<|im_end|>" ends the last line.
SPECIAL_TOKEN = re.compile(r"<\|[^|<>]*\|>")


def last_context(prompt: str) -> tuple[str, ParsedAction | None]:
    """The last rendered event line of a prompt, whatever the chat template wrapped around it."""
    for line in reversed(prompt.split("\n")):  # not splitlines: a title may hold U+2028 and friends
        line = SPECIAL_TOKEN.sub("", line).strip()
        action = parse_line(line)
        if action is not None:
            return line, action
    return "", None


def read_samples(source: str, rows: list[dict]) -> list[Sample]:
    """Parsed samples of the validation rows, which come first in their file: row i is line i + 1."""
    samples = []
    for index, row in enumerate(rows):
        try:
            # Qwen3 templates with thinking on put an empty <think> block in the labels too.
            reference = parse_action(first_line(row["label"]))
        except InvalidRecord as exc:
            raise RecordError(source, f"line {index + 1}", f"label ({exc.field})", exc.reason) from None
        samples.append(Sample(*last_context(row["prompt"]), reference))
    return samples


def judge(prediction: ParsedAction | None, reference: ParsedAction, tolerance_s: float) -> str:
    if prediction is None:
        return "invalid"
    if prediction.key != reference.key:
        return "wrong"
    close = abs((prediction.time - reference.time).total_seconds()) <= tolerance_s
    return "exact" if close and prediction.detail == reference.detail else "partial"


def summarize(verdicts: list[str], lenient: list[str]) -> dict:
    """Fractions and counts of one list of verdicts; `lenient` are the same predictions judged within a minute."""
    n, counts = len(verdicts), Counter(verdicts)
    return {
        "n": n,
        **{name: counts[name] / n for name in ("exact", "partial", "invalid")},
        "overall": (counts["exact"] + PARTIAL_WEIGHT * counts["partial"]) / n,
        "exact_lenient": lenient.count("exact") / n,
        "counts": {name: counts[name] for name in VERDICTS},
    }


def score(predictions: list[ParsedAction | None], samples: list[Sample], tolerance_s: float) -> tuple[dict, list[str]]:
    """Metrics (with a breakdown by the reference's event) and the verdict of every prediction."""
    verdicts = [judge(p, s.reference, tolerance_s) for p, s in zip(predictions, samples)]
    lenient = [judge(p, s.reference, max(tolerance_s, LENIENT_TOLERANCE_S)) for p, s in zip(predictions, samples)]
    by_event = defaultdict(list)
    for index, sample in enumerate(samples):
        by_event[sample.reference.event].append(index)
    metrics = summarize(verdicts, lenient)
    metrics["by_event"] = {
        event: summarize([verdicts[i] for i in by_event[event]], [lenient[i] for i in by_event[event]])
        for event in EVENTS
        if by_event[event]
    }
    return metrics, verdicts


def _most_common(counter: Counter):
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0]


def _action(key: tuple[str, str], detail: str, at: ParsedAction) -> ParsedAction:
    spec = EVENTS[key[0]]
    fields = {spec.target: key[1], **({spec.detail: detail} if spec.detail else {})}
    return ParsedAction.of(at.ts, at.time, key[0], fields)


Baseline = Callable[[ParsedAction], ParsedAction]


def fit_baselines(train: list[dict]) -> dict[str, Baseline]:
    """The three baselines from training records (Alpaca: `input` = context lines, `output` = next line)."""
    following, details, transitions = Counter(), defaultdict(Counter), defaultdict(Counter)
    for record in train:
        nxt, last = parse_line(record["output"]), last_context(record["input"])[1]
        if nxt is None or last is None:
            raise DomaintuneError(f"training record {record['output']!r} is not a behavior sample; rebuild with `domaintune data --task behavior`")
        following[nxt.key] += 1
        details[nxt.key][nxt.detail] += 1
        transitions[last.key][nxt.key] += 1
    if not following:
        raise DomaintuneError("the behavior training split is empty; the baselines need it")
    top = _most_common(following)
    best_detail = {key: _most_common(counter) for key, counter in details.items()}
    next_key = {state: _most_common(counter) for state, counter in transitions.items()}

    def markov(last: ParsedAction) -> ParsedAction:
        key = next_key.get(last.key, top)
        return _action(key, best_detail[key], last)

    return {"most_frequent": lambda last: _action(top, best_detail[top], last), "repeat_last": lambda last: last, "markov": markov}


def load_train(task: Task, dataset_dir: Path) -> list[dict]:
    return [record for _, record in iter_json_records(dataset_file(task.dataset_name("train"), dataset_dir))]


def baseline_scores(inp: EvalInput, shared: list[Sample], tolerance_s: float) -> dict[str, dict]:
    """The baselines' metrics, or {"not_applicable": why} for each when they cannot run on this data."""
    without_context = sum(s.last is None for s in shared)
    train = load_train(inp.task, inp.dataset_dir)
    if without_context:
        reason = f"{without_context} of {len(shared)} validation prompts carry no context line to predict from"
    elif not train:
        reason = "the training split is empty, so there is nothing to fit them on"
    else:
        return {name: score([predict(s.last) for s in shared], shared, tolerance_s)[0] for name, predict in fit_baselines(train).items()}
    return {name: {"not_applicable": reason} for name in BASELINE_LABELS}


def verdict_against(overall: float, baselines: dict[str, dict]) -> str:
    scores = {name: m.get("overall") for name, m in baselines.items()}
    return against_baselines(overall, scores, {name: m["not_applicable"] for name, m in baselines.items() if "not_applicable" in m})


def per_sample(verdicts: list[str]) -> dict[str, list[float]]:
    return {"overall": [{"exact": 1.0, "partial": PARTIAL_WEIGHT}.get(v, 0.0) for v in verdicts], "exact": [float(v == "exact") for v in verdicts]}


@register_evaluator(
    "behavior",
    options_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {"time_tolerance_s": {"type": "number", "minimum": 0, "description": "Seconds apart an exact match may be."}},
    },
)
def evaluate(inp: EvalInput) -> EvalResult:
    tolerance_s = inp.options.get("time_tolerance_s", 0)
    if type(tolerance_s) not in (int, float) or tolerance_s < 0:
        raise DomaintuneError(f"eval.time_tolerance_s must be a number of seconds >= 0, got {tolerance_s!r}")
    if not inp.predictions or not all(inp.predictions.values()):
        raise DomaintuneError("no behavior predictions to score")
    samples = {
        variant: read_samples(str(inp.sources.get(variant, f"{variant} predictions")), rows)
        for variant, rows in inp.predictions.items()
    }
    lines = {variant: [first_line(row["predict"]) for row in rows] for variant, rows in inp.predictions.items()}
    scored = {variant: score(list(map(parse_line, lines[variant])), samples[variant], tolerance_s) for variant in inp.predictions}

    shared = next(iter(samples.values()))  # every variant answers the same validation prompts
    baselines = baseline_scores(inp, shared, tolerance_s)
    metrics = {
        "time_tolerance_s": tolerance_s,
        "lenient_tolerance_s": LENIENT_TOLERANCE_S,
        **{variant: m for variant, (m, _) in scored.items()},
        "baselines": baselines,
        "verdicts": {variant: verdict_against(m["overall"], baselines) for variant, (m, _) in scored.items()},
        "reference": REFERENCE,
    }
    write_results_csv(inp, samples, lines, {v: verdicts for v, (_, verdicts) in scored.items()})
    plot_overall(metrics, list(inp.predictions), inp.out_dir / CHART)
    return EvalResult(
        metrics=metrics,
        report_md=report(metrics, list(inp.predictions)),
        headline=HEADLINE,
        per_sample={variant: per_sample(verdicts) for variant, (_, verdicts) in scored.items()},
    )


def write_results_csv(inp: EvalInput, samples: dict[str, list[Sample]], lines: dict[str, list[str]], verdicts: dict[str, list[str]]) -> Path:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "variant": variant,
            "prompt_tail": sample.tail,
            "prediction": line,
            "reference": row["label"],
            "verdict": verdict,
        }
        for variant, rows in inp.predictions.items()
        for row, sample, line, verdict in zip(rows, samples[variant], lines[variant], verdicts[variant])
    )
    path = inp.out_dir / RESULTS_CSV
    write_text(path, frame.to_csv(index=False))
    return path


def _cells(label: str, m: dict, verdict: str) -> list:
    lenient = f"{m['exact_lenient']:.4f}" if "exact_lenient" in m else "–"  # the seed reported no lenient figure
    return [label, m["n"], f"{m['exact']:.4f}", lenient, f"{m['partial']:.4f}", f"{m['invalid']:.4f}", f"{m['overall']:.4f}", verdict]


def _baseline_cells(label: str, m: dict) -> list:
    if "not_applicable" in m:
        return [label, "–", *[NOT_APPLICABLE] * 5, m["not_applicable"]]
    return _cells(label, m, "baseline")


def _by_event_table(variant: str, m: dict) -> list[str]:
    rows = [[event, e["n"], *(f"{e[k]:.4f}" for k in ("exact", "partial", "invalid", "overall"))] for event, e in m["by_event"].items()]
    return [f"**{variant}** by event:", "", markdown_table(["event", "n", "exact", "partial", "invalid", "overall"], rows), ""]


def report(metrics: dict, variants: list[str]) -> str:
    n = metrics[variants[0]]["n"]
    header = ["model", "n", "exact", f"exact ≤{LENIENT_TOLERANCE_S} s", "partial", "invalid", "overall", "verdict"]
    rows = [_cells(f"**{v}**", metrics[v], f"**{metrics['verdicts'][v]}**") for v in variants]
    rows += [_baseline_cells(BASELINE_LABELS[name], m) for name, m in metrics["baselines"].items()]
    rows += [_cells(REFERENCE_LABEL, metrics["reference"], "seed report, its own data")]
    lines = [
        "## Next-action prediction",
        "",
        (
            f"{n} validation samples. **exact**: same action, target and detail, timestamps at most "
            f"{metrics['time_tolerance_s']} s apart; **exact ≤{LENIENT_TOLERANCE_S} s**: the same within "
            f"{LENIENT_TOLERANCE_S} s; **partial**: same action and target only; **overall** = (exact + "
            f"{PARTIAL_WEIGHT} × partial) / n. Baselines predict from the prompt's context lines and the training split."
        ),
        "",
        markdown_table(header, rows),
        "",
        f"![overall score per model and baseline]({CHART})",
        "",
    ]
    for variant in variants:
        lines += _by_event_table(variant, metrics[variant])
    lines += [
        (
            "Baselines stamp their guess with the last context line's time, so `exact` at 0 s is nearly out of their "
            "reach: **most frequent** always answers training's commonest (event, target); **repeat last** repeats "
            "the last context line; **Markov** answers the (event, target) that most often followed the last line's "
            "in training. The first and third take the detail training saw most often with that (event, target)."
        ),
        "",
    ]
    return "\n".join(lines)


def plot_overall(metrics: dict, variants: list[str], path: Path) -> Path:
    """Horizontal bars of overall (exact + half partial) per system, with the best baseline as a dashed line."""
    # Headless backend and CJK fonts are set up once, in .plots, for every report figure.
    from evaluators.plots import plt, save

    applicable = {name: m for name, m in metrics["baselines"].items() if "not_applicable" not in m}
    best = max((m["overall"] for m in applicable.values()), default=None)
    rows = [(v, metrics[v], "#2e7d32" if best is not None and metrics[v]["overall"] > best else "#c62828") for v in variants]
    rows += [(BASELINE_LABELS[name], m, "#9e9e9e") for name, m in applicable.items()]
    rows += [(REFERENCE_LABEL, metrics["reference"], "#90caf9")]
    labels = [label for label, _, _ in rows][::-1]
    exact = [m["exact"] for _, m, _ in rows][::-1]
    half_partial = [PARTIAL_WEIGHT * m["partial"] for _, m, _ in rows][::-1]
    colors = [color for _, _, color in rows][::-1]

    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
    ax.barh(labels, exact, color=colors)
    ax.barh(labels, half_partial, left=exact, color=colors, alpha=0.45)
    for y, (e, h) in enumerate(zip(exact, half_partial)):
        ax.text(e + h + 0.005, y, f"{e + h:.3f}", va="center", fontsize=9)
    if best is not None:
        ax.axvline(best, color="black", linestyle="--", linewidth=1, label="best baseline")
    ax.set_xlabel(f"overall = exact (solid) + {PARTIAL_WEIGHT} × partial (light)")
    ax.set_xlim(0, 1)
    ax.set_title("Next action: green beats every applicable baseline, red does not", fontsize=11)
    if best is not None:
        ax.legend(loc="lower right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(fig, path)
