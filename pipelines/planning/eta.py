"""How long training takes: expected before it starts (`recipe`, `train`), corrected after its first steps (`train`).

Expected: the tokens of an epoch, from the training set's length statistics (records x mean tokens per sample, the
mean truncated at cutoff_len), times the epochs, over the expected tokens/s. That rate is a row of
recipes/measured.yaml measured on this tier's card, with this task, model and plan, when there is one. Otherwise it
is the nearest row scaled to this run, an estimate, and the line says so and by which factors:

    tokens/s = row's tokens/s x model     (row model's training FLOPs per token / this model's)
                              x card      (this tier's peak TFLOPS x devices / the row card's; recipes/gpus.yaml)
                              x batching  (the planner's relative speed of this plan's micro-batches / the row's,
                                           both on this task's lengths: pipelines/planning/batches.py)

Training FLOPs per token: 2 per weight of the decoder layers and the output projection in the forward pass, times 3
for full fine-tuning (forward, activation and weight gradients) or 2 for LoRA (no gradients of the frozen weights);
attention's own quadratic term is left out. Nearest is the row whose factors are closest to 1 (the sum of their
|log|), a row of another task counting one more (its data is not this data).

Corrected: `corrected_eta` takes two entries of LLaMA-Factory's trainer_log.jsonl (steps done, total steps, time
since training began) and gives the time left at the rate between them, so the first step's start-up is left out.
"""

import math
import re
from dataclasses import dataclass, replace

from pipelines.core.gpus import GpuTier
from pipelines.data.lengths import LengthStats
from pipelines.planning.architectures import Architecture, resolve_architecture
from pipelines.planning.batches import Batching
from pipelines.planning.measured import MeasuredRun
from pipelines.planning.plan import Plan

PASSES = {"full": 3, "lora": 2, "qlora": 2}
OTHER_TASK_PENALTY = 1.0  # in |log| units: as far as a factor of e


def training_flops_per_token(arch: Architecture, method: str) -> float:
    forward = 2 * (arch.non_embedding_params + arch.vocab_size * arch.hidden_size)
    return PASSES[method] * forward


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class Throughput:
    tokens_per_s: float
    basis: str
    """The row it comes from and, for an estimate, each factor it was scaled by."""
    estimated: bool


@dataclass(frozen=True)
class TrainingTime:
    tier: str
    epochs: float
    tokens_per_epoch: float | None
    """None when the training set has no length statistics yet."""
    tokens_per_step: float
    """Sample tokens in one optimizer step (all devices): what a step's time is divided into to give tokens/s."""
    throughput: Throughput | None
    advice: str | None = None
    max_steps: int | None = None

    @property
    def tokens(self) -> float | None:
        if self.tokens_per_epoch is None:
            return None
        # The Trainer's max_steps replaces the epochs, fewer or more, as it does num_train_epochs.
        return self.max_steps * self.tokens_per_step if self.max_steps else self.tokens_per_epoch * self.epochs

    @property
    def seconds(self) -> float | None:
        if self.tokens is None or self.throughput is None:
            return None
        return self.tokens / self.throughput.tokens_per_s

    def limited(self, max_steps: int | None) -> "TrainingTime":
        """The same run trained for `max_steps` optimizer steps instead of its epochs (LLaMA-Factory's max_steps, when set)."""
        return replace(self, max_steps=max_steps) if isinstance(max_steps, int) and max_steps > 0 else self

    def line(self) -> str:
        if self.tokens_per_epoch is None:
            return f"Expected training time on {self.tier}: unknown until `domaintune data` measures the training set's token lengths."
        if self.max_steps:
            work = f"max_steps {self.max_steps} x {self.tokens_per_step:,.0f} tokens per step = {self.tokens:,.0f} tokens"
        else:
            work = f"{self.tokens_per_epoch:,.0f} tokens per epoch x {self.epochs:g} epochs = {self.tokens:,.0f} tokens"
        if self.throughput is None:
            return f"Expected training time on {self.tier}: unknown ({work}; no measured run to scale from)."
        kind = "estimate" if self.throughput.estimated else "measured"
        return (
            f"Expected training time on {self.tier}: about {format_duration(self.seconds)} ({work} at "
            f"~{self.throughput.tokens_per_s:,.0f} tokens/s; {kind}: {self.throughput.basis})."
        )

    def lines(self) -> list[str]:
        return [self.line(), *([self.advice] if self.advice else [])]


def expected_time(
    task_name: str,
    stats: LengthStats | None,
    epochs: float,
    plan: Plan,
    arch: Architecture,
    tier: GpuTier,
    tiers: dict[str, GpuTier],
    rows: list[MeasuredRun],
    advice: str | None = None,
) -> TrainingTime:
    per_step = plan.batching.real_tokens * plan.gradient_accumulation_steps * tier.devices
    tokens = stats.records * plan.batching.lengths.mean if stats else None
    return TrainingTime(tier.name, epochs, tokens, per_step, throughput(task_name, plan, arch, tier, tiers, rows), advice)


