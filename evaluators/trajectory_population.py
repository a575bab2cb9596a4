"""Population realism of generated days against the reference days, as mobility-generation research scores
generators: the Jensen-Shannon divergence between the two sets' distributions of

    trip_distance       km between consecutive activities at different points
    activity_duration   minutes of each activity
    radius_of_gyration  km, per day: RMS distance of its activity points from their centroid
    distinct_places     per day
    step_interval       minutes from one activity's start to the next's (LLMob's SI)
    step_distance       km from one activity to the next, staying put (0 km) included (LLMob's SD)
    activity_by_hour    (hour of day, activity) weighted by the minutes spent: when people do what
    location_visits     visits per place (table name where the place matched): where people go
    g_rank              MoveSim's G-rank: per day, the share of its visits to its most visited place, its second,
                        ... up to G_RANK_K, averaged over the days: how concentrated a day is on few places

each over the fixed bins below (MoveSim, DiffTraj and LLMob score generators this way), plus
`duplicate_share`, the share of generated days whose activity chain repeats an earlier generated day, and
`memorisation_share`, the share that copies a training day exactly: a model that learnt its training set by
heart scores well per day, badly here. The noise floor is the same JSDs of the training days against the
reference days: what two samples of the same data differ by, so a model's JSD near it is as good as it gets.

JSD uses base 2, so it lies in [0, 1]: identical distributions give 0, distributions with disjoint support
give 1 (natural log would make that ln 2 = 0.693). scipy's `jensenshannon` returns the Jensen-Shannon
*distance*, the square root of the divergence, so it is squared here.
"""

import math
from collections import Counter

import numpy as np
from scipy.spatial.distance import jensenshannon

from pipelines.trajectory.geo import haversine_m, radius_of_gyration_m
from pipelines.trajectory.grammar import Activity, Day
from pipelines.trajectory.places import name_key

INF = math.inf
# Upper bin edges; the first bin starts at 0. Chosen around the district's scale: it is about 3 km across.
BINS = {
    "trip_distance": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, INF),  # km
    "activity_duration": (15, 30, 60, 90, 120, 180, 240, 360, INF),  # minutes
    "radius_of_gyration": (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, INF),  # km
    "distinct_places": (1, 2, 3, 4, 5, 6, 7, 8, 10, INF),  # places per day
    "step_interval": (15, 30, 60, 90, 120, 180, 240, 360, INF),  # minutes
    "step_distance": (0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, INF),  # km; the first bin is staying put
}
G_RANK_K = 10  # ranks kept per day: MoveSim keeps 100 over weeks of data; a day here has at most ~10 places
CATEGORICAL = ("activity_by_hour", "location_visits")  # key -> weight, compared over the union of keys
FEATURES = (*BINS, *CATEGORICAL, "g_rank")


def legs(day: Day) -> list[tuple[Activity, Activity]]:
    return list(zip(day.activities, day.activities[1:]))


def step_distances(day: Day) -> list[float]:
    return [haversine_m(a.lon, a.lat, b.lon, b.lat) / 1000 for a, b in legs(day)]


def trip_distances(day: Day) -> list[float]:
    return [km for km in step_distances(day) if km > 0]


