"""Pure covering orders: the compact set-cover model and the local search.

``auto`` sends a pure cover (one group of whole lines, binary stock, ``children`` or
``cost`` first) to a compact HiGHS model, and on huge unicost covers to a row-weighting
local search first. Its plans must be the independent optimum where it says
``optimal``, valid covers always, and the local search reproducible under a step limit.
"""

from __future__ import annotations

import dataclasses
import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.solver import portfolio
from ordersplit.solver.cover_local_search import fewest_cover
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.group_search import fill_group
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.set_cover import (
    _cover_of,
    _plan,
    cover_dual_bound,
    dominated_columns,
    pure_cover,
    smallest_cover,
)
from ordersplit.solver.stop import Deadline, WorkBudget
from tests.test_independent_cpsat import independent_optimum


def cover_problem(rng: np.random.Generator, rows: int, cols: int, density: float,
                  objective: tuple[str, ...]) -> SplitProblem:
    """A random set-covering order: ``rows`` lines of one unit, ``cols`` warehouses each
    holding a line's unit with probability ``density`` (every line somewhere), costs
    1-9 and arrival times of one or two days."""
    cover = rng.random((cols, rows)) < density
    cover[rng.integers(0, cols, rows), np.arange(rows)] = True
    return SplitProblem(
        quantity=np.ones(rows, dtype=np.int64), usage=np.eye(rows, dtype=np.int64),
        splittable=np.ones(rows, dtype=bool), group=np.zeros(rows, dtype=np.int64),
        stock=cover.astype(np.int64) * rng.integers(1, 3, (cols, rows)),
        allowed=np.ones((rows, cols), dtype=bool),
        hours=rng.choice([1440, 2880], cols).astype(np.int64),
        cost=rng.integers(1, 10, cols).astype(np.int64), objective=objective)


def brute_force_cover(cover: np.ndarray) -> int:
    """Fewest columns covering every row, by trying every subset by size."""
    for k in range(1, cover.shape[0] + 1):
        for cols in itertools.combinations(range(cover.shape[0]), k):
            if cover[list(cols)].any(axis=0).all():
                return k
    raise AssertionError("no cover")


def test_pure_cover_is_recognized_only_for_its_shape() -> None:
    rng = np.random.default_rng(3)
    problem = cover_problem(rng, 8, 12, 0.3, ("cost", "fragments"))
    assert pure_cover(problem)
    assert pure_cover(dataclasses.replace(problem, objective=("children",)))
    assert not pure_cover(dataclasses.replace(
        problem, objective=("children", "makespan", "unit_hours", "fragments")))
    partial = problem.stock.copy()
    partial[np.nonzero(partial[:, 0])[0][0], 0] = 0
    partial[:, 0] = 0
    partial[0, 0], partial[1, 0] = 1, 1
    two = dataclasses.replace(problem, quantity=np.r_[2, problem.quantity[1:]], stock=partial)
    assert not pure_cover(two)  # a line of two units over warehouses holding one each


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_cover_plan_ships_as_the_fastest_fill(seed: int) -> None:
    """The set-cover model's plan (each line whole from its fastest open warehouse,
    read from the cover's entries) is the plan of the search's fill inside the same
    warehouses: lines of several units, warehouses the group may not use, ties in
    arrival time."""
    rng = np.random.default_rng(seed)
    base = cover_problem(rng, int(rng.integers(2, 12)), int(rng.integers(3, 20)), 0.3,
                         ("cost", "fragments"))
    q = rng.integers(1, 4, base.n_items).astype(np.int64)
    stock = np.where(base.stock > 0, q[None, :] + rng.integers(0, 2, base.stock.shape), 0)
    reach = rng.random(base.n_warehouses) < 0.8
    problem = dataclasses.replace(base, quantity=q, stock=stock,
                                  allowed=np.tile(reach, (base.n_items, 1)))
    if not pure_cover(problem):  # a line left with no warehouse in reach
        return
    found = _cover_of(problem)
    assert found is not None
    opened = np.flatnonzero(rng.random(problem.n_warehouses) < 0.5)
    want = np.zeros_like(problem.stock.T)
    rows = fill_group(problem, found.items, opened, problem.stock.copy())
    got = _plan(problem, found, opened)
    if rows is None:
        assert got is None
        return
    want[found.items] = rows
    assert got is not None
    np.testing.assert_array_equal(got, want)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), first=st.sampled_from(["cost", "children"]))
