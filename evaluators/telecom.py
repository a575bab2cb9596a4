"""Telecom customer-service metrics: ROUGE-L and BLEU-4 on jieba tokens, and key-term recall.

All scores are fractions in [0, 1], averaged over samples, except term recall, which is micro-averaged:
(glossary terms of the references that the predictions also contain) / (glossary terms in the references),
so a sample that mentions five terms weighs five times one that mentions one.
"""

from pathlib import Path

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from rouge_chinese import Rouge

from evaluators.base import EvalInput, EvalResult, register_evaluator
from evaluators.plots import bar_chart
from evaluators.tables import markdown_table
from evaluators.text import jieba_tokens
from pipelines.core.paths import REPO_ROOT
from pipelines.core.readers import read_text
from pipelines.core.registry import CONVERTERS
from pipelines.core.text import strip_think

METRICS = ("rouge_l", "bleu_4", "term_recall")


def load_glossary(path: Path) -> list[str]:
    lines = read_text(path).splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def rouge_l(prediction: str, reference: str) -> float:
    hyp, ref = jieba_tokens(prediction), jieba_tokens(reference)
    if not hyp or not ref:
        return 0.0
    return Rouge().get_scores(" ".join(hyp), " ".join(ref))[0]["rouge-l"]["f"]


def bleu_4(prediction: str, reference: str) -> float:
    hyp, ref = jieba_tokens(prediction), jieba_tokens(reference)
    if not hyp or not ref:
        return 0.0
    # method3 (NIST geometric smoothing) keeps short answers from scoring 0 on one missing 4-gram;
    # LLaMA-Factory's own predict metrics use the same.
    return sentence_bleu([ref], hyp, smoothing_function=SmoothingFunction().method3)


def sample_scores(rows: list[dict], glossary: list[str]) -> dict[str, list]:
    """Per sample: ROUGE-L and BLEU-4, and term recall as [terms found, terms in the reference] (a micro average)."""
    out = {"rouge_l": [], "bleu_4": [], "term_recall": []}
    for row in rows:
        prediction, reference = strip_think(row["predict"]), strip_think(row["label"])
        out["rouge_l"].append(rouge_l(prediction, reference))
        out["bleu_4"].append(bleu_4(prediction, reference))
        terms = [t for t in glossary if t in reference]
        out["term_recall"].append([sum(t in prediction for t in terms), len(terms)])
    return out


def score(rows: list[dict], glossary: list[str], samples: dict[str, list] | None = None) -> dict:
    """The metrics of `rows`, from their `sample_scores` when already computed."""
    samples = samples if samples is not None else sample_scores(rows, glossary)
    n = len(rows)
    found, expected = (sum(column) for column in zip(*samples["term_recall"])) if n else (0, 0)
    return {
        "n": n,
        "rouge_l": sum(samples["rouge_l"]) / n if n else 0.0,
        "bleu_4": sum(samples["bleu_4"]) / n if n else 0.0,
        "term_recall": found / expected if expected else 0.0,
        "terms_expected": expected,
        "terms_found": found,
    }


def cell(text: str, limit: int = 160) -> str:
    text = " ".join(strip_think(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scenario_table(inp: EvalInput) -> str:
    variants = [v for v in ("base", "adapter") if inp.scenarios.get(v)]
    if not variants:
        return "_No scenario predictions._"
    # The raw scenario file is the source of truth; `domaintune data` keeps its order.
    prompts = [e.record for e in CONVERTERS.get("alpaca").fn([inp.task.scenarios_path], {}, False).examples]
    header = ["场景 (scenario)", *[f"{v} answer" for v in variants], "reference"]
    # The rows predicted, which are the first prompts only when predict ran with max_samples.
    answered = min(len(prompts), *(len(inp.scenarios[v]) for v in variants))
    rows = []
    for i, prompt in enumerate(prompts[:answered]):
        rows.append([cell(prompt["instruction"], 60), *[cell(inp.scenarios[v][i]["predict"]) for v in variants], cell(prompt["output"])])
    note = f"\n\n_Predicted for the first {answered} of the {len(prompts)} scenario prompts._" if answered < len(prompts) else ""
    return markdown_table(header, rows) + note


@register_evaluator(
    "telecom",
    options_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["glossary"],
        "properties": {"glossary": {"type": "string", "description": "Repo-relative file of domain terms, one per line."}},
    },
    path_options=("glossary",),
)
def evaluate(inp: EvalInput) -> EvalResult:
    glossary = load_glossary(REPO_ROOT / inp.options["glossary"])
    per_sample = {variant: sample_scores(rows, glossary) for variant, rows in inp.predictions.items()}
    metrics = {variant: score(rows, glossary, per_sample[variant]) for variant, rows in inp.predictions.items()}
    chart = bar_chart(
        inp.out_dir / "metrics.png",
        title=f"{inp.task.name}: before vs after fine-tuning",
        groups=list(METRICS),
        series={variant: [metrics[variant][m] for m in METRICS] for variant in metrics},
    )
    table = markdown_table(
        ["variant", "n", *METRICS],
        [[v, m["n"], *[f"{m[k]:.4f}" for k in METRICS]] for v, m in metrics.items()],
    )
    report = "\n\n".join([
        "## Metrics",
        (
            f"ROUGE-L and BLEU-4 on jieba tokens (fractions), key-term recall against {len(glossary)} glossary terms "
            f"(`{inp.options['glossary']}`); `<think>` blocks removed first."
        ),
        table,
        f"![metrics]({chart.name})",
        "## Scenario prompts, before vs after",
        scenario_table(inp),
    ])
    return EvalResult(metrics=metrics, report_md=report, headline=METRICS, per_sample=per_sample)
