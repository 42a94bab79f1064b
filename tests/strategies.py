"""Hypothesis strategies and plan checks shared by the test modules."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.solver.problem import SplitProblem

SKUS = ["A", "B", "C", "D", "E"]


@st.composite
def requests(draw: st.DrawFn, *, max_lines: int = 4, max_wh: int = 4, bundles: bool = True,
             rules_vary: bool = True, solver: str = "auto") -> dict[str, Any]:
    """A small valid split request in the contract's JSON shape."""
    n_lines = draw(st.integers(1, max_lines))
    catalog: dict[str, Any] = {}
    for sku in SKUS:
        catalog[sku] = {
            "merchant": draw(st.sampled_from(["m1", "m1", "m2"])),
            "temperature": draw(st.sampled_from(["ambient", "ambient", "chilled", "frozen"])),
            "bulky": draw(st.booleans()) and draw(st.booleans()),
            "offline_store": draw(st.integers(0, 9)) == 0,
            "cross_border": draw(st.integers(0, 6)) == 0,
        }
    if bundles and draw(st.booleans()):
        comps = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=2, unique=True))
        catalog["KIT"] = {"merchant": "m1", "components": [
            {"sku": c, "quantity": draw(st.integers(1, 2))} for c in comps]}
    line_skus = draw(st.lists(st.sampled_from(sorted(catalog)), min_size=n_lines,
                              max_size=n_lines))
    lines = []
    total = Decimal(0)
    for i, sku in enumerate(line_skus):
        qty = draw(st.integers(1, 3))
        price = Decimal(draw(st.integers(0, 5000))) / 100
        lines.append({"id": f"L{i}", "sku": sku, "quantity": qty, "unit_price": str(price)})
        total += price * qty
    n_wh = draw(st.integers(1, max_wh))
    warehouses = []
    for w in range(n_wh):
        stock = {s: draw(st.integers(0, 4)) for s in SKUS if draw(st.booleans())}
        hours = {"dest": draw(st.sampled_from([6, 12, 24, 48]))} if draw(
            st.integers(0, 5)) else {"*": 72}
        warehouses.append({"id": f"W{w}", "stock": stock, "delivery_hours": hours,
                           "child_cost": str(draw(st.integers(0, 20))),
                           "kind": "supplier" if draw(st.integers(0, 5)) == 0 else "warehouse"})
    if any(catalog[sku].get("offline_store") for sku in line_skus):  # a store to ship them
        stock = {s: draw(st.integers(0, 4)) for s in SKUS if draw(st.integers(0, 3))}
        warehouses.append({"id": "SHOP", "kind": "store", "stock": stock,
                           "delivery_hours": {"dest": 2}})
    rules = {r: (draw(st.integers(0, 3)) > 0) if rules_vary else True
             for r in ["merchant", "warehouse", "handling", "temperature", "bulky", "stock",
                       "offline_store", "bundle", "cross_border"]}
    return {
        "order": {"id": "T-1", "currency": "CNY", "destination": "dest",
                  "backorder": draw(st.sampled_from(["split", "split", "wait"])),
                  "preference": draw(st.sampled_from(["fewest_children", "fastest"])),
                  "lines": lines, "payments": [{"method": "cash", "amount": str(total)}]},
        "catalog": catalog,
        "warehouses": warehouses,
        "rules": rules,
        "options": {"solver": solver, "time_limit_ms": 60_000},
    }


def unit_needs(req: SplitRequest, line_index: int, component: str | None, qty: int) -> dict[str, int]:
    """SKU units a child line takes from stock."""
    line = req.order.lines[line_index]
    comps = req.catalog[line.sku].components
    if component is not None:
        return {component: qty}
    if comps:
        return {c.sku: c.quantity * qty for c in comps}
    return {line.sku: qty}


