"""Telecom customer-service metrics: ROUGE-L and BLEU-4 on jieba tokens, and key-term recall.

All scores are fractions in [0, 1], averaged over samples, except term recall, which is micro-averaged:
(glossary terms of the references that the predictions also contain) / (glossary terms in the references),
so a sample that mentions five terms weighs five times one that mentions one.
"""

from dataclasses import dataclass
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


@dataclass
class TermCounts:
    expected: int = 0
    found: int = 0

    def add(self, prediction: str, reference: str, glossary: list[str]) -> None:
        terms = [t for t in glossary if t in reference]
        self.expected += len(terms)
        self.found += sum(t in prediction for t in terms)

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 0.0


def score(rows: list[dict], glossary: list[str]) -> dict:
    terms = TermCounts()
    rouge, bleu = [], []
    for row in rows:
        prediction, reference = strip_think(row["predict"]), strip_think(row["label"])
        rouge.append(rouge_l(prediction, reference))
        bleu.append(bleu_4(prediction, reference))
        terms.add(prediction, reference, glossary)
    n = len(rows)
    return {
        "n": n,
        "rouge_l": sum(rouge) / n if n else 0.0,
        "bleu_4": sum(bleu) / n if n else 0.0,
        "term_recall": terms.recall,
        "terms_expected": terms.expected,
        "terms_found": terms.found,
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
    rows = []
    for i, prompt in enumerate(prompts):
        rows.append([cell(prompt["instruction"], 60), *[cell(inp.scenarios[v][i]["predict"]) for v in variants], cell(prompt["output"])])
    return markdown_table(header, rows)


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
    metrics = {variant: score(rows, glossary) for variant, rows in inp.predictions.items()}
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
        f"ROUGE-L and BLEU-4 on jieba tokens (fractions), key-term recall against {len(glossary)} glossary terms "
        f"(`{inp.options['glossary']}`); `<think>` blocks removed first.",
        table,
        f"![metrics]({chart.name})",
        "## Scenario prompts, before vs after",
        scenario_table(inp),
    ])
    return EvalResult(metrics=metrics, report_md=report)