def throughput(task_name: str, plan: Plan, arch: Architecture, tier: GpuTier, tiers: dict[str, GpuTier], rows: list[MeasuredRun]) -> Throughput | None:
    """The measured rate of a row that matches this run, else the nearest row's scaled to it; None without either."""
    candidates = [(row, _factors(row, plan, arch, tier, tiers)) for row in rows]
    candidates = [(row, factors) for row, factors in candidates if factors is not None]
    if not candidates:
        return None
    row, factors = min(candidates, key=lambda pair: _distance(pair[0], pair[1], task_name))
    origin = f"{row.task} '{row.run}' on {row.machine}, {row.date}, at {row.tokens_per_s:,.0f} tokens/s"
    if row.task == task_name and _same_settings(row, plan, arch) and all(value == 1 for value, _ in factors.values()):
        return Throughput(row.tokens_per_s, origin, estimated=False)
    scale = math.prod(value for value, _ in factors.values())
    basis = "scaled from " + origin + ", " + ", ".join(f"x{value:.3g} {name} ({why})" for name, (value, why) in factors.items())
    return Throughput(row.tokens_per_s * scale, basis, estimated=True)


def _factors(row: MeasuredRun, plan: Plan, arch: Architecture, tier: GpuTier, tiers: dict[str, GpuTier]) -> dict | None:
    card = row_tier(row, tiers)
    if card is None or not card.tflops or not tier.tflops:
        return None
    row_arch = resolve_architecture(row.model)
    row_flops, flops = training_flops_per_token(row_arch, row.method), training_flops_per_token(arch, plan.estimate.method)
    row_batching = Batching(plan.batching.lengths, row.batch, row.packing, row.gradient_checkpointing)
    this_card, row_card = tier.tflops * tier.devices, card.tflops * card.devices
    ours = _batching(plan.per_device_train_batch_size, plan.gradient_accumulation_steps, plan.packing, plan.gradient_checkpointing)
    theirs = _batching(row.batch, row.accumulation, row.packing, row.gradient_checkpointing)
    return {
        "model": (row_flops / flops, f"{row_flops / 1e9:.3g} / {flops / 1e9:.3g} GFLOP per token"),
        "card": (this_card / row_card, f"{this_card:g} / {row_card:g} TFLOPS"),
        "batching": (plan.batching.speed / row_batching.speed, f"{ours} vs {theirs}"),
    }


def _batching(batch: int, accumulation: int, packing: bool, checkpointing: bool) -> str:
    return f"{batch} x {accumulation}" + (" packed" if packing else "") + (" with checkpointing" if checkpointing else "")


def _distance(row: MeasuredRun, factors: dict, task_name: str) -> float:
    return sum(abs(math.log(value)) for value, _ in factors.values()) + (0 if row.task == task_name else OTHER_TASK_PENALTY)


def _same_settings(row: MeasuredRun, plan: Plan, arch: Architecture) -> bool:
    return (
        row.model.lower() == arch.name.lower()
        and (row.method, row.bits, row.lora_rank) == (plan.estimate.method, plan.estimate.bits, plan.lora_rank)
        and (row.batch, row.accumulation) == (plan.per_device_train_batch_size, plan.gradient_accumulation_steps)
        and (row.gradient_checkpointing, row.packing) == (plan.gradient_checkpointing, plan.packing)
    )


def row_tier(row: MeasuredRun, tiers: dict[str, GpuTier]) -> GpuTier | None:
    """The tier of the machine a row was measured on: its card's `match`, and its number of GPUs ("(1 GPU)")."""
    count = re.search(r"\((\d+) GPUs?\)", row.machine)
    devices = int(count.group(1)) if count else 1
    return next((t for t in tiers.values() if t.matches(row.machine) and t.devices == devices), None)


# ------------------------------------------------------------------------------------------- after the first steps

@dataclass(frozen=True)
class LogPoint:
    """One entry of LLaMA-Factory's trainer_log.jsonl: steps done, of how many, after how long."""

    steps: int
    total_steps: int
    elapsed_s: float

    @classmethod
    def from_entry(cls, entry: dict) -> "LogPoint | None":
        try:
            return cls(int(entry["current_steps"]), int(entry["total_steps"]), parse_elapsed(entry["elapsed_time"]))
        except (KeyError, TypeError, ValueError):
            return None


def parse_elapsed(text: str) -> float:
    """LLaMA-Factory writes str(timedelta): "0:01:05", "1 day, 2:03:04"."""
    match = re.fullmatch(r"(?:(\d+) days?, )?(\d+):(\d\d):(\d\d)", text.strip())
    if not match:
        raise ValueError(f"not an elapsed time: {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


@dataclass(frozen=True)
class Correction:
    steps_done: int
    total_steps: int
    seconds_per_step: float
    seconds_left: float
    tokens_per_s: float | None

    def line(self, expected: TrainingTime | None = None) -> str:
        rate = f"{self.tokens_per_s:,.0f} tokens/s" if self.tokens_per_s else f"{self.seconds_per_step:.2f} s per step"
        before = ""
        if expected is not None and expected.throughput is not None and self.tokens_per_s:
            before = f" (expected ~{expected.throughput.tokens_per_s:,.0f})"
        return (
            f"Measured after {self.steps_done} of {self.total_steps} steps: {rate}{before}; "
            f"about {format_duration(self.seconds_left)} left."
        )


def corrected_eta(first: LogPoint, latest: LogPoint, tokens_per_step: float | None = None) -> Correction:
    """Time left at the rate between two log entries; from the start of training when they do not differ."""
    steps, seconds = latest.steps - first.steps, latest.elapsed_s - first.elapsed_s
    if steps <= 0 or seconds <= 0:
        steps, seconds = latest.steps, latest.elapsed_s
    per_step = seconds / steps if steps > 0 else 0.0
    tokens_per_s = tokens_per_step / per_step if tokens_per_step and per_step > 0 else None
    return Correction(latest.steps, latest.total_steps, per_step, (latest.total_steps - latest.steps) * per_step, tokens_per_s)
