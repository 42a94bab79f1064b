"""Re-split a child (pure, no database): the sub-request, the solver, the grandchildren.

The warehouse reports SKUs it is short of. The child's lines become a new split
request against the current stock - the stored snapshot less what the tree's other live
orders hold, with the short warehouse's stock of each short SKU lowered to what it can
still ship (the child's units less the shortage); or a fresh snapshot the caller gives,
used as it is - with the root order's catalog, rules and options, and go through the public
:func:`ordersplit.split` - same rules, same solver. The sub-request carries no money
(the solver does not need it); the child's allocated amounts are then shared out over
the grandchildren exactly by :func:`ordersplit.lifecycle.reshare.reshare`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ordersplit.api import split
from ordersplit.errors import RequestError
from ordersplit.lifecycle.codec import child_activities
from ordersplit.lifecycle.errors import LevelError, LifecycleError
from ordersplit.lifecycle.nodes import Item, OrderNode
from ordersplit.lifecycle.reshare import reshare
from ordersplit.lifecycle.status import NOT_SHIPPED, initial_child_status
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest

log = logging.getLogger(__name__)

MAX_LEVEL = 3
SHORT_NOTE = "re-split, short: "
"""Prefix of a re-split's status-history note; the reported shortage follows as JSON."""
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


def short_note(shortage: Mapping[str, int]) -> str:
    """The status-history note of a re-split: :data:`SHORT_NOTE` and the shortage as JSON."""
    return SHORT_NOTE + json.dumps(dict(shortage), sort_keys=True)


def reported_short(orders: list[OrderNode], notes: Mapping[str, str]) -> set[tuple[str, str]]:
    """(warehouse, SKU) pairs a warehouse of the tree reported short at a re-split.

    ``notes``: the re-split note (:func:`short_note`) of every re-split order by id. Only
    single-warehouse children say which warehouse was short.
    """
    out: set[tuple[str, str]] = set()
    for node in orders:
        note = notes.get(node.id, "")
        if node.warehouse is None or len(node.warehouses) > 1 or not note.startswith(
                SHORT_NOTE):
            continue
        out.update((node.warehouse, sku) for sku in json.loads(note[len(SHORT_NOTE):]))
    return out


def free_stock(request: SplitRequest, orders: list[OrderNode], exclude: str,
               reported: set[tuple[str, str]] | None = None) -> Stock:
    """The snapshot's stock less what the live single-warehouse orders of the tree hold.

    Live: not split, superseded, cancelled or rejected; ``exclude`` (the order being re-split) keeps
    its units available. Orders shipped from several warehouses are not subtracted.
    ``reported``: (warehouse, SKU) pairs reported short at earlier re-splits of the tree;
    such a warehouse has none of the SKU beyond what live orders hold there (it could not
    even ship what it had been given), so only ``exclude``'s own units stay available.
    """
    stock = {w.id: dict(w.stock) for w in request.warehouses}
    own: dict[str, int] = {}
    for node in orders:
        if (node.level < 2 or node.status in {"split", "cancelled", "rejected", "superseded"}
                or node.kind == "backorder" or node.warehouse not in stock):
            continue
        held = stock[node.warehouse]
        for item in node.items:
            for sku, units in expand(request, item.sku, item.quantity).items():
                if node.id == exclude:
                    own[sku] = own.get(sku, 0) + units
                else:
                    held[sku] = max(0, held.get(sku, 0) - units)
    me = next((o for o in orders if o.id == exclude), None)
    for wid, sku in reported or set():
        if wid in stock:
            mine = own.get(sku, 0) if me is not None and me.warehouse == wid else 0
            stock[wid][sku] = min(stock[wid].get(sku, 0), mine)
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


def carried_units(request: SplitRequest, child: OrderNode) -> dict[str, int]:
    """Stock units per SKU that ``child`` carries (bundles as their components)."""
    carried: dict[str, int] = {}
    for item in child.items:
        for sku, units in expand(request, item.sku, item.quantity).items():
            carried[sku] = carried.get(sku, 0) + units
    return carried


def check_shortage(child: OrderNode, shortage: Mapping[str, int],
                   carried: Mapping[str, int]) -> None:
    """Raise :class:`RequestError` naming ``shortage.<SKU>`` unless every quantity is
    a positive whole number of units the child carries."""
    for sku, qty in shortage.items():
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise RequestError(f"a shortage is a positive whole number of units, got {qty!r}",
                               field=f"shortage.{sku}", order_id=child.id)
        if qty > carried.get(sku, 0):
            raise RequestError(f"shortage of {qty} x {sku}: the child carries "
                               f"{carried.get(sku, 0)}", field=f"shortage.{sku}",
                               order_id=child.id)


def check_stock(child: OrderNode, stock: Stock) -> None:
    """Raise :class:`RequestError` naming ``stock.<warehouse>.<SKU>`` for a bad unit count."""
    for wid, units in stock.items():
        for sku, qty in units.items():
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
                raise RequestError(f"stock is a non-negative whole number of units, got "
                                   f"{qty!r}", field=f"stock.{wid}.{sku}", order_id=child.id)


def short_stock(child: OrderNode, shortage: Mapping[str, int], carried: Mapping[str, int],
                stock: Stock) -> Stock:
    """``stock`` with the reported shortage applied at the child's warehouse.

    The warehouse reported that of the ``carried`` units of a SKU it can ship only
    ``carried - short``: that is its stock of the SKU for the re-split (never more than
    the snapshot says). A child drawing on several warehouses (``rules.warehouse: false``)
    does not say which one is short: the shortage is taken off each of them.
    """
    out = {w: dict(s) for w, s in stock.items()}
    sources = child.warehouses or ([child.warehouse] if child.warehouse else [])
    for sku, qty in shortage.items():
        for wid in sources:
            held = out.setdefault(wid, {})
            if len(sources) == 1:
                held[sku] = min(held.get(sku, 0), carried[sku] - qty)
            else:
                held[sku] = max(0, held.get(sku, 0) - qty)
    return out


def resplit_child(request: SplitRequest, root: OrderNode, child: OrderNode,
                  shortage: Mapping[str, int], stock: Stock, *, fresh: bool = False) -> Resplit:
    """Split ``child`` again after its warehouse reported ``shortage``.

    ``stock`` is the stored snapshot less what the tree's other live orders hold; the
    short warehouse's stock of each short SKU is lowered to what it can still ship
    (:func:`short_stock`). With ``fresh`` (a stock snapshot the caller just took),
    ``stock`` is used as given: it already shows the shortage. ``request`` is the root
    order's stored request. Raises :class:`LevelError` for a fourth level and
    :class:`RequestError` (naming the field) for a shortage the child does not carry.
    """
    check_resplittable(child)
    carried = carried_units(request, child)
    check_shortage(child, shortage, carried)
    check_stock(child, stock)
    if not fresh:
        stock = short_stock(child, shortage, carried, stock)
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
