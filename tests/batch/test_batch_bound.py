"""The joint lower bound is valid: never above the brute-force joint optimum on tiny batches."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ordersplit.batch import batch_from_json, reoptimize
from ordersplit.batch.bound import joint_bound
from ordersplit.batch.search import BatchState, lower_bound_plans

SKUS = ("X", "Y", "Z")
TEMPS = {"X": "ambient", "Y": "ambient", "Z": "chilled"}


MAX_ASSIGNMENTS = 4000
"""Instances with more joint assignments are drawn again (brute force stays quick)."""


def tiny_batch(rng: np.random.Generator) -> dict[str, Any]:
    """2-3 orders of 1-3 lines over 2-3 locations, stock often short (small enough for
    brute force)."""
    while True:
        data = _draw(rng)
        slots = len(data["warehouses"]) + 1
        size = 1
        for r in data["requests"]:
            for ln in r["order"]["lines"]:
                size *= len([c for c in itertools.product(range(ln["quantity"] + 1),
                                                          repeat=slots)
                             if sum(c) == ln["quantity"]])
        if size <= MAX_ASSIGNMENTS:
            return data


def _draw(rng: np.random.Generator) -> dict[str, Any]:
    n_loc = int(rng.integers(2, 4))
    whs = [{"id": f"W{w}", "delivery_hours": {"*": int(rng.integers(5, 40))},
            "stock": {s: int(rng.integers(0, 3)) for s in SKUS if rng.random() < 0.7}}
           for w in range(n_loc)]
    reqs = []
    for o in range(int(rng.integers(2, 4))):
        skus = rng.choice(SKUS, size=int(rng.integers(1, 4)), replace=False).tolist()
        lines = [{"id": f"L{i}", "sku": s, "quantity": int(rng.integers(1, 3)),
                  "unit_price": "1.00"} for i, s in enumerate(skus)]
        total = sum(ln["quantity"] for ln in lines)
        reqs.append({"order": {"id": f"O{o}", "currency": "USD", "destination": "city",
                               "lines": lines,
                               "payments": [{"method": "cash", "amount": f"{total}.00"}]},
                     "catalog": {s: {"temperature": TEMPS[s]} for s in skus}, "warehouses": []})
    return {"requests": reqs, "warehouses": whs}


def brute_force(data: dict[str, Any]) -> dict[int, int]:
    """Least children of any joint assignment, per number of units left waiting.

    Every unit of every line ships from some location or waits; a child is a (rule
    group, location) that ships something, plus one back-order child per rule group
    with waiting units. This allows more than exact per-order splits do, so its
    optimum is at most the joint optimum the bound must stay under.
    """
    locs = [w["id"] for w in data["warehouses"]]
    stock = {(w["id"], s): q for w in data["warehouses"] for s, q in w["stock"].items()}
    lines = [(o, ln["sku"], ln["quantity"]) for o, r in enumerate(data["requests"])
             for ln in r["order"]["lines"]]
    slots = [*locs, None]

    def splits(q: int) -> list[tuple[int, ...]]:
        return [c for c in itertools.product(range(q + 1), repeat=len(slots)) if sum(c) == q]

    best: dict[int, int] = {}
    for combo in itertools.product(*(splits(q) for _, _, q in lines)):
        used: dict[tuple[str, str], int] = {}
        children: set[tuple[int, str, str | None]] = set()
        waiting = 0
        for (o, sku, _), units in zip(lines, combo, strict=True):
            for slot, u in zip(slots, units, strict=True):
                if u == 0:
                    continue
                children.add((o, TEMPS[sku], slot))
                if slot is None:
                    waiting += u
                else:
                    used[(slot, sku)] = used.get((slot, sku), 0) + u
        if any(u > stock.get(cell, 0) for cell, u in used.items()):
            continue
        best[waiting] = min(best.get(waiting, 10**9), len(children))
    return best


def test_joint_bound_never_exceeds_the_brute_force_optimum() -> None:
    rng = np.random.default_rng(7)
    above_group = 0
    for _ in range(60):
        data = tiny_batch(rng)
        batch = batch_from_json(data)
        state = BatchState(batch.world, tuple(batch.templates), 5.0)
        lower = lower_bound_plans(state, range(len(batch.templates)))
        ok = [True] * len(lower)
        best = brute_force(data)
        least_wait = min(best)
        for cap in sorted({least_wait, least_wait + 1, least_wait + 3, max(best)}):
            optimum = min(c for w, c in best.items() if w <= cap)
            bound = joint_bound(batch.world, batch.templates, lower, ok, cap)
            assert bound.children <= optimum, (data, cap, bound, best)
            assert bound.children >= bound.group
            above_group += bound.children > bound.group
    assert above_group > 0  # not only the trivial bound


def test_joint_bound_is_reported_and_used_for_the_gap(tiny: dict[str, Any]) -> None:
    s = reoptimize(tiny, time_limit_s=5, max_rounds=2).summary
    assert s["gap_bound"] == "joint"
    assert s["children_joint_bound"] == 2 == s["children_lower_bound"]
    assert s["gap_closed_pct"] == 100.0 == s["gap_closed_per_order_pct"]


def test_an_lp_too_large_for_its_budget_is_not_built(small: dict[str, Any]) -> None:
    """The small scenario's LP has hundreds of rows: with a budget worth a few rows it
    falls back to the group bound at once; with a normal budget it is solved."""
    batch = batch_from_json(small)
    state = BatchState(batch.world, tuple(batch.templates), 5.0)
    lower = lower_bound_plans(state, range(len(batch.templates)))
    ok = [not p.failed for p in lower]
    cap = 10**6
    solved = joint_bound(batch.world, batch.templates, lower, ok, cap, 60.0)
    assert solved.status == "optimal" and solved.lp_rows > 100
    skipped = joint_bound(batch.world, batch.templates, lower, ok, cap, 0.002)
    assert skipped.status == "too_large" and skipped.children == skipped.group
    assert skipped.lp_rows < solved.lp_rows
