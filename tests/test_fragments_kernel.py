"""The one-call fragments stages give what the Python path gives.

:func:`ordersplit.solver.fragments_kernel.settle_lone_lines` runs the portfolio's two
fragments stages on the one-call search's proven plan of an order of lone lines: the
post-stage that keeps lines whole inside the plan's children
(:func:`~ordersplit.solver.fragments.keep_lines_whole_scored`) and the exact settlement
(:func:`~ordersplit.solver.fragments.settle_fragments`: each group's bound, else its
minimum covers), leaving a group that needs the compiled search or CP-SAT to the Python
path. On random orders of lone lines (one to three groups; binary, partial and thin
stock, which split lines often; a reach per group; a fixed makespan now and then; every
objective shape with fragments last, cost and an unpriced stock value among them), both
must give the same kept plan, the same settled plan and objective, and ``auto`` the
same result either way.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.bench.families import family_config
from ordersplit.bench.scenario import generate_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver import fragments, fragments_kernel, portfolio
from ordersplit.solver.combination import combination_search
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.fragments import (
    head_terms,
    keep_lines_whole_scored,
    settle_fragments,
    without_fragments,
)
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline
from tests.test_fragments_covers import _plain_lines, agrees_if_settled

TERMS = [(), ("makespan",), ("makespan", "unit_hours"), ("cost",), ("unit_hours",),
         ("unit_hours", "makespan", "cost"), ("makespan", "cost", "unit_hours"),
         ("makespan", "unit_hours", "stock_value"), ("cost", "makespan", "unit_hours")]
SHAPES = ["binary", "partial", "thin"]


@st.composite
def lone_lines(draw: st.DrawFn) -> SplitProblem:
    """1-9 lines, each of one SKU of its own, in up to three shipping groups over 2-20
    warehouses; stock all-or-nothing, partial (1-12 units) or thin (1-4), quantities
    1-6; each group with a reach of its own (every warehouse, or some); a few arrival
    levels and costs; fragments the last term."""
    n = draw(st.integers(1, 9))
    m = draw(st.integers(2, 20))
    n_groups = draw(st.integers(1, 3))
    shape = draw(st.sampled_from(SHAPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    group = rng.integers(0, n_groups, n).astype(np.int64)
    group = np.unique(group, return_inverse=True)[1].astype(np.int64).reshape(n)
    quantity = (np.ones(n, dtype=np.int64) if shape == "binary"
                else rng.integers(1, 7, n).astype(np.int64))
    density = draw(st.floats(0.4, 1.0))
    top = {"binary": 1 << 20, "partial": 12, "thin": 4}[shape]
    stock = np.where(rng.random((m, n)) < density, rng.integers(1, top + 1, (m, n)), 0)
    hours = rng.choice([360, 720, 1440, 2880], m).astype(np.int64)
    cost = rng.integers(0, 4, m).astype(np.int64)
    reach = np.ones((int(group.max()) + 1, m), dtype=bool)
    if draw(st.booleans()):
        reach &= rng.random(reach.shape) < 0.8
    objective = ("children", *draw(st.sampled_from(TERMS)), "fragments")
    return SplitProblem(quantity=quantity, usage=np.eye(n, dtype=np.int64),
                        splittable=np.ones(n, dtype=bool), group=group,
                        stock=stock.astype(np.int64), allowed=reach[group], hours=hours,
                        cost=cost, objective=objective,
                        fixed_makespan=draw(st.sampled_from([0, 0, 720])))


def _python_stages(problem: SplitProblem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """The portfolio's Python path: the post-stage, then the settlement."""
    kept, obj = keep_lines_whole_scored(problem, x, evaluate(problem, x), Deadline(60))
    assert obj is not None
    head = {t: int(getattr(obj, t)) for t in head_terms(problem)}
    settled, proven = settle_fragments(problem, kept, head, Deadline(60), obj.fragments)
    return kept, settled, proven


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lone_lines(), st.sampled_from([None, None, 1, 4]))
def test_settle_order_matches_the_python_stages(monkeypatch: pytest.MonkeyPatch,
                                                problem: SplitProblem,
                                                few_sets: int | None) -> None:
    """On the search's proven plan: the same kept rows and objective, and where every
    group settles in the call, the same settled plan and objective. With ``few_sets``
    the covers are tried only up to that many candidate sets, in both paths: groups of
    more are left to the Python path (its compiled search, or CP-SAT)."""
    if few_sets is not None:
        monkeypatch.setattr(fragments_kernel, "FEW_SETS", few_sets)
        monkeypatch.setattr(fragments, "FEW_SETS", few_sets)
    assert fragments_kernel.applies(problem)
    out = combination_search(without_fragments(problem), Deadline(60))
    if out.assignment is None or not out.proven:
        return
    x = out.assignment
    done = fragments_kernel.settle_order(problem, x, Deadline(60))
    assert done is not None  # the arrays are of the compiled types
    kept, settled, proven = _python_stages(problem, x)
    assert np.array_equal(done.kept, kept)
    assert done.kept_objective == evaluate(problem, kept)
    if done.settled is not None:
        assert proven
        assert np.array_equal(done.settled, settled)
        assert done.objective == evaluate(problem, settled)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lone_lines(), st.sampled_from([None, None, 1, 4]))
