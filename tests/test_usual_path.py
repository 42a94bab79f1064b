"""The portfolio's usual path gives what its general path gives.

:func:`ordersplit.solver.portfolio.solve_auto` takes a small order that the general
path would hand to the combination search at once (children first, no stock-value
term, one child per warehouse, a reach per group, no contended stock:
:func:`~ordersplit.solver.portfolio._usual`) straight to the one-call search
(:func:`~ordersplit.solver.combination.search_usual`) and returns a proven plan of no
fragments without the post-stages' calls. With ``USUAL_PATH`` off the general path runs
(the definition). On random problems of every stock shape, with and without rules, and
every objective shape, and on the benchmark families' orders, both must give the same
status, plan, objective, bound and backend.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.models.validate import parse_request
from ordersplit.solver import combination, portfolio
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import SolveResult
from ordersplit.solver.stop import Deadline
from tests.problem_shapes import OBJECTIVE, SHAPES, random_shape_problem
from tests.test_fragments_kernel import lone_lines

OBJECTIVES = [OBJECTIVE, ("children", "makespan", "unit_hours"),
              ("children", "unit_hours", "makespan", "cost", "fragments"),
              ("children", "cost", "fragments"), ("children", "fragments"),
              ("children", "makespan", "unit_hours", "stock_value", "fragments"),
              ("children", "fragments", "makespan"), ("makespan", "children", "fragments"),
              ("cost", "children", "fragments")]


def _both(monkeypatch: pytest.MonkeyPatch, problem: SplitProblem) -> list[SolveResult]:
    out = []
    for usual in (True, False):
        monkeypatch.setattr(portfolio, "USUAL_PATH", usual)
        # a fresh copy each time: no memo of one run helps the other
        out.append(solve_problem(problem.with_objective(problem.objective), "auto",
                                 Deadline(60)))
    return out


def _same(a: SolveResult, b: SolveResult) -> None:
    assert (a.status, a.objective, a.children_lower_bound, a.backend, a.message) == (
        b.status, b.objective, b.children_lower_bound, b.backend, b.message)
    assert (a.assignment is None) == (b.assignment is None)
    if a.assignment is not None and b.assignment is not None:
        assert np.array_equal(a.assignment, b.assignment)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1), st.sampled_from(SHAPES), st.booleans(),
       st.sampled_from(OBJECTIVES), st.sampled_from([(6, 8), (10, 30)]))
def test_the_usual_path_gives_what_the_general_path_gives(
        monkeypatch: pytest.MonkeyPatch, seed: int, shape: str, rules: bool,
        objective: tuple[str, ...], size: tuple[int, int]) -> None:
    problem = random_shape_problem(np.random.default_rng(seed), shape, rules, objective,
                                   max_items=size[0], max_wh=size[1])
    _same(*_both(monkeypatch, problem))


def _family_problems(per_cell: int) -> list[SplitProblem]:
    out = []
    for family in ("uniform", "partial", "thin", "default"):
        for rules in ("plain", "rules"):
            for request in cell_requests(Cell(family, rules, "10x30"), per_cell, seed=2026):
                out.append(compile_request(parse_request(json.dumps(request))).problem)
    return out


def test_the_families_orders_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's 10 x 30 orders: the same results, and most take the usual path
    (a test that would pass with the path never taken would show nothing)."""
    taken: list[int] = []
    search_usual = combination.search_usual

    def counted(*args: Any) -> Any:
        taken.append(1)
        return search_usual(*args)

    monkeypatch.setattr(portfolio, "search_usual", counted)
    problems = _family_problems(6)
    for problem in problems:
        _same(*_both(monkeypatch, problem))
    assert len(taken) >= 0.75 * len(problems)


def test_the_usual_order_skips_the_general_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain order of lone lines goes to the one-call search without the general
    path's ``combination_search``, which the general path calls (``USUAL_PATH`` off);
    a cost-first order takes neither (the search needs children first)."""
    general: list[int] = []
    search = portfolio.combination_search

    def counted(*args: Any) -> Any:
        general.append(1)
        return search(*args)

    monkeypatch.setattr(portfolio, "combination_search", counted)
    problem = random_shape_problem(np.random.default_rng(3), "binary", False, OBJECTIVE, 6, 8)
    res = solve_problem(problem, "auto", Deadline(60))
    assert res.status == "optimal" and general == []
    costly = problem.with_objective(("cost", "children", "fragments"))
    solve_problem(costly, "auto", Deadline(60))
    monkeypatch.setattr(portfolio, "USUAL_PATH", False)
    solve_problem(problem.with_objective(problem.objective), "auto", Deadline(60))
    assert general == [1]


def test_a_declined_one_call_search_is_not_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the one-call search leaves the order to the Python path, the usual path goes
    there directly: one call, and the plan of the general path."""
    calls: list[int] = []

    def declined(*args: Any) -> None:
        calls.append(1)

    monkeypatch.setattr(combination, "search_order", declined)
    problem = random_shape_problem(np.random.default_rng(5), "partial", False, OBJECTIVE, 6, 8)
    a, b = _both(monkeypatch, problem)
    _same(a, b)
    assert a.status == "optimal"
    assert calls == [1, 1]  # one for each way


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lone_lines())
def test_orders_of_lone_lines_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch,
                                                      problem: SplitProblem) -> None:
    """Orders of lone lines on thin and partial stock, whose proven plans often split a
    line (the fragments stages after the search then decide)."""
    _same(*_both(monkeypatch, problem))
