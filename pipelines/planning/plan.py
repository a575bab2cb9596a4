"""Choose how to train a model on a GPU tier: the best method that fits, then the fastest settings for it.

Methods are tried best quality first, starting from the task's preferred one:
full (mixed precision, then pure_bf16) -> LoRA 16-bit -> QLoRA 8-bit -> QLoRA 4-bit.
Within a method every way to form micro-batches is estimated from the training set's measured token
lengths (pipelines/data/lengths.py, pipelines/planning/batches.py): per-device batches that are powers
of two dividing the effective batch, padded rows or packed ones (packing is considered when at least
two samples fit in a cutoff_len row), gradient checkpointing off or on. Packing keeps the batch:
LLaMA-Factory counts packed rows, not samples, so the rows per step and the row length (cutoff_len,
shortened when a full row would hold too many samples, never below the longest sample) are chosen to
train within BATCH_TOLERANCE of the effective batch's samples per optimizer step; where no row length
can, the data is not packed. Of the batchings that fit, the one with the highest expected tokens/s
wins. A plan fits when the estimated peak leaves 10% of the device memory free. Without length
statistics every sample is taken as cutoff_len tokens, as before measuring.
When even the smallest method does not fit, last resorts follow, each named in the recipe header and
on the terminal: on one CUDA device paged 8-bit AdamW (bitsandbytes; the adapter's Adam states in 8
bits), then (on any tier) the task's LoRA rank halved, and halved again, down to train.min_lora_rank
(default 8, LLaMA-Factory's default rank; set it to the task's rank to refuse instead). lora_alpha is
scaled with the rank, so alpha/rank and with it the size of the adapter's update stay the task's.
Multi-GPU tiers use DeepSpeed: ZeRO-2 for LoRA/QLoRA (only the small adapter states need splitting),
ZeRO-3 for full fine-tuning, with CPU offload of optimizer states and weights when ZeRO-3 alone does
not fit. Unpacked, the effective batch (per-device batch x accumulation x devices) equals the task's, rounded
up to a multiple of the devices where it does not divide (and said so).
"""

import importlib.util
import math
from dataclasses import dataclass, field, replace

from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import GpuTier, load_tiers
from pipelines.data.lengths import LengthStats
from pipelines.planning.architectures import Architecture
from pipelines.planning.batches import Batching, Lengths
from pipelines.planning.estimate import (
    DEFAULT_OPTIM,
    METHOD_LABELS,
    OPTIM_LABELS,
    PAGED_ADAMW_8BIT,
    Estimate,
    estimate_memory,
)

# Keep 10% of device memory free: estimation error, driver reservations, and spikes at evaluation
# and checkpoint saving.
HEADROOM = 0.10
# Best quality first. full 32 is mixed precision with fp32 master weights, full 16 is pure_bf16.
METHOD_LADDER = (("full", 32), ("full", 16), ("lora", 16), ("qlora", 8), ("qlora", 4))
PREFERRED_METHODS = ("full", "lora")
# The lowest LoRA rank the planner falls back to unless the task says otherwise: LLaMA-Factory's default.
MIN_LORA_RANK = 8
# With CPU offload DeepSpeed keeps fp32 master weights, Adam m and v and fp32 gradients (16 bytes) plus
# the 16-bit weights (2 bytes) of every parameter in pinned host memory, once per machine.
OFFLOAD_HOST_BYTES_PER_PARAM = 18
# Packing pays off only when a cutoff_len row holds at least this many samples.
PACKING_MIN_SAMPLES = 2
# Packed, the samples per optimizer step may differ from the effective batch by this share, no more.
BATCH_TOLERANCE = 0.25
FLASH_ATTN_HINT = "pip install flash-attn --no-build-isolation (CUDA, Ampere or newer, matching torch)"

