"""Contended stock: a bundle or an unsplittable line sharing a SKU with other items.

The combination search splits such an order into placement cases (where the contended
item ships), each an exact covering problem. These tests hold it to CP-SAT on orders too
large for brute force, check that every case's plan fits the real stock, and pin the
instance that the relaxation gets wrong.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ordersplit.solver import combination, contention
from ordersplit.solver.combination import combination_search
from ordersplit.solver.contention import contended_items, fits, placement_cases
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline


def contended_problem(rng: np.random.Generator, objective: tuple[str, ...]) -> SplitProblem:
    """Plain lines of ``k`` SKUs plus one or two bundles made of the same SKUs, in one
    or two groups, with thin stock so that bundle and lines compete."""
    k = int(rng.integers(2, 6))
    m = int(rng.integers(3, 8))
    n_bundles = int(rng.integers(1, 3))
    n = k + n_bundles
    usage = np.zeros((n, k), dtype=np.int64)
    usage[np.arange(k), np.arange(k)] = 1
    splittable = np.ones(n, dtype=bool)
    for b in range(k, n):
        comps = rng.choice(k, size=int(rng.integers(1, min(3, k) + 1)), replace=False)
        usage[b, comps] = rng.integers(1, 3, comps.size)
        splittable[b] = False
    quantity = rng.integers(1, 3, n).astype(np.int64)
    quantity[k:] = 1
    stock = rng.integers(0, 4, (m, k)) * (rng.random((m, k)) < 0.6)
    need = (usage * quantity[:, None]).sum(axis=0)
    stock[0] = np.maximum(stock[0], need)  # a plan always exists
    groups = rng.integers(0, 2, n) if rng.random() < 0.3 else np.zeros(n, dtype=np.int64)
    groups[:k] = groups[0]  # plain lines of one SKU never sit in two groups here
    return SplitProblem(
        quantity=quantity, usage=usage, splittable=splittable,
        group=groups.astype(np.int64), stock=stock.astype(np.int64),
        allowed=np.ones((n, m), dtype=bool),
        hours=(rng.integers(1, 6, m) * 360).astype(np.int64),
        cost=rng.integers(0, 4, m).astype(np.int64), objective=objective,
    )


OBJECTIVES = [("children", "makespan", "unit_hours"), ("children", "cost"),
              ("children", "unit_hours", "makespan")]


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_placement_cases_reach_the_cpsat_optimum(objective):
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(80):
        problem = contended_problem(rng, objective)
        if problem.coverable:
            continue
        assert placement_cases(problem), "one SKU per group: placing the items must do"
        out = combination_search(problem, Deadline(60))
        assert out.proven and out.assignment is not None
        assert violations(problem, out.assignment) == []
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert ref.status.value == "optimal" and ref.assignment is not None
        got = evaluate(problem, out.assignment).key(objective)
        assert got == evaluate(problem, ref.assignment).key(objective)
        assert out.children_bound == got[0]
        checked += 1
    assert checked >= 40


def test_every_case_plan_fits_the_real_stock():
    rng = np.random.default_rng(5)
    for _ in range(60):
        problem = contended_problem(rng, OBJECTIVES[0])
        for case in placement_cases(problem) or []:
            out = combination_search(case.problem, Deadline(60))
            if out.assignment is not None:
                assert fits(problem, out.assignment), case.placement


def test_the_relaxation_is_beaten_by_placing_the_bundle():
    """Warehouse 0 holds one unit of SKU 0: enough for the line or the bundle, not both.
    Each alone fits in warehouse 0, so the relaxation opens one child; the truth is two."""
    problem = SplitProblem(
        quantity=np.array([1, 1, 1], dtype=np.int64),
        usage=np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int64),  # line, line, bundle
        splittable=np.array([True, True, False]),
        group=np.zeros(3, dtype=np.int64),
        stock=np.array([[1, 2], [1, 0], [0, 1]], dtype=np.int64),
        allowed=np.ones((3, 3), dtype=bool),
        hours=np.array([360, 720, 1080], dtype=np.int64),
        cost=np.zeros(3, dtype=np.int64),
    )
    assert list(contended_items(problem)) == [2]
    out = combination_search(problem, Deadline(60))
    assert out.proven and out.assignment is not None
    got = evaluate(problem, out.assignment)
    assert got.children == 2 and out.children_bound == 2
    assert got.makespan == 720  # the line of SKU 0 from warehouse 1, the rest from 0
    assert out.assignment[2, 0] == 1


def test_too_many_cases_fall_back_to_the_relaxation(monkeypatch):
    """Above the case limit the relaxation is searched: its plan is valid, and it claims
    optimality only when it reaches the relaxation's bound (then CP-SAT agrees)."""
    monkeypatch.setattr(contention, "MAX_CASES", 1)
    rng = np.random.default_rng(3)
    fell_back = 0
    for _ in range(40):
        problem = contended_problem(rng, OBJECTIVES[0])
        if problem.coverable or placement_cases(problem) is not None:
            continue
        fell_back += 1
        out = combination_search(problem, Deadline(60))
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert ref.assignment is not None
        best = evaluate(problem, ref.assignment).key(OBJECTIVES[0])
        assert out.children_bound <= best[0]
        if out.assignment is not None:
            assert violations(problem, out.assignment) == []
            got = evaluate(problem, out.assignment).key(OBJECTIVES[0])
            assert got == best if out.proven else got >= best
    assert fell_back >= 10


