"""Work in forked processes: the results of the plain map, in order, from other processes."""

from __future__ import annotations

import os

import pytest

from sudi.core.parallel import fork_map


class Unpicklable:
    """Reaches the workers by fork only: pickling it fails."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("not picklable")


def test_results_come_in_order_from_the_workers() -> None:
    items = [Unpicklable(n) for n in range(1000)]
    with fork_map(lambda item: (item.value * 2, os.getpid()), items, workers=2) as results:
        out = list(results)
    assert [value for value, _pid in out] == [2 * n for n in range(1000)]
    assert os.getpid() not in {pid for _value, pid in out}


def test_one_worker_or_one_item_is_the_plain_map() -> None:
    for items, workers in (([1, 2, 3], 1), ([7], 2), ([], 2)):
        with fork_map(lambda n: (n, os.getpid()), items, workers=workers) as results:
            assert list(results) == [(n, os.getpid()) for n in items]


def test_an_error_in_a_worker_reaches_the_caller() -> None:
    def fail_on_13(n: int) -> int:
        if n == 13:
            raise ValueError("thirteen")
        return n

    with pytest.raises(ValueError, match="thirteen"), fork_map(fail_on_13, list(range(100)), workers=2) as results:
        list(results)
