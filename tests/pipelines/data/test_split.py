"""Split strategies: sizes, determinism, and no future in training for the chronological one."""

from pipelines.converters.records import Example
from pipelines.data.split import chronological_split, random_split


def examples(n, group="u"):
    return [Example(record={"i": i}, group=group, order=i) for i in range(n)]


def test_random_split_is_seeded_and_keeps_order():
    train_a, val_a = random_split(examples(20), 0.1, seed=7)
    _, val_b = random_split(examples(20), 0.1, seed=7)
    assert [e.record for e in val_a] == [e.record for e in val_b]
    assert len(val_a) == 2 and len(train_a) == 18
    assert [e.order for e in train_a] == sorted(e.order for e in train_a)
    assert random_split(examples(20), 0.1, seed=8)[1] != val_a  # another seed, another split


def test_small_sets_still_get_one_validation_example():
    assert [len(x) for x in random_split(examples(2), 0.1, seed=0)] == [1, 1]
    assert [len(x) for x in random_split(examples(1), 0.1, seed=0)] == [1, 0]


def test_chronological_split_takes_the_latest_per_group():
    data = examples(10, "a")[::-1] + examples(5, "b")
    train, val = chronological_split(data, 0.2, seed=0)
    assert [(e.group, e.order) for e in val] == [("a", 8), ("a", 9), ("b", 4)]
    for group in "ab":
        assert max(e.order for e in train if e.group == group) < min(e.order for e in val if e.group == group)
