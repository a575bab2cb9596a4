"""The expected training time on fixed statistics and fixed measured rows, and its correction from the trainer's log,
against numbers worked out by hand."""

import pytest

from pipelines.core.gpus import get_tier, load_tiers
from pipelines.core.tasks import load_task
from pipelines.data.lengths import LengthStats
from pipelines.planning.architectures import Architecture, resolve_architecture
from pipelines.planning.eta import (
    LogPoint,
    corrected_eta,
    expected_time,
    format_duration,
    parse_elapsed,
    training_flops_per_token,
)
from pipelines.planning.measured import MeasuredRun
from pipelines.planning.recipe import plan_for

MODEL = "Qwen/Qwen2.5-1.5B-Instruct"
# 100 samples of 200 tokens each: 20,000 tokens per epoch; packed, 5 fit a 1,024-token row (6 would be 1,200).
STATS = LengthStats("telecom_train", "qwen", 1024, 100, 100, 200.0, 200, 200, 200, 200, 0, [200] * 101)
EPOCHS = 3


def plan_on(tier_name: str):
    return plan_for(load_task("telecom"), get_tier(tier_name), resolve_architecture(MODEL), STATS)


def row_like(plan, machine: str, tokens_per_s: float, task: str = "telecom") -> MeasuredRun:
    """A measured row with exactly this plan's settings."""
    return MeasuredRun(
        machine=machine, date="2026-11-26", task=task, model=MODEL, run="ours", method=plan.estimate.method, bits=plan.estimate.bits,
        lora_rank=plan.lora_rank, batch=plan.per_device_train_batch_size, accumulation=plan.gradient_accumulation_steps,
        gradient_checkpointing=plan.gradient_checkpointing, packing=plan.packing, attention="sdpa", seq_len=1032,
        seq_len_from="test", tokens_per_s=tokens_per_s, peak_allocated_gb=10.0,
    )


def timing(tier_name: str, rows: list[MeasuredRun], plan=None):
    plan = plan or plan_on(tier_name)
    return expected_time("telecom", STATS, EPOCHS, plan, resolve_architecture(MODEL), get_tier(tier_name), load_tiers(), rows)


def test_a_row_measured_on_this_card_with_this_plan_gives_the_time_as_measured():
    plan = plan_on("h200")
    result = timing("h200", [row_like(plan, "NVIDIA H200 (1 GPU)", 1000.0)], plan)
    # 100 x 200 tokens x 3 epochs = 60,000 tokens at 1,000 tokens/s.
    assert result.tokens == 60_000 and result.seconds == pytest.approx(60.0)
    assert not result.throughput.estimated
    assert result.line() == (
        "Expected training time on h200: about 60 s (20,000 tokens per epoch x 3 epochs = 60,000 tokens at ~1,000 tokens/s; "
        "measured: telecom 'ours' on NVIDIA H200 (1 GPU), 2026-11-26, at 1,000 tokens/s)."
    )


def test_a_row_of_another_card_is_scaled_by_peak_tflops_and_said_to_be_an_estimate():
    plan = plan_on("4090")
    # The 4090's plan run on an H200: same model and batching, only the card differs (165.2 vs 989 TFLOPS).
    result = timing("4090", [row_like(plan, "NVIDIA H200 (1 GPU)", 1000.0)], plan)
    assert result.throughput.estimated
    assert result.throughput.tokens_per_s == pytest.approx(1000 * 165.2 / 989)  # 167.04
    assert result.seconds == pytest.approx(60_000 / (1000 * 165.2 / 989))  # 359.2 s
    assert "about 6 min" in result.line() and "estimate: scaled from telecom 'ours' on NVIDIA H200 (1 GPU)" in result.line()
    assert "x0.167 card (165.2 / 989 TFLOPS)" in result.line() and "x1 model" in result.line() and "x1 batching" in result.line()


def test_max_steps_replaces_the_epochs():
    plan = plan_on("4090")
    result = timing("4090", [row_like(plan, "NVIDIA H200 (1 GPU)", 1000.0)], plan)
    # Per optimizer step: 2 packed rows x 5 samples x 200 tokens x 2 accumulation steps = 4,000 tokens.
    assert (plan.per_device_train_batch_size, plan.gradient_accumulation_steps, plan.packing) == (2, 2, True)
    assert result.tokens_per_step == pytest.approx(4000)
    limited = result.limited(10)
    assert limited.tokens == pytest.approx(40_000)
    assert "max_steps 10 x 4,000 tokens per step = 40,000 tokens" in limited.line()
    assert result.limited(None) == result and result.limited(1000).tokens == 4_000_000  # past 3 epochs, as the Trainer goes


def test_without_a_usable_row_or_statistics_the_time_is_unknown_and_says_why():
    plan = plan_on("4090")
    unknown_card = timing("4090", [row_like(plan, "Some Accelerator X (1 GPU)", 1000.0)], plan)
    assert unknown_card.seconds is None
    assert unknown_card.line() == (
        "Expected training time on 4090: unknown (20,000 tokens per epoch x 3 epochs = 60,000 tokens; no measured run to scale from)."
    )
    no_stats = expected_time("telecom", None, EPOCHS, plan, resolve_architecture(MODEL), get_tier("4090"), load_tiers(), [])
    assert no_stats.line() == "Expected training time on 4090: unknown until `domaintune data` measures the training set's token lengths."


def test_training_flops_per_token_of_a_toy_shape():
    toy = Architecture(
        name="toy", source="test", model_type="qwen2", hidden_size=4, intermediate_size=8, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=2, vocab_size=10, tie_word_embeddings=True,
        attention_bias=False, qk_norm=False,
    )
    # Per layer: q 16 + k 8 + v 8 + o 16 + gate 32 + up 32 + down 32 = 144 weights, plus 2 norms of 4 = 152;
    # 2 layers and the final norm: 308; the output projection 10 x 4 = 40. Forward: 2 x 348 = 696 FLOPs.
    assert toy.non_embedding_params == 308
    assert training_flops_per_token(toy, "lora") == 2 * 696
    assert training_flops_per_token(toy, "full") == 3 * 696


def test_corrected_eta_leaves_the_start_up_out():
    # 5 steps took 30 s (loading, the first step's compile); the next 5 took 10 s: 2 s per step, 50 steps left.
    correction = corrected_eta(LogPoint(5, 60, 30.0), LogPoint(10, 60, 40.0), tokens_per_step=4000)
    assert correction.seconds_per_step == 2.0 and correction.seconds_left == 100.0 and correction.tokens_per_s == 2000.0
    assert correction.line() == "Measured after 10 of 60 steps: 2,000 tokens/s; about 2 min left."
    # One entry only (or two at the same time): the rate since training began.
    assert corrected_eta(LogPoint(10, 60, 40.0), LogPoint(10, 60, 40.0)).seconds_left == 200.0


def test_trainer_log_entries_and_durations():
    assert LogPoint.from_entry({"current_steps": 10, "total_steps": 60, "elapsed_time": "1 day, 2:03:04"}) == LogPoint(10, 60, 93784.0)
    assert LogPoint.from_entry({"current_steps": 10, "total_steps": 60}) is None
    assert LogPoint.from_entry({"current_steps": 10, "total_steps": 60, "elapsed_time": "soon"}) is None
    assert parse_elapsed("0:01:05") == 65
    assert [format_duration(s) for s in (42, 600, 5 * 3600, 3 * 86400)] == ["42 s", "10 min", "5.0 h", "3.0 days"]
