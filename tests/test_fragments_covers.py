"""Fragments settled by trying every minimum cover agree with an independent CP-SAT model.

On thin-stock orders most groups are plain lines with few minimum covers, so
:func:`ordersplit.solver.fragments_covers.settle_by_covers` proves their fragments
without a model; an ``optimal`` plan proven that way must match the lexicographic
optimum of the independent model on every term, fragments included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import ordersplit.solver.fragments as fragments_module
from ordersplit.bench.families import family_config
from ordersplit.bench.scenario import generate_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver import portfolio
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline
from tests.test_independent_cpsat import independent_optimum


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per call of the cover enumeration: whether it settled its group. The
    portfolio takes the Python path (the one-call fragments stages off, which
    ``tests/test_fragments_kernel.py`` compares with it), so that the enumeration here
    is the one that settles."""
    monkeypatch.setattr(portfolio, "USE_FRAGMENTS_KERNEL", False)
    calls: list[bool] = []
    real = fragments_module.settle_by_covers

    def counted(*args: Any, **kwargs: Any) -> Any:
        rows = real(*args, **kwargs)
        calls.append(rows is not None)
        return rows

    monkeypatch.setattr(fragments_module, "settle_by_covers", counted)
    return calls


@pytest.mark.parametrize("family,rules", [("thin", "plain"), ("thin", "rules"),
                                          ("partial", "plain")])
def test_cover_enumeration_matches_an_independent_optimum(
        family: str, rules: str, settled: list[bool]) -> None:
    checked = settled_agree(family, rules, 12, 7, settled)
    assert checked >= 1  # the enumeration really settled some orders here


def settled_agree(family: str, rules: str, n_orders: int, seed: int, calls: list[bool]) -> int:
    """Split ``n_orders`` orders of a 10 x 30 family with ``auto``; every ``optimal``
    plan whose fragments a counted settlement (``calls``) proved must be the
    independent optimum; returns how many were checked."""
    checked = 0
    for order in generate_orders(family_config(family, "10x30", rules=rules,
                                               n_orders=n_orders, seed=seed)):
        problem = compile_request(parse_request(json.dumps(order))).problem
        checked += agrees_if_settled(problem, calls, order["order"]["id"])
    return checked


def agrees_if_settled(problem: SplitProblem, calls: list[bool], label: str = "") -> bool:
    """Split ``problem`` with ``auto``; when the plan is ``optimal`` and a counted
    settlement (``calls``) proved its fragments, it must be the independent optimum
    (then True)."""
    before = sum(calls)
    result = solve_problem(problem, "auto", Deadline(60))
    if result.status.value != "optimal" or sum(calls) == before:
        return False
    assert result.assignment is not None
    got = tuple(evaluate(problem, result.assignment).key(problem.objective))
    assert got == tuple(independent_optimum(problem)), label
    return True


def _plain_lines(rng: Any, n: int, m: int) -> Any:
    """``n`` plain lines on their own SKUs, ``m`` warehouses with thin stock and one or two
    arrival times: many minimum covers tie on every term before fragments."""
    import numpy as np

    from ordersplit.solver.problem import SplitProblem

    quantity = rng.integers(1, 4, n).astype(np.int64)
    stock = rng.integers(0, 4, (m, n)).astype(np.int64) * (rng.random((m, n)) < 0.6)
    short = np.maximum(quantity - stock.sum(axis=0), 0)
    stock[rng.integers(0, m, n), np.arange(n)] += short  # every line coverable
    return SplitProblem(
        quantity=quantity, usage=np.eye(n, dtype=np.int64), splittable=np.ones(n, dtype=bool),
        group=np.zeros(n, dtype=np.int64), stock=stock, allowed=np.ones((n, m), dtype=bool),
        hours=rng.choice([1440, 2880], m).astype(np.int64) if rng.random() < 0.5
        else np.full(m, 1440, dtype=np.int64),
        cost=np.ones(m, dtype=np.int64),
        objective=("children", "makespan", "unit_hours", "fragments"), per_warehouse=True)


def test_the_fewest_fragments_cover_wins_among_ties(settled: list[bool]) -> None:
    """Random plain-line groups with tied covers: whenever the enumeration proves a plan,
    it is the independent optimum (a cover with more fragments would be caught)."""
    import numpy as np

    rng = np.random.default_rng(13)
    checked = 0
    for _ in range(120):
        problem = _plain_lines(rng, int(rng.integers(3, 7)), int(rng.integers(4, 9)))
        checked += agrees_if_settled(problem, settled)
    assert checked >= 10


@pytest.fixture
def searched(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The cover enumeration switched off, so the kernel's fragments stage
    (:func:`~ordersplit.solver.fragments_covers.settle_by_search`) settles the groups of
    whole lines; one entry per call: whether it settled its group. The portfolio takes
    the Python path (the one-call fragments stages, which try the covers, off)."""
    monkeypatch.setattr(portfolio, "USE_FRAGMENTS_KERNEL", False)
    calls: list[bool] = []
    real = fragments_module.settle_by_search

    def counted(*args: Any, **kwargs: Any) -> Any:
        rows = real(*args, **kwargs)
        calls.append(rows is not None)
        return rows

    monkeypatch.setattr(fragments_module, "settle_by_covers", lambda *a, **k: None)
    monkeypatch.setattr(fragments_module, "settle_by_search", counted)
    return calls


@pytest.mark.parametrize("objective", [
    ("children", "makespan", "unit_hours", "fragments"),
    ("children", "unit_hours", "fragments"),
    ("children", "cost", "fragments"),
    ("children", "fragments"),
])
def test_the_kernel_fragments_stage_matches_an_independent_optimum(
        objective: tuple[str, ...], searched: list[bool]) -> None:
    """Random plain-line groups with tied covers (one or two arrival times, costs 1-2):
    whenever the compiled search's fragments stage proves a plan, every term, fragments
    included, is the independent optimum."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(29)
    checked = 0
    for _ in range(60):
        problem = _plain_lines(rng, int(rng.integers(3, 8)), int(rng.integers(4, 10)))
        problem = dataclasses.replace(problem, objective=objective,
                                      cost=rng.integers(1, 3, problem.n_warehouses))
        checked += agrees_if_settled(problem, searched)
    assert checked >= 10


def test_partial_orders_at_30x100_are_settled_by_the_kernel(searched: list[bool]) -> None:
    """On `partial` orders the minimum covers are too many to try: the kernel's fragments
    stage settles their groups (no CP-SAT model), and the plans are proven."""
    settled = 0
    for order in generate_orders(family_config("partial", "30x100", rules="plain",
                                               n_orders=6, seed=2026)):
        problem = compile_request(parse_request(json.dumps(order))).problem
        before = sum(searched)
        result = solve_problem(problem, "auto", Deadline(60))
        assert result.status.value == "optimal"
        settled += sum(searched) > before
    assert settled >= 2


def test_the_kernel_fragments_stage_with_bundles_matches_an_independent_optimum(
        searched: list[bool]) -> None:
    """Orders with every rule (bundles, bulky and unsplittable lines beside plain ones):
    a plan whose fragments the kernel's stage proved is the independent optimum."""
    assert settled_agree("thin", "rules", 10, 11, searched) >= 3
