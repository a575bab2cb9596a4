"""Progress bars for long loops over user data: shown on a terminal, silent in logs and pipes."""

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "record") -> Iterator[T]:
    # disable=None turns the bar off when stderr is not a TTY, so CI logs and benchmarks pay nothing for it.
    return tqdm(items, desc=desc, unit=unit, unit_scale=True, disable=None, mininterval=0.5, leave=False)
