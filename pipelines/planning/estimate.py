"""Peak training memory per device for a LLaMA-Factory run, split into the parts that make it up.

The table in LLaMA-Factory's README ("Hardware Requirement") assumes batch 1, a short sequence (taken
as 512 tokens), gradient checkpointing on, LoRA rank 8 on all linear layers and no DeepSpeed; under
those settings (PUBLISHED_TABLE_SETTINGS, worded for the docs in ESTIMATOR_ASSUMPTIONS) this estimate
agrees with all 20 of its cells within 25% (tests/pipelines/planning/test_estimate.py).

Methods and bits follow that table:
  full  32   mixed precision (AMP): fp32 master weights (4 bytes/param) + the 16-bit copy autocast makes
             of them (2) + fp32 gradients (4) + fp32 Adam m and v (8) = 18 bytes per parameter.
  full  16   pure_bf16: bf16 weights (2) + bf16 gradients (2) + bf16 Adam m and v (4) = 8 bytes per parameter.
  lora  16   frozen 16-bit base (2 bytes/param); the adapters are trained in fp32 as LLaMA-Factory upcasts
             them: 4 + 4 + 8 = 16 bytes per adapter parameter.
  lora  32   frozen fp32 base and fp32 compute (CPU training). Full fine-tuning on a CPU is counted as
             full 32 all the same: 2 bytes per parameter too many for the missing autocast copy, and
             activations at half their fp32 size; fine for the tiny models a CPU trains.
  qlora 8/4  base quantized by bitsandbytes (LLM.int8 with an fp32 scale per output row; NF4 with
             LLaMA-Factory's default double quantization: an 8-bit absmax per 64 weights plus an fp32
             scale per 256 absmax values). Embeddings, lm_head, norms and biases stay 16-bit.

Optimizer: AdamW keeps two moments per trainable parameter, fp32 (8 bytes) or, with pure_bf16, bf16 (4).
bitsandbytes' paged_adamw_8bit (optim="paged_adamw_8bit", the QLoRA paper's paged optimizer) keeps them
in 8 bits with an fp32 absmax per 256-value block: 2 x (1 + 4/256) bytes. Tensors under 4,096 values keep
32-bit states, which no LoRA matrix of rank >= 8 on a Qwen model is. The paged states are CUDA unified
memory, outside PyTorch's allocator: they move to host memory under pressure instead of failing, and
torch.cuda.max_memory_allocated does not see them (nvidia-smi does; they are counted here).

With DeepSpeed ZeRO (zero_stage 1-3) mixed precision is DeepSpeed's: 16-bit weights (2) and gradients (2),
fp32 master weights and Adam states (12, reported as optimizer). Stage 1 splits the optimizer states
across devices, stage 2 also the gradients, stage 3 also the weights. offload=True moves optimizer
states and gradient partitions to CPU (and, in stage 3, the weights: only the gathered ones stay).
pure_bf16 is refused with ZeRO, as LLaMA-Factory refuses it with ZeRO-3.

Activations, per token and decoder layer, in the compute dtype (elements saved for backward):
  attention: RMSNorm input and output (2h), q, k, v after RoPE (q + 2kv), attention output (q);
  MLP: RMSNorm input and output (2h), gate, up, silu(gate) and their product (4i);
  plus the fp32 copy HF's RMSNorm upcasts its input to (4 bytes x h, twice); Qwen3 also normalises
  q and k per head (an fp32 copy and a 16-bit output of each, 6 bytes x (q + kv));
  plus, for LoRA and QLoRA, a 16-bit copy of each adapted layer's input: PEFT casts the input to the
  fp32 adapter's dtype and autocast casts it back, and the adapter's A matrix keeps that copy for its
  gradient (2 bytes x the summed input widths of the targeted modules).
FlashAttention-2 and SDPA never store the seq x seq score matrix, so there is no quadratic term.
Without gradient checkpointing every layer keeps all of that; with it (HF checkpoints whole decoder
layers) only each layer's input is stored, plus one layer's activations while it is recomputed.
The sequence length is the padded length of one row of a micro-batch: LLaMA-Factory's collator pads
every row to the longest of its batch (rounded up to 8), and a packed row is cutoff_len + 1 tokens.
Calibrated against peak allocated memory measured on an H200 (recipes/measured.yaml): the adapter
input copies and Qwen3's q/k norms are what the +23% under-estimate of a packed Qwen3-0.6B run was.

Logits: batch x seq x vocab elements (151,936 or 152,064 for Qwen) held as the 16-bit lm_head output,
its fp32 log-softmax kept for backward, the fp32 gradient, and that gradient cast back to 16 bits.
For small models this is the largest activation by far.

Overhead: a fixed runtime context (CUDA context, cuBLAS workspaces) plus allocator fragmentation as a
fraction of everything else. Sizes are GiB (2**30 bytes), the unit nvidia-smi and gpus.yaml use.
"""

