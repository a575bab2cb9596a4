"""Token lengths of a built dataset, as LLaMA-Factory will see them: `<dataset>.stats.json` beside the data.

Each record is rendered through the task's chat template by LLaMA-Factory's own Template (the same one
`domaintune preview` uses), so system prompt, role markers and the empty think block of Qwen3's
no-think template are counted. The planner reads these statistics instead of assuming every sample is
`cutoff_len` long (pipelines/planning/plan.py).

Speed: the Template asks the tokenizer for one string at a time. A stand-in tokenizer records those
strings and answers with placeholders; all strings are then tokenised in one batched call of the fast
(Rust) tokenizer, and each placeholder counts as its string's length. Datasets above SAMPLE_LIMIT
records (the 10^6-event behavior logs give 850,000) are measured on a seeded uniform sample plus the
LONGEST_BY_CHARS records with the most characters, so the maximum (what padding and memory depend on)
is the real one in practice, while the percentiles come from the uniform sample.
"""

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError
from pipelines.core.tasks import Task
from pipelines.data.preview import load_template, to_messages

STATS_SUFFIX = ".stats.json"
SAMPLE_LIMIT = 8192
LONGEST_BY_CHARS = 256
SAMPLE_SEED = 0
# Percentiles kept, 0..100 in steps of 1: enough to simulate padding and packing (pipelines/planning).
QUANTILE_STEPS = 100


@dataclass(frozen=True)
class LengthStats:
    """Tokens per sample (prompt + response, before truncation to cutoff_len)."""

    dataset: str
    template: str
    cutoff_len: int
    records: int
    measured: int
    """Records tokenised: all of them, or SAMPLE_LIMIT + LONGEST_BY_CHARS on large datasets."""
    mean: float
    p50: int
    p90: int
    p99: int
    max: int
    over_cutoff: int
    """Records longer than cutoff_len (estimated from the sample when not all were measured)."""
    quantiles: list[int]
    """Lengths at percentiles 0, 1, ..., 100 of the uniform sample (the last one is `max`)."""

    def line(self) -> str:
        sample = "" if self.measured == self.records else f", from {self.measured:,} sampled"
        return (
            f"{self.dataset}: tokens per sample mean {self.mean:.0f}, p50 {self.p50}, p90 {self.p90}, "
            f"p99 {self.p99}, max {self.max}; {self.over_cutoff} over cutoff_len {self.cutoff_len}{sample}"
        )


def stats_path(dataset_dir: Path, dataset_name: str) -> Path:
    return Path(dataset_dir) / f"{dataset_name}{STATS_SUFFIX}"


def read_stats(dataset_dir: Path, dataset_name: str) -> LengthStats | None:
    """The stats written by the last `domaintune data`, or None when the dataset was built without them."""
    path = stats_path(dataset_dir, dataset_name)
    if not path.exists():
        return None
    try:
        return LengthStats(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise DomaintuneError(f"{path}: unreadable length statistics ({exc}); rebuild with `domaintune data`") from None


def write_stats(dataset_dir: Path, stats: LengthStats) -> Path:
    path = stats_path(dataset_dir, stats.dataset)
    write_json(path, asdict(stats))
    return path


def measure_datasets(task: Task, datasets: dict[str, list[dict]]) -> dict[str, LengthStats]:
    """Length statistics of each named list of Alpaca records, with one tokenizer and template for all."""
    return measure_chosen(task, {name: (len(records), chosen_records(records)) for name, records in datasets.items()})


def measure_chosen(task: Task, chosen: dict[str, tuple[int, list[dict]]]) -> dict[str, LengthStats]:
    """measure_datasets from each dataset's (record count, chosen_records): the caller can let the full datasets
    go before the tokenizer loads (the build does: both at once would double its peak memory)."""
    tokenizer, template = _template(task)
    cutoff = task.train["cutoff_len"]
    return {
        name: _stats(name, task.model["template"], cutoff, total, token_lengths(records, tokenizer, template))
        for name, (total, records) in chosen.items()
        if total
    }


_TEMPLATES: dict[tuple, tuple] = {}


def _template(task: Task):
    # Loading LLaMA-Factory and a 151k-token tokenizer takes seconds; one process builds many datasets.
    key = (task.model["base"], task.model["template"], task.model["enable_thinking"])
    if key not in _TEMPLATES:
        _TEMPLATES[key] = load_template(task)
    return _TEMPLATES[key]


def token_lengths(records: list[dict], tokenizer, template) -> list[int]:
    """Prompt + response tokens of each record through `template`, tokenised in one batch."""
    recorder = _RecordingTokenizer(tokenizer)
    encoded = [template.encode_multiturn(recorder, to_messages(r), r.get("system")) for r in records]
    counts = [len(ids) for ids in tokenizer(recorder.texts, add_special_tokens=False)["input_ids"]] if recorder.texts else []
    return [
        sum(counts[i] if isinstance(i, _Pending) else 1 for prompt, response in pairs for i in prompt + response)
        for pairs in encoded
    ]


class _Pending(int):
    """Stands for every token of one recorded string; its value is the string's index."""


class _RecordingTokenizer:
    """Passes everything to the real tokenizer except `encode`, which records the text for one batched call."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer
        self._index: dict[str, int] = {}
        self.texts: list[str] = []

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        if add_special_tokens:
            raise DomaintuneError("length measurement expects LLaMA-Factory to encode without special tokens")
        if text not in self._index:
            self._index[text] = len(self.texts)
            self.texts.append(text)
        return [_Pending(self._index[text])]

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)


def chosen_records(records: Sequence[dict]) -> list[dict]:
    """All records, or a seeded uniform sample plus the longest by characters (see the module docstring)."""
    if len(records) <= SAMPLE_LIMIT + LONGEST_BY_CHARS:
        return list(records)
    sample = random.Random(SAMPLE_SEED).sample(range(len(records)), SAMPLE_LIMIT)
    by_chars = sorted(range(len(records)), key=lambda i: _chars(records[i]), reverse=True)[:LONGEST_BY_CHARS]
    # The uniform sample comes first: _stats takes its percentiles from the first SAMPLE_LIMIT lengths.
    return [records[i] for i in sample] + [records[i] for i in by_chars]


def _chars(record: dict) -> int:
    texts = [v for v in record.values() if isinstance(v, str)]
    texts += [text for turn in record.get("history", []) for text in turn]
    return sum(map(len, texts))


def _stats(name: str, template: str, cutoff: int, total: int, lengths: list[int]) -> LengthStats:
    uniform = sorted(lengths[:SAMPLE_LIMIT] if len(lengths) < total else lengths)
    longest = max(lengths)
    quantiles = [uniform[min(len(uniform) - 1, len(uniform) * q // QUANTILE_STEPS)] for q in range(QUANTILE_STEPS)]
    over = sum(n > cutoff for n in uniform) * total / len(uniform)
    return LengthStats(
        dataset=name,
        template=template,
        cutoff_len=cutoff,
        records=total,
        measured=len(lengths),
        mean=round(sum(uniform) / len(uniform), 1),
        p50=quantiles[50],
        p90=quantiles[90],
        p99=quantiles[99],
        max=longest,
        over_cutoff=round(over),
        quantiles=[*quantiles, longest],
    )