def shared_sku_problem(rng: np.random.Generator, objective: tuple[str, ...]) -> SplitProblem:
    """Plain lines in two groups with at least one SKU in both (a bundle's components
    shipped separately beside a line of the same SKU), thin stock."""
    k = int(rng.integers(1, 4))
    m = int(rng.integers(2, 7))
    skus = [0] + [int(s) for s in rng.integers(0, k, int(rng.integers(1, 5)))]
    groups = [0, 1] + [int(g) for g in rng.integers(0, 2, len(skus) - 1)]
    skus = [0, *skus]
    n = len(skus)
    usage = np.zeros((n, k), dtype=np.int64)
    usage[np.arange(n), skus] = 1
    quantity = rng.integers(1, 4, n).astype(np.int64)
    stock = rng.integers(0, 5, (m, k)) * (rng.random((m, k)) < 0.7)
    need = (usage * quantity[:, None]).sum(axis=0)
    stock[m - 1] = np.maximum(stock[m - 1], need)  # a plan always exists
    return SplitProblem(
        quantity=quantity, usage=usage, splittable=np.ones(n, dtype=bool),
        group=np.array(groups, dtype=np.int64), stock=stock.astype(np.int64),
        allowed=np.ones((n, m), dtype=bool),
        hours=(rng.integers(1, 6, m) * 360).astype(np.int64),
        cost=rng.integers(0, 4, m).astype(np.int64), objective=objective,
    )


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_sku_shared_by_two_groups_against_cpsat(objective):
    """One SKU in plain lines of two groups: the search proves a plan only when it is
    CP-SAT's optimum, its children bound never exceeds the optimum, and ``auto`` (which
    goes on to a MIP when the search cannot prove) always reaches the optimum. Most
    such orders are proven by the search itself (the joint fill of the shared stock)."""
    rng = np.random.default_rng(17)
    proven = checked = 0
    for _ in range(60):
        problem = shared_sku_problem(rng, objective)
        assert not problem.coverable and placement_cases(problem) is None
        ref = solve_problem(problem, "cpsat", Deadline(20))
        assert ref.status.value == "optimal" and ref.assignment is not None
        best = evaluate(problem, ref.assignment).key(objective)
        out = combination_search(problem, Deadline(10))
        assert out.children_bound <= best[0]
        if out.assignment is not None:
            assert violations(problem, out.assignment) == []
            got = evaluate(problem, out.assignment).key(objective)
            assert got == best if out.proven else got >= best
        proven += out.proven
        auto = solve_problem(problem, "auto", Deadline(20))
        assert auto.status.value == "optimal" and auto.assignment is not None
        assert evaluate(problem, auto.assignment).key(objective) == best
        checked += 1
    assert checked == 60 and proven >= 30


@pytest.mark.parametrize("objective", [("children", "makespan", "unit_hours", "fragments"),
                                       ("children", "fragments")])