from dataclasses import asdict, dataclass

from pipelines.core.errors import DomaintuneError
from pipelines.planning.architectures import LINEAR_MODULES, Architecture

ESTIMATOR_ASSUMPTIONS = (
    "Estimates assume what LLaMA-Factory's hardware table assumes unless told otherwise: batch size 1, "
    "a short sequence (512 tokens), gradient checkpointing on, LoRA rank 8 on all linear layers, AdamW, "
    "no DeepSpeed, FlashAttention-2 or SDPA attention, and no fused cross-entropy (Liger would shrink "
    "the logits term). Full 32-bit means mixed precision with fp32 master weights; full 16-bit means "
    "pure_bf16; QLoRA uses bitsandbytes with double quantization."
)
# The settings under which the published table is compared (tests/pipelines/planning/test_estimate.py).
PUBLISHED_TABLE_SETTINGS = {
    "seq_len": 512,
    "batch": 1,
    "gradient_checkpointing": True,
    "lora_rank": 8,
    "lora_target": "all",
}
# LLaMA-Factory README, "Hardware Requirement": GB per device for each method at these model sizes.
PUBLISHED_SIZES = ("7B", "14B", "30B", "70B")
PUBLISHED_HARDWARE_TABLE = {
    ("full", 32): (120, 240, 600, 1200),
    ("full", 16): (60, 120, 300, 600),
    ("lora", 16): (16, 32, 64, 160),
    ("qlora", 8): (10, 20, 40, 80),
    ("qlora", 4): (6, 12, 24, 48),
}

GIB = 2**30
METHOD_BITS = {"full": (32, 16), "lora": (32, 16), "qlora": (8, 4)}
METHOD_LABELS = {"full": "full fine-tuning", "lora": "LoRA", "qlora": "QLoRA"}
# Adam keeps two moments per trainable parameter.
ADAM_MOMENTS = 2
FP32_BYTES = 4
HALF_BYTES = 2
# Optimizers by LLaMA-Factory's (transformers') `optim` name; "adamw" is its default AdamW (torch or fused).
DEFAULT_OPTIM = "adamw"
PAGED_ADAMW_8BIT = "paged_adamw_8bit"
OPTIMS = (DEFAULT_OPTIM, PAGED_ADAMW_8BIT)
OPTIM_LABELS = {DEFAULT_OPTIM: "AdamW", PAGED_ADAMW_8BIT: "paged 8-bit AdamW"}
# bitsandbytes' blockwise 8-bit states: one byte per value and an fp32 absmax per block of 256 values.
ADAM_8BIT_BYTES = 1 + FP32_BYTES / 256
# Bytes of the autocast 16-bit weight copy AMP keeps during forward/backward (full 32 only).
AMP_WEIGHT_COPY_BYTES = HALF_BYTES
# DeepSpeed mixed precision: fp32 master weight + Adam m + v per parameter (the ZeRO paper's K = 12).
ZERO_OPTIMIZER_BYTES = 12

# LLM.int8 stores int8 weights plus one fp32 scale per output row.
INT8_WEIGHT_BYTES = 1
INT8_ROW_SCALE_BYTES = 4
# NF4: half a byte per weight; one 8-bit absmax per 64-weight block (double quantization), and one
# fp32 scale per 256 such absmax values.
NF4_WEIGHT_BYTES = 0.5
NF4_BLOCK_SIZE = 64
NF4_ABSMAX_BYTES = 1
NF4_NESTED_BLOCK_SIZE = 256
NF4_NESTED_SCALE_BYTES = 4