def test_auto_is_the_same_with_and_without_it(monkeypatch: pytest.MonkeyPatch,
                                              problem: SplitProblem,
                                              few_sets: int | None) -> None:
    """``auto`` on whole orders: the same plan, status, objective, bound and backend
    with the one-call fragments stages as without them (``few_sets`` as above)."""
    if few_sets is not None:
        monkeypatch.setattr(fragments_kernel, "FEW_SETS", few_sets)
        monkeypatch.setattr(fragments, "FEW_SETS", few_sets)
    out = []
    for kernel in (True, False):
        monkeypatch.setattr(portfolio, "USE_FRAGMENTS_KERNEL", kernel)
        out.append(solve_problem(problem.with_objective(problem.objective), "auto",
                                 Deadline(60)))
    a, b = out
    assert (a.status, a.objective, a.children_lower_bound, a.backend) == (
        b.status, b.objective, b.children_lower_bound, b.backend)
    assert (a.assignment is None) == (b.assignment is None)
    if a.assignment is not None and b.assignment is not None:
        assert np.array_equal(a.assignment, b.assignment)


def _split_line() -> SplitProblem:
    """Two lines of three units in one group: no warehouse holds three of line 0, so its
    plan splits it; the fastest two warehouses also cover line 1."""
    stock = np.array([[2, 3], [2, 0], [1, 3], [0, 3]], dtype=np.int64)
    return SplitProblem(quantity=np.array([3, 3], dtype=np.int64),
                        usage=np.eye(2, dtype=np.int64), splittable=np.ones(2, bool),
                        group=np.zeros(2, dtype=np.int64), stock=stock,
                        allowed=np.ones((2, 4), bool),
                        hours=np.array([360, 720, 720, 1440], dtype=np.int64),
                        cost=np.zeros(4, dtype=np.int64),
                        objective=("children", "makespan", "unit_hours", "fragments"))


def test_a_split_line_takes_the_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """An order whose proven plan splits a line is settled in the call (else the tests
    above would compare the Python path with itself), with the plan the Python path
    gives; a priced order, or one with a bundle, is not."""
    calls = []
    real = fragments_kernel.settle_lone_lines

    def counted(*args: object) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(fragments_kernel, "settle_lone_lines", counted)
    problem = _split_line()
    res = solve_problem(problem, "auto", Deadline(60))
    assert calls == [1] and res.status.value == "optimal" and res.objective is not None
    assert res.objective.children == 2 and res.objective.fragments == 1
    monkeypatch.setattr(portfolio, "USE_FRAGMENTS_KERNEL", False)
    ref = solve_problem(_split_line(), "auto", Deadline(60))
    assert ref.assignment is not None and res.assignment is not None
    assert np.array_equal(res.assignment, ref.assignment) and calls == [1]
    fields = {f: getattr(problem, f) for f in ("quantity", "usage", "splittable", "group",
                                               "stock", "allowed", "hours", "cost")}
    priced = SplitProblem(**fields, objective=("children", "stock_value", "fragments"),
                          price=np.array([[1, 2], [3, 1], [2, 2], [1, 1]], dtype=np.int64))
    assert not fragments_kernel.applies(priced)
    bundle = SplitProblem(**{**fields, "usage": np.array([[1, 1], [0, 1]], dtype=np.int64)},
                          objective=problem.objective)
    assert not fragments_kernel.applies(bundle)


def test_an_expired_deadline_leaves_it_to_the_python_path() -> None:
    """With no time left the call does not run (the Python post-stage returns the plan
    as it is then)."""
    problem = _split_line()
    x = np.array([[2, 1, 0, 0], [3, 0, 0, 0]], dtype=np.int64)
    assert fragments_kernel.settle_order(problem, x, Deadline(0)) is None


@pytest.fixture
def in_the_call(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per one-call settlement: whether every group settled in the call."""
    calls: list[bool] = []
    real = fragments_kernel.settle_order

    def counted(*args: Any) -> Any:
        out = real(*args)
        calls.append(out is not None and out.settled is not None)
        return out

    monkeypatch.setattr(fragments_kernel, "settle_order", counted)
    return calls


def test_plans_settled_in_the_call_are_the_independent_optimum(
        in_the_call: list[bool]) -> None:
    """Thin 10 x 30 orders, and random plain-line groups with tied covers: whenever the
    one-call stages settle a plan, it is the optimum of the independent CP-SAT model on
    every term, fragments included."""
    rng = np.random.default_rng(13)
    problems = [_plain_lines(rng, int(rng.integers(3, 7)), int(rng.integers(4, 9)))
                for _ in range(60)]
    problems += [compile_request(parse_request(json.dumps(order))).problem
                 for order in generate_orders(family_config("thin", "10x30", rules="plain",
                                                            n_orders=12, seed=7))]
    checked = sum(agrees_if_settled(problem, in_the_call) for problem in problems)
    assert checked >= 10
