"""The kernels' clock reads ``time.perf_counter``'s clock, from compiled code."""

from __future__ import annotations

import time

import numba as nb

from ordersplit.solver import clock
from ordersplit.solver.cover_kernel import _now


@nb.njit
def _twice() -> tuple[float, float]:
    return clock.now(), _now()


def test_the_compiled_clock_is_perf_counters() -> None:
    for _ in range(200):
        before = time.perf_counter()
        first, second = _twice()
        after = time.perf_counter()
        assert before <= first <= second <= after


def test_both_ways_read_one_clock() -> None:
    before = time.perf_counter()
    a = clock._through_python()
    b = clock._direct() if clock.DIRECT else a
    after = time.perf_counter()
    assert before <= a <= after and before <= b <= after