# HF's RMSNorm upcasts its input to fp32 and keeps it for backward; two norms per decoder layer.
RMSNORM_FP32_BYTES = 4
NORMS_PER_LAYER = 2
# Qwen3's q_norm and k_norm: the fp32 upcast of their input (4 bytes) and their 16-bit output (2 bytes).
QK_NORM_BYTES = FP32_BYTES + HALF_BYTES
# The 16-bit copy of its input that each LoRA adapter keeps for backward.
ADAPTER_INPUT_BYTES = HALF_BYTES
# Logits live as the lm_head output and its gradient cast back, in the compute dtype ...
LOGITS_COMPUTE_COPIES = 2
# ... plus the fp32 log-softmax saved for backward and the fp32 gradient of the upcast logits.
LOGITS_FP32_COPIES = 2

# CUDA context and cuBLAS workspaces of one PyTorch process (about 0.3-0.6 GiB on CUDA 12 with lazy loading).
RUNTIME_CONTEXT_GB = 0.5
# PyTorch's caching allocator cannot reuse every freed block; 5% of allocated memory is typically lost.
ALLOCATOR_FRAGMENTATION = 0.05
# ds_z2_config.json's reduce_bucket_size: ZeRO-2 allocates one 16-bit gradient bucket of this many elements.
ZERO2_REDUCE_BUCKET_ELEMENTS = 5e8
# ZeRO-3 gathers whole layers to compute them: the current and the prefetched one, or the lm_head when
# that is larger (the 152k-vocabulary head of a Qwen model usually is).
ZERO3_GATHERED_LAYERS = 2


@dataclass(frozen=True)
class Estimate:
    """Memory per device in GiB, except `trainable`, which counts parameters."""

    model: str
    method: str
    bits: int
    seq_len: int
    """Tokens per row of a micro-batch (padded), not necessarily cutoff_len."""
    batch: int
    gradient_checkpointing: bool
    devices: int
    zero_stage: int | None
    offload: bool
    lora_rank: int | None
    """None for full fine-tuning."""
    optim: str
    total_params: int
    trainable: int
    weights: float
    gradients: float
    optimizer: float
    activations: float
    logits: float
    overhead: float
    peak_gb: float

    def to_dict(self) -> dict:
        return asdict(self)

    def format_breakdown(self) -> str:
        zero = ""
        if self.zero_stage:
            zero = f", ZeRO-{self.zero_stage}{' + offload' if self.offload else ''} on {self.devices} devices"
        ckpt = "on" if self.gradient_checkpointing else "off"
        rows = [
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer", self.optimizer),
            ("activations", self.activations),
            ("logits", self.logits),
            ("overhead", self.overhead),
        ]
        rank = f", rank {self.lora_rank}" if self.lora_rank else ""
        lines = [
            f"{self.model}: {METHOD_LABELS[self.method]} {self.bits}-bit{rank}{zero}, {OPTIM_LABELS[self.optim]}",
            f"batch {self.batch} x {self.seq_len} tokens, gradient checkpointing {ckpt}",
            *(f"  {name:<12}{value:>9.2f} GB" for name, value in rows),
            f"  {'peak':<12}{self.peak_gb:>9.2f} GB per device",
            (
                f"  trainable {self.trainable:,} of {self.total_params:,} parameters "
                f"({100 * self.trainable / self.total_params:.2f}%)"
            ),
        ]
        return "\n".join(lines)