def test_set_cover_plans_are_the_independent_optimum(seed: int, first: str) -> None:
    rng = np.random.default_rng(seed)
    problem = cover_problem(rng, int(rng.integers(4, 12)), int(rng.integers(5, 15)), 0.25,
                            (first, "fragments"))
    assert pure_cover(problem)
    res = solve_problem(problem, "auto", Deadline(30))
    assert res.assignment is not None and res.status.value == "optimal"
    assert violations(problem, res.assignment) == []
    got = tuple(evaluate(problem, res.assignment).key(problem.objective))
    assert got == tuple(independent_optimum(problem))


def test_an_integral_lp_optimum_is_taken_and_is_the_optimum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the covering LP's optimum is a cover, it is returned without the MIP; it and
    the MIP's plans are the independent optimum, and both ways are taken."""
    from ordersplit.solver import set_cover

    taken: list[bool] = []
    real = set_cover._integral_lp_cover

    def spy(*args: object) -> np.ndarray | None:
        out = real(*args)  # type: ignore[arg-type]
        taken.append(out is not None)
        return out

    monkeypatch.setattr(set_cover, "_integral_lp_cover", spy)
    rng = np.random.default_rng(41)
    for _ in range(30):
        first = "cost" if rng.random() < 0.7 else "children"
        problem = cover_problem(rng, int(rng.integers(4, 14)), int(rng.integers(5, 18)),
                                0.3, (first, "fragments"))
        res = solve_problem(problem, "auto", Deadline(30))
        assert res.assignment is not None and res.status.value == "optimal"
        assert violations(problem, res.assignment) == []
        got = tuple(evaluate(problem, res.assignment).key(problem.objective))
        assert got == tuple(independent_optimum(problem))
    assert any(taken) and not all(taken)


