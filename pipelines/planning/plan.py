"""Choose how to train a model on a GPU tier: the best method that fits, then the fastest settings for it.

Methods are tried best quality first, starting from the task's preferred one:
full (mixed precision, then pure_bf16) -> LoRA 16-bit -> QLoRA 8-bit -> QLoRA 4-bit.
Within a method the planner prefers no gradient checkpointing with the largest per-device batch that
fits (a power of two that divides the task's effective batch), and turns checkpointing on only when
nothing fits without it. A plan fits when the estimated peak leaves 10% of the device memory free.
Multi-GPU tiers use DeepSpeed: ZeRO-2 for LoRA/QLoRA (only the small adapter states need splitting),
ZeRO-3 for full fine-tuning, with CPU offload of optimizer states and weights when ZeRO-3 alone does
not fit. The effective batch (per-device batch x accumulation x devices) always equals the task's.
"""

import importlib.util
from dataclasses import dataclass, field

from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import GpuTier, load_tiers
from pipelines.planning.architectures import Architecture
from pipelines.planning.estimate import METHOD_LABELS, Estimate, estimate_memory

# Keep 10% of device memory free: estimation error, driver reservations, and spikes at evaluation
# and checkpoint saving.
HEADROOM = 0.10
# Best quality first. full 32 is mixed precision with fp32 master weights, full 16 is pure_bf16.
METHOD_LADDER = (("full", 32), ("full", 16), ("lora", 16), ("qlora", 8), ("qlora", 4))
PREFERRED_METHODS = ("full", "lora")
# With CPU offload DeepSpeed keeps fp32 master weights, Adam m and v and fp32 gradients (16 bytes) plus
# the 16-bit weights (2 bytes) of every parameter in pinned host memory, once per machine.
OFFLOAD_HOST_BYTES_PER_PARAM = 18

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
    estimate: Estimate
    reasons: list[str] = field(default_factory=list)

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
        return args


@dataclass(frozen=True)
class _Option:
    method: str
    bits: int
    zero_stage: int | None = None
    offload: bool = False


@dataclass(frozen=True)
class PlanRequest:
    """What the planner needs of a task, resolved once: the model's shape and the task's training settings."""

    arch: Architecture
    method: str = "lora"
    lora_rank: int = 8
    lora_target: str = "all"
    cutoff_len: int = 2048
    effective_batch_size: int = 16
    short_samples: bool = False

    @classmethod
    def from_task(cls, train: dict, arch: Architecture) -> "PlanRequest":
        """From a task's `train` section (the same keys, so nothing is dropped on the way, lora_target included)."""
        return cls(
            arch=arch,
            method=train["method"],
            lora_rank=train.get("lora_rank", 8),
            lora_target=train.get("lora_target", "all"),
            cutoff_len=train["cutoff_len"],
            effective_batch_size=train["effective_batch_size"],
            short_samples=train.get("short_samples", False),
        )


def plan_training(task: PlanRequest, tier: GpuTier, tiers: dict[str, GpuTier] | None = None) -> Plan:
    """The best plan for the request on `tier`; raises PlanError naming the smallest tier in `tiers` that fits."""
    if task.method not in PREFERRED_METHODS:
        raise DomaintuneError(f"preferred method must be one of {', '.join(PREFERRED_METHODS)}, not {task.method!r}")
    if task.effective_batch_size < 1 or task.effective_batch_size % tier.devices:
        raise DomaintuneError(
            f"effective batch {task.effective_batch_size} must be a positive multiple of "
            f"{tier.name}'s {tier.devices} device(s)"
        )
    plan, rejected = _search(task, tier)
    if plan is None:
        raise PlanError(_nothing_fits_message(task, tier, rejected, load_tiers() if tiers is None else tiers))
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
    """The first option that fits, and the smallest estimate of each option rejected before it."""
    rejected = []
    attention = "fa2" if tier.flash_attn else "sdpa"
    batches = _batch_sizes(task, tier, attention)
    for option in _options(task.method, tier):
        estimates = [
            (ckpt, batch, _estimate(task, tier, option, ckpt, batch))
            for ckpt in (False, True)
            for batch in batches
        ]
        fitting = [(ckpt, batch, est) for ckpt, batch, est in estimates if est.peak_gb <= usable_gb(tier)]
        if fitting:
            ckpt, batch, est = fitting[0]
            return _make_plan(task, tier, option, ckpt, batch, attention, est, rejected), rejected
        rejected.append(min((est for _, _, est in estimates), key=lambda est: est.peak_gb))
    return None, rejected


def _options(preferred: str, tier: GpuTier) -> list[_Option]:
    ladder = METHOD_LADDER[[method for method, _ in METHOD_LADDER].index(preferred) :]
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
    return options


def _batch_sizes(task: PlanRequest, tier: GpuTier, attention: str) -> list[int]:
    """Per-device batch candidates, largest first: powers of two that keep the effective batch exact."""
    if task.short_samples and attention == "fa2":
        return [1]  # LLaMA-Factory's neat packing with FlashAttention-2 asserts a batch of one packed row
    per_device = task.effective_batch_size // tier.devices
    sizes = [2**k for k in range(per_device.bit_length()) if per_device % 2**k == 0]
    return sorted(sizes, reverse=True)