# DeepSpeed settings shared by LLaMA-Factory's examples/deepspeed/ds_z*_config.json; "auto" values are
# filled in by the HF Trainer from the training arguments.
_DEEPSPEED_COMMON = {
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "zero_allow_untested_optimizer": True,
    "fp16": {
        "enabled": "auto",
        "loss_scale": 0,
        "loss_scale_window": 1000,
        "initial_scale_power": 16,
        "hysteresis": 2,
        "min_loss_scale": 1,
    },
    "bf16": {"enabled": "auto"},
}
_ZERO_OPTIMIZATION = {
    2: {
        "stage": 2,
        "allgather_partitions": True,
        "allgather_bucket_size": 5e8,
        "overlap_comm": False,
        "reduce_scatter": True,
        "reduce_bucket_size": 5e8,
        "contiguous_gradients": True,
        "round_robin_gradients": True,
    },
    3: {
        "stage": 3,
        "overlap_comm": False,
        "contiguous_gradients": True,
        "sub_group_size": 1e9,
        "reduce_bucket_size": "auto",
        "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto",
        "stage3_max_live_parameters": 1e9,
        "stage3_max_reuse_distance": 1e9,
        "stage3_gather_16bit_weights_on_model_save": True,
    },
}
_CPU_OFFLOAD = {"device": "cpu", "pin_memory": True}


class PlanError(DomaintuneError):
    """No method fits the tier; the message names a tier that would fit, when there is one."""


@dataclass(frozen=True)
class Plan:
    tier: str
    method: str
    """"full", "lora" or "qlora"."""
    quantization_bit: int | None
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    gradient_checkpointing: bool
    precision: str
    """"bf16", "fp16" (mixed precision), "pure_bf16" or "fp32"."""
    attention: str
    """LLaMA-Factory's flash_attn value: "fa2" or "sdpa"."""
    liger: bool
    packing: bool
    deepspeed: dict | None
    """A ds_config in LLaMA-Factory's examples/deepspeed form; the caller writes it to a JSON file."""
    optim: str
    """DEFAULT_OPTIM (LLaMA-Factory's AdamW) or PAGED_ADAMW_8BIT."""
    lora_rank: int | None
    """The rank trained (None for full fine-tuning): the task's, unless a lower one was needed to fit."""
    cutoff_len: int
    """LLaMA-Factory's cutoff_len: the task's, or the shorter packed row length that keeps the batch."""
    samples_per_step: float
    """Samples per optimizer step expected: the effective batch, or packed rows x samples per row."""
    estimate: Estimate
    batching: Batching
    reasons: list[str] = field(default_factory=list)
    departures: list[str] = field(default_factory=list)
    """Where the plan leaves the task's own settings (also among `reasons`): for the user to see, not only the header."""

    def llamafactory_args(self) -> dict:
        """LLaMA-Factory 0.9.5 training arguments for these choices (not `deepspeed`, which is a file path)."""
        args = {"finetuning_type": "full" if self.method == "full" else "lora"}
        if self.quantization_bit:
            args.update(quantization_bit=self.quantization_bit, quantization_method="bnb")
        args.update(
            per_device_train_batch_size=self.per_device_train_batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            disable_gradient_checkpointing=not self.gradient_checkpointing,
            bf16=self.precision == "bf16",
            fp16=self.precision == "fp16",
            pure_bf16=self.precision == "pure_bf16",
            flash_attn=self.attention,
            enable_liger_kernel=self.liger,
            packing=self.packing,
            neat_packing=self.packing,
        )
        if self.optim != DEFAULT_OPTIM:
            args["optim"] = self.optim
        return args


@dataclass(frozen=True)
class _Option:
    method: str
    bits: int
    zero_stage: int | None = None
    offload: bool = False
    optim: str = DEFAULT_OPTIM
    lora_rank: int | None = None
    """None: the task's rank."""


