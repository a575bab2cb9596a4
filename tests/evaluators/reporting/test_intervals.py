"""Bootstrap intervals: exact where the answer is known by hand, and always around the point value."""

import pytest

from evaluators.reporting.intervals import Interval, bootstrap, point


def test_constant_samples_have_a_zero_width_interval():
    assert bootstrap([0.25] * 7) == Interval(0.25, 0.25)


def test_ratio_of_sums_is_a_micro_average():
    # found/expected per sample: 1/2, 0/1, 0/0 -> 1 / 3, not the mean of per-sample recalls
    pairs = [[1, 2], [0, 1], [0, 0]]
    assert point(pairs) == pytest.approx(1 / 3)
    interval = bootstrap(pairs)
    # The best resample is three copies of 1/2 (recall 0.5), the worst has no found term (0).
    assert 0.0 <= interval.low <= 1 / 3 <= interval.high <= 0.5


def test_interval_of_a_mean_brackets_it_and_is_reproducible():
    values = [0.0, 1.0] * 10
    interval = bootstrap(values)
    assert interval.low < 0.5 < interval.high
    assert bootstrap(values) == interval  # fixed seed: the report reads the same every time
    assert bootstrap([]) is None


def test_overlap_is_inclusive():
    assert Interval(0.1, 0.3).overlaps(Interval(0.3, 0.5))
    assert not Interval(0.1, 0.29).overlaps(Interval(0.3, 0.5))