def test_weighted_cover_goes_to_the_model_without_heuristics(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Cost first: the compact model is the whole problem, no heuristic runs."""
    ran: list[str] = []
    monkeypatch.setattr(portfolio, "_run_heuristics", lambda *a, **k: ran.append("h"))
    problem = cover_problem(np.random.default_rng(5), 30, 80, 0.05, ("cost", "fragments"))
    res = solve_problem(problem, "auto", Deadline(30))
    assert res.status.value == "optimal" and ran == []


@pytest.mark.parametrize("seed", range(6))
def test_local_search_finds_the_fewest_on_small_covers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cover = rng.random((14, 10)) < 0.25
    cover[rng.integers(0, 14, 10), np.arange(10)] = True
    got = fewest_cover(cover, np.ones(14, dtype=bool), time.perf_counter() + 30,
                       max_steps=20_000, seed=seed)
    assert got is not None and cover[got].any(axis=0).all()
    assert int(got.sum()) == brute_force_cover(cover)


def test_local_search_is_reproducible_and_never_worse_than_greedy() -> None:
    """Under a work budget the same order gives the same cover; and on an OR-Library
    sized cover it uses no more warehouses than the greedy heuristic it starts from."""
    problem = cover_problem(np.random.default_rng(41), 200, 1000, 0.02, ("children", "fragments"))
    greedy = HEURISTICS["greedy"](problem, None)
    assert greedy is not None
    plans = [smallest_cover(problem, WorkBudget(300_000), greedy)[0] for _ in range(2)]
    assert plans[0] is not None and plans[1] is not None
    assert np.array_equal(plans[0], plans[1])
    assert violations(problem, plans[0]) == []
    assert evaluate(problem, plans[0]).children <= evaluate(problem, greedy).children


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 6), cols=st.integers(1, 8))
def test_dominated_columns_are_in_no_optimal_cover(seed: int, rows: int, cols: int) -> None:
    """Dropping the dominated columns keeps every optimal cover: none of them opens one,
    so the reduced model has the full model's optimum (brute force over all subsets)."""
    rng = np.random.default_rng(seed)
    cover = rng.random((cols, rows)) < 0.4
    cover[rng.integers(0, cols, rows), np.arange(rows)] = True
    prices = rng.integers(0, 10, cols)
    dropped = dominated_columns(cover, prices)
    costs = {s: int(prices[list(s)].sum())
             for k in range(1, cols + 1) for s in itertools.combinations(range(cols), k)
             if cover[list(s)].any(axis=0).all()}
    best = min(costs.values())
    assert all(not dropped[list(s)].any() for s, c in costs.items() if c == best)


def test_a_huge_cover_skips_the_bounds_it_has_no_time_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After the local search, a huge cover with less time left than its lower bounds
    take returns the best plan as ``feasible`` rather than run past its deadline (they
    took 70-120 ms on scp41 under load, past a 200 ms budget); a valid plan, bounded
    by a child per group."""
    problem = cover_problem(np.random.default_rng(7), 200, 600, 0.02, ("children", "fragments"))

    def too_late(_problem: SplitProblem) -> None:
        raise AssertionError("the lower bounds ran with no time for them")

    monkeypatch.setattr(portfolio, "BOUND_SECONDS_PER_CELL", 1.0)  # never enough time
    monkeypatch.setattr(portfolio, "lower_bound", too_late)
    res = solve_problem(problem, "auto", Deadline(0.5))
    assert res.status.value == "feasible"
    assert res.assignment is not None and violations(problem, res.assignment) == []
    assert res.objective is not None and 1 <= res.children_lower_bound <= res.objective.children


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 9), cols=st.integers(1, 11),
       density=st.floats(0.1, 0.6))
def test_local_search_covers_are_valid_and_its_bound_is_a_bound(
        seed: int, rows: int, cols: int, density: float) -> None:
    """Every cover the local search returns covers every line with no more warehouses
    than it started from (or, with no start, than there are); the dual bound it stops
    at never exceeds the fewest (brute force), so a plan meeting it is truly optimal;
    with the fewest as its floor it stops on a smallest cover."""
    rng = np.random.default_rng(seed)
    problem = cover_problem(rng, rows, cols, density, ("children", "fragments"))
    found = _cover_of(problem)
    assert found is not None
    cover = np.zeros((problem.n_warehouses, rows), dtype=bool)
    cover[found.wh, found.line] = True
    fewest = brute_force_cover(cover)
    assert 1 <= cover_dual_bound(found) <= fewest
    start = cover.any(axis=1) if seed % 2 else np.zeros(cols, dtype=bool)  # none: greedy
    used = np.zeros(1, dtype=np.int64)
    got = fewest_cover(cover, start, time.perf_counter() + 30, max_steps=5_000,
                       seed=seed % 1000, floor=fewest, used=used)
    assert got is not None and cover[got].any(axis=0).all()
    assert fewest <= int(got.sum()) <= (int(start.sum()) if start.any() else cols)
    assert 0 <= used[0] <= 5_000


def test_a_huge_cover_meeting_its_dual_bound_is_optimal_without_the_mip(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A large unicost order where a few hubs hold most lines (the bound is tight): the
    local search reaches the dual bound, stops there, and the plan is ``optimal`` with
    no MIP run; it covers every line."""
    rng = np.random.default_rng(11)
    problem = cover_problem(rng, 200, 800, 0.002, ("children", "fragments"))
    hubs = rng.permutation(800)[:4]
    stock = problem.stock.copy()
    stock[hubs] = 0
    for k, hub in enumerate(hubs):  # four hubs hold a quarter of the lines each
        stock[hub, k * 50:(k + 1) * 50] = 1
    problem = dataclasses.replace(problem, stock=stock)
    assert pure_cover(problem)
    assert cover_dual_bound(_cover_of(problem)) == 4

    def no_mip(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the MIP ran although the bound was met")

    monkeypatch.setattr(portfolio, "solve_set_cover", no_mip)
    res = solve_problem(problem, "auto", Deadline(30))
    assert res.status.value == "optimal" and res.assignment is not None
    assert res.objective is not None and res.objective.children == 4
    assert res.children_lower_bound == 4
    assert violations(problem, res.assignment) == []


def test_a_huge_unicost_cover_is_reproducible_under_a_work_limit() -> None:
    """``auto`` end to end (the local search by steps, the LP; no MIP, whose root
    nodes cannot bound) under a work budget: the same plan twice, a valid one."""
    problem = cover_problem(np.random.default_rng(8), 200, 700, 0.02, ("children", "fragments"))
    plans = [solve_problem(problem, "auto", WorkBudget(4_000_000)) for _ in range(2)]
    assert plans[0].assignment is not None and plans[1].assignment is not None
    np.testing.assert_array_equal(plans[0].assignment, plans[1].assignment)
    assert violations(problem, plans[0].assignment) == []
    assert plans[0].status.value == "feasible" and "work limit" in plans[0].message
