"""The compiler's direct ways for the usual order give what the general ways give: the
shippable quantities, the problem built without ``__post_init__``'s checks."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models.validate import parse_request
from ordersplit.rules import presource
from ordersplit.rules.presource import Candidate, fastest_first
from ordersplit.solver.compile import compile_request
from ordersplit.solver.problem import SplitProblem
from tests.strategies import requests


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_plain_shippable_is_the_general_way(data: st.DataObject) -> None:
    """Plain lines of distinct SKUs, all allowed the same warehouses: the one-pass way
    gives every line the general way's shippable units (the general way taken by
    switching the direct one off), and leaves the stock as it was."""
    m, n_skus = data.draw(st.integers(0, 8)), data.draw(st.integers(1, 6))
    stock = np.array(data.draw(st.lists(st.lists(st.integers(0, 9), min_size=n_skus,
                                                 max_size=n_skus), min_size=m, max_size=m)),
                     dtype=np.int64).reshape(m, n_skus)
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    skus = data.draw(st.lists(st.integers(0, n_skus - 1), min_size=1, unique=True))
    cands = [Candidate(li, None, data.draw(st.integers(1, 30)),
                       {k: data.draw(st.integers(1, 3))}, True, False, 0, allowed)
             for li, k in enumerate(skus)]
    order = fastest_first(data.draw(st.lists(st.integers(-1, 99), min_size=m, max_size=m)))
    before = stock.copy()
    assert presource._plain_shippable(cands, stock) is not None
    direct = presource.shippable_quantities(cands, stock, order)
    saved = presource._plain_shippable
    try:
        presource._plain_shippable = lambda *args: None  # type: ignore[assignment]
        general = presource.shippable_quantities(cands, stock, order)
    finally:
        presource._plain_shippable = saved
    assert direct == general
    assert np.array_equal(stock, before)


def test_plain_shippable_declines_what_it_does_not_cover() -> None:
    """A shared SKU, a bundle or a second allowed set: the general way's."""
    stock = np.array([[3, 1], [2, 5]], dtype=np.int64)
    ships, other = np.array([True, True]), np.array([True, False])

    def cand(k: int, splittable: bool = True, allowed: np.ndarray = ships) -> Candidate:
        return Candidate(0, None, 4, {k: 1}, splittable, False, 0, allowed)

    assert presource._plain_shippable([cand(0), cand(1)], stock) == [4, 4]
    assert presource._plain_shippable([cand(0), cand(0)], stock) is None
    assert presource._plain_shippable([cand(0), cand(1, splittable=False)], stock) is None
    assert presource._plain_shippable([cand(0), cand(1, allowed=other)], stock) is None
    assert presource._plain_shippable([], stock) is None


def _checked_copy(problem: SplitProblem) -> SplitProblem:
    """The same fields through the dataclass's checked ``__init__``."""
    return SplitProblem(**{f.name: getattr(problem, f.name) for f in fields(problem)})


def _same_problem(got: SplitProblem, want: SplitProblem) -> None:
    assert list(got.__dict__)[:len(fields(want))] == [f.name for f in fields(want)]
    for f in fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b) and not a.flags.writeable, f.name
        else:
            assert type(a) is type(b) and a == b, f.name


@settings(max_examples=150, deadline=None)
@given(requests(max_lines=5, max_wh=4))
def test_compiled_problem_equals_the_checked_construction(raw: dict[str, Any]) -> None:
    """The compiler's unchecked problem passes every check of ``__post_init__`` and
    holds what the checked construction holds, every array read-only."""
    problem = compile_request(parse_request(raw)).problem
    _same_problem(problem, _checked_copy(problem))


def test_compiled_problems_of_the_families_equal_the_checked_construction() -> None:
    """Every rule and family of the benchmarks (bundles, bulky lines, stores)."""
    for family in FAMILIES:
        for rules in RULES:
            for raw in cell_requests(Cell(family, rules, "10x30"), 3, 11):
                problem = compile_request(parse_request(raw)).problem
                _same_problem(problem, _checked_copy(problem))
