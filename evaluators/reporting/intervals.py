"""95% bootstrap confidence intervals over samples, for a mean or a ratio of sums (micro average).

Percentile bootstrap: resample the n samples with replacement RESAMPLES times, recompute the metric each time,
and take the 2.5th and 97.5th percentiles. The seed is fixed so a report reads the same every time it is made.
"""

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
# Beyond this many samples the interval is narrower than the 4th decimal the tables print; it is left out.
SMALL_N = 1000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def overlaps(self, other: "Interval") -> bool:
        return self.low <= other.high and other.low <= self.high

    def __str__(self) -> str:
        return f"[{self.low:.4f}, {self.high:.4f}]"


def _statistic(values: list) -> callable:
    """The metric of a resample of indices: a mean of floats, or sum(numerators) / sum(denominators) of pairs."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        return lambda idx: array[idx].mean(axis=-1)
    numerators, denominators = array[:, 0], array[:, 1]

    def ratio(idx):
        den = denominators[idx].sum(axis=-1)
        # A resample without a single term scores 0, as TermCounts.recall does for an empty reference set.
        return np.divide(numerators[idx].sum(axis=-1), den, out=np.zeros_like(den), where=den > 0)

    return ratio


def point(values: list) -> float:
    """The metric of all samples, computed the way `bootstrap` recomputes it."""
    return float(_statistic(values)(np.arange(len(values))))


def bootstrap(values: list, resamples: int = RESAMPLES, seed: int = SEED) -> Interval | None:
    """The 95% interval of the metric, or None with no samples."""
    if not values:
        return None
    indices = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    low, high = np.percentile(_statistic(values)(indices), [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return Interval(float(low), float(high))
