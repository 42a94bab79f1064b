"""The placement cases ranked lazily are searched as when every floor comes first.

:func:`ordersplit.solver.combination._search_cases` searches the placement cases of a
contended order in the order of their makespan floors and leaves out those whose floor
lies beyond the best plan so far. On orders below ``COUNT_FIRST_CELLS`` it works the
floors out lazily (:class:`~ordersplit.solver.combination._LazyRank`): a case stands at
its placement floor until it comes first, and only then is its problem built. On random
contended orders (bundles and unsplittable lines sharing SKUs with plain lines, one or
two groups, thin stock) the cases searched, their order and the count limit each is
searched with must be those of ranking every floor first (``LAZY_RANK`` off, the
definition), and so must the outcome: plan, proof, bound, nodes and ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.solver import combination, contention
from ordersplit.solver.combination import CombinationOutcome, combination_search
from ordersplit.solver.contention import placement_cases
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline
from tests.test_contention import OBJECTIVES, contended_problem, two_group_problem


def _searched(problem: SplitProblem, lazy: bool, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[CombinationOutcome, list[tuple[int, int | None]]]:
    """The search's outcome and the (case, count limit) of every case it searched."""
    visits: list[tuple[int, int | None]] = []
    visit = combination._CaseRun.visit

    def recorded(run: combination._CaseRun, c: int, limit: int | None) -> None:
        visits.append((c, limit))
        visit(run, c, limit)

    with monkeypatch.context() as m:
        m.setattr(combination, "LAZY_RANK", lazy)
        m.setattr(combination._CaseRun, "visit", recorded)
        out = combination_search(problem, Deadline(60))
    return out, visits


def _same(problem: SplitProblem, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Compare both rankings on ``problem``; False when it has no placement cases."""
    cases = placement_cases(problem)
    if problem.coverable or not cases:
        return False
    eager, eager_visits = _searched(problem, False, monkeypatch)
    lazy, lazy_visits = _searched(problem, True, monkeypatch)
    assert lazy_visits == eager_visits
    assert (lazy.proven, lazy.children_bound, lazy.nodes, lazy.infeasible) == \
        (eager.proven, eager.children_bound, eager.nodes, eager.infeasible)
    if eager.assignment is None:
        assert lazy.assignment is None
    else:
        assert lazy.assignment is not None
        np.testing.assert_array_equal(lazy.assignment, eager.assignment)
    assert len(lazy.ties) == len(eager.ties)
    for (_, got), (_, want) in zip(lazy.ties, eager.ties, strict=True):
        np.testing.assert_array_equal(got, want)
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), objective=st.sampled_from(OBJECTIVES),
       shape=st.sampled_from(["one", "two"]))
def test_lazy_rank_searches_as_every_floor_first(seed: int, objective: tuple[str, ...],
                                                 shape: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    make = contended_problem if shape == "one" else two_group_problem
    _same(make(rng, objective), monkeypatch)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_lazy_rank_on_many_orders_with_many_cases(objective: tuple[str, ...],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed seeds, so that orders of many cases (where cases are left out by their
    floors) are surely among them."""
    rng = np.random.default_rng(31)
    compared = 0
    for _ in range(40):
        compared += _same(two_group_problem(rng, objective), monkeypatch)
    assert compared >= 25


def test_a_case_left_out_by_its_placement_floor_is_never_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A case whose placement floor alone lies beyond the best plan is left out without
    its problem built: one bundle sharing a SKU with a line, placed on a fast
    warehouse that covers everything (the best plan) or on slow ones."""
    usage = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int64)
    stock = np.array([[3, 3], [1, 1], [1, 1], [1, 1]], dtype=np.int64)  # w0 holds it all
    problem = SplitProblem(
        quantity=np.array([1, 1, 1], dtype=np.int64), usage=usage,
        splittable=np.array([True, True, False]), group=np.zeros(3, dtype=np.int64),
        stock=stock, allowed=np.ones((3, 4), dtype=bool),
        hours=np.array([60, 600, 700, 800], dtype=np.int64),
        cost=np.zeros(4, dtype=np.int64), objective=("children", "makespan", "unit_hours"))
    cases = placement_cases(problem)
    assert cases is not None and len(cases) >= 3
    built: list[tuple[int, ...]] = []
    case = contention._CaseShape.case

    def counted(shape: contention._CaseShape, placement: tuple[int, ...]
                ) -> SplitProblem | None:
        built.append(placement)
        return case(shape, placement)

    monkeypatch.setattr(contention._CaseShape, "case", counted)
    out, visits = _searched(problem, True, monkeypatch)
    assert out.proven and out.assignment is not None
    assert len(visits) == 1 and len(set(built)) < len(cases)
    built.clear()
    _searched(problem, False, monkeypatch)
    assert len(set(built)) == len(cases)  # ranking every floor first builds them all
    assert _same(problem, monkeypatch)
