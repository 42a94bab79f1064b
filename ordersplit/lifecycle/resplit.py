"""Re-split a child (pure, no database): the sub-request, the solver, the grandchildren.

The warehouse reports SKUs it is short of. The child's lines become a new split
request against the current stock (the shortage taken off the child's warehouse) with
the root order's catalog, rules and options, and go through the public
:func:`ordersplit.split` - same rules, same solver. The sub-request carries no money
(the solver does not need it); the child's allocated amounts are then shared out over
the grandchildren exactly by :func:`ordersplit.lifecycle.reshare.reshare`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ordersplit.api import split
from ordersplit.lifecycle.codec import child_activities
from ordersplit.lifecycle.errors import LevelError, LifecycleError
from ordersplit.lifecycle.nodes import Item, OrderNode
from ordersplit.lifecycle.reshare import reshare
from ordersplit.lifecycle.status import NOT_SHIPPED, initial_child_status
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest

log = logging.getLogger(__name__)

MAX_LEVEL = 3
Stock = dict[str, dict[str, int]]
"""Units per SKU per warehouse id."""


@dataclass(frozen=True)
class Resplit:
    """A re-split's outcome: the grandchildren and the plan the solver chose for them."""

    child_id: str
    grandchildren: list[OrderNode]
    plan: Plan
    """The sub-request's plan, re-levelled (level 3, lineage, the child's money)."""


def check_resplittable(child: OrderNode) -> None:
    """Raise unless ``child`` may be re-split (level 2, not shipped, not a store sale)."""
    if child.level + 1 > MAX_LEVEL:
        raise LevelError(f"a re-split of a level-{child.level} order would create level "
                         f"{child.level + 1}; at most {MAX_LEVEL} levels exist",
                         order_id=child.id)
    if child.level < 2:
        raise LevelError("a parent is split, not re-split", order_id=child.id)
    if child.kind == "store":
        raise LifecycleError("offline-store goods are never split", order_id=child.id)
    if child.status not in NOT_SHIPPED:
        raise LifecycleError(f"cannot re-split an order in status {child.status}",
                             order_id=child.id)


def expand(request: SplitRequest, sku: str, quantity: int) -> dict[str, int]:
    """Stock units that ``quantity`` of ``sku`` takes (a bundle takes its components)."""
    item = request.catalog.get(sku)
    if item is None or not item.components:
        return {sku: quantity}
    return {c.sku: c.quantity * quantity for c in item.components}


def free_stock(request: SplitRequest, orders: list[OrderNode], exclude: str) -> Stock:
    """The snapshot's stock less what the live single-warehouse orders of the tree hold.

    Live: not split, superseded, cancelled or rejected; ``exclude`` (the order being re-split) keeps
    its units available. Orders shipped from several warehouses are not subtracted.
    """
    stock = {w.id: dict(w.stock) for w in request.warehouses}
    for node in orders:
        if (node.level < 2 or node.id == exclude or node.status in {"split", "cancelled",
                                                                     "rejected", "superseded"}
                or node.kind == "backorder" or node.warehouse not in stock):
            continue
        held = stock[node.warehouse]
        for item in node.items:
            for sku, units in expand(request, item.sku, item.quantity).items():
                held[sku] = max(0, held.get(sku, 0) - units)
    return stock


def _sub_request(request: SplitRequest, child: OrderNode, stock: Stock) -> tuple[
        SplitRequest, dict[str, int]]:
    order = request.order
    counts: dict[str, int] = {}
    for item in child.items:
        counts[item.line_id] = counts.get(item.line_id, 0) + 1
    ids: dict[str, int] = {}
    lines: list[dict[str, Any]] = []
    for i, item in enumerate(child.items):
        sub_id = item.line_id if counts[item.line_id] == 1 else f"{item.line_id}~{item.sku}"
        ids[sub_id] = i
        lines.append({"id": sub_id, "sku": item.sku, "quantity": item.quantity,
                      "unit_price": "0"})
    data: dict[str, Any] = {
        "order": {"id": child.id, "currency": order.currency, "destination": order.destination,
                  "preference": order.preference, "backorder": order.backorder,
                  "lines": lines},
        "catalog": {k: v.model_dump(mode="json") for k, v in request.catalog.items()},
        "warehouses": [{**w.model_dump(mode="json"), "stock": stock.get(w.id, {})}
                       for w in request.warehouses],
        "rules": request.rules.model_dump(mode="json"),
        "options": request.options.model_dump(mode="json"),
    }
    return SplitRequest.model_validate(data), ids


