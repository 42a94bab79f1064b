"""The batch's answer as tables: the four order tables, the change list, errors, summary.

* ``master`` - one row per order record: each parent (``level`` 1, ``kind``
  ``parent``, status ``split``) and each child (``level`` 2), with lineage, warehouse,
  group attributes, delivery hours, reasons, links and the fixed amounts (``goods``,
  ``discount``, ``shipping_fee``, ``paid``, ``invoice``, ``tax``).
* ``items`` - one row per child line: ``order_id`` (the child), ``root_id``,
  ``line_id``, ``sku``, ``quantity``, ``component_of`` and the same amounts.
* ``payments`` - the payment plan of every parent and child: ``order_id``, ``method``,
  ``amount`` (children add up to the parent, per method).
* ``activities`` - every child's share of every promotion: ``order_id``, ``root_id``,
  ``activity_id``, ``kind``, ``amount`` (a discount's share; empty for gifts),
  ``role`` (``discount``, ``trigger``, ``gift``), ``linked_children``.
* ``changes`` - one row per planned order: children and warehouses before (the
  current assignment, or sequential splitting without one) and after, and whether
  the warehouses or the child count changed.
* ``errors`` - one row per order without a plan: ``order_id``, ``position``,
  ``field``, ``message``.

Amounts come from the plan builder (:func:`ordersplit.plan.build.build_plan`, which
uses the money allocator); activity shares from :func:`ordersplit.money.allocate_batch`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ordersplit.batch.frames import MASTER
from ordersplit.batch.model import OrderPlan, World, rebuild
from ordersplit.batch.plan_columns import plan_cells, plan_failed, plan_ints
from ordersplit.batch.search import BatchState
from ordersplit.models.currency import currency_exponent, format_minor
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.money import allocate_batch, request_batch
from ordersplit.plan.build import build_plan

log = logging.getLogger(__name__)

FIXED_KEYS = ("goods", "discount", "shipping_fee", "invoice", "tax")
TABLE_NAMES = ("master", "items", "payments", "activities", "changes", "errors")
TABLE_COLUMNS = {
    "master": (*MASTER, "goods", "discount", "shipping_fee", "invoice", "tax", "paid"),
    "items": ("order_id", "root_id", "line_id", "sku", "quantity", "component_of", "goods",
              "discount", "shipping_fee", "invoice", "tax", "paid"),
    "payments": ("order_id", "root_id", "method", "amount"),
    "activities": ("order_id", "root_id", "activity_id", "kind", "amount", "role",
                   "linked_children"),
}




def _amounts(amounts: dict[str, str], methods: Sequence[str], exponent: int) -> dict[str, str]:
    row = {k: amounts.get(k, format_minor(0, exponent)) for k in FIXED_KEYS}
    paid = sum((Decimal(amounts.get(m, "0")) for m in methods), Decimal(0))
    row["paid"] = f"{paid:.{exponent}f}"
    return row


def plan_rows(request: SplitRequest, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The rows one plan adds to each order table."""
    order = request.order
    exp = currency_exponent(order.currency)
    methods = [p.method for p in order.payments]
    master = [{"order_id": order.id, "parent_id": None, "root_id": order.id, "level": 1,
               "kind": "parent", "status": plan.parent.status, "warehouse": None,
               "merchant": None, "temperature": None, "handling": None, "cross_border": None,
               "delivery_hours": plan.objective.delivery_hours, "reasons": "",
               "linked_children": "", "plan_status": plan.status, "solver": plan.solver,
               "currency": order.currency,
               **_amounts(plan.parent.amounts, methods, exp)}]
    items: list[dict[str, Any]] = []
    payments = [{"order_id": order.id, "root_id": order.id, "method": m,
                 "amount": plan.parent.amounts.get(m, format_minor(0, exp))} for m in methods]
    for child in plan.children:
        master.append({
            "order_id": child.id, "parent_id": child.parent_id, "root_id": child.root_id,
            "level": child.level, "kind": child.kind, "status": child.status,
            "warehouse": child.warehouse or (";".join(child.warehouses) or None),
            "merchant": child.merchant, "temperature": child.temperature,
            "handling": child.handling, "cross_border": child.cross_border,
            "delivery_hours": child.delivery_hours, "reasons": ";".join(child.reasons),
            "linked_children": ";".join(child.linked_children), "plan_status": plan.status,
            "solver": plan.solver, "currency": order.currency,
            **_amounts(child.amounts, methods, exp)})
        for line in child.lines:
            items.append({"order_id": child.id, "root_id": order.id, "line_id": line.line_id,
                          "sku": line.sku, "quantity": line.quantity,
                          "component_of": line.component_of,
                          **_amounts(line.amounts, methods, exp)})
        payments += [{"order_id": child.id, "root_id": order.id, "method": m,
                      "amount": child.amounts.get(m, format_minor(0, exp))} for m in methods]
    return {"master": master, "items": items, "payments": payments,
            "activities": activity_rows(request, plan)}


