"""Population realism of generated days against the reference days, as mobility-generation research scores
generators (e.g. MoveSim, DiffTraj): the Jensen-Shannon divergence between the two sets' distributions of

    trip_distance       km between consecutive activities at different points
    activity_duration   minutes of each activity
    radius_of_gyration  km, per day: RMS distance of its activity points from their centroid
    distinct_places     per day
    activity_by_hour    (hour of day, activity) weighted by the minutes spent: when people do what

each over the fixed bins below, plus `duplicate_share`: the share of generated days whose activity chain
repeats an earlier generated day exactly (a model that memorised one day scores well per day, badly here).

JSD uses base 2, so it lies in [0, 1]: identical distributions give 0, distributions with disjoint support
give 1 (natural log would make that ln 2 = 0.693). scipy's `jensenshannon` returns the Jensen-Shannon
*distance*, the square root of the divergence, so it is squared here.
"""

import math
from collections import Counter

import numpy as np
from scipy.spatial.distance import jensenshannon

from pipelines.trajectory.geo import haversine_m, radius_of_gyration_m
from pipelines.trajectory.grammar import Day
from pipelines.trajectory.places import name_key

INF = math.inf
# Upper bin edges; the first bin starts at 0. Chosen around the district's scale: it is about 3 km across.
BINS = {
    "trip_distance": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, INF),  # km
    "activity_duration": (15, 30, 60, 90, 120, 180, 240, 360, INF),  # minutes
    "radius_of_gyration": (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, INF),  # km
    "distinct_places": (1, 2, 3, 4, 5, 6, 7, 8, 10, INF),  # places per day
}
FEATURES = (*BINS, "activity_by_hour")


def trip_distances(day: Day) -> list[float]:
    legs = (haversine_m(a.lon, a.lat, b.lon, b.lat) / 1000 for a, b in zip(day.activities, day.activities[1:]))
    return [km for km in legs if km > 0]


def activity_by_hour(day: Day) -> Counter:
    """(hour, activity) -> minutes, for the part of each activity inside 00:00-24:00."""
    minutes: Counter = Counter()
    for a in day.activities:
        for hour in range(24):
            overlap = min(a.end, (hour + 1) * 60) - max(a.start, hour * 60)
            if overlap > 0:
                minutes[(hour, a.activity)] += overlap
    return minutes


def features(days: list[Day]) -> dict:
    """Each numeric feature's values, and activity_by_hour as (hour, activity) -> minutes over all days."""
    hours: Counter = Counter()
    for day in days:
        hours.update(activity_by_hour(day))
    return {
        "trip_distance": [km for day in days for km in trip_distances(day)],
        "activity_duration": [a.end - a.start for day in days for a in day.activities],
        "radius_of_gyration": [radius_of_gyration_m([(a.lon, a.lat) for a in day.activities]) / 1000 for day in days],
        "distinct_places": [len({name_key(a.place) for a in day.activities}) for day in days],
        "activity_by_hour": hours,
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
    """Feature -> (bin labels, generated counts, reference counts) on shared bins."""
    out = {}
    for name, edges in BINS.items():
        labels = [f"≤{upper:g}" if upper != INF else f">{edges[-2]:g}" for upper in edges]
        out[name] = (labels, histogram(generated[name], edges), histogram(reference[name], edges))
    keys = sorted(set(generated["activity_by_hour"]) | set(reference["activity_by_hour"]))
    out["activity_by_hour"] = ([f"{h:02d}h {act}" for h, act in keys], [generated["activity_by_hour"][k] for k in keys], [reference["activity_by_hour"][k] for k in keys])
    return out


def duplicate_share(days: list[Day]) -> float | None:
    """Share of days whose activity chain (times, activities, places) equals an earlier day's."""
    if not days:
        return None
    chains = [tuple((a.start, a.end, a.activity, name_key(a.place), a.lon, a.lat) for a in day.activities) for day in days]
    return (len(chains) - len(set(chains))) / len(chains)


def population_metrics(generated: list[Day], reference: list[Day]) -> dict:
    dists = distributions(features(generated), features(reference))
    metrics = {f"jsd_{name}": jsd(gen, ref) for name, (_, gen, ref) in dists.items()}
    metrics["duplicate_share"] = duplicate_share(generated)
    return metrics
