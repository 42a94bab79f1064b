"""The one-call small-group and small-order searches give what the Python path gives.

:func:`ordersplit.solver.group_kernel.small_group` runs a group's one-warehouse check,
its kernel data and its staged search in one compiled call, and
:func:`~ordersplit.solver.group_kernel.small_order` a whole coverable order's search
(every group, both makespan phases, the fill); without them (``SMALL_KERNEL`` off)
:func:`ordersplit.solver.group_search.search_group` builds the data and drives the
staged kernel from Python, group by group. On random problems of every shape (binary,
partial and thin stock; plain lines, several lines of a SKU, bundles, unsplittable
lines; a reach and an arrival cap; a count limit or an incumbent; one to three groups,
their SKUs apart or shared), under every objective shape, both must return the same
sets, keys, plans, proofs and node counts; and whole orders solved by ``auto`` must get
the same plan and status either way.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.solver import group_kernel, group_search
from ordersplit.solver.combination import combination_search
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline, WorkBudget

TERMS = [(), ("makespan",), ("makespan", "unit_hours"), ("cost",),
         ("unit_hours", "makespan", "cost"), ("makespan", "cost", "unit_hours"),
         ("makespan", "unit_hours", "stock_value"), ("stock_value", "makespan"),
         ("cost", "makespan", "unit_hours")]
SHAPES = ["binary", "partial", "thin"]


@st.composite
def problems(draw: st.DrawFn, n_groups: int = 1) -> SplitProblem:
    """Lines in up to ``n_groups`` shipping groups over 2-14 warehouses: plain lines
    (now and then several of one SKU), bundles of 2-3 SKUs and unsplittable lines; stock
    all-or-nothing (binary), partial or thin; each group with a reach of its own
    (every warehouse, or some); the groups' SKUs apart (a coverable order) or drawn
    from one pool; a few arrival levels and costs; prices that vary; a fixed makespan
    now and then."""
    per_group = draw(st.integers(1, 5))
    apart = draw(st.booleans())
    n_skus = per_group * (n_groups if apart else 1)
    m = draw(st.integers(2, 14))
    shape = draw(st.sampled_from(SHAPES))
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    group = rng.integers(0, n_groups, n).astype(np.int64)
    group = np.unique(group, return_inverse=True)[1].astype(np.int64).reshape(n)
    usage = np.zeros((n, n_skus), dtype=np.int64)
    splittable = np.ones(n, dtype=bool)
    kinds = draw(st.lists(st.sampled_from(["plain", "plain", "bundle", "whole"]),
                          min_size=n, max_size=n))
    for i, kind in enumerate(kinds):
        base = per_group * int(group[i]) if apart else 0
        if kind == "bundle" and per_group > 1:
            skus = rng.choice(per_group, size=min(per_group, int(rng.integers(2, 4))),
                              replace=False)
            usage[i, base + skus] = rng.integers(1, 3, skus.size)
        else:
            usage[i, base + int(rng.integers(0, per_group))] = 1
        splittable[i] = kind != "whole"
    one = shape == "binary"
    quantity = np.array([1 if one else int(rng.integers(1, 7)) for _ in range(n)],
                        dtype=np.int64)
    density = draw(st.floats(0.2, 0.95))
    top = {"binary": 1 << 20, "partial": 12, "thin": 4}[shape]
    stock = np.where(rng.random((m, n_skus)) < density, rng.integers(1, top + 1, (m, n_skus)), 0)
    hours = rng.choice([360, 720, 1440, 2880], m).astype(np.int64)
    cost = rng.integers(0, 4, m).astype(np.int64)
    reach = np.ones((int(group.max()) + 1, m), dtype=bool)
    if draw(st.booleans()):
        reach &= rng.random(reach.shape) < 0.8
    objective = ("children", *draw(st.sampled_from(TERMS)))
    return SplitProblem(quantity=quantity, usage=usage, splittable=splittable, group=group,
                        stock=stock.astype(np.int64), allowed=reach[group], hours=hours,
                        cost=cost, objective=objective,
                        fixed_makespan=draw(st.sampled_from([0, 0, 720])),
                        price=rng.integers(1, 9, (m, n_skus)).astype(np.int64))


def _search(monkeypatch: pytest.MonkeyPatch, small: bool, problem: SplitProblem,
            cap: int | None, limit: int | None, rows: np.ndarray | None = None,
            ) -> group_search.GroupOutcome:
    monkeypatch.setattr(group_search, "SMALL_KERNEL", small)
    items = np.arange(problem.n_items)
    # a fresh copy each time: the elements memo must not hide a difference
    fresh = problem.with_objective(problem.objective)
    return group_search.search_group(fresh, items, problem.objective[1:], cap, Deadline(60),
                                     rows, limit)


def _same(a: group_search.GroupOutcome, b: group_search.GroupOutcome) -> None:
    assert (a.wh is None) == (b.wh is None)
    if a.wh is not None and b.wh is not None:
        assert a.wh.tolist() == b.wh.tolist()
    assert (a.key, a.proven, a.count_proven, a.nodes) == (b.key, b.proven, b.count_proven,
                                                            b.nodes)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(problems(), st.data())
def test_small_group_matches_the_python_path(monkeypatch: pytest.MonkeyPatch,
                                             problem: SplitProblem, data: st.DataObject) -> None:
    problem = problem.with_objective(problem.objective)
    one_group = SplitProblem(
        quantity=problem.quantity, usage=problem.usage, splittable=problem.splittable,
        group=np.zeros(problem.n_items, dtype=np.int64),
        stock=problem.stock, allowed=np.repeat(problem.allowed[:1], problem.n_items, axis=0),
        hours=problem.hours, cost=problem.cost, objective=problem.objective,
        price=problem.prices)
    cap = data.draw(st.sampled_from([None, 720, 1440, 2880]))
    limit = data.draw(st.sampled_from([None, None, *range(1, one_group.n_warehouses + 1)]))
    _same(_search(monkeypatch, True, one_group, cap, limit),
          _search(monkeypatch, False, one_group, cap, limit))
    plain = _search(monkeypatch, False, one_group, None, None)
    if plain.wh is not None:  # that plan as an incumbent (under the cap: maybe outside it)
        rows = group_search.fill_group(one_group, np.arange(one_group.n_items), plain.wh,
                                       one_group.stock.copy())
        if rows is not None:
            _same(_search(monkeypatch, True, one_group, cap, None, rows),
                  _search(monkeypatch, False, one_group, cap, None, rows))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(problems(n_groups=3))
def test_small_order_matches_the_python_path(monkeypatch: pytest.MonkeyPatch,
                                             problem: SplitProblem) -> None:
    """The combination search of a whole order (both makespan phases, every group, the
    fill): the same plan, proof, bound, nodes and infeasibility with the one-call order
    search as without it."""
    out = []
    for small in (True, False):
        monkeypatch.setattr(group_search, "SMALL_KERNEL", small)
        out.append(combination_search(problem.with_objective(problem.objective),
                                      Deadline(60)))
    a, b = out
    assert (a.assignment is None) == (b.assignment is None)
    if a.assignment is not None and b.assignment is not None:
        assert np.array_equal(a.assignment, b.assignment)
    assert (a.proven, a.children_bound, a.nodes, a.infeasible) == (
        b.proven, b.children_bound, b.nodes, b.infeasible)
    if a.objective is not None:  # worked out in the kernel: what evaluate gives
        assert a.assignment is not None
        assert a.objective == evaluate(problem, a.assignment)


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(problems(n_groups=3))
def test_auto_plans_are_the_same_with_and_without_it(monkeypatch: pytest.MonkeyPatch,
                                                     problem: SplitProblem) -> None:
    """Whole orders (up to three groups; fragments last as by default) under ``auto``:
    the same plan and status with the one-call search as without it."""
    full = problem.with_objective((*problem.objective, "fragments"))
    out = []
    for small in (True, False):
        monkeypatch.setattr(group_search, "SMALL_KERNEL", small)
        res = solve_problem(full.with_objective(full.objective), "auto", Deadline(60))
        out.append(res)
    a, b = out
    assert a.status == b.status
    assert (a.assignment is None) == (b.assignment is None)
    if a.assignment is not None and b.assignment is not None:
        assert np.array_equal(a.assignment, b.assignment)


def _plain_group() -> SplitProblem:
    stock = np.array([[2, 0], [1, 3], [0, 1], [2, 2]], dtype=np.int64)
    return SplitProblem(quantity=np.array([3, 3], dtype=np.int64), usage=np.eye(2, dtype=np.int64),
                        splittable=np.ones(2, bool), group=np.zeros(2, dtype=np.int64),
                        stock=stock, allowed=np.ones((2, 4), bool),
                        hours=np.array([360, 720, 720, 1440], dtype=np.int64),
                        cost=np.zeros(4, dtype=np.int64))


def test_small_groups_take_the_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small group goes through the one call (else the tests above would compare the
    Python path with itself), with an incumbent too; a priced one or one under a work
    budget does not."""
    calls = []
    real = group_kernel.small_group

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(group_search.group_kernel, "small_group", counted)
    problem = _plain_group()
    items = np.arange(2)
    terms = ("makespan", "unit_hours")
    out = group_search.search_group(problem, items, terms, None, Deadline(60), None)
    assert calls == [1] and out.proven and out.key is not None and out.key[0] == 2
    assert out.wh is not None
    rows = group_search.fill_group(problem, items, out.wh, problem.stock.copy())
    group_search.search_group(problem, items, terms, None, Deadline(60), rows)
    assert calls == [1, 1]
    group_search.search_group(problem, items, terms, None, WorkBudget(10_000), None)
    priced = SplitProblem(**{**{f: getattr(problem, f) for f in (
        "quantity", "usage", "splittable", "group", "stock", "allowed", "hours", "cost")},
        "objective": ("children", "stock_value"),
        "price": np.array([[1, 2], [3, 1], [2, 2], [1, 1]], dtype=np.int64)})
    group_search.search_group(priced, items, ("stock_value",), None, Deadline(60), None)
    assert calls == [1, 1]


