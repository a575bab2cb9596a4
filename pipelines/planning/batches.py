"""How a dataset's token lengths fill micro-batches, padded or packed, and what a micro-batch yields per second.

LLaMA-Factory's collator pads every row of a micro-batch to the longest sample in it, rounded up to a
multiple of 8 (`pad_to_multiple_of=8` when training). With packing, its `greedy_knapsack` fills rows of
cutoff_len tokens, largest sample that still fits first, and every packed row is cutoff_len + 1 tokens; the
planner may pack to a cutoff_len shorter than the task's (`pack_len`, never below the longest sample) so that a
row holds no more samples than the effective batch allows. Memory is planned for the worst micro-batch (one
holding the longest sample); speed for the average one.
"""

import bisect
import functools
from dataclasses import dataclass

from pipelines.data.lengths import LengthStats

PAD_MULTIPLE = 8
# Copies of each percentile in the simulated knapsack: 2,000 samples are enough for a stable fill ratio.
KNAPSACK_COPIES = 20
# A micro-batch costs a fixed time whatever its size (the kernel launches of every layer and adapter, the
# collator, the optimizer bookkeeping), worth about this many tokens of compute. Fitted to the H200 runs
# in recipes/measured.yaml: telecom 2 x 8 (rows of ~120 tokens) gave 879 tokens/s and 16 x 1 gave 4,915.
OVERHEAD_TOKENS = 4096
# Gradient checkpointing recomputes each layer's forward during backward: in theory 4/3 of the time (one
# forward more per forward and backward), measured 1.4x (telecom) to 1.9x (behavior) in recipes/measured.yaml.
CHECKPOINTING_COST = 1.5


def padded(tokens: float) -> int:
    return -(-int(tokens) // PAD_MULTIPLE) * PAD_MULTIPLE


@dataclass(frozen=True)
class Lengths:
    """Tokens per sample after truncation to cutoff_len, as percentiles 0..100 (the last is the longest)."""

    cutoff_len: int
    quantiles: tuple[int, ...]
    mean: float
    source: str
    """Where the numbers come from, for the recipe header and the recipes table."""
    measured: bool = True
    keep_whole: int = 0
    """The longest sample of the validation set: LLaMA-Factory cuts it to the same cutoff_len, so a packed row
    shorter than it would truncate what the eval loss is computed on."""

    @classmethod
    def from_stats(cls, stats: LengthStats, cutoff_len: int, val: LengthStats | None = None) -> "Lengths":
        quantiles = tuple(min(n, cutoff_len) for n in stats.quantiles)
        source = f"{stats.dataset} p50 {stats.p50}, p99 {stats.p99}, max {stats.max} tokens"
        if stats.over_cutoff:
            source += f" ({stats.over_cutoff} over cutoff_len {cutoff_len}, truncated)"
        return cls(cutoff_len, quantiles, min(stats.mean, cutoff_len), source, keep_whole=min(val.max, cutoff_len) if val else 0)

    @classmethod
    def assumed(cls, cutoff_len: int, why: str) -> "Lengths":
        """No measurement: every sample is taken as cutoff_len long, the worst case."""
        return cls(cutoff_len, (cutoff_len,) * 101, cutoff_len, f"cutoff_len {cutoff_len} ({why})", measured=False)

    @property
    def longest_row(self) -> int:
        """Tokens per row of the worst micro-batch: the longest sample, padded."""
        return padded(self.quantiles[-1])

    @property
    def longest(self) -> int:
        return self.quantiles[-1]

    def packed_row(self, pack_len: int | None = None) -> int:
        """Tokens per packed row: LLaMA-Factory pads it to cutoff_len + 1 (pack_len + 1 when packing shorter)."""
        return padded((pack_len or self.cutoff_len) + 1)

    def expected_row(self, batch: int) -> float:
        """Average padded row of a micro-batch of `batch` random samples: the expected longest of them, padded."""
        steps = len(self.quantiles) - 1
        # P(longest of `batch` <= percentile k) = (k / steps) ** batch; percentile k stands for the bin below it.
        return sum(
            padded(self.quantiles[k]) * ((k / steps) ** batch - ((k - 1) / steps) ** batch) for k in range(1, steps + 1)
        )

    def samples_per_packed_row(self, pack_len: int | None = None) -> float:
        """Samples LLaMA-Factory's greedy knapsack puts in one row of cutoff_len (or pack_len) tokens, simulated on
        the percentiles."""
        return _knapsack_fill(self.quantiles, pack_len or self.cutoff_len)

    def pack_len_for(self, samples: float) -> int:
        """The packed row length whose rows hold nearest `samples` samples: from the longest sample of training or
        validation (nothing more is truncated) to cutoff_len, in multiples of 8 like the cutoff_len LLaMA-Factory's
        examples use. Not one less (which would spare the collator's padding of the pack_len + 1 row): LLaMA-Factory
        0.9.5's neat packing then fails in the first step (position ids one short of the row)."""
        shortest = padded(max(self.longest, self.keep_whole))
        lengths = sorted({*range(shortest, self.cutoff_len, PAD_MULTIPLE), self.cutoff_len})
        # Rows hold more samples as they grow: the first length that holds `samples` or more, or the one before it.
        index = bisect.bisect_left(lengths, samples, key=self.samples_per_packed_row)
        candidates = lengths[max(0, index - 1) : index + 1]
        return min(candidates, key=lambda n: abs(self.samples_per_packed_row(n) - samples))


@functools.cache
def _knapsack_fill(quantiles: tuple[int, ...], cutoff_len: int) -> float:
    # The planner asks for every candidate batch; the answer depends on the distribution alone.
    pool = sorted(n for n in quantiles[1:] for _ in range(KNAPSACK_COPIES))
    total, rows = len(pool), 0
    while pool:
        rows += 1
        room = cutoff_len
        while (index := bisect.bisect_right(pool, room) - 1) >= 0:
            room -= pool.pop(index)
    return total / rows


@dataclass(frozen=True)
class Batching:
    """One way to form micro-batches: `batch` rows, packed or padded, with or without checkpointing."""

    lengths: Lengths
    batch: int
    packing: bool
    checkpointing: bool
    pack_len: int | None = None
    """With packing: the cutoff_len rows are packed to, when shorter than the task's."""

    @property
    def row_tokens(self) -> int:
        """Tokens per row that memory is planned for."""
        return self.lengths.packed_row(self.pack_len) if self.packing else self.lengths.longest_row

    @property
    def samples_per_row(self) -> float:
        return self.lengths.samples_per_packed_row(self.pack_len) if self.packing else 1.0

    @property
    def real_tokens(self) -> float:
        """Expected sample tokens in one micro-batch (what tokens/s counts)."""
        return self.batch * self.samples_per_row * self.lengths.mean

    @property
    def computed_tokens(self) -> float:
        """Expected tokens in one micro-batch, padding included (what the GPU computes)."""
        row = self.row_tokens if self.packing else self.lengths.expected_row(self.batch)
        return self.batch * row

    @property
    def speed(self) -> float:
        """Relative tokens/s: real tokens over the micro-batch's time in token-equivalents."""
        cost = CHECKPOINTING_COST if self.checkpointing else 1.0
        return self.real_tokens / ((OVERHEAD_TOKENS + self.computed_tokens) * cost)