def test_contended_orders_settle_fragments_case_by_case(objective, monkeypatch):
    """With line fragments last, ``auto`` settles them over the placement cases that
    reach the proven head terms: the plan equals CP-SAT's optimum on every term."""
    from ordersplit.solver import portfolio

    settled = []
    real = portfolio.settle_cases

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        settled.append(out is not None)
        return out

    monkeypatch.setattr(portfolio, "settle_cases", spy)
    rng = np.random.default_rng(23)
    checked = 0
    for _ in range(80):
        problem = contended_problem(rng, objective)
        k = problem.n_skus  # lines of 1-4 units, so that lines can split
        quantity = problem.quantity.copy()
        quantity[:k] = rng.integers(1, 5, k)
        stock = problem.stock.copy()
        stock[0] = np.maximum(stock[0], (problem.usage * quantity[:, None]).sum(axis=0))
        problem = dataclasses.replace(problem, quantity=quantity, stock=stock)
        if problem.coverable:
            continue
        got = solve_problem(problem, "auto", Deadline(60))
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert ref.status.value == "optimal" and ref.assignment is not None
        assert got.status.value == "optimal" and got.assignment is not None
        assert violations(problem, got.assignment) == []
        assert evaluate(problem, got.assignment).key(objective) == evaluate(
            problem, ref.assignment).key(objective)
        checked += 1
    assert checked >= 40
    assert sum(settled) >= 10, "the case-by-case settlement must carry some of them"


def two_group_problem(rng: np.random.Generator, objective: tuple[str, ...]) -> SplitProblem:
    """Two or three groups of plain lines, a bundle in each of the first two sharing
    that group's SKUs, thin stock over 6-11 warehouses: tens of placement cases, each
    group's data the same in every case that places its own bundle alike."""
    m = int(rng.integers(6, 12))
    n_groups = int(rng.integers(2, 4))
    per = [int(rng.integers(2, 4)) for _ in range(n_groups)]
    k = sum(per)
    first = np.cumsum([0, *per])
    rows, groups, splittable, quantity = [], [], [], []
    for g in range(n_groups):
        for s in range(first[g], first[g + 1]):
            row = np.zeros(k, dtype=np.int64)
            row[s] = 1
            rows.append(row)
            groups.append(g)
            splittable.append(True)
            quantity.append(int(rng.integers(1, 4)))
    for g in range(min(2, n_groups)):  # a bundle of two of the group's SKUs
        comps = rng.choice(np.arange(first[g], first[g + 1]), size=2, replace=False)
        row = np.zeros(k, dtype=np.int64)
        row[comps] = 1
        rows.append(row)
        groups.append(g)
        splittable.append(False)
        quantity.append(1)
    usage = np.array(rows, dtype=np.int64)
    q = np.array(quantity, dtype=np.int64)
    stock = rng.integers(1, 5, (m, k)) * (rng.random((m, k)) < 0.6)
    stock[0] = np.maximum(stock[0], (usage * q[:, None]).sum(axis=0))  # a plan exists
    n = usage.shape[0]
    return SplitProblem(
        quantity=q, usage=usage, splittable=np.array(splittable), group=np.array(groups),
        stock=stock.astype(np.int64), allowed=np.ones((n, m), dtype=bool),
        hours=(rng.integers(1, 9, m) * 360).astype(np.int64),
        cost=rng.integers(0, 4, m).astype(np.int64), objective=objective)


@pytest.mark.parametrize("count_first", [False, True])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_bounded_and_shared_cases_keep_every_tie(objective, count_first, monkeypatch):
    """The cases searched in order of their makespan floor, those beyond the best left
    out, group outcomes shared between cases (with the count pass of large orders
    too): the plan, its proof and its ties are those of searching every case on its
    own (ties in case order), and CP-SAT agrees."""
    if count_first:
        monkeypatch.setattr(combination, "COUNT_FIRST_CELLS", 0)
    rng = np.random.default_rng(29)
    checked = many = 0
    for _ in range(40):
        problem = two_group_problem(rng, objective)
        cases = placement_cases(problem)
        if problem.coverable or not cases:
            continue
        out = combination_search(problem, Deadline(60))
        alone = []
        for case in cases:
            one = combination_search(case.problem, Deadline(60))
            assert one.proven or one.assignment is None
            if one.assignment is not None:
                alone.append((evaluate(problem, one.assignment).key(objective), one.assignment))
        best = min(key for key, _ in alone)
        ties = [x for key, x in alone if key == best]
        assert out.proven and out.assignment is not None
        assert evaluate(problem, out.assignment).key(objective) == best
        np.testing.assert_array_equal(out.assignment, ties[0])
        assert len(out.ties) == len(ties)
        for (_, got), want in zip(out.ties, ties, strict=True):
            np.testing.assert_array_equal(got, want)
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert ref.status.value == "optimal" and ref.assignment is not None
        assert evaluate(problem, ref.assignment).key(objective) == best
        checked += 1
        many += len(cases) > 16
    assert checked >= 25 and many >= 5
