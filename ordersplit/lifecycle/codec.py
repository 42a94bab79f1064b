"""From a split request and its plan to the orders the store keeps (parent and children).

The money is recomputed with the same allocator on the same parts, which gives the
split of every line's discount by activity (the plan does not carry it) and checks that
the plan really belongs to the request: any amount that differs is refused.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from ordersplit.lifecycle.errors import LifecycleError
from ordersplit.lifecycle.nodes import OWN_DISCOUNT, Activity, Item, OrderNode, amount_keys
from ordersplit.lifecycle.status import SPLIT
from ordersplit.models.currency import currency_exponent, to_minor
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.money import Allocation, allocate_batch, request_batch


def discount_activity_ids(request: SplitRequest) -> list[str]:
    """Ids of the discount activities, in the allocator's component order."""
    return [a.id for a in request.order.activities if a.kind == "discount" and a.amount is not None]


def _components(alloc: Allocation, row: np.ndarray, act_ids: list[str]) -> dict[str, int]:
    out = {OWN_DISCOUNT: int(row[0])}
    for a, act in enumerate(act_ids):
        out[act] = int(row[1 + int(alloc.activity_slot[a])])
    return out


def _allocate(request: SplitRequest, plan: Plan) -> Allocation:
    index = {line.id: i for i, line in enumerate(request.order.lines)}
    part_child, part_line, part_weight = [], [], []
    for c, child in enumerate(plan.children):
        for line in child.lines:
            if line.line_id not in index:
                raise LifecycleError(f"plan line {line.line_id} is not in the request",
                                     order_id=plan.order_id)
            part_child.append(c)
            part_line.append(index[line.line_id])
            part_weight.append(line.quantity)
    batch, _ = request_batch(request, np.array(part_child, dtype=np.int64),
                             np.array(part_line, dtype=np.int64),
                             np.array(part_weight, dtype=np.int64),
                             [c.kind for c in plan.children])
    try:
        return allocate_batch(batch)
    except ValueError as exc:
        raise LifecycleError(f"the plan does not fit the request: {exc}",
                             order_id=plan.order_id) from exc


def _minor(amounts: dict[str, str], exp: int) -> dict[str, int]:
    return {k: to_minor(Decimal(v), exp) for k, v in amounts.items()}


def plan_nodes(request: SplitRequest, plan: Plan) -> list[OrderNode]:
    """The parent (status ``split``) and its children, with money in minor units.

    Raises :class:`LifecycleError` when the plan is not a plan of ``request``.
    """
    order = request.order
    if plan.order_id != order.id:
        raise LifecycleError(f"the plan is for order {plan.order_id}", order_id=order.id)
    exp = currency_exponent(order.currency)
    methods = tuple(p.method for p in order.payments)
    keys = amount_keys(methods)
    invoiced = tuple(m for m in methods if m in set(request.options.invoice_methods))
    alloc = _allocate(request, plan)
    col = [alloc.column(k) for k in keys]
    act_ids = discount_activity_ids(request)

    root = OrderNode(
        id=order.id, root_id=order.id, parent_id=None, level=1, kind="parent", status=SPLIT,
        currency=order.currency, exponent=exp, methods=methods, invoiced=invoiced,
        amounts={k: int(alloc.orders[0, c]) for k, c in zip(keys, col, strict=True)},
        items=[Item(line.id, line.sku, line.quantity, None,
                    {k: int(alloc.lines[i, c]) for k, c in zip(keys, col, strict=True)},
                    _components(alloc, alloc.line_components[i], act_ids))
               for i, line in enumerate(order.lines)],
        activities=[Activity(a.id, a.kind, None if a.amount is None else to_minor(a.amount, exp),
                             a.lines, list(a.trigger_lines), list(a.gift_lines))
                    for a in order.activities],
    )
    if root.formatted() != plan.parent.amounts and plan.parent.amounts:
        raise LifecycleError("the plan's parent amounts differ from the request's",
                             order_id=order.id)
    nodes = [root]
    p = 0
    for c, child in enumerate(plan.children):
        items = []
        for line in child.lines:
            row = alloc.parts[p]
            amounts = {k: int(row[i]) for k, i in zip(keys, col, strict=True)}
            if line.amounts and _minor(line.amounts, exp) != amounts:
                raise LifecycleError(f"child {child.id} line {line.line_id}: amounts differ "
                                     "from the request's allocation", order_id=order.id)
            items.append(Item(line.line_id, line.sku, line.quantity, line.component_of, amounts,
                              _components(alloc, alloc.part_components[p], act_ids)))
            p += 1
        node = OrderNode(
            id=child.id, root_id=order.id, parent_id=order.id, level=2, kind=child.kind,
            status=child.status, currency=order.currency, exponent=exp, methods=methods,
            invoiced=invoiced,
            amounts={k: int(alloc.children[c, i]) for k, i in zip(keys, col, strict=True)},
            items=items, warehouse=child.warehouse, warehouses=list(child.warehouses),
            merchant=child.merchant, temperature=child.temperature, handling=child.handling,
            delivery_hours=child.delivery_hours, reasons=list(child.reasons),
        )
        node.activities = child_activities(root, node)
        nodes.append(node)
    return nodes


def child_activities(root: OrderNode, node: OrderNode) -> list[Activity]:
    """The root's activities as they apply to ``node``: discount shares, gift roles."""
    held = {item.line_id for item in node.items}
    out: list[Activity] = []
    for act in root.activities:
        if act.kind == "discount" and act.amount is not None:
            share = sum(item.discounts.get(act.activity_id, 0) for item in node.items)
            covered = held if act.lines is None else held & set(act.lines)
            if covered:
                out.append(Activity(act.activity_id, act.kind, share, sorted(covered)))
        elif held & (set(act.trigger_lines) | set(act.gift_lines)):
            out.append(Activity(act.activity_id, act.kind, None, None,
                                sorted(held & set(act.trigger_lines)),
                                sorted(held & set(act.gift_lines))))
    return out