def estimate_memory(
    arch: Architecture,
    method: str,
    bits: int,
    seq_len: int = 2048,
    batch: int = 1,
    gradient_checkpointing: bool = True,
    lora_rank: int = 8,
    lora_target: str = "all",
    devices: int = 1,
    zero_stage: int | None = None,
    offload: bool = False,
    optim: str = DEFAULT_OPTIM,
) -> Estimate:
    """Estimate peak memory per device for micro-batches of `batch` rows of `seq_len` tokens.

    Defaults are LLaMA-Factory's (rows of cutoff_len 2048 tokens, lora_rank 8, AdamW)."""
    _check_arguments(method, bits, devices, zero_stage, offload, optim)
    trainable = arch.num_params if method == "full" else lora_params(arch, lora_rank, lora_target)
    weights, gradients, optimizer = _state_bytes(arch, method, bits, trainable, devices, zero_stage, offload, optim)
    compute_bytes = FP32_BYTES if bits == 32 and method == "lora" else HALF_BYTES
    tokens = batch * seq_len
    adapter_inputs = 0 if method == "full" else _adapter_input_width(arch, lora_target)
    activations = _activation_bytes(arch, tokens, compute_bytes, gradient_checkpointing, adapter_inputs)
    if method == "qlora":
        activations += _dequantized_weight_bytes(arch)
    logits = tokens * arch.vocab_size * (LOGITS_COMPUTE_COPIES * compute_bytes + LOGITS_FP32_COPIES * FP32_BYTES)
    allocated = (weights + gradients + optimizer + activations + logits) / GIB
    overhead = RUNTIME_CONTEXT_GB + ALLOCATOR_FRAGMENTATION * allocated + _zero_buffer_bytes(zero_stage) / GIB
    return Estimate(
        model=arch.name,
        method=method,
        bits=bits,
        seq_len=seq_len,
        batch=batch,
        gradient_checkpointing=gradient_checkpointing,
        devices=devices,
        zero_stage=zero_stage,
        offload=offload,
        lora_rank=None if method == "full" else lora_rank,
        optim=optim,
        total_params=arch.num_params,
        trainable=trainable,
        weights=weights / GIB,
        gradients=gradients / GIB,
        optimizer=optimizer / GIB,
        activations=activations / GIB,
        logits=logits / GIB,
        overhead=overhead,
        peak_gb=allocated + overhead,
    )


def lora_params(arch: Architecture, rank: int, target: str = "all") -> int:
    """Adapter parameters: rank x (in + out) for every targeted linear layer (A is r x in, B is out x r)."""
    shapes = arch.linear_shapes()
    return arch.num_hidden_layers * sum(rank * sum(shapes[name]) for name in _targets(target))


def _targets(target: str) -> tuple[str, ...]:
    modules = LINEAR_MODULES if target == "all" else tuple(name.strip() for name in target.split(","))
    unknown = sorted(set(modules) - set(LINEAR_MODULES))
    if unknown:
        raise DomaintuneError(
            f"unknown lora_target module(s) {', '.join(unknown)}; use 'all' or {', '.join(LINEAR_MODULES)}"
        )
    return modules


def _adapter_input_width(arch: Architecture, target: str) -> int:
    """Summed input widths of the adapted modules of one layer: the elements each token's adapter copies keep."""
    shapes = arch.linear_shapes()
    return sum(shapes[name][0] for name in _targets(target))


def _check_arguments(method: str, bits: int, devices: int, zero_stage: int | None, offload: bool, optim: str) -> None:
    if method not in METHOD_BITS:
        raise DomaintuneError(f"unknown method {method!r}; choose one of {', '.join(METHOD_BITS)}")
    if bits not in METHOD_BITS[method]:
        raise DomaintuneError(f"{method} takes bits {' or '.join(map(str, METHOD_BITS[method]))}, not {bits}")
    if zero_stage not in (None, 1, 2, 3):
        raise DomaintuneError(f"zero_stage must be 1, 2 or 3, not {zero_stage}")
    if zero_stage and method == "full" and bits == 16:
        raise DomaintuneError("pure_bf16 (full, 16-bit) cannot be combined with DeepSpeed ZeRO")
    if offload and not zero_stage:
        raise DomaintuneError("offload needs a DeepSpeed ZeRO stage")
    if devices < 1:
        raise DomaintuneError(f"devices must be at least 1, not {devices}")
    if optim not in OPTIMS:
        raise DomaintuneError(f"unknown optim {optim!r}; choose one of {', '.join(OPTIMS)}")
    if optim != DEFAULT_OPTIM and zero_stage:
        # DeepSpeed keeps its own fp32 master weights and Adam states; bitsandbytes' paging is not made for it.
        raise DomaintuneError(f"{optim} is not combined with DeepSpeed ZeRO")


def _state_bytes(
    arch: Architecture,
    method: str,
    bits: int,
    trainable: int,
    devices: int,
    zero_stage: int | None,
    offload: bool,
    optim: str,
) -> tuple[float, float, float]:
    """Weights, gradients and optimizer states on one device, in bytes."""
    if zero_stage:
        return _zero_state_bytes(arch, method, bits, trainable, devices, zero_stage, offload)
    if method == "full" and bits == 32:
        per_param = (FP32_BYTES + AMP_WEIGHT_COPY_BYTES, FP32_BYTES, _moment_bytes(FP32_BYTES, optim))
        return tuple(n * arch.num_params for n in per_param)
    if method == "full":
        per_param = (HALF_BYTES, HALF_BYTES, _moment_bytes(HALF_BYTES, optim))
        return tuple(n * arch.num_params for n in per_param)
    # Adapters are upcast to fp32: fp32 weights, gradients and Adam moments.
    adapter = (FP32_BYTES * trainable, FP32_BYTES * trainable, _moment_bytes(FP32_BYTES, optim) * trainable)
    return (_frozen_base_bytes(arch, method, bits) + adapter[0], adapter[1], adapter[2])


