"""Independent work on many objects in forked processes, for the long batch jobs of the command line.

The objects and the function reach the workers by ``fork``, not by pickling: a job that has built
millions of objects (a full hotspot recompute) hands them over for free, and only the results
travel back. Never used inside the threaded server: forking a process that runs threads is unsafe.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_inherited: dict[str, Any] = {}


def _run_slice(bounds: tuple[int, int]) -> list[Any]:
    function, items = _inherited["function"], _inherited["items"]
    return [function(item) for item in items[bounds[0]:bounds[1]]]


def _quiet_collector() -> None:
    # A worker inherits the parent's whole heap; a full collection would walk (and so copy) all of it
    # to free nothing. What a worker allocates is freed by reference counting.
    gc.disable()


@contextmanager
def fork_map(function: Callable[[Item], Result], items: Sequence[Item], *, workers: int,
             largest_chunk: int = 200) -> Iterator[Iterator[Result]]:
    """``map(function, items)`` with ``workers`` forked processes, the results in the items' order.

    The workers start when the block is entered, so the caller can do its own work (its database
    writes) while they compute. Items go out in chunks of at most ``largest_chunk``, at least four
    per worker. With ``workers`` <= 1 or fewer than two items it is the plain ``map``."""
    if workers <= 1 or len(items) < 2:
        yield map(function, items)
        return
    import multiprocessing

    chunk = max(1, min(largest_chunk, len(items) // (4 * workers)))
    _inherited.update(function=function, items=items)
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_collector) as pool:
            parts = pool.imap(_run_slice, [(start, min(start + chunk, len(items)))
                                           for start in range(0, len(items), chunk)])
            yield (result for part in parts for result in part)
    finally:
        _inherited.clear()
