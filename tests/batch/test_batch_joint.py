"""Joint re-allocation (:mod:`ordersplit.batch.joint`): exact on tiny batches, never
oversells, and finds trades that need several orders to give way at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ordersplit.batch import batch_from_json, reoptimize
from ordersplit.batch.bound import withholding_orders
from ordersplit.batch.joint import JointOrder, allocate, joint_groups, shipping_avail
from ordersplit.batch.ledger import Ledger, check_no_oversell
from ordersplit.batch.model import OrderPlan, clipped_view, safe_solve
from ordersplit.batch.search import BatchState, lower_bound_plans, sequential_plans
from tests.batch.test_batch_bound import brute_force, tiny_batch

Order = Callable[[str, list[tuple[str, str, int]]], dict[str, Any]]


def sequential(data: dict[str, Any]) -> tuple[BatchState, list[OrderPlan]]:
    batch = batch_from_json(data)
    state = BatchState(batch.world, tuple(batch.templates), 5.0)
    lower = lower_bound_plans(state, range(len(batch.templates)))
    plans, _ = sequential_plans(state, lower, Ledger.full(batch.world.stock))
    return state, plans


def reallocate(state: BatchState, plans: list[OrderPlan]) -> list[OrderPlan] | None:
    """Every order of the batch in one joint model; the orders re-split against the
    views it returns (``None``: it found nothing better)."""
    world = state.world
    residual = world.stock.copy()  # every plan released: the whole stock
    orders = []
    for o, tpl in enumerate(state.templates):
        groups = joint_groups(tpl)
        assert groups is not None
        orders.append(JointOrder(tpl, groups, plans[o],
                                 shipping_avail(world, tpl, clipped_view(tpl, residual))))
    views = allocate(world, orders, np.arange(world.stock.shape[1]), residual, limit_s=5.0)
    if views is None:
        return None
    for view in views:
        assert (view >= 0).all()
    new = [safe_solve(world, tpl, v, 5.0) for tpl, v in zip(state.templates, views, strict=True)]
    check_no_oversell(world.stock, new)
    return new


def waiting(state: BatchState, plans: list[OrderPlan]) -> int:
    return sum(int(t.demand.sum() - p.use_units.sum())
               for t, p in zip(state.templates, plans, strict=True))


def test_three_orders_trade_that_pairs_cannot_make(make_order: Order) -> None:
    """A takes X from W1 and W2 (two children); B (X with Y, at W1) and C (X with Z, at
    W2) each wait for X (two children each): 6 in all. Jointly A waits whole and B and
    C ship whole: 3 children, as many units waiting (2)."""
    whs = [{"id": "W1", "stock": {"X": 1, "Y": 1}, "delivery_hours": {"*": 10}},
           {"id": "W2", "stock": {"X": 1, "Z": 1}, "delivery_hours": {"*": 10}}]
    data = {"requests": [make_order("A", [("L1", "X", 2)]),
                         make_order("B", [("L1", "X", 1), ("L2", "Y", 1)]),
                         make_order("C", [("L1", "X", 1), ("L2", "Z", 1)])],
            "warehouses": whs}
    state, seq = sequential(data)
    assert [p.children for p in seq] == [2, 2, 2]
    new = reallocate(state, seq)
    assert new is not None
    assert [p.children for p in new] == [1, 1, 1]
    assert waiting(state, new) == waiting(state, seq) == 2
    assert reallocate(state, new) is None  # nothing better is left


def test_joint_allocation_reaches_the_brute_force_optimum() -> None:
    """All the orders of a tiny batch in one model: the re-split plans have the least
    children of any joint assignment without withholding that leaves no more units
    waiting than sequential splitting (brute force), or sequential splitting already has
    them; and they withhold nothing."""
    rng = np.random.default_rng(11)
    improved = 0
    for _ in range(40):
        data = tiny_batch(rng)
        state, seq = sequential(data)
        cap = waiting(state, seq)
        best = min(c for w, c in brute_force(data, no_withholding=True).items() if w <= cap)
        new = reallocate(state, seq)
        final = seq if new is None else new
        assert waiting(state, final) <= cap
        assert withholding_orders(state.world, state.templates, final, [True] * len(final)) == 0
        assert sum(p.children for p in final) == best, data
        improved += new is not None and sum(p.children for p in new) < sum(
            p.children for p in seq)
    assert improved > 0  # the model did find trades, not only confirm


def test_orders_the_model_cannot_hold_stay_out(make_order: Order) -> None:
    bundle = make_order("K", [("L1", "KIT", 1)])
    bundle["catalog"]["KIT"] = {"components": [{"sku": "X", "quantity": 1},
                                               {"sku": "Y", "quantity": 1}]}
    bundle["catalog"].update({"X": {}, "Y": {}})
    waits = make_order("W", [("L1", "X", 1)])
    waits["order"]["backorder"] = "wait"
    fastest = make_order("F", [("L1", "X", 1)])
    fastest["order"]["preference"] = "fastest"
    plain = make_order("P", [("L1", "X", 1), ("L2", "Y", 2)])
    whs = [{"id": "W1", "stock": {"X": 3, "Y": 3}, "delivery_hours": {"*": 10}}]
    batch = batch_from_json({"requests": [bundle, waits, fastest, plain], "warehouses": whs})
    groups = [joint_groups(t) for t in batch.templates]
    assert groups[:3] == [None, None, None]
    assert groups[3] is not None and groups[3].tolist() == [0, 0]


def test_joint_moves_run_in_the_search_and_never_oversell(small_scarce: dict[str, Any]) -> None:
    res = reoptimize(small_scarce, time_limit_s=60)
    s = res.summary
    assert s["children_batch"] <= s["children_sequential"]
    assert s["backorder_units_batch"] <= s["backorder_units_sequential"]
    assert s.get("moves_tried_joint", 0) > 0
    assert s["withholding_orders_sequential"] == 0
