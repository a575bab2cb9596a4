"""Token lengths of a built dataset, as LLaMA-Factory will see them: `<dataset>.stats.json` beside the data.

Each record goes through LLaMA-Factory's own converter and supervised processor (pipelines/data/encoding.py,
the same path `domaintune preview` shows), so system prompt, tools, role markers, function calls and the
empty think block of Qwen3's no-think template are counted exactly as training counts them: the lengths are
the input_ids `get_dataset` gives, before truncation. The planner reads these statistics instead of assuming
every sample is `cutoff_len` long (pipelines/planning/plan.py).

Speed: the template asks the tokenizer for one string at a time. A stand-in tokenizer records those
strings and answers with placeholders; all strings are then tokenised in one batched call of the fast
(Rust) tokenizer, and each placeholder counts as its string's length. Datasets above SAMPLE_LIMIT
records (the 10^6-event behavior logs give 850,000) are measured on a seeded uniform sample plus the
LONGEST_BY_CHARS records with the most characters, so the maximum (what padding and memory depend on)
is the real one in practice, while the percentiles come from the uniform sample. The stats file says
which (`measured_on`).
"""

import heapq
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.core.atomic import write_json
from pipelines.core.errors import DomaintuneError
from pipelines.core.progress import progress
from pipelines.core.tasks import Task
from pipelines.data.dataset_info import entry_for
from pipelines.data.encoding import Encoder, load_encoder

STATS_SUFFIX = ".stats.json"
SAMPLE_LIMIT = 8192
LONGEST_BY_CHARS = 256
SAMPLE_SEED = 0
EVERY_RECORD = "every record"
SAMPLED = f"a seeded uniform sample of {SAMPLE_LIMIT:,} records, plus the {LONGEST_BY_CHARS} longest by characters for max"
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
    measured_on: str = EVERY_RECORD
    """"every record", or which sample the numbers come from."""

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
    """Length statistics of each named list of built records, with one tokenizer and template for all."""
    chosen = {name: (len(records), chosen_records(records), entry_for(f"{name}.json", records)) for name, records in datasets.items()}
    return measure_chosen(task, chosen)


def measure_chosen(task: Task, chosen: dict[str, tuple[int, list[dict], dict]]) -> dict[str, LengthStats]:
    """measure_datasets from each dataset's (record count, chosen_records, dataset_info entry): the caller can let
    the full datasets go before the tokenizer loads (the build does: both at once would double its peak memory)."""
    encoder = load_encoder(task)
    cutoff = task.train["cutoff_len"]
    return {
        name: _stats(name, task.model["template"], cutoff, total, token_lengths(records, encoder, entry, desc=name))
        for name, (total, records, entry) in chosen.items()
        if total
    }


def token_lengths(records: list[dict], encoder: Encoder, entry: dict, desc: str = "tokenize") -> list[int]:
    """Training input_ids per record (LLaMA-Factory's encoding, see the module docstring), tokenised in one batch."""
    recorder = _RecordingTokenizer(encoder.tokenizer)
    encoded = [encoder.input_ids(record, entry, recorder) for record in progress(records, desc=desc)]
    counts = [len(ids) for ids in encoder.tokenizer(recorder.texts, add_special_tokens=False)["input_ids"]] if recorder.texts else []
    return [sum(counts[i] if isinstance(i, _Pending) else 1 for i in ids) for ids in encoded]


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
        return list(progress(records, desc="every record"))
    sample = random.Random(SAMPLE_SEED).sample(range(len(records)), SAMPLE_LIMIT)
    by_chars = heapq.nlargest(LONGEST_BY_CHARS, progress(range(len(records)), desc="longest"), key=lambda i: _chars(records[i]))
    # The uniform sample comes first: _stats takes its percentiles from the first SAMPLE_LIMIT lengths.
    return [records[i] for i in sample] + [records[i] for i in by_chars]


def _chars(value) -> int:
    """Characters of every string in a record, however nested (ShareGPT turns, Alpaca history)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(map(_chars, value.values()))
    return sum(map(_chars, value)) if isinstance(value, list) else 0


def _stats(name: str, template: str, cutoff: int, total: int, lengths: list[int]) -> LengthStats:
    every = len(lengths) == total
    uniform = sorted(lengths if every else lengths[:SAMPLE_LIMIT])
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
        measured_on=EVERY_RECORD if every else SAMPLED,
    )