def _rate(request: SplitRequest, line_id: str) -> tuple[int, int]:
    sku = next(line.sku for line in request.order.lines if line.id == line_id)
    num, den = request.catalog[sku].tax_rate.as_integer_ratio()
    return int(num), int(den)


def resplit_child(request: SplitRequest, root: OrderNode, child: OrderNode,
                  shortage: Mapping[str, int], stock: Stock) -> Resplit:
    """Split ``child`` again against ``stock`` less ``shortage`` at its warehouse.

    ``request`` is the root order's stored request. Raises :class:`LevelError` for a
    fourth level, :class:`LifecycleError` for a shortage the child does not carry.
    """
    check_resplittable(child)
    carried: dict[str, int] = {}
    for item in child.items:
        for sku, units in expand(request, item.sku, item.quantity).items():
            carried[sku] = carried.get(sku, 0) + units
    stock = {w: dict(s) for w, s in stock.items()}
    for sku, qty in shortage.items():
        if qty <= 0 or qty > carried.get(sku, 0):
            raise LifecycleError(f"shortage of {qty} x {sku}: the child carries "
                                 f"{carried.get(sku, 0)}", order_id=child.id)
        for wid in child.warehouses or ([child.warehouse] if child.warehouse else []):
            held = stock.setdefault(wid, {})
            held[sku] = max(0, held.get(sku, 0) - qty)
    sub, ids = _sub_request(request, child, stock)
    plan = split(sub)
    log.info("re-split %s into %d grandchildren (%s)", child.id, len(plan.children), plan.solver)

    part_item, part_child, part_weight = [], [], []
    for g, gc in enumerate(plan.children):
        for line in gc.lines:
            part_item.append(ids[line.line_id])
            part_child.append(g)
            part_weight.append(line.quantity)
    money = reshare(child, part_item, part_child, part_weight, n_children=len(plan.children),
                    rates=[_rate(request, item.line_id) for item in child.items])
    status = initial_child_status(child.status)
    grandchildren: list[OrderNode] = []
    p = 0
    for g, gc in enumerate(plan.children):
        items = []
        for line in gc.lines:
            src = child.items[ids[line.line_id]]
            items.append(Item(src.line_id, line.sku, line.quantity,
                              line.component_of or src.component_of,
                              dict(zip(money.keys, map(int, money.parts[p]), strict=True)),
                              money.components[p]))
            p += 1
        node = OrderNode(
            id=gc.id, root_id=child.root_id, parent_id=child.id, level=child.level + 1,
            kind=gc.kind, status=status, currency=child.currency, exponent=child.exponent,
            methods=child.methods, invoiced=child.invoiced,
            amounts=dict(zip(money.keys, map(int, money.children[g]), strict=True)),
            items=items, warehouse=gc.warehouse, warehouses=list(gc.warehouses),
            merchant=gc.merchant, temperature=gc.temperature, handling=gc.handling,
            delivery_hours=gc.delivery_hours, reasons=list(gc.reasons),
        )
        node.activities = child_activities(root, node)
        grandchildren.append(node)
    return Resplit(child.id, grandchildren, relevel(plan, child, grandchildren))


def relevel(plan: Plan, child: OrderNode, grandchildren: list[OrderNode]) -> Plan:
    """The sub-request's plan with lineage, statuses and the child's money filled in."""
    children = []
    for gc, node in zip(plan.children, grandchildren, strict=True):
        lines = [line.model_copy(update={"line_id": item.line_id,
                                         "component_of": item.component_of,
                                         "amounts": {k: node.fmt(item.amounts[k])
                                                     for k in node.keys}})
                 for line, item in zip(gc.lines, node.items, strict=True)]
        children.append(gc.model_copy(update={
            "parent_id": child.id, "root_id": child.root_id, "level": node.level,
            "status": node.status, "lines": lines, "amounts": node.formatted(),
            "linked_children": []}))
    parent = plan.parent.model_copy(update={"status": "split", "amounts": child.formatted()})
    return plan.model_copy(update={"parent": parent, "children": children})
