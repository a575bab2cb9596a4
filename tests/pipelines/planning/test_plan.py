"""The planner picks the expected method, batch, precision and DeepSpeed stage for known cases."""

import dataclasses
import importlib.util

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.core.gpus import get_tier, load_tiers
from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.batches import Lengths
from pipelines.planning.plan import HEADROOM, PlanError, PlanRequest, plan_training


def plan(model, tier, tiers=None, **task):
    return plan_training(PlanRequest(resolve_architecture(model), **task), get_tier(tier), tiers)


def lengths(tokens: int, cutoff_len: int = 1024) -> Lengths:
    """Every sample exactly `tokens` long."""
    return Lengths(cutoff_len, (tokens,) * 101, tokens, f"all samples {tokens} tokens")


@pytest.fixture
def flash_attn(monkeypatch):
    """Pretend flash_attn is installed (it is not in the test environment)."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "flash_attn" else real_find_spec(name, *a))


# --- the expected outcomes ---------------------------------------------------------------------


def test_qwen25_7b_lora_fits_a_4090_without_quantization(flash_attn):
    p = plan("Qwen/Qwen2.5-7B-Instruct", "4090", method="lora", lora_rank=16, cutoff_len=2048)
    assert (p.method, p.quantization_bit, p.precision, p.attention) == ("lora", None, "bf16", "fa2")
    assert (p.per_device_train_batch_size, p.gradient_accumulation_steps, p.gradient_checkpointing) == (1, 16, True)
    assert p.estimate.peak_gb == pytest.approx(20.70, abs=0.01)
    assert p.deepspeed is None


def test_qwen3_06b_lora_fits_a_3080_laptop():
    p = plan("Qwen/Qwen3-0.6B", "3080-laptop", method="lora", cutoff_len=1024)
    assert (p.method, p.quantization_bit, p.gradient_checkpointing) == ("lora", None, True)
    assert (p.per_device_train_batch_size, p.gradient_accumulation_steps) == (2, 8)
    assert p.estimate.peak_gb == pytest.approx(5.69, abs=0.01)


def test_without_lengths_every_sample_is_planned_at_cutoff_len():
    p = plan("Qwen/Qwen2.5-1.5B-Instruct", "4090", method="lora", lora_rank=32, cutoff_len=1024)
    assert (p.estimate.seq_len, p.packing) == (1024, False)
    assert p.reasons[0].startswith("Samples: cutoff_len 1024 (not measured); every row is planned at 1024 tokens")
    assert p.estimate.trainable == 28 * 32 * (3072 + 1792 + 1792 + 3072 + 3 * (1536 + 8960))


def test_short_samples_are_packed_instead_of_planned_at_cutoff_len():
    # The issue-10 case: telecom's ~100-token samples on a 4090. Planned at cutoff_len, 8 rows of 1024 tokens
    # need checkpointing; measured, the samples share packed rows and 2 rows fit without it. A full 1024-token
    # row would hold 10, 20 a step; rows of 800 tokens hold 8, the effective batch of 16 in 2 rows.
    at_cutoff = plan("Qwen/Qwen2.5-1.5B-Instruct", "4090", lora_rank=32, cutoff_len=1024)
    short = plan("Qwen/Qwen2.5-1.5B-Instruct", "4090", lora_rank=32, cutoff_len=1024, lengths=lengths(100))
    assert (at_cutoff.per_device_train_batch_size, at_cutoff.gradient_checkpointing, at_cutoff.packing) == (8, True, False)
    assert (short.per_device_train_batch_size, short.gradient_accumulation_steps) == (2, 1)
    assert (short.gradient_checkpointing, short.packing, short.estimate.seq_len) == (False, True, 808)
    assert (short.cutoff_len, short.samples_per_step) == (800, 16)
    assert "packed to cutoff_len 800, not the task's 1024: a full row would hold 10.0, so 2 rows per step would train about 20 samples, not 16" in short.reasons[0]
    # Unpacked, 16 rows of 104 tokens (100 padded to 8) would be the next best.
    assert "(next: 16 at 13.4 GB, 99% of its expected tokens/s)" in short.reasons[1]


def test_qwen25_72b_on_a_3080_laptop_names_the_smallest_tier_that_fits():
    with pytest.raises(PlanError) as error:
        plan("Qwen/Qwen2.5-72B-Instruct", "3080-laptop", method="lora", cutoff_len=1024)
    message = str(error.value)
    assert "does not fit 3080-laptop (7.2 GB usable per device)" in message
    # The last rung tried: QLoRA 4-bit with paged 8-bit AdamW, at the task's rank 8 (the lowest the planner goes).
    assert "the smallest, QLoRA 4-bit with paged 8-bit AdamW, needs 46.0 GB" in message
    assert "Smallest tier that fits: a100-80" in message
    assert "with QLoRA 4-bit at" in message


def test_no_tier_fits_at_all():
    with pytest.raises(PlanError, match="No tier in gpus.yaml fits"):
        plan("Qwen/Qwen2.5-72B-Instruct", "3080-laptop", cutoff_len=2048, tiers={"t4": get_tier("t4")})


# --- DeepSpeed --------------------------------------------------------------------------------------


def test_lora_on_two_4090s_uses_zero2():
    p = plan("Qwen/Qwen2.5-7B-Instruct", "4090x2", method="lora", lora_rank=16, cutoff_len=2048)
    assert p.method == "lora"
    assert p.deepspeed["zero_optimization"]["stage"] == 2
    assert p.deepspeed["zero_optimization"]["reduce_bucket_size"] == 5e8
    assert p.deepspeed["train_micro_batch_size_per_gpu"] == "auto"
    assert p.deepspeed["bf16"] == {"enabled": "auto"}
    assert "offload_optimizer" not in p.deepspeed["zero_optimization"]
    assert p.per_device_train_batch_size * p.gradient_accumulation_steps * 2 == 16


def test_full_7b_on_eight_a100s_uses_zero3_without_offload():
    p = plan("7B", "a100-80x8", method="full", cutoff_len=2048)
    assert (p.method, p.precision) == ("full", "bf16")  # pure_bf16 is refused under ZeRO-3
    zero = p.deepspeed["zero_optimization"]
    assert zero["stage"] == 3
    assert zero["stage3_max_live_parameters"] == 1e9
    assert zero["stage3_prefetch_bucket_size"] == "auto"
    assert "offload_param" not in zero
    assert p.per_device_train_batch_size * p.gradient_accumulation_steps * 8 == 16
    assert p.estimate.zero_stage == 3


def test_full_72b_on_eight_a100s_offloads_to_cpu():
    p = plan("Qwen/Qwen2.5-72B-Instruct", "a100-80x8", method="full", cutoff_len=2048)
    zero = p.deepspeed["zero_optimization"]
    assert zero["offload_optimizer"] == {"device": "cpu", "pin_memory": True}
    assert zero["offload_param"] == {"device": "cpu", "pin_memory": True}
    assert p.reasons[0].startswith("Full fine-tuning in mixed precision with ZeRO-3 needs 153.2 GB")
    assert "host RAM" in p.reasons[-1]


# --- method ladder, precision, attention, kernels ---------------------------------------------------


def test_full_falls_back_to_pure_bf16_then_reports_why():
    p = plan("Qwen/Qwen2.5-7B-Instruct", "h100", method="full", cutoff_len=2048)
    assert (p.method, p.precision) == ("full", "pure_bf16")
    assert p.llamafactory_args()["pure_bf16"] is True
    assert p.llamafactory_args()["bf16"] is False
    assert p.reasons[0] == (
        "Full fine-tuning in mixed precision needs 139.1 GB even at its smallest, over the 72.0 GB usable."
    )


def test_full_preferred_and_fitting_stays_full():
    p = plan("Qwen/Qwen2.5-0.5B-Instruct", "a100-80", method="full", cutoff_len=1024)
    assert (p.method, p.precision, p.gradient_checkpointing) == ("full", "bf16", False)


def test_t4_falls_back_to_qlora_in_fp16_with_sdpa():
    p = plan("Qwen/Qwen2.5-7B-Instruct", "t4", method="lora", cutoff_len=1024)
    assert (p.method, p.quantization_bit, p.precision, p.attention) == ("qlora", 8, "fp16", "sdpa")
    assert p.reasons[0].startswith("LoRA 16-bit needs")


def test_cpu_trains_lora_in_fp32_with_sdpa():
    p = plan("Qwen/Qwen3-0.6B", "cpu", method="lora", cutoff_len=512)
    assert (p.method, p.estimate.bits, p.precision, p.attention, p.liger) == ("lora", 32, "fp32", "sdpa", False)
    args = p.llamafactory_args()
    assert (args["bf16"], args["fp16"], args["pure_bf16"]) == (False, False, False)


def test_mps_never_quantizes():
    with pytest.raises(PlanError, match="the smallest, LoRA 16-bit"):
        plan("Qwen/Qwen2.5-14B-Instruct", "mps", method="lora", cutoff_len=1024)


def test_mps_uses_fp16():
    p = plan("Qwen/Qwen3-0.6B", "mps", method="lora", cutoff_len=512)
    assert (p.precision, p.attention) == ("fp16", "sdpa")


def test_liger_only_when_installed_and_cuda(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def pretend_installed(name, *args):
        return object() if name == "liger_kernel" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", pretend_installed)
    assert plan("Qwen/Qwen3-0.6B", "4090", cutoff_len=512).liger is True
    assert plan("Qwen/Qwen3-0.6B", "cpu", cutoff_len=512).liger is False


def test_liger_off_when_not_installed(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def pretend_missing(name, *args):
        return None if name == "liger_kernel" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", pretend_missing)
    assert plan("Qwen/Qwen3-0.6B", "4090", cutoff_len=512).liger is False


def test_packing_with_flash_attention_is_one_row_per_micro_batch(flash_attn):
    # 100-token samples: 10 fit in a 1024-token row, so 8 samples per step are one packed row of 8 (800 tokens).
    p = plan("Qwen/Qwen3-0.6B", "4090", cutoff_len=1024, effective_batch_size=8, lengths=lengths(100))
    args = p.llamafactory_args()
    assert (args["packing"], args["neat_packing"], args["flash_attn"]) == (True, True, "fa2")
    assert (p.per_device_train_batch_size, p.gradient_accumulation_steps) == (1, 1)
    assert p.estimate.seq_len == 808  # the packed cutoff_len 800 + 1, padded to a multiple of 8
    assert "packing fits 8.0 of them in each 808-token row" in p.reasons[0]
    assert "1 packed row of about 8.0 samples, about 8 samples per optimizer step" in p.reasons[2]


SHORT = Lengths(1024, tuple(20 + (i * 40) // 100 for i in range(100)) + (120,), 36, "20 to 60 tokens, one of 120")


@pytest.mark.parametrize("tier", sorted(load_tiers()))
def test_short_samples_with_an_effective_batch_of_4_train_about_4_samples_per_step(tier):
    # The issue-21 case: a full 1024-token row holds 25 of these samples, which one packed row per step would train.
    assert SHORT.samples_per_packed_row() == 25
    p = plan("Qwen/Qwen3-0.6B", tier, cutoff_len=1024, effective_batch_size=4, lengths=SHORT)
    devices = load_tiers()[tier].devices
    assert p.samples_per_step == pytest.approx(max(4, devices), rel=0.25)  # 8 GPUs take one sample each at least
    if p.packing:  # packed rows shortened to hold about 4, never below the longest sample
        assert 120 <= p.cutoff_len < 1024 and p.samples_per_step == pytest.approx(4.05, abs=0.01)
        assert f"packed to cutoff_len {p.cutoff_len}, not the task's 1024" in p.reasons[0]


def test_packing_is_left_out_when_no_row_length_keeps_the_batch():
    # One sample fills half a row, and the rest are tiny: even a row as short as the longest sample holds ~12.
    skewed = Lengths(1024, (8,) * 100 + (500,), 10, "tiny, one of 500")
    p = plan("Qwen/Qwen3-0.6B", "h100", cutoff_len=1024, effective_batch_size=2, lengths=skewed)
    assert p.packing is False and p.samples_per_step == 2
    assert "(not packed: no packed row length keeps about 2 samples per step)" in p.reasons[0]


def test_with_flash_attention_many_padded_rows_beat_one_packed_row(flash_attn):
    # 32 samples per step: packed rows would have to go one per micro-batch; 32 padded rows of 104 tokens are faster.
    p = plan("Qwen/Qwen3-0.6B", "4090", cutoff_len=1024, effective_batch_size=32, lengths=lengths(100))
    assert (p.packing, p.per_device_train_batch_size, p.estimate.seq_len) == (False, 32, 104)


def test_packing_with_sdpa_may_put_several_rows_in_a_micro_batch():
    p = plan("Qwen/Qwen3-0.6B", "h100", cutoff_len=1024, effective_batch_size=32, lengths=lengths(100))
    assert (p.attention, p.packing) == ("sdpa", True)
    assert (p.per_device_train_batch_size, p.gradient_accumulation_steps) == (4, 1)


def test_samples_longer_than_half_the_cutoff_are_never_packed():
    p = plan("Qwen/Qwen3-0.6B", "h100", cutoff_len=1024, lengths=lengths(600))
    assert p.packing is False and "too long to pack two per row" in p.reasons[0]


def test_the_choice_is_the_fastest_that_fits_and_names_the_runner_up():
    p = plan("Qwen/Qwen2.5-1.5B-Instruct", "4090", lora_rank=32, cutoff_len=1024, lengths=lengths(600))
    choice = p.reasons[1]
    assert choice.startswith("LoRA 16-bit, 4 per micro-batch: fits 4090 at an estimated 17.6 GB of 21.6 GB usable")
    assert "it is the fastest that fits (next: " in choice and "of its expected tokens/s)" in choice


def test_attention_is_sdpa_with_an_install_hint_when_flash_attn_is_missing(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "flash_attn" else real_find_spec(name, *a))
    p = plan("Qwen/Qwen3-0.6B", "4090", cutoff_len=512)
    assert p.attention == "sdpa" and p.llamafactory_args()["flash_attn"] == "sdpa"
    assert any("flash_attn is not installed here" in r and "pip install flash-attn" in r for r in p.reasons)


# --- invariants -------------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", sorted(load_tiers()))
def test_every_plan_keeps_the_effective_batch_and_the_headroom(tier):
    tiers = load_tiers()
    try:
        p = plan_training(
            PlanRequest(resolve_architecture("Qwen/Qwen2.5-1.5B-Instruct"), cutoff_len=1024, effective_batch_size=16), tiers[tier]
        )
    except PlanError:
        pytest.fail(f"1.5B LoRA should fit {tier}")
    devices = tiers[tier].devices
    assert p.per_device_train_batch_size * p.gradient_accumulation_steps * devices == 16
    assert p.estimate.peak_gb <= tiers[tier].memory_gb * (1 - HEADROOM)
    assert p.per_device_train_batch_size & (p.per_device_train_batch_size - 1) == 0  # power of two


def test_an_effective_batch_that_does_not_divide_across_devices_is_rounded_up_and_said():
    p = plan("Qwen/Qwen3-0.6B", "4090x2", effective_batch_size=5)
    assert p.per_device_train_batch_size * p.gradient_accumulation_steps * 2 == 6
    assert p.reasons[0].startswith("Effective batch 6, not the task's 5: 4090x2's 2 GPUs")
    with pytest.raises(DomaintuneError, match="effective batch 0 must be a positive number of samples"):
        plan("Qwen/Qwen3-0.6B", "4090", effective_batch_size=0)


def test_odd_effective_batch_uses_accumulation():
    p = plan("Qwen/Qwen3-0.6B", "4090", cutoff_len=512, effective_batch_size=12)
    assert (p.per_device_train_batch_size, p.gradient_accumulation_steps) == (4, 3)


def test_llamafactory_args_are_real_llamafactory_arguments():
    hparams = pytest.importorskip("llamafactory.hparams")
    from llamafactory.extras.constants import AttentionFunction
    from transformers import Seq2SeqTrainingArguments

    known = set()
    for cls in (hparams.ModelArguments, hparams.DataArguments, hparams.FinetuningArguments, Seq2SeqTrainingArguments):
        known |= {f.name for f in dataclasses.fields(cls)}
    for p in (
        plan("Qwen/Qwen2.5-7B-Instruct", "t4", cutoff_len=1024, lengths=lengths(100)),
        plan("Qwen/Qwen2.5-7B-Instruct", "h100", method="full", cutoff_len=2048),
    ):
        args = p.llamafactory_args()
        assert set(args) <= known
        assert args["flash_attn"] in {a.value for a in AttentionFunction}
    assert plan("Qwen/Qwen2.5-7B-Instruct", "t4", cutoff_len=1024).llamafactory_args() == {
        "finetuning_type": "lora",
        "quantization_bit": 8,
        "quantization_method": "bnb",
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 8,
        "disable_gradient_checkpointing": False,
        "bf16": False,
        "fp16": True,
        "pure_bf16": False,
        "flash_attn": "sdpa",
        "enable_liger_kernel": False,
        "packing": False,
        "neat_packing": False,
    }


def test_reasons_are_one_sentence_each():
    p = plan("Qwen/Qwen2.5-7B-Instruct", "4090", lora_rank=16, cutoff_len=2048)
    assert p.reasons[1] == (
        "LoRA 16-bit, 1 with checkpointing per micro-batch: fits 4090 at an estimated 20.7 GB of 21.6 GB usable "
        "(24 GB less 10% headroom), and at about 2,048 sample tokens in 2,048 computed per micro-batch it is the "
        "fastest that fits."
    )
    assert p.reasons[3] == (
        "Gradient checkpointing on: without it this batch needs 36.8 GB; the larger batch it allows outweighs "
        "recomputing every layer."
    )
    assert all(reason.endswith(".") and "\n" not in reason for reason in p.reasons)


def test_the_task_lora_target_reaches_the_estimator():
    from pipelines.core.tasks import load_task
    from pipelines.planning.recipe import plan_for

    telecom = load_task("telecom")
    arch = resolve_architecture(telecom.model["base"])
    narrow = dataclasses.replace(telecom, config={**telecom.config, "train": {**telecom.train, "lora_target": "q_proj,v_proj"}})
    all_linear = plan_for(telecom, get_tier("4090"), arch).estimate.trainable
    q_v = plan_for(narrow, get_tier("4090"), arch).estimate.trainable
    assert all_linear == 36_929_536
    assert q_v == 28 * 32 * ((1536 + 1536) + (1536 + 256))  # r x (in + out) of q_proj and v_proj, 28 layers


def test_a_7b_model_on_an_8_gb_laptop_gets_qlora_4_bit_for_telecom_length_samples():
    # Planned at cutoff_len 512 the same model needs more than the 7.2 GB usable; at 147-token rows it fits.
    with pytest.raises(PlanError):
        plan("Qwen/Qwen2.5-7B-Instruct", "3080-laptop", lora_rank=16, min_lora_rank=16, cutoff_len=512)
    p = plan("Qwen/Qwen2.5-7B-Instruct", "3080-laptop", lora_rank=16, cutoff_len=1024, lengths=lengths(147))
    assert (p.method, p.quantization_bit, p.gradient_checkpointing, p.estimate.seq_len) == ("qlora", 4, True, 152)
    assert (p.optim, p.lora_rank, p.departures) == ("adamw", 16, [])
    assert p.estimate.peak_gb <= 7.2


def test_telecom_rank_32_on_an_8_gb_laptop_fits_with_paged_8bit_adamw():
    # With AdamW, QLoRA 4-bit at rank 32 needs 7.7 GB; Adam's moments in 8 bits save 0.45 GB (+5% fragmentation).
    p = plan("Qwen/Qwen2.5-7B-Instruct", "3080-laptop", lora_rank=32, cutoff_len=1024, lengths=lengths(147))
    assert (p.method, p.quantization_bit, p.optim, p.lora_rank) == ("qlora", 4, "paged_adamw_8bit", 32)
    assert p.estimate.peak_gb == pytest.approx(7.196, abs=0.001)
    assert p.llamafactory_args()["optim"] == "paged_adamw_8bit"
    assert "QLoRA 4-bit needs 7.7 GB even at its smallest, over the 7.2 GB usable." in p.reasons
    assert p.departures == [
        (
            "Paged 8-bit AdamW (bitsandbytes), not AdamW: Adam's two moments of the 80,740,352 trainable parameters take "
            "2 bytes instead of 8 (0.45 GB less), and being paged they move to host memory under pressure instead of "
            "stopping the run."
        )
    ]


def test_the_rank_is_halved_only_when_nothing_fits_and_never_below_min_lora_rank():
    long_rows = lengths(400)
    p = plan("Qwen/Qwen2.5-7B-Instruct", "3080-laptop", lora_rank=32, cutoff_len=1024, lengths=long_rows)
    # Rank 16 was tried before rank 8, and is named with what it needed.
    assert (p.method, p.quantization_bit, p.optim, p.lora_rank) == ("qlora", 4, "paged_adamw_8bit", 8)
    assert any(r.startswith("QLoRA 4-bit with paged 8-bit AdamW at LoRA rank 16 needs 7.4 GB") for r in p.reasons)
    assert p.estimate.trainable == 20_185_088
    assert p.departures[-1].startswith(
        "LoRA rank 8, not the task's 32: at rank 32 even QLoRA 4-bit with paged 8-bit AdamW needs 7.8 GB of 7.2 GB usable."
    )
    assert "set train.min_lora_rank: 32" in p.departures[-1]
    with pytest.raises(PlanError, match="the smallest, QLoRA 4-bit with paged 8-bit AdamW at LoRA rank 16, needs 7.4 GB"):
        plan("Qwen/Qwen2.5-7B-Instruct", "3080-laptop", lora_rank=32, min_lora_rank=16, cutoff_len=1024, lengths=long_rows)
    with pytest.raises(PlanError, match="the smallest, QLoRA 4-bit with paged 8-bit AdamW, needs 7.8 GB"):
        plan("Qwen/Qwen2.5-7B-Instruct", "3080-laptop", lora_rank=32, min_lora_rank=32, cutoff_len=1024, lengths=long_rows)


@pytest.mark.parametrize(("rank", "tried"), [(32, [16, 8]), (24, [12, 8]), (12, [8]), (8, [])])
def test_lower_ranks_tried_are_halves_then_the_minimum(rank, tried):
    # A model no tier below fits: every rung is rejected, and each rank tried appears in the message's search.
    from pipelines.planning.plan import _last_resorts, _Option

    request = PlanRequest(resolve_architecture("Qwen/Qwen2.5-7B-Instruct"), lora_rank=rank)
    rungs = _last_resorts(request, get_tier("3080-laptop"), _Option("qlora", 4))
    assert [r.lora_rank for r in rungs] == [None, *tried]
    assert {r.optim for r in rungs} == {"paged_adamw_8bit"}


def test_paged_8bit_adamw_needs_cuda_and_no_deepspeed():
    # On a CPU and under ZeRO-2 the last resort is only the lower rank, with AdamW.
    with pytest.raises(PlanError, match="the smallest, LoRA 32-bit at LoRA rank 8, needs 31.1 GB"):
        plan("Qwen/Qwen2.5-7B-Instruct", "cpu", lora_rank=32, cutoff_len=1024, lengths=lengths(147))
    with pytest.raises(PlanError) as error:
        plan("Qwen/Qwen2.5-72B-Instruct", "4090x2", lora_rank=32, cutoff_len=1024, lengths=lengths(147))
    assert "the smallest, QLoRA 4-bit with ZeRO-2 at LoRA rank 8, needs" in str(error.value)


