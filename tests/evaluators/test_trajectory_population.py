import pytest

from evaluators.trajectory_population import (
    BINS,
    FEATURES,
    G_RANK_K,
    activity_by_hour,
    duplicate_share,
    features,
    g_rank,
    histogram,
    jsd,
    memorisation_share,
    noise_floor,
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
    # LLMob's SI and SD: starts 07:00, 09:10, 10:20 are 130 and 70 minutes apart; the two steps are 1 km each.
    assert f["step_interval"] == [130, 70]
    assert f["step_distance"] == pytest.approx([km, km])
    assert f["location_visits"] == {"汤臣一品": 2, "滨江大道": 1}
    assert f["g_rank"] == pytest.approx([2 / 3, 1 / 3] + [0] * (G_RANK_K - 2))


def test_step_distance_keeps_staying_put_in_its_own_bin():
    stay = day((420, 480, "居家", "汤臣一品", *HOME), (480, 540, "办公", "汤臣一品", *HOME), (550, 610, "运动", "滨江大道", *PARK))
    f = features([stay])
    assert f["step_distance"][0] == 0 and f["trip_distance"] == pytest.approx([f["step_distance"][1]])
    assert histogram(f["step_distance"], BINS["step_distance"]) == [1, 0, 0, 0, 0, 1, 0, 0, 0]  # 0 km, then 1.0008 km


def test_g_rank_is_movesims_mean_of_each_days_rank_shares():
    home_only = day((420, 480, "居家", "汤臣一品", *HOME))
    # A: 2/3 of its visits at its top place, 1/3 at its second; home_only: 1 at its top. Mean: 5/6, 1/6.
    assert g_rank([A, home_only]) == pytest.approx([5 / 6, 1 / 6] + [0] * (G_RANK_K - 2))
    # P = (2/3, 1/3), Q = (1, 0), M = (5/6, 1/6): KL(P||M) = 2/3 log2(0.8) + 1/3 log2(2) = 0.118714,
    # KL(Q||M) = log2(1.2) = 0.263034; JSD = 0.190874
    assert population_metrics([A], [home_only])["jsd_g_rank"] == pytest.approx(0.190874, abs=1e-6)


def test_location_visits_compares_visits_per_place():
    elsewhere = day((420, 480, "居家", "仁恒滨江园", *HOME))
    # {汤臣一品: 2, 滨江大道: 1, 仁恒滨江园: 0} against {.., 仁恒滨江园: 1}: disjoint
    assert population_metrics([A], [elsewhere])["jsd_location_visits"] == pytest.approx(1.0)
    assert population_metrics([A], [A])["jsd_location_visits"] == 0


def test_activity_by_hour_counts_minutes_per_hour():
    hours = activity_by_hour(day((530, 610, "运动", "滨江大道", *PARK)))  # 08:50-10:10
    assert hours == {(8, "运动"): 10, (9, "运动"): 60, (10, "运动"): 10}


def test_activity_by_hour_counts_time_after_midnight_at_its_clock_hour():
    assert activity_by_hour(day((1410, 1470, "通勤", "陆家嘴站", *HOME))) == {(23, "通勤"): 30, (0, "通勤"): 30}


def test_memorisation_share_counts_days_copying_a_training_day():
    other = day((420, 480, "居家", "汤臣一品", *HOME))
    moved = day((425, 480, "居家", "汤臣一品", *HOME))
    assert memorisation_share([A, other, moved, A], [A, other]) == 0.75
    assert memorisation_share([moved], [A, other]) == 0
    assert memorisation_share([A], None) is None and memorisation_share([], [A]) is None
    assert population_metrics([A, other], [A], training=[other])["memorisation_share"] == 0.5


def test_noise_floor_is_each_jsd_of_training_against_reference_days():
    home_only = day((420, 480, "居家", "汤臣一品", *HOME))
    floor = noise_floor([A], [home_only])
    assert set(floor) == {f"jsd_{name}" for name in FEATURES}
    assert floor == {key: value for key, value in population_metrics([A], [home_only]).items() if key.startswith("jsd_")}
    assert floor["jsd_g_rank"] == pytest.approx(0.190874, abs=1e-6)
    assert noise_floor([A], [A])["jsd_step_interval"] == 0
    assert noise_floor(None, [A]) is None


def test_duplicate_share_counts_repeats_of_an_earlier_day():
    other = day((420, 480, "居家", "汤臣一品", *HOME))
    assert duplicate_share([A, other, A, A]) == 0.5
    assert duplicate_share([A, other]) == 0
    assert duplicate_share([]) is None
