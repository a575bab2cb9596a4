"""The adapter's worst and best validation samples on the primary metric, beside the base's answer and the reference."""

import re

from pipelines.core.text import strip_think

SHOWN = 3  # samples at each end
USER_TURN = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.DOTALL)  # Qwen's ChatML, every model here
SPECIAL_TOKEN = re.compile(r"<\|[^|<>]*\|>")


def question(prompt: str) -> str:
    """The last user turn of a templated prompt, or the prompt without special tokens when it has no ChatML turns."""
    turns = USER_TURN.findall(prompt)
    return (turns[-1] if turns else SPECIAL_TOKEN.sub("", prompt)).strip()


def _value(entry) -> float | None:
    if isinstance(entry, (list, tuple)):
        found, total = entry
        return found / total if total else None  # no term to recall: neither good nor bad
    return float(entry)


def worst_and_best(metric: str, per_sample: dict[str, dict[str, list]], predictions: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """{"worst": [...], "best": [...]}: samples {index, score, question, <variant>: answer..., reference}."""
    variant = "adapter" if "adapter" in per_sample else next(iter(per_sample), None)
    scores = per_sample.get(variant, {}).get(metric, []) if variant else []
    scored = sorted((value, i) for i, entry in enumerate(scores) if (value := _value(entry)) is not None)
    if not scored:
        return {"worst": [], "best": []}

    def sample(value: float, index: int) -> dict:
        rows = {v: rows[index] for v, rows in predictions.items() if index < len(rows)}
        first = next(iter(rows.values()))
        answers = {v: strip_think(row["predict"]) for v, row in rows.items()}
        return {"index": index, "score": value, "question": question(first["prompt"]), **answers, "reference": strip_think(first["label"])}

    count = min(SHOWN, len(scored) // 2 or 1)
    return {"worst": [sample(*pair) for pair in scored[:count]], "best": [sample(*pair) for pair in reversed(scored[-count:])]}