def _moment_bytes(dtype_bytes: int, optim: str) -> float:
    """Adam's two moments per trainable parameter: in the parameters' dtype, or 8-bit blocks with bitsandbytes."""
    return ADAM_MOMENTS * (ADAM_8BIT_BYTES if optim == PAGED_ADAMW_8BIT else dtype_bytes)


def _zero_state_bytes(
    arch: Architecture, method: str, bits: int, trainable: int, devices: int, stage: int, offload: bool
) -> tuple[float, float, float]:
    """DeepSpeed mixed precision: 16-bit weights and gradients, fp32 master + Adam (12 bytes), partitioned."""
    optimizer = 0 if offload else ZERO_OPTIMIZER_BYTES * trainable / devices
    gradients = 0 if offload and stage >= 2 else HALF_BYTES * trainable / (devices if stage >= 2 else 1)
    if method == "full":
        if stage < 3:
            weights = HALF_BYTES * arch.num_params
        else:
            largest = max(ZERO3_GATHERED_LAYERS * arch.params_per_layer, arch.vocab_size * arch.hidden_size)
            gathered = HALF_BYTES * largest
            weights = gathered + (0 if offload else HALF_BYTES * arch.num_params / devices)
    else:
        base = _frozen_base_bytes(arch, method, bits)
        weights = (base / devices if stage == 3 else base) + HALF_BYTES * trainable
    return weights, gradients, optimizer


def _frozen_base_bytes(arch: Architecture, method: str, bits: int) -> float:
    if method == "lora":
        return (bits // 8) * arch.num_params
    layers = arch.num_hidden_layers
    shapes = arch.linear_shapes().values()
    if bits == 8:
        quantized = sum(n_in * n_out * INT8_WEIGHT_BYTES + n_out * INT8_ROW_SCALE_BYTES for n_in, n_out in shapes)
    else:
        per_weight = (
            NF4_WEIGHT_BYTES
            + NF4_ABSMAX_BYTES / NF4_BLOCK_SIZE
            + NF4_NESTED_SCALE_BYTES / (NF4_BLOCK_SIZE * NF4_NESTED_BLOCK_SIZE)
        )
        quantized = per_weight * arch.linear_params_per_layer
    unquantized = arch.num_params - layers * arch.linear_params_per_layer
    return layers * quantized + HALF_BYTES * unquantized


def _activation_bytes(arch: Architecture, tokens: int, compute_bytes: int, checkpointing: bool, adapter_inputs: int) -> float:
    h, i = arch.hidden_size, arch.intermediate_size
    elements = 4 * h + 2 * arch.q_dim + 2 * arch.kv_dim + 4 * i
    per_token = elements * compute_bytes + NORMS_PER_LAYER * RMSNORM_FP32_BYTES * h + ADAPTER_INPUT_BYTES * adapter_inputs
    if arch.model_type == "qwen3":
        per_token += QK_NORM_BYTES * (arch.q_dim + arch.kv_dim)
    per_layer = tokens * per_token
    if not checkpointing:
        return arch.num_hidden_layers * per_layer
    layer_inputs = arch.num_hidden_layers * tokens * h * compute_bytes
    return layer_inputs + per_layer


def _dequantized_weight_bytes(arch: Architecture) -> float:
    """bitsandbytes dequantizes each frozen weight to 16 bits for its matmul: one matrix at a time."""
    return HALF_BYTES * max(n_in * n_out for n_in, n_out in arch.linear_shapes().values())


def _zero_buffer_bytes(zero_stage: int | None) -> float:
    # ZeRO-3's buckets ("auto": hidden_size squared elements) are small enough to leave to fragmentation.
    return HALF_BYTES * ZERO2_REDUCE_BUCKET_ELEMENTS if zero_stage == 2 else 0