def activity_by_hour(day: Day) -> Counter:
    """(hour of the clock, activity) -> minutes; time after midnight counts at its clock hour (00h, 01h, ...)."""
    minutes: Counter = Counter()
    for a in day.activities:
        for hour in range(a.start // 60, -(-a.end // 60)):
            overlap = min(a.end, (hour + 1) * 60) - max(a.start, hour * 60)
            if overlap > 0:
                minutes[(hour % 24, a.activity)] += overlap
    return minutes


def rank_shares(day: Day, k: int = G_RANK_K) -> list[float]:
    """The day's visits per place, most visited first, as shares of its visits; k entries, zeros after the last."""
    counts = sorted(Counter(name_key(a.place) for a in day.activities).values(), reverse=True)[:k]
    return [c / len(day.activities) for c in counts] + [0.0] * (k - len(counts))


def g_rank(days: list[Day]) -> list[float]:
    """MoveSim's G-rank vector: rank_shares averaged over the days (zeros without a day)."""
    if not days:
        return [0.0] * G_RANK_K
    return [sum(column) / len(days) for column in zip(*(rank_shares(day) for day in days))]


def features(days: list[Day]) -> dict:
    """Each binned feature's values, each categorical one as key -> weight over all days, and the G-rank vector."""
    hours: Counter = Counter()
    for day in days:
        hours.update(activity_by_hour(day))
    return {
        "trip_distance": [km for day in days for km in trip_distances(day)],
        "activity_duration": [a.end - a.start for day in days for a in day.activities],
        "radius_of_gyration": [radius_of_gyration_m([(a.lon, a.lat) for a in day.activities]) / 1000 for day in days],
        "distinct_places": [len({name_key(a.place) for a in day.activities}) for day in days],
        "step_interval": [b.start - a.start for day in days for a, b in legs(day)],
        "step_distance": [km for day in days for km in step_distances(day)],
        "activity_by_hour": hours,
        "location_visits": Counter(name_key(a.place) for day in days for a in day.activities),
        "g_rank": g_rank(days),
    }


def histogram(values: list[float], edges: tuple[float, ...]) -> list[int]:
    """Counts per bin (lower, upper]; values at or below 0 fall in the first bin."""
    counts = [0] * len(edges)
    for value in values:
        counts[next(i for i, upper in enumerate(edges) if value <= upper)] += 1
    return counts


def jsd(p: list[float], q: list[float]) -> float | None:
    """Jensen-Shannon divergence (base 2) of two count vectors over the same bins; None when either is empty."""
    p_arr, q_arr = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p_arr.sum() == 0 or q_arr.sum() == 0:
        return None
    return float(jensenshannon(p_arr, q_arr, base=2) ** 2)


def distributions(generated: dict, reference: dict) -> dict[str, tuple[list[str], list[float], list[float]]]:
    """Feature -> (bin labels, generated weights, reference weights) on shared bins."""
    out = {}
    for name, edges in BINS.items():
        labels = [f"≤{upper:g}" if upper != INF else f">{edges[-2]:g}" for upper in edges]
        out[name] = (labels, histogram(generated[name], edges), histogram(reference[name], edges))
    for name in CATEGORICAL:
        keys = sorted(set(generated[name]) | set(reference[name]))
        labels = [f"{k[0]:02d}h {k[1]}" if name == "activity_by_hour" else k for k in keys]
        out[name] = (labels, [generated[name][k] for k in keys], [reference[name][k] for k in keys])
    out["g_rank"] = ([f"#{rank}" for rank in range(1, G_RANK_K + 1)], generated["g_rank"], reference["g_rank"])
    return out


def chain(day: Day) -> tuple:
    """What makes two days the same day: times, activities, places and points."""
    return tuple((a.start, a.end, a.activity, name_key(a.place), a.lon, a.lat) for a in day.activities)


def duplicate_share(days: list[Day]) -> float | None:
    """Share of days whose chain equals an earlier day's."""
    if not days:
        return None
    chains = [chain(day) for day in days]
    return (len(chains) - len(set(chains))) / len(chains)


def memorisation_share(days: list[Day], training: list[Day] | None) -> float | None:
    """Share of days whose chain equals a training day's; None without days or without the training split."""
    if not days or training is None:
        return None
    seen = {chain(day) for day in training}
    return sum(chain(day) in seen for day in days) / len(days)


def divergences(generated: list[Day], reference: list[Day]) -> dict:
    """jsd_<feature> for every feature of FEATURES."""
    return {f"jsd_{name}": jsd(gen, ref) for name, (_, gen, ref) in distributions(features(generated), features(reference)).items()}


def population_metrics(generated: list[Day], reference: list[Day], training: list[Day] | None = None) -> dict:
    return {
        **divergences(generated, reference),
        "duplicate_share": duplicate_share(generated),
        "memorisation_share": memorisation_share(generated, training),
    }


def noise_floor(training: list[Day] | None, reference: list[Day]) -> dict | None:
    """Each JSD of the training days against the reference days; None without the training split."""
    return divergences(training, reference) if training else None