def _estimate(task: PlanRequest, tier: GpuTier, option: _Option, ckpt: bool, batch: int) -> Estimate:
    return estimate_memory(
        task.arch,
        option.method,
        option.bits,
        cutoff_len=task.cutoff_len,
        batch=batch,
        gradient_checkpointing=ckpt,
        lora_rank=task.lora_rank,
        lora_target=task.lora_target,
        devices=tier.devices,
        zero_stage=option.zero_stage,
        offload=option.offload,
    )


def _precision(option: _Option, tier: GpuTier) -> str:
    if option.method == "full" and option.bits == 16:
        return "pure_bf16"
    if tier.bf16:
        return "bf16"
    return "fp16" if tier.fp16 else "fp32"


def _liger(tier: GpuTier) -> bool:
    return tier.backend == "cuda" and importlib.util.find_spec("liger_kernel") is not None


def _make_plan(
    task: PlanRequest,
    tier: GpuTier,
    option: _Option,
    ckpt: bool,
    batch: int,
    attention: str,
    est: Estimate,
    rejected: list[Estimate],
) -> Plan:
    accumulation = task.effective_batch_size // (batch * tier.devices)
    precision = _precision(option, tier)
    liger = _liger(tier)
    deepspeed = deepspeed_config(option.zero_stage, option.offload) if option.zero_stage else None
    reasons = [_rejected_reason(rej, tier) for rej in rejected]
    reasons += [
        (
            f"{_label(est)} fits {tier.name}: estimated {est.peak_gb:.1f} GB of {usable_gb(tier):.1f} GB usable "
            f"({tier.memory_gb:g} GB less {HEADROOM:.0%} headroom)."
        ),
        (
            f"Per-device batch {batch} x {accumulation} accumulation steps x {tier.devices} device(s) keeps the "
            f"effective batch of {task.effective_batch_size}."
        ),
        _checkpointing_reason(ckpt, task, tier, option, batch),
        _precision_reason(precision, tier),
        _attention_reason(attention, tier),
        _liger_reason(liger, tier),
    ]
    if task.short_samples:
        batch_note = " (FlashAttention-2 then requires batch 1)" if attention == "fa2" else ""
        reasons.append(
            f"Neat packing: samples are short, so several share one {task.cutoff_len}-token row without "
            f"attending to each other{batch_note}."
        )
    if deepspeed:
        reasons.append(_deepspeed_reason(option, tier, task.arch))
    return Plan(
        tier=tier.name,
        method=option.method,
        quantization_bit=option.bits if option.method == "qlora" else None,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        gradient_checkpointing=ckpt,
        precision=precision,
        attention=attention,
        liger=liger,
        packing=task.short_samples,
        deepspeed=deepspeed,
        estimate=est,
        reasons=reasons,
    )


def _label(est: Estimate) -> str:
    label = f"{METHOD_LABELS[est.method]} {est.bits}-bit"
    if est.method == "full":
        label = "full fine-tuning with pure_bf16" if est.bits == 16 else "full fine-tuning in mixed precision"
    if est.zero_stage:
        label += f" with ZeRO-{est.zero_stage}" + (" and CPU offload" if est.offload else "")
    return label[0].upper() + label[1:]


def _rejected_reason(est: Estimate, tier: GpuTier) -> str:
    return (
        f"{_label(est)} needs {est.peak_gb:.1f} GB even at its smallest, "
        f"over the {usable_gb(tier):.1f} GB usable."
    )


def _checkpointing_reason(ckpt: bool, task: PlanRequest, tier: GpuTier, option: _Option, batch: int) -> str:
    if not ckpt:
        return "Gradient checkpointing off: activations fit without it, which saves a recompute of every layer."
    without = _estimate(task, tier, option, False, batch).peak_gb
    return f"Gradient checkpointing on: without it batch {batch} needs {without:.1f} GB."


def _precision_reason(precision: str, tier: GpuTier) -> str:
    return {
        "pure_bf16": "pure_bf16: mixed precision's fp32 master weights and gradients do not fit.",
        "bf16": f"bf16 mixed precision: {tier.name} supports bfloat16, which needs no loss scaling.",
        "fp16": f"fp16 mixed precision: {tier.name} has no usable bfloat16.",
        "fp32": f"fp32: {tier.name} has no fast 16-bit arithmetic.",
    }[precision]


def _attention_reason(attention: str, tier: GpuTier) -> str:
    if attention == "fa2":
        return "FlashAttention-2: the tier is CUDA on Ampere or newer."
    return (
        f"SDPA attention: {tier.name} has no FlashAttention-2, and PyTorch's SDPA kernels still avoid "
        "the seq x seq score matrix that eager attention materializes."
    )


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
        f"the smallest, {_label(smallest)}, needs {smallest.peak_gb:.1f} GB."
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
                f"{_label(plan.estimate)} at {plan.estimate.peak_gb:.1f} GB."
            )
    return message + " No tier in gpus.yaml fits; shorten cutoff_len or choose a smaller model."