@dataclass(frozen=True)
class PlanRequest:
    """What the planner needs of a task, resolved once: the model's shape and the task's training settings."""

    arch: Architecture
    method: str = "lora"
    lora_rank: int = 8
    lora_target: str = "all"
    cutoff_len: int = 2048
    effective_batch_size: int = 16
    lengths: Lengths | None = None
    """Measured token lengths of the training set; None plans every sample at cutoff_len."""
    min_lora_rank: int = MIN_LORA_RANK
    """The planner may lower lora_rank, by halves, to this rank when nothing fits at the task's."""

    @classmethod
    def from_task(
        cls, train: dict, arch: Architecture, stats: LengthStats | None = None, missing: str = "", val: LengthStats | None = None
    ) -> "PlanRequest":
        """From a task's `train` section (the same keys, so nothing is dropped on the way, lora_target included)
        and the training (and validation) set's length statistics; `missing` says why there are none."""
        cutoff = train["cutoff_len"]
        return cls(
            arch=arch,
            method=train["method"],
            lora_rank=train.get("lora_rank", 8),
            lora_target=train.get("lora_target", "all"),
            cutoff_len=cutoff,
            effective_batch_size=train["effective_batch_size"],
            min_lora_rank=train.get("min_lora_rank", MIN_LORA_RANK),
            lengths=Lengths.from_stats(stats, cutoff, val) if stats else Lengths.assumed(cutoff, missing or "not measured"),
        )

    @property
    def sample_lengths(self) -> Lengths:
        return self.lengths or Lengths.assumed(self.cutoff_len, "not measured")


