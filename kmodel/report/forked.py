"""Map a function over items in forked worker processes, results in order.

Workers are forked, so they inherit the items and the function: neither needs to
pickle (a job's model holds functions, which do not); only indices go out and
results come back. Ctrl-C is left to the process that started them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # a worker's function and items


def forked_map(
    function: Callable[[T], R], items: Sequence[T], workers: int | None = None
) -> Iterator[R]:
    """`function(item)` for each item, in order, on up to `workers` processes (default:
    one per core; in this process when that is one, or when there is one item)."""
    workers = min(workers or os.cpu_count() or 1, len(items))
    if workers <= 1:
        yield from map(function, items)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_take, initargs=(function, items)) as pool:
        yield from pool.imap(_apply, range(len(items)))


def _take(function: Callable[[Any], Any], items: Sequence[Any]) -> None:
    global _work
    _work = (function, items)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _apply(index: int) -> Any:
    assert _work is not None
    function, items = _work
    return function(items[index])
