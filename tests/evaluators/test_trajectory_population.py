import pytest

from evaluators.trajectory_population import (
    BINS,
    activity_by_hour,
    duplicate_share,
    features,
    histogram,
    jsd,
    population_metrics,
)
from pipelines.trajectory.geo import haversine_m
from pipelines.trajectory.grammar import Activity, Day


def day(*activities: tuple[int, int, str, str, float, float]) -> Day:
    return Day("居民", 60, "女", "退休教师", tuple(Activity(*a) for a in activities), "")


HOME = (121.4990, 31.2350)
PARK = (121.4990, 31.2440)  # 0.009 degrees north: 1000.76 m
A = day((420, 540, "居家", "汤臣一品", *HOME), (550, 610, "运动", "滨江大道", *PARK), (620, 700, "居家", "汤臣一品", *HOME))


def test_identical_sets_give_0_and_disjoint_give_1():
    assert jsd([3, 1, 0], [6, 2, 0]) == 0
    assert jsd([1, 0], [0, 1]) == pytest.approx(1.0)
    assert population_metrics([A], [A])["jsd_trip_distance"] == 0


def test_jsd_is_the_divergence_in_base_2_not_scipys_distance():
    # M = (0.75, 0.25); KL(P||M) = log2(4/3) = 0.415037; KL(Q||M) = 0.5 log2(2/3) + 0.5 log2(2) = 0.207519
    # JSD = (0.415037 + 0.207519) / 2 = 0.311278 (scipy's distance would be its square root, 0.5579)
    assert jsd([1, 0], [1, 1]) == pytest.approx(0.311278, abs=1e-6)


def test_jsd_of_an_empty_side_is_none():
    assert jsd([0, 0], [1, 0]) is None


def test_histogram_bins_are_upper_inclusive():
    assert histogram([0.0, 0.25, 0.26, 99.0], BINS["trip_distance"]) == [2, 1, 0, 0, 0, 0, 0, 1]


def test_features_of_a_hand_made_day():
    f = features([A])
    km = haversine_m(*HOME, *PARK) / 1000
    assert f["trip_distance"] == pytest.approx([km, km])
    assert f["activity_duration"] == [120, 60, 80]
    # three points, two at home: centroid a third of the way; RMS = km * sqrt((2 * (1/3)^2 + (2/3)^2) / 3) = km * sqrt(2)/3
    assert f["radius_of_gyration"] == pytest.approx([km * 2**0.5 / 3], rel=1e-4)
    assert f["distinct_places"] == [2]


def test_activity_by_hour_counts_minutes_per_hour():
    hours = activity_by_hour(day((530, 610, "运动", "滨江大道", *PARK)))  # 08:50-10:10
    assert hours == {(8, "运动"): 10, (9, "运动"): 60, (10, "运动"): 10}


def test_duplicate_share_counts_repeats_of_an_earlier_day():
    other = day((420, 480, "居家", "汤臣一品", *HOME))
    assert duplicate_share([A, other, A, A]) == 0.5
    assert duplicate_share([A, other]) == 0
    assert duplicate_share([]) is None