def test_an_expired_deadline_proves_nothing() -> None:
    """With the deadline already passed while the data is built, the group comes back
    unproven and without a set, as on the Python path."""
    problem = _plain_group()
    out = group_search.search_group(problem, np.arange(2), ("makespan",), None, Deadline(0),
                                    None)
    assert out.wh is None and not out.proven and not out.count_proven


def test_small_orders_take_the_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A coverable order of two groups goes through the one-call order search (else the
    order test above would compare the Python path with itself); a priced one does not."""
    calls = []
    real = group_kernel.small_order

    def counted(*args: object) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(group_search.group_kernel, "small_order", counted)
    stock = np.array([[2, 0, 1], [1, 3, 0], [0, 1, 1], [2, 2, 1]], dtype=np.int64)
    problem = SplitProblem(quantity=np.array([3, 3, 1], dtype=np.int64),
                           usage=np.eye(3, dtype=np.int64), splittable=np.ones(3, bool),
                           group=np.array([0, 0, 1], dtype=np.int64), stock=stock,
                           allowed=np.ones((3, 4), bool),
                           hours=np.array([360, 720, 720, 1440], dtype=np.int64),
                           cost=np.zeros(4, dtype=np.int64),
                           objective=("children", "makespan", "unit_hours"))
    out = combination_search(problem, Deadline(60))
    assert calls == [1] and out.proven and out.assignment is not None
    assert out.assignment.sum(axis=1).tolist() == [3, 3, 1]
    assert out.objective == evaluate(problem, out.assignment)  # not declined (array types)
    priced = SplitProblem(**{**{f: getattr(problem, f) for f in (
        "quantity", "usage", "splittable", "group", "stock", "allowed", "hours", "cost")},
        "objective": ("children", "stock_value"),
        "price": np.array([[1, 2, 1], [3, 1, 1], [2, 2, 1], [1, 1, 2]], dtype=np.int64)})
    combination_search(priced, Deadline(60))
    assert calls == [1]
