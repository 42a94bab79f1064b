"""The plain-Python paths for small groups give the vectorized results exactly: the
fill's rows unit for unit, and the covering elements of a group."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.solver import group_search
from ordersplit.solver.fill_small import fill_small
from ordersplit.solver.problem import SplitProblem
from tests.problem_shapes import SHAPES, random_shape_problem


@st.composite
def plain_groups(draw: st.DrawFn) -> tuple[SplitProblem, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    sku = np.array([draw(st.integers(0, k - 1)) for _ in range(n)], dtype=np.int64)
    usage = np.zeros((n, k), dtype=np.int64)
    usage[np.arange(n), sku] = 1
    stock = np.array([[draw(st.integers(0, 5)) for _ in range(k)] for _ in range(m)],
                     dtype=np.int64)
    allowed = np.tile(np.array([draw(st.booleans()) for _ in range(m)]), (n, 1))
    problem = SplitProblem(
        quantity=np.array([draw(st.integers(0, 4)) for _ in range(n)], dtype=np.int64),
        usage=usage, splittable=np.ones(n, dtype=bool), group=np.zeros(n, dtype=np.int64),
        stock=stock, allowed=allowed,
        hours=np.array([draw(st.sampled_from([5, 10, 20])) for _ in range(m)], dtype=np.int64),
        cost=np.zeros(m, dtype=np.int64))
    open_wh = np.array(sorted(draw(st.sets(st.integers(0, m - 1), min_size=1))), dtype=np.int64)
    return problem, np.arange(n, dtype=np.int64), open_wh


@settings(max_examples=300, deadline=None)
@given(case=plain_groups())
def test_small_fill_is_the_vectorized_fill(
        case: tuple[SplitProblem, np.ndarray, np.ndarray]) -> None:
    problem, items, open_wh = case
    fast_stock = problem.stock.copy()
    slow_stock = problem.stock.copy()
    fast = fill_small(problem, items, open_wh, fast_stock)
    saved = group_search.SMALL_FILL
    group_search.SMALL_FILL = -1  # the vectorized branch
    try:
        slow = group_search.fill_group(problem, items, open_wh, slow_stock)
    finally:
        group_search.SMALL_FILL = saved
    assert (fast is None) == (slow is None)
    if fast is not None and slow is not None:
        assert np.array_equal(fast, slow)
    assert np.array_equal(fast_stock, slow_stock)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(SHAPES), rules=st.booleans())
def test_small_group_elements_are_the_vectorized_ones(seed: int, shape: str, rules: bool) -> None:
    problem = random_shape_problem(np.random.default_rng(seed), shape, rules, max_items=10)
    for items in problem.groups():
        fast = group_search._elements(problem, items)  # not the memo: both paths computed
        saved = group_search.SMALL_GROUP
        group_search.SMALL_GROUP = -1  # the numpy branch
        try:
            slow = group_search._elements(problem, items)
        finally:
            group_search.SMALL_GROUP = saved
        for a, b in zip(fast, slow, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
