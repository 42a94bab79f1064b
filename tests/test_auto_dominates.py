"""``auto`` is never worse than any heuristic it runs, on the full lexicographic key.

Over random problems of every stock shape (binary, partial, thin, multi-unit, unicost
covers), with the rules on and off, auto's objective tuple - fragments included - is
compared with the plan of each heuristic backend run on its own.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.stop import Deadline
from tests.problem_shapes import SHAPES, random_shape_problem

HEURISTIC_BACKENDS = ("scarce", "ladder", "pigeonhole", "greedy", "combination")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(SHAPES), rules=st.booleans())
def test_auto_is_never_worse_than_a_heuristic(seed: int, shape: str, rules: bool) -> None:
    problem = random_shape_problem(np.random.default_rng(seed), shape, rules)
    auto = solve_problem(problem, "auto", Deadline(20))
    assert auto.assignment is not None
    assert violations(problem, auto.assignment) == []
    key = evaluate(problem, auto.assignment).key(problem.objective)
    for name in HEURISTIC_BACKENDS:
        res = solve_problem(problem, name, Deadline(20))
        if res.assignment is None:
            continue
        assert violations(problem, res.assignment) == [], name
        other = evaluate(problem, res.assignment).key(problem.objective)
        assert key <= other, (name, key, other)


def test_orlib_like_unicost_cover_keeps_the_best_heuristic() -> None:
    """A larger random unicost cover (the shape of scp41, where auto once returned 43
    although its own ladder found 41): auto is at most every heuristic's count."""
    assert_cover_below_heuristics(np.random.default_rng(41), 60, 300, 0.03, 10)


def assert_cover_below_heuristics(rng: np.random.Generator, rows: int, cols: int,
                                  density: float, seconds: float) -> None:
    """A random unicost cover: ``auto`` within ``seconds`` returns a valid plan with at
    most as many children as each heuristic run on its own."""
    from ordersplit.solver.problem import SplitProblem

    cover = rng.random((cols, rows)) < density
    cover[rng.integers(0, cols, rows), np.arange(rows)] = True
    problem = SplitProblem(
        quantity=np.ones(rows, dtype=np.int64), usage=np.eye(rows, dtype=np.int64),
        splittable=np.ones(rows, dtype=bool), group=np.zeros(rows, dtype=np.int64),
        stock=cover.astype(np.int64), allowed=np.ones((rows, cols), dtype=bool),
        hours=np.full(cols, 1440, dtype=np.int64), cost=np.ones(cols, dtype=np.int64),
        objective=("children", "fragments"))
    auto = solve_problem(problem, "auto", Deadline(seconds))
    assert auto.assignment is not None and auto.objective is not None
    assert violations(problem, auto.assignment) == []
    for name in ("scarce", "ladder", "pigeonhole", "greedy"):
        res = solve_problem(problem, name, Deadline(60))
        assert res.objective is not None
        assert auto.objective.children <= res.objective.children, name


def test_huge_unicost_cover_keeps_below_every_heuristic() -> None:
    """A cover of OR-Library's size (200 lines x 1000 warehouses), where ``auto`` runs
    greedy only and then the local search and the set-cover model: its plan is still at
    most every heuristic's count (each run on its own)."""
    assert_cover_below_heuristics(np.random.default_rng(4), 200, 1000, 0.02, 5)