def check_plan(req: SplitRequest, plan: Plan) -> None:
    """Every invariant a plan must keep: quantities, stock, rules, lineage."""
    order, rules = req.order, req.rules
    index = {line.id: i for i, line in enumerate(order.lines)}
    ids = [c.id for c in plan.children]
    assert len(set(ids)) == len(ids)
    assert plan.objective.children == len(plan.children)
    assert plan.objective.children_lower_bound <= plan.objective.children
    assert plan.status in ("optimal", "feasible", "fallback")
    shipped: dict[tuple[str, str | None], int] = defaultdict(int)
    taken: dict[tuple[str, str], int] = defaultdict(int)
    for child in plan.children:
        assert child.parent_id == order.id and child.root_id == order.id and child.level == 2
        assert child.lines, "a child without lines"
        keys = set()
        for cl in child.lines:
            li = index[cl.line_id]
            item = req.catalog[order.lines[li].sku]
            assert cl.quantity > 0
            shipped[(cl.line_id, cl.sku if cl.component_of else None)] += cl.quantity
            keys.add((item.merchant if rules.merchant else None,
                      item.handling if rules.handling else None,
                      item.temperature if rules.temperature else None,
                      item.cross_border if rules.cross_border else None))
            if child.kind in ("shipment", "store"):
                assert child.warehouse is not None or not rules.warehouse
                for sku, units in unit_needs(req, li, cl.sku if cl.component_of else None,
                                             cl.quantity).items():
                    if child.warehouse is not None:
                        taken[(child.warehouse, sku)] += units
            if rules.bulky and item.bulky and child.kind == "shipment":
                assert len({x.line_id for x in child.lines}) == 1, "bulky line shares a child"
            store_line = rules.offline_store and item.offline_store
            if store_line:  # from a store that holds them, else waiting; never split
                assert child.kind in ("store", "backorder")
                assert all(req.catalog[order.lines[index[x.line_id]].sku].offline_store
                           for x in child.lines), "store lines share a child with others"
            if child.kind == "store":
                assert store_line
                assert child.warehouse is not None and child.warehouses == [child.warehouse]
                kind = next(w.kind for w in req.warehouses if w.id == child.warehouse)
                assert kind == "store"
        store_goods = rules.offline_store and any(
            req.catalog[order.lines[index[x.line_id]].sku].offline_store for x in child.lines)
        if not store_goods:  # store goods are never split, whatever their keys
            assert len(keys) == 1, f"child {child.id} mixes rule keys {keys}"
    holders = {c.id for c in plan.children for x in c.lines
               if rules.offline_store and req.catalog[order.lines[index[x.line_id]].sku]
               .offline_store}
    assert len(holders) <= 1, "offline-store goods were split"
    # every unit of every line is in exactly one place
    for li, line in enumerate(order.lines):
        comps = req.catalog[line.sku].components
        if comps and not rules.bundle and not (rules.offline_store and req.catalog[line.sku].offline_store):
            for c in comps:
                assert shipped[(line.id, c.sku)] == line.quantity * c.quantity
        else:
            assert shipped[(line.id, None)] == line.quantity, (line.id, dict(shipped))
            if comps and rules.bundle:
                holders = [c for c in plan.children if any(x.line_id == line.id for x in c.lines)]
                assert len(holders) == 1, "a bundle was split"
        del li
    if rules.stock:
        stock = {(w.id, s): q for w in req.warehouses for s, q in w.stock.items()}
        for (wid, sku), units in taken.items():
            assert units <= stock.get((wid, sku), 0), f"{wid} oversells {sku}"
    if plan.waits_for_stock:
        assert all(c.kind in ("backorder", "store") for c in plan.children)
    check_money(plan)


def check_money(plan: Plan) -> None:
    """Horizontal (children add up to the parent) and vertical (lines add up to their
    child) for every amount key, exactly."""
    keys = set(plan.parent.amounts)
    if not keys:
        return
    for key in keys:
        total = sum((Decimal(c.amounts[key]) for c in plan.children), Decimal(0))
        assert total == Decimal(plan.parent.amounts[key]), (key, total, plan.parent.amounts[key])
        for child in plan.children:
            lines = sum((Decimal(x.amounts[key]) for x in child.lines), Decimal(0))
            assert lines == Decimal(child.amounts[key]), (child.id, key)
    for child in [plan.parent, *plan.children]:
        a = {k: Decimal(v) for k, v in child.amounts.items()}
        paid = sum((v for k, v in a.items()
                    if k not in {"goods", "discount", "shipping_fee", "invoice", "tax"}), Decimal(0))
        assert paid == a["goods"] - a["discount"] + a["shipping_fee"], child


def brute_force(problem: SplitProblem) -> tuple[int, ...] | None:
    """The best lexicographic key over every feasible assignment (tiny problems only)."""
    from itertools import product

    from ordersplit.solver.evaluate import evaluate, is_feasible

    def splits(q: int, m: int, caps: np.ndarray, whole: bool) -> list[tuple[int, ...]]:
        out = []
        for combo in product(*(range(int(min(q, c)) + 1) for c in caps)):
            if sum(combo) == q and (not whole or sum(1 for v in combo if v) <= 1):
                out.append(combo)
        return out

    options = [splits(int(problem.quantity[i]), problem.n_warehouses, problem.capacity[i],
                      not bool(problem.splittable[i])) for i in range(problem.n_items)]
    best: tuple[int, ...] | None = None
    for rows in product(*options):
        x = np.array(rows, dtype=np.int64).reshape(problem.n_items, problem.n_warehouses)
        if not is_feasible(problem, x):
            continue
        key = evaluate(problem, x).key(problem.objective)
        if best is None or key < best:
            best = key
    return best
