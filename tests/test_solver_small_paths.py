"""The solver's small-case Python paths equal the numpy ways they stand in for.

:func:`ordersplit.solver.fragments._fill_order` sorts few candidates as Python tuples,
:func:`ordersplit.solver.fragments_covers.plain_lines` checks few items with Python sets;
both must decide exactly as the numpy way (``lexsort``, ``np.unique``) used above them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ordersplit.solver.fragments as fragments_module
import ordersplit.solver.fragments_covers as covers_module
from ordersplit.solver import group_search
from tests.problem_shapes import SHAPES, random_shape_problem


@settings(max_examples=300, deadline=None)
@given(data=st.data(), uh=st.booleans())
def test_fill_order_of_few_candidates_equals_lexsort(data: st.DataObject, uh: bool) -> None:
    """Ties on hours and capacity (small ranges) are broken by the warehouse, as lexsort."""
    n = data.draw(st.integers(1, 12))
    cand = np.array(sorted(data.draw(st.sets(st.integers(0, 40), min_size=n, max_size=n))),
                    dtype=np.int64)
    cand = cand[data.draw(st.permutations(range(n)))]  # any order of positions
    cap = np.array(data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=np.int64)
    hours = np.array(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)),
                     dtype=np.int64)
    level = hours if uh else np.zeros_like(hours)
    want = np.lexsort((cand, hours, -cap, level)).tolist()
    assert fragments_module._fill_order(cand, cap, hours, uh) == want


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rules", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_plain_lines_by_sets_equals_by_unique(shape: str, rules: bool, seed: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every group of random problems of every shape, and every single item and pair."""
    problem = random_shape_problem(np.random.default_rng(seed), shape, rules)
    subsets = list(problem.groups()) + [np.array([i]) for i in range(problem.n_items)]
    subsets += [np.array([i, j]) for i in range(problem.n_items)
                for j in range(problem.n_items)]  # j == i: a repeated item is not plain
    small = [covers_module.plain_lines(problem, s) for s in subsets]
    monkeypatch.setattr(covers_module, "SMALL_GROUP", 0)
    assert small == [covers_module.plain_lines(problem, s) for s in subsets]


TERM_ORDERS = [("makespan", "unit_hours"), ("unit_hours", "makespan", "cost"),
               ("cost",), ("makespan", "unit_hours", "fragments"), ()]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(8))
def test_one_of_few_warehouses_equals_lexsort(shape: str, seed: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-warehouse choice among a few by Python tuples picks the warehouse and key
    the lexsort way does, under every order of terms (ties: fastest, cheapest, first)."""
    rng = np.random.default_rng(seed)
    problem = random_shape_problem(rng, shape, bool(seed % 2))
    demand = rng.integers(1, 5, size=3)
    cases = [(np.flatnonzero(rng.random(problem.n_warehouses) < 0.6), terms)
             for terms in TERM_ORDERS for _ in range(4)]
    cases = [(whole, terms) for whole, terms in cases if whole.size]

    def choices() -> list[tuple[list[int], tuple[int, ...]]]:
        out = []
        for whole, terms in cases:
            got = group_search._one_of(problem, whole, terms, demand, None)
            assert got.wh is not None
            out.append((got.wh.tolist(), got.key))
        return out

    few = choices()
    monkeypatch.setattr(group_search, "SMALL_GROUP", 0)
    assert few == choices()
