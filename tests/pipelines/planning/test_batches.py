"""Padding and packing arithmetic on hand-made length distributions."""

import pytest

from pipelines.data.lengths import LengthStats
from pipelines.planning.batches import OVERHEAD_TOKENS, Batching, Lengths, padded


def two_lengths(short: int, long: int, cutoff_len: int = 1024) -> Lengths:
    """Half the samples `short`, half `long` tokens (percentiles 0-50 and 51-100)."""
    return Lengths(cutoff_len, (short,) * 51 + (long,) * 50, (short + long) / 2, "test")


def test_rows_are_padded_to_multiples_of_eight():
    assert [padded(n) for n in (1, 8, 147, 152, 1025)] == [8, 8, 152, 152, 1032]


def test_expected_row_is_the_expected_longest_of_the_batch():
    lengths = two_lengths(100, 200)
    assert lengths.longest_row == 200
    assert lengths.expected_row(1) == pytest.approx(0.5 * 104 + 0.5 * 200)  # 100 pads to 104
    # Two samples are both short with probability 1/4.
    assert lengths.expected_row(2) == pytest.approx(0.25 * 104 + 0.75 * 200)


@pytest.mark.parametrize(("short", "long", "per_row"), [(300, 300, 3.0), (400, 600, 2.0), (600, 700, 1.0)])
def test_greedy_knapsack_fills_rows_like_llamafactory(short, long, per_row):
    # 2,000 simulated samples: the last row may be part-full.
    assert two_lengths(short, long).samples_per_packed_row() == pytest.approx(per_row, rel=0.001)


def test_pack_len_for_holds_the_samples_asked_never_below_the_longest():
    lengths = Lengths(1024, (100,) * 101, 100, "100 each")
    assert lengths.pack_len_for(8) == 800 and lengths.samples_per_packed_row(800) == 8  # 8 x 100 fit, 9 do not
    assert lengths.pack_len_for(4) == 400 and lengths.packed_row(400) == 408  # the row of 401 padded to 8s
    assert lengths.pack_len_for(0.5) == 104  # one sample per row at least: the longest must fit whole
    assert lengths.pack_len_for(50) == 1024  # never above the task's cutoff_len
    assert all(lengths.pack_len_for(n) % 8 == 0 for n in (0.5, 1, 3, 4, 8, 9))  # 8k - 1 fails in LLaMA-Factory


def test_a_packed_row_never_cuts_the_longest_validation_sample():
    # Training samples of 100 tokens, one validation sample of 500: LLaMA-Factory cuts both splits at the one
    # cutoff_len, so the packed row is at least 504 (500 in multiples of 8), never the 400 that 4 training samples need.
    train = LengthStats("t_train", "qwen", 1024, 100, 100, 100, 100, 100, 100, 100, 0, [100] * 101)
    val = LengthStats("t_val", "qwen", 1024, 10, 10, 140, 100, 100, 500, 500, 0, [100] * 100 + [500])
    assert Lengths.from_stats(train, 1024).pack_len_for(4) == 400
    assert Lengths.from_stats(train, 1024, val).pack_len_for(4) == 504
    assert Lengths.from_stats(train, 300, val).pack_len_for(4) == 300  # a sample over cutoff_len is cut anyway


def test_lengths_from_stats_truncate_at_cutoff_and_name_their_source():
    stats = LengthStats("d_train", "qwen", 1024, 10, 10, 900.0, 800, 1100, 1200, 1300, 3, list(range(800, 1301, 5)))
    lengths = Lengths.from_stats(stats, cutoff_len=1024)
    assert lengths.quantiles[-1] == 1024 and lengths.mean == 900.0 and lengths.longest_row == 1024
    assert lengths.source == "d_train p50 800, p99 1200, max 1300 tokens (3 over cutoff_len 1024, truncated)"


def test_speed_counts_real_tokens_over_padded_ones_and_the_fixed_cost():
    lengths = two_lengths(100, 200)
    padded_rows = Batching(lengths, batch=2, packing=False, checkpointing=False)
    assert padded_rows.real_tokens == 300  # 2 x the mean of 150
    assert padded_rows.computed_tokens == pytest.approx(2 * (0.25 * 104 + 0.75 * 200))
    assert padded_rows.speed == pytest.approx(300 / (OVERHEAD_TOKENS + padded_rows.computed_tokens))
    packed = Batching(lengths, batch=1, packing=True, checkpointing=True)
    assert (packed.row_tokens, packed.computed_tokens) == (1032, 1032)
    assert packed.speed < Batching(lengths, batch=1, packing=True, checkpointing=False).speed
