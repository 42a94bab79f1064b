"""The exact shortcuts (bundles as single SKUs, the fastest fill) match CP-SAT's optimum."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ordersplit.batch import batch_from_json
from ordersplit.batch.model import clipped_view, request_for
from ordersplit.batch.reduce import fastest_fill, merge_bundles, solve_exact
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline

FASTEST = ("makespan", "unit_hours", "children")
CHILDREN = ("children", "makespan", "unit_hours")


def problem(rng: np.random.Generator, objective: tuple[str, ...], bundles: int,
            share: bool) -> SplitProblem:
    """A random problem: plain single-SKU items, ``bundles`` unsplittable two-SKU items
    (their components also sold plain when ``share``), 2 groups, 5 locations whose hours
    tie often."""
    n_plain, m = int(rng.integers(1, 4)), 5
    n_skus = n_plain + 2 * bundles
    rows, split = [], []
    for i in range(n_plain):
        row = np.zeros(n_skus, dtype=np.int64)
        row[i] = 1
        rows.append(row)
        split.append(True)
    for b in range(bundles):
        row = np.zeros(n_skus, dtype=np.int64)
        row[n_plain + 2 * b] = 1
        row[n_plain + 2 * b + 1] = int(rng.integers(1, 3))
        if share and n_plain:
            row[0] = 1  # a component that a plain item also uses
        rows.append(row)
        split.append(False)
    n = len(rows)
    stock = rng.integers(0, 4, size=(m, n_skus)) * (rng.random((m, n_skus)) < 0.7)
    stock[0] = 6  # one location holds enough of everything: always feasible
    group = np.array([i % 2 for i in range(n_plain)] + [0] * bundles, dtype=np.int64)
    group = np.unique(group, return_inverse=True)[1].astype(np.int64)
    return SplitProblem(
        quantity=rng.integers(1, 3, size=n).astype(np.int64), usage=np.array(rows),
        splittable=np.array(split), group=group, stock=stock.astype(np.int64),
        allowed=np.ones((n, m), dtype=bool), hours=rng.choice([10, 20, 20, 30], size=m),
        cost=rng.integers(1, 4, size=m).astype(np.int64), objective=objective)


@pytest.mark.parametrize("objective", [CHILDREN, FASTEST, (*FASTEST, "cost"),
                                       ("makespan", "unit_hours"), (*FASTEST, "fragments"),
                                       (*FASTEST, "cost", "fragments"),
                                       ("makespan", "unit_hours", "fragments")])
@pytest.mark.parametrize("share", [False, True])
def test_shortcuts_reach_the_cpsat_optimum(objective: tuple[str, ...], share: bool) -> None:
    rng = np.random.default_rng(len(objective) + 10 * share)
    shortcut = 0
    for _ in range(40):
        p = problem(rng, objective, int(rng.integers(0, 3)), share)
        exact = solve_problem(p, "cpsat", Deadline(60))
        assert exact.status == "optimal" and exact.objective is not None
        got = solve_exact(p, "auto", Deadline(60))
        assert got.assignment is not None and got.objective is not None
        assert violations(p, got.assignment) == []
        assert got.objective.key(objective) == exact.objective.key(objective)
        assert got.objective == evaluate(p, got.assignment)
        shortcut += got.backend in ("fill", "combination")
    assert shortcut > 10


def test_fastest_fill_takes_the_rest_from_the_fewest_tied_locations() -> None:
    """Delivery, children, then fragments (the compiler's last term). X (demand 5) has
    2 units at hours 10 and the rest at hours 20: 1 at location 1, 3 at location 2, 3 at
    location 3. One child more either way; 3 units from one location (2 or 3) keep the
    line in two pieces, where the first locations by index (1, then 2) would make it
    three."""
    p = SplitProblem(
        quantity=np.array([5]), usage=np.array([[1]]), splittable=np.array([True]),
        group=np.array([0]), stock=np.array([[2], [1], [3], [3]]),
        allowed=np.ones((1, 4), dtype=bool), hours=np.array([10, 20, 20, 20]),
        cost=np.zeros(4, dtype=np.int64), objective=(*FASTEST, "fragments"))
    x = fastest_fill(p)
    assert x is not None
    assert x.tolist() == [[2, 0, 3, 0]]
    exact = solve_problem(p, "cpsat", Deadline(60))
    assert exact.objective is not None
    assert evaluate(p, x).key(p.objective) == exact.objective.key(p.objective)


SHARED_SKU = SplitProblem(
    quantity=np.array([2, 3]), usage=np.array([[1], [1]]),
    splittable=np.array([True, True]), group=np.array([0, 0]),
    stock=np.array([[3], [2]]), allowed=np.ones((2, 2), dtype=bool),
    hours=np.array([10, 20]), cost=np.zeros(2, dtype=np.int64),
    objective=(*FASTEST, "fragments"))
"""Two lines of one SKU (2 and 3 units); location 0 (hours 10) holds 3, location 1
(hours 20) holds 2. Every fastest fill takes 3 from 0 and 2 from 1; handing out line by
line splits the second line, while 3 from 0 to the second line and 2 from 1 to the first
keeps both whole."""

SHARED_SKU_COMPONENTS = SplitProblem(
    quantity=np.array([2, 2, 2]), usage=np.array([[1, 0], [0, 1], [1, 0]]),
    splittable=np.array([True, True, True]), group=np.array([0, 0, 0]),
    stock=np.array([[2, 0], [2, 2]]), allowed=np.ones((3, 2), dtype=bool),
    hours=np.array([10, 20]), cost=np.zeros(2, dtype=np.int64),
    objective=(*FASTEST, "fragments"), line=np.array([0, 0, 1]))
"""Line 0 has items A (SKU a, 2 units) and B (SKU b, 2 units); line 1 is item C (SKU a,
2 units). Location 0 (hours 10) holds a: 2; location 1 (hours 20) holds a: 2 and b: 2.
Handing SKU a out item by item sends A to 0 and C to 1, each item whole, yet line 0
ships from two locations; C from 0 and A from 1 keeps line 0 whole."""


@pytest.mark.parametrize("p", [SHARED_SKU, SHARED_SKU_COMPONENTS],
                         ids=["shared-sku", "shared-sku-components"])
def test_fastest_fill_never_claims_fragments_it_did_not_minimise(p: SplitProblem) -> None:
    """The fill's line-by-line hand-out leaves a fragment that another hand-out avoids:
    ``auto`` must reach CP-SAT's optimum (no fragments), not report the fill's."""
    exact = solve_problem(p, "cpsat", Deadline(60))
    assert exact.status == "optimal" and exact.objective is not None
    assert exact.objective.fragments == 0
    got = solve_exact(p, "auto", Deadline(60))
    assert got.objective is not None and got.assignment is not None
    assert got.objective.key(p.objective) == exact.objective.key(p.objective)


def test_merged_bundle_ships_whole_from_one_location() -> None:
    """A bundle of X (1 per unit) and Y (2 per unit), quantity 2: only location 1 holds
    both for 2 units; location 0 holds X for 2 but Y for 1 unit only."""
    p = SplitProblem(
        quantity=np.array([2]), usage=np.array([[1, 2]]), splittable=np.array([False]),
        group=np.array([0]), stock=np.array([[2, 2], [2, 4]]),
        allowed=np.ones((1, 2), dtype=bool), hours=np.array([10, 20]), cost=np.zeros(2,
        dtype=np.int64), objective=CHILDREN)
    reduced = merge_bundles(p)
    assert reduced is not None and reduced.simple
    assert reduced.stock[:, -1].tolist() == [0, 2]
    res = solve_exact(p, "auto", Deadline(60))
    assert res.assignment is not None
    assert res.assignment.tolist() == [[0, 2]]


def test_fastest_fill_opens_a_tied_location_the_group_already_uses() -> None:
    """Delivery first, one group. Y (demand 2) has 1 unit at location 1 (hours 10) and 1
    at each of locations 2 and 3 (hours 20); Z (demand 1) is only at location 3. Y's
    second unit must come from hours 20: from location 3, already open for Z, it saves
    a child over location 2 (the first by index)."""
    stock = np.array([[0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 1]])
    p = SplitProblem(
        quantity=np.array([2, 1]), usage=np.array([[0, 1, 0], [0, 0, 1]]),
        splittable=np.array([True, True]), group=np.array([0, 0]), stock=stock,
        allowed=np.ones((2, 4), dtype=bool), hours=np.array([10, 10, 20, 20]),
        cost=np.zeros(4, dtype=np.int64), objective=FASTEST)
    x = fastest_fill(p)
    assert x is not None
    assert x.tolist() == [[0, 1, 0, 1], [0, 0, 0, 1]]
    assert evaluate(p, x).children == 2


def test_shortcut_plans_in_a_scenario_match_the_portfolio(small: dict[str, Any]) -> None:
    batch = batch_from_json(small)
    world = batch.world
    rng = np.random.default_rng(3)
    used = 0
    for tpl in batch.templates:
        full = clipped_view(tpl, world.stock)
        for view in (full, full * (rng.random(full.shape) < 0.6)):
            prob = compile_request(request_for(world, tpl, view)[0]).problem
            if prob.n_items == 0 or (merge_bundles(prob) is None
                                     and prob.objective[0] == "children"):
                continue
            got = solve_exact(prob, "auto", Deadline(60))
            ref = solve_problem(prob, "auto", Deadline(60))
            assert got.objective is not None and ref.objective is not None
            if ref.status == "optimal":
                assert got.objective.key(prob.objective) == ref.objective.key(prob.objective)
            used += 1
    assert used > 5