def activity_rows(request: SplitRequest, plan: Plan) -> list[dict[str, Any]]:
    """Every child's share of every activity (discount shares from the money allocator)."""
    order = request.order
    if not order.activities:
        return []
    exp = currency_exponent(order.currency)
    line_index = {line.id: i for i, line in enumerate(order.lines)}
    part_child, part_line, part_weight = [], [], []
    for c, child in enumerate(plan.children):
        for line in child.lines:
            part_child.append(c)
            part_line.append(line_index[line.line_id])
            part_weight.append(line.quantity)
    kinds = [c.kind for c in plan.children]
    batch, _ = request_batch(request, np.array(part_child, dtype=np.int64),
                             np.array(part_line, dtype=np.int64),
                             np.array(part_weight, dtype=np.int64), kinds)
    alloc = allocate_batch(batch)
    n_children = len(plan.children)
    child_of_part = np.array(part_child, dtype=np.int64)
    rows: list[dict[str, Any]] = []
    slot = 0
    for act in order.activities:
        if act.kind == "discount":
            col = 1 + int(alloc.activity_slot[slot])
            slot += 1
            share = np.bincount(child_of_part, weights=alloc.part_components[:, col],
                                minlength=n_children).astype(np.int64) if child_of_part.size \
                else np.zeros(n_children, dtype=np.int64)
            covered = set(act.lines) if act.lines is not None else set(line_index)
            for c, child in enumerate(plan.children):
                if any(line.line_id in covered for line in child.lines):
                    rows.append({"order_id": child.id, "root_id": order.id,
                                 "activity_id": act.id, "kind": act.kind,
                                 "amount": format_minor(int(share[c]), exp), "role": "discount",
                                 "linked_children": ";".join(child.linked_children)})
        else:
            for child in plan.children:
                ids = {line.line_id for line in child.lines}
                for role, lines in (("trigger", act.trigger_lines), ("gift", act.gift_lines)):
                    if ids & set(lines):
                        rows.append({"order_id": child.id, "root_id": order.id,
                                     "activity_id": act.id, "kind": act.kind, "amount": None,
                                     "role": role,
                                     "linked_children": ";".join(child.linked_children)})
    return rows


Built = tuple[int, Plan | None, dict[str, list[dict[str, Any]]], str]
"""``(order position, plan or None, table rows, error message)``."""


def build_plans(state: BatchState, items: list[tuple[int, OrderPlan]]) -> list[Built]:
    """Contract plans and table rows for ``(order position, plan)`` pairs (a runner task).

    An order whose plan cannot be built (an exception) gets its error message instead;
    the other orders go on.
    """
    out: list[Built] = []
    for o, oplan in items:
        tpl = state.templates[o]
        if oplan.failed:
            out.append((o, None, {}, oplan.error))
            continue
        try:
            request, compiled, result = rebuild(state.world, tpl, oplan)
            plan = build_plan(request, compiled, result, oplan.runtime_s * 1000)
            rows = plan_rows(request, plan)
        except Exception as exc:  # one order's failure is that order's error
            log.warning("order %s: building the plan failed: %r", tpl.order_id, exc)
            out.append((o, None, {}, f"plan building failed: {type(exc).__name__}: {exc}"))
            continue
        out.append((o, plan, rows, ""))
    return out


def warehouses_of(world: World, plan: OrderPlan) -> list[str]:
    """Ids of the locations a plan ships from, sorted."""
    return sorted({world.locations[int(w)].id for w in np.unique(plan.use_loc)})


def warehouse_lists(world: World, plans: Sequence[OrderPlan]) -> list[tuple[str, ...]]:
    """:func:`warehouses_of` of every plan, from the plans' cells at once (the driver's
    plans are packed: no plan objects are made)."""
    ids = [loc.id for loc in world.locations]
    if len(set(ids)) != len(ids):  # (ids are unique in a validated batch)
        return [tuple(warehouses_of(world, p)) for p in plans]
    owner, loc = plan_cells(plans, "use_loc")
    n_loc = max(1, len(ids))
    rank = np.argsort(np.argsort(np.array(ids, dtype=object), kind="stable"), kind="stable")
    pairs = np.unique(owner * n_loc + rank[loc]) if owner.size else owner
    by_rank = sorted(ids)
    names = [by_rank[r] for r in (pairs % n_loc).tolist()]
    who = pairs // n_loc
    n = len(plans)
    starts = np.searchsorted(who, np.arange(n), side="left").tolist()
    ends = np.searchsorted(who, np.arange(n), side="right").tolist()
    return [tuple(names[a:b]) for a, b in zip(starts, ends, strict=True)]


def change_rows(state: BatchState, before: Sequence[OrderPlan], after: Sequence[OrderPlan]
                ) -> list[dict[str, Any]]:
    """Which orders changed warehouse or child count (the plans read as columns)."""
    world = state.world
    failed = plan_failed(after).tolist()
    wbs, was = warehouse_lists(world, before), warehouse_lists(world, after)
    cb, ca = plan_ints(before, "children").tolist(), plan_ints(after, "children").tolist()
    mb, ma = plan_ints(before, "makespan").tolist(), plan_ints(after, "makespan").tolist()
    ub, ua = (plan_ints(before, "backorder_units").tolist(),
              plan_ints(after, "backorder_units").tolist())
    rows = []
    for o, tpl in enumerate(state.templates):
        if failed[o]:
            continue
        wb, wa = wbs[o], was[o]
        rows.append({
            "order_id": tpl.order_id, "children_before": cb[o], "children_after": ca[o],
            "warehouses_before": ";".join(wb), "warehouses_after": ";".join(wa),
            "delivery_hours_before": round(mb[o] / 60, 4),
            "delivery_hours_after": round(ma[o] / 60, 4),
            "backorder_units_before": ub[o], "backorder_units_after": ua[o],
            "changed_warehouse": wb != wa, "changed_children": cb[o] != ca[o],
        })
    return rows


def frame(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows as a DataFrame (with ``columns`` when there are no rows)."""
    if not rows:
        return pd.DataFrame(columns=list(columns or []))
    return pd.DataFrame.from_records(rows)
