"""Train/validation splits, deterministic for a given seed."""

import math
import random
from collections import defaultdict

from pipelines.converters.records import Example


def random_split(examples: list[Example], val_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Seeded random split; both sides keep the input order so files read like the source."""
    n_val = _val_count(len(examples), val_fraction)
    val_idx = set(random.Random(seed).sample(range(len(examples)), n_val))
    return (
        [e for i, e in enumerate(examples) if i not in val_idx],
        [e for i, e in enumerate(examples) if i in val_idx],
    )


def chronological_split(examples: list[Example], val_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Per group (user), the latest `val_fraction` of examples is validation: no future leaks into training."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[example.group].append(example)
    train, val = [], []
    for group in sorted(groups):
        ordered = sorted(groups[group], key=lambda e: e.order)
        cut = len(ordered) - _val_count(len(ordered), val_fraction)
        train += ordered[:cut]
        val += ordered[cut:]
    return train, val


def _val_count(n: int, val_fraction: float) -> int:
    # At least one validation example whenever there are two or more, so evaluation always has data.
    return min(n - 1, max(1, math.ceil(n * val_fraction))) if n >= 2 else 0


STRATEGIES = {"random": random_split, "chronological": chronological_split}