def plan_training(task: PlanRequest, tier: GpuTier, tiers: dict[str, GpuTier] | None = None) -> Plan:
    """The best plan for the request on `tier`; raises PlanError naming the smallest tier in `tiers` that fits."""
    if task.method not in PREFERRED_METHODS:
        raise DomaintuneError(f"preferred method must be one of {', '.join(PREFERRED_METHODS)}, not {task.method!r}")
    if task.effective_batch_size < 1:
        raise DomaintuneError(f"effective batch {task.effective_batch_size} must be a positive number of samples")
    wanted = task.effective_batch_size
    if wanted % tier.devices:
        # Every device takes the same share of a step, so the batch grows to the next multiple rather than failing.
        task = replace(task, effective_batch_size=-(-wanted // tier.devices) * tier.devices)
    plan, rejected = _search(task, tier)
    if plan is None:
        raise PlanError(_nothing_fits_message(task, tier, rejected, load_tiers() if tiers is None else tiers))
    if task.effective_batch_size != wanted:
        rounded = (
            f"Effective batch {task.effective_batch_size}, not the task's {wanted}: {tier.name}'s {tier.devices} GPUs "
            f"each take an equal share of a step, so it is rounded up to the next multiple."
        )
        plan.reasons.insert(0, rounded)
        plan.departures.insert(0, rounded)
    return plan


def deepspeed_config(stage: int, offload: bool) -> dict:
    zero = dict(_ZERO_OPTIMIZATION[stage])
    if offload:
        zero["offload_optimizer"] = dict(_CPU_OFFLOAD)
        if stage == 3:
            zero["offload_param"] = dict(_CPU_OFFLOAD)
    return {**_DEEPSPEED_COMMON, "zero_optimization": zero}


def usable_gb(tier: GpuTier) -> float:
    return tier.memory_gb * (1 - HEADROOM)


def _search(task: PlanRequest, tier: GpuTier) -> tuple[Plan | None, list[Estimate]]:
    """The fastest fitting batching of the first method that fits, and the smallest estimate of each method before."""
    rejected = []
    attention = _attention(tier)
    batchings = _batchings(task, tier, attention)
    for option in _options(task, tier):
        estimates = [(batching, _estimate(task, tier, option, batching)) for batching in batchings]
        fitting = [(b, est) for b, est in estimates if est.peak_gb <= usable_gb(tier)]
        if fitting:
            ranked = sorted(fitting, key=lambda pair: _preference(pair[0]), reverse=True)
            return _make_plan(task, tier, option, attention, ranked, rejected), rejected
        rejected.append(min((est for _, est in estimates), key=lambda est: est.peak_gb))
    return None, rejected


def _preference(batching: Batching) -> tuple:
    # Fastest first; at equal speed no checkpointing and the larger batch.
    return (round(batching.speed, 9), not batching.checkpointing, batching.batch)


def _options(task: PlanRequest, tier: GpuTier) -> list[_Option]:
    ladder = METHOD_LADDER[[method for method, _ in METHOD_LADDER].index(task.method) :]
    options = []
    for method, bits in ladder:
        if method == "qlora" and tier.backend != "cuda":
            continue  # bitsandbytes quantization needs CUDA
        if method == "full" and bits == 16 and (not tier.bf16 or tier.devices > 1):
            continue  # pure_bf16 needs bf16 hardware, and LLaMA-Factory refuses it under ZeRO-3
        if method == "lora" and not (tier.bf16 or tier.fp16):
            bits = 32  # no 16-bit compute: the frozen base stays fp32
        if tier.devices == 1:
            options.append(_Option(method, bits))
        elif method == "full":
            options += [_Option(method, bits, 3), _Option(method, bits, 3, offload=True)]
        else:
            options.append(_Option(method, bits, 2))
    return options + _last_resorts(task, tier, options[-1])


def _last_resorts(task: PlanRequest, tier: GpuTier, smallest: _Option) -> list[_Option]:
    """The smallest method with paged 8-bit AdamW (bitsandbytes: CUDA, no DeepSpeed), then at lower LoRA ranks."""
    optim = PAGED_ADAMW_8BIT if tier.backend == "cuda" and not smallest.zero_stage else DEFAULT_OPTIM
    rungs = [replace(smallest, optim=optim)] if optim != DEFAULT_OPTIM else []
    ranks = []
    rank = task.lora_rank // 2
    while rank > task.min_lora_rank:
        ranks.append(rank)
        rank //= 2
    if task.lora_rank > task.min_lora_rank:
        ranks.append(task.min_lora_rank)
    return rungs + [replace(smallest, optim=optim, lora_rank=rank) for rank in ranks]


def _batchings(task: PlanRequest, tier: GpuTier, attention: str) -> list[Batching]:
    lengths = task.sample_lengths
    layouts = [(False, _powers_of_two_dividing(task.effective_batch_size // tier.devices), None)]
    packing = _packing(task, tier, lengths)
    if packing is not None:
        rows, pack_len = packing
        # LLaMA-Factory's neat packing with FlashAttention-2 asserts a micro-batch of one packed row.
        layouts.append((True, [1] if attention == "fa2" else _powers_of_two_dividing(rows), pack_len))
    return [
        Batching(lengths, batch, packed, ckpt, pack_len)
        for packed, batches, pack_len in layouts
        for ckpt in (False, True)
        for batch in batches
    ]


def _packing(task: PlanRequest, tier: GpuTier, lengths: Lengths) -> tuple[int, int | None] | None:
    """(packed rows per device and optimizer step, packed row length or None for cutoff_len) that train nearest the
    effective batch's samples per step, within BATCH_TOLERANCE; None when packing cannot, or would not pay."""
    if not lengths.measured or lengths.samples_per_packed_row() < PACKING_MIN_SAMPLES:
        return None
    per_device = task.effective_batch_size / tier.devices
    rows = 1  # the fewest rows (a power of two, so micro-batches divide them) that full rows would overfill ...
    while rows * lengths.samples_per_packed_row() < per_device:
        rows *= 2
    # ... packed shorter to hold what the batch allows, or half as many full rows, a little under the batch.
    candidates = [(rows, lengths.pack_len_for(per_device / rows))] + ([(rows // 2, lengths.cutoff_len)] if rows > 1 else [])
    fitting = [
        (abs(n * lengths.samples_per_packed_row(pack_len) / per_device - 1), n, pack_len)
        for n, pack_len in candidates
        if lengths.samples_per_packed_row(pack_len) >= PACKING_MIN_SAMPLES
    ]
    off, rows, pack_len = min(fitting, default=(math.inf, 0, 0))
    if off > BATCH_TOLERANCE:
        return None
    return rows, None if pack_len == lengths.cutoff_len else pack_len


def _powers_of_two_dividing(n: int) -> list[int]:
    return sorted((2**k for k in range(n.bit_length()) if n % 2**k == 0), reverse=True)


def _rows_per_step(task: PlanRequest, tier: GpuTier, batching: Batching) -> int:
    if batching.packing:
        return _packing(task, tier, batching.lengths)[0] * tier.devices
    return task.effective_batch_size


def _estimate(task: PlanRequest, tier: GpuTier, option: _Option, batching: Batching) -> Estimate:
    return estimate_memory(
        task.arch,
        option.method,
        option.bits,
        seq_len=batching.row_tokens,
        batch=batching.batch,
        gradient_checkpointing=batching.checkpointing,
        lora_rank=option.lora_rank or task.lora_rank,
        lora_target=task.lora_target,
        devices=tier.devices,
        zero_stage=option.zero_stage,
        offload=option.offload,
        optim=option.optim,
    )


def _precision(option: _Option, tier: GpuTier) -> str:
    if option.method == "full" and option.bits == 16:
        return "pure_bf16"
    if tier.bf16:
        return "bf16"
    return "fp16" if tier.fp16 else "fp32"


def _attention(tier: GpuTier) -> str:
    # Never name a kernel that will not run: LLaMA-Factory silently falls back to SDPA without flash_attn.
    return "fa2" if tier.flash_attn and importlib.util.find_spec("flash_attn") is not None else "sdpa"


def _liger(tier: GpuTier) -> bool:
    return tier.backend == "cuda" and importlib.util.find_spec("liger_kernel") is not None


def _make_plan(
    task: PlanRequest,
    tier: GpuTier,
    option: _Option,
    attention: str,
    ranked: list[tuple[Batching, Estimate]],
    rejected: list[Estimate],
) -> Plan:
    batching, est = ranked[0]
    accumulation = _rows_per_step(task, tier, batching) // (batching.batch * tier.devices)
    precision = _precision(option, tier)
    liger = _liger(tier)
    deepspeed = deepspeed_config(option.zero_stage, option.offload) if option.zero_stage else None
    departures = _departures(task, tier, option, batching, est, rejected)
    reasons = [_rejected_reason(rej, tier, task.lora_rank) for rej in rejected] + departures
    reasons += [
        _lengths_reason(batching, task, tier),
        _choice_reason(batching, est, tier, ranked[1:], task.lora_rank),
        _accumulation_reason(task, tier, batching, accumulation),
        _checkpointing_reason(batching, task, tier, option),
        _precision_reason(precision, tier),
        _attention_reason(attention, tier),
        _liger_reason(liger, tier),
    ]
    if deepspeed:
        reasons.append(_deepspeed_reason(option, tier, task.arch))
    return Plan(
        tier=tier.name,
        method=option.method,
        quantization_bit=option.bits if option.method == "qlora" else None,
        per_device_train_batch_size=batching.batch,
        gradient_accumulation_steps=accumulation,
        gradient_checkpointing=batching.checkpointing,
        precision=precision,
        attention=attention,
        liger=liger,
        packing=batching.packing,
        deepspeed=deepspeed,
        optim=option.optim,
        lora_rank=None if option.method == "full" else option.lora_rank or task.lora_rank,
        cutoff_len=batching.pack_len or task.cutoff_len,
        samples_per_step=accumulation * batching.batch * tier.devices * batching.samples_per_row,
        estimate=est,
        batching=batching,
        reasons=reasons,
        departures=departures,
    )


def _departures(
    task: PlanRequest, tier: GpuTier, option: _Option, batching: Batching, est: Estimate, rejected: list[Estimate]
) -> list[str]:
    """The last-resort rungs taken, each with what it costs and how to refuse it."""
    departures = []
    if option.optim != DEFAULT_OPTIM:
        saved = _estimate(task, tier, replace(option, optim=DEFAULT_OPTIM), batching).optimizer - est.optimizer
        departures.append(
            f"Paged 8-bit AdamW (bitsandbytes), not AdamW: Adam's two moments of the {est.trainable:,} trainable "
            f"parameters take 2 bytes instead of 8 ({saved:.2f} GB less), and being paged they move to host memory "
            "under pressure instead of stopping the run."
        )
    if option.lora_rank:
        at_task_rank = [rej for rej in rejected if rej.lora_rank == task.lora_rank][-1]
        departures.append(
            f"LoRA rank {option.lora_rank}, not the task's {task.lora_rank}: at rank {task.lora_rank} even "
            f"{_label(at_task_rank, task.lora_rank)} needs {at_task_rank.peak_gb:.1f} GB of {usable_gb(tier):.1f} GB "
            "usable. lora_alpha is scaled by the same factor, so alpha/rank (the scale of the adapter's update) stays "
            f"the task's; a lower rank adapts fewer directions. To refuse instead, set train.min_lora_rank: "
            f"{task.lora_rank} in the task, or train on a tier with more memory."
        )
    return departures


def _label(est: Estimate, task_rank: int) -> str:
    label = f"{METHOD_LABELS[est.method]} {est.bits}-bit"
    if est.method == "full":
        label = "full fine-tuning with pure_bf16" if est.bits == 16 else "full fine-tuning in mixed precision"
    if est.zero_stage:
        label += f" with ZeRO-{est.zero_stage}" + (" and CPU offload" if est.offload else "")
    if est.optim != DEFAULT_OPTIM:
        label += f" with {OPTIM_LABELS[est.optim]}"
    if est.lora_rank and est.lora_rank != task_rank:
        label += f" at LoRA rank {est.lora_rank}"
    return label[0].upper() + label[1:]


def _rejected_reason(est: Estimate, tier: GpuTier, task_rank: int) -> str:
    return (
        f"{_label(est, task_rank)} needs {est.peak_gb:.1f} GB even at its smallest, "
        f"over the {usable_gb(tier):.1f} GB usable."
    )


def _lengths_reason(batching: Batching, task: PlanRequest, tier: GpuTier) -> str:
    lengths = batching.lengths
    if not lengths.measured:
        return (
            f"Samples: {lengths.source}; every row is planned at {lengths.longest_row} tokens, which overstates "
            "memory and understates the batch for short samples."
        )
    if batching.packing:
        reason = (
            f"Samples: {lengths.source}; packing fits {batching.samples_per_row:.1f} of them in each "
            f"{batching.row_tokens}-token row (neat packing: they do not attend to each other)"
        )
        if batching.pack_len is None:
            return reason + "."
        rows = _rows_per_step(task, tier, batching)
        return reason + (
            f", packed to cutoff_len {batching.pack_len}, not the task's {lengths.cutoff_len}: a full row would "
            f"hold {lengths.samples_per_packed_row():.1f}, so {rows} row{'s' * (rows > 1)} per step would train "
            f"about {rows * lengths.samples_per_packed_row():.0f} samples, not {task.effective_batch_size}; the longest "
            f"sample ({lengths.longest} tokens) still fits whole."
        )
    if lengths.samples_per_packed_row() < PACKING_MIN_SAMPLES:
        why = " (too long to pack two per row)."
    elif _packing(task, tier, lengths) is None:
        why = f" (not packed: no packed row length keeps about {task.effective_batch_size} samples per step)."
    else:
        why = "."
    return (
        f"Samples: {lengths.source}; each row is padded to the longest of its micro-batch, so memory is "
        f"planned for rows of {lengths.longest_row} tokens" + why
    )


def _describe(batching: Batching) -> str:
    rows = f"{batching.batch} packed row{'s' if batching.batch > 1 else ''}" if batching.packing else f"{batching.batch}"
    return rows + (" with checkpointing" if batching.checkpointing else "")


def _choice_reason(
    batching: Batching, est: Estimate, tier: GpuTier, others: list[tuple[Batching, Estimate]], task_rank: int
) -> str:
    reason = (
        f"{_label(est, task_rank)}, {_describe(batching)} per micro-batch: fits {tier.name} at an estimated {est.peak_gb:.1f} GB "
        f"of {usable_gb(tier):.1f} GB usable ({tier.memory_gb:g} GB less {HEADROOM:.0%} headroom), and at about "
        f"{batching.real_tokens:,.0f} sample tokens in {batching.computed_tokens:,.0f} computed per micro-batch it "
        "is the fastest that fits"
    )
    if not others:
        return reason + "."
    runner_up, runner_est = others[0]
    return reason + (
        f" (next: {_describe(runner_up)} at {runner_est.peak_gb:.1f} GB, "
        f"{runner_up.speed / batching.speed:.0%} of its expected tokens/s)."
    )


def _accumulation_reason(task: PlanRequest, tier: GpuTier, batching: Batching, accumulation: int) -> str:
    steps = f"Per-device batch {batching.batch} x {accumulation} accumulation steps x {tier.devices} device(s)"
    if not batching.packing:
        return steps + f" keeps the effective batch of {task.effective_batch_size}."
    rows = batching.batch * accumulation * tier.devices
    samples = rows * batching.samples_per_row
    return steps + (
        f": {rows} packed row{'s' if rows > 1 else ''} of about {batching.samples_per_row:.1f} samples, about "
        f"{samples:.0f} samples per optimizer step for the effective batch of {task.effective_batch_size}."
    )


def _checkpointing_reason(batching: Batching, task: PlanRequest, tier: GpuTier, option: _Option) -> str:
    if not batching.checkpointing:
        return "Gradient checkpointing off: it would recompute every layer, and no faster batch needs it."
    without = _estimate(task, tier, option, replace(batching, checkpointing=False)).peak_gb
    return (
        f"Gradient checkpointing on: without it this batch needs {without:.1f} GB; the larger batch it allows "
        "outweighs recomputing every layer."
    )


def _precision_reason(precision: str, tier: GpuTier) -> str:
    return {
        "pure_bf16": "pure_bf16: mixed precision's fp32 master weights and gradients do not fit.",
        "bf16": f"bf16 mixed precision: {tier.name} supports bfloat16, which needs no loss scaling.",
        "fp16": f"fp16 mixed precision: {tier.name} has no usable bfloat16.",
        "fp32": f"fp32: {tier.name} has no fast 16-bit arithmetic.",
    }[precision]


def _attention_reason(attention: str, tier: GpuTier) -> str:
    if attention == "fa2":
        return "FlashAttention-2: flash_attn is installed and the tier is CUDA on Ampere or newer."
    sdpa = "PyTorch's SDPA attention, which also never stores the seq x seq score matrix"
    if tier.flash_attn:
        return f"{sdpa}: flash_attn is not installed here; for FlashAttention-2 on {tier.name}: {FLASH_ATTN_HINT}."
    return f"{sdpa}: {tier.name} has no FlashAttention-2."


def _liger_reason(liger: bool, tier: GpuTier) -> str:
    if liger:
        return "Liger kernels: installed, and the fused cross-entropy and RMSNorm cut activation memory on CUDA."
    if tier.backend != "cuda":
        return "No Liger kernels: they are Triton kernels and need CUDA."
    return "No Liger kernels: the liger_kernel package is not installed."


def _deepspeed_reason(option: _Option, tier: GpuTier, arch: Architecture) -> str:
    if option.zero_stage == 2:
        return (
            f"DeepSpeed ZeRO-2: adapter gradients and optimizer states split over {tier.devices} GPUs; "
            "the frozen base is replicated."
        )
    split = f"DeepSpeed ZeRO-3: weights, gradients and optimizer states split over {tier.devices} GPUs"
    if not option.offload:
        return split + "."
    host_gb = OFFLOAD_HOST_BYTES_PER_PARAM * arch.num_params / 2**30
    return split + (
        f", offloaded to CPU because they do not fit otherwise (needs about {host_gb:.0f} GB of host RAM)."
    )


def _nothing_fits_message(task: PlanRequest, tier: GpuTier, rejected: list[Estimate], tiers: dict[str, GpuTier]) -> str:
    smallest = min(rejected, key=lambda est: est.peak_gb)
    message = (
        f"{task.arch.name} does not fit {tier.name} ({usable_gb(tier):.1f} GB usable per device) with any method; "
        f"the smallest, {_label(smallest, task.lora_rank)}, needs {smallest.peak_gb:.1f} GB."
    )
    for candidate in sorted(tiers.values(), key=lambda t: t.total_memory_gb):
        # A CPU is never the answer for a model too big for a GPU.
        if candidate.name == tier.name or candidate.backend == "cpu":
            continue
        if task.effective_batch_size % candidate.devices:
            continue
        plan, _ = _search(task, candidate)
        if plan is not None:
            return message + (
                f" Smallest tier that fits: {candidate.name} ({candidate.description}) with "
                f"{_label(plan.estimate, task.lora_rank)} at {plan.estimate.peak_gb:.1f} GB."
            )
    return message + " No tier in gpus.yaml fits; shorten cutoff_len or choose a smaller model."
