"""Assemble the contract's plan from the solver's result: children, objective, amounts."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np

from ordersplit.models.currency import currency_exponent
from ordersplit.models.plan import Child, ChildLine, Objective, ParentInfo, Plan, builder
from ordersplit.models.request import SplitRequest
from ordersplit.money.batch import KIND_CODES
from ordersplit.money.plan import parts_texts, plan_amount_texts, whole_line_texts
from ordersplit.plan.children import DraftChild, draft_children, gift_links, reasons
from ordersplit.solver.compile import Compiled
from ordersplit.solver.result import SolveResult

_child = builder(Child)
_child_line = builder(ChildLine)
_QUANTA = tuple(Decimal(1).scaleb(-e) for e in range(5))
"""The minor unit of each ISO 4217 exponent (0 to 4)."""


def cost_text(cost: Decimal, exponent: int) -> str:
    """The plan's cost: with the currency's decimals, or as many as the cost needs
    (child costs may be finer than the currency). Whether it needs more is one
    ``quantize`` and a comparison; only then is the cost normalized to count them."""
    places = exponent
    if cost and cost != cost.quantize(_QUANTA[exponent]):
        places = max(exponent, -int(cost.normalize().as_tuple().exponent or 0), 0)
    return f"{cost:.{places}f}"


def _hours(minutes: int) -> float:
    return round(minutes / 60, 4)


def build_plan(request: SplitRequest, compiled: Compiled, result: SolveResult,
               runtime_ms: float | None = None, *, started: float | None = None) -> Plan:
    """The plan for ``request`` given a feasible ``result`` on its compiled problem.

    Give either ``runtime_ms`` (as measured by the caller) or ``started``, the
    ``time.perf_counter()`` reading when the split began: then the plan's
    ``runtime_ms`` covers everything up to its own assembly, money included.
    The output models are built from values this function makes itself, of the fields'
    exact types, so they skip validation (:meth:`~ordersplit.models.plan._Out.built`).
    """
    layout, problem = compiled.layout, compiled.problem
    assert result.assignment is not None
    drafts = draft_children(layout, result.assignment, problem.per_warehouse)
    why = reasons(drafts)
    links = gift_links(request, drafts)
    order = request.order
    order_id = order.id
    ids = [f"{order_id}-{c + 1}" for c in range(len(drafts))]
    line_of = order.lines
    whole = _whole_lines(len(line_of), drafts)
    texts = None if whole is None else whole_line_texts(
        request, whole[0], whole[1], [KIND_CODES[d.kind] for d in drafts])
    if texts is not None:  # the usual plan: a child line's amounts are its line's
        child_amounts, line_amounts, parent_amounts = texts
        part_amounts = None
    else:
        child_amounts, part_amounts, parent_amounts = _allocate(request, drafts)
        line_amounts = []
    minutes_of = layout.minutes.tolist()
    warehouse_ids = layout.warehouse_ids
    warehouses = request.warehouses

    children: list[Child] = []
    cost = Decimal(0)
    unit_minutes = 0
    latest: int | None = None
    for c, draft in enumerate(drafts):
        wh = draft.warehouse
        sources = draft.sources
        kind = draft.kind
        if len(sources) == 1:  # the usual child: one warehouse
            (w,) = sources
            minutes: int | None = minutes_of[w] if minutes_of[w] >= 0 else None
            where = [warehouse_ids[w]]
        else:
            reach = [m for m in map(minutes_of.__getitem__, sources) if m >= 0]
            minutes = max(reach) if reach else None
            where = [warehouse_ids[w] for w in sorted(sources)]
        if kind == "store" and wh is not None and minutes_of[wh] >= 0:
            minutes = minutes_of[wh]
        if kind == "shipment":
            for w, units in sources.items():
                cost += warehouses[w].child_cost
                unit_minutes += minutes_of[w] * units
            if minutes is not None and (latest is None or minutes > latest):
                latest = minutes
        if part_amounts is None:  # each part is a whole line: the line's amounts
            lines = [_child_line({
                "line_id": (line := line_of[p.line]).id, "sku": p.component or line.sku,
                "quantity": int(p.quantity),
                "component_of": line.sku if p.component else None,
                "amounts": line_amounts[p.line],
            }) for p in draft.parts]
        else:
            lines = [_child_line({
                "line_id": (line := line_of[p.line]).id, "sku": p.component or line.sku,
                "quantity": int(p.quantity),
                "component_of": line.sku if p.component else None,
                "amounts": amounts,
            }) for p, amounts in zip(draft.parts, part_amounts[c])]  # noqa: B905 - as long
        key = draft.key
        link = links[c]
        children.append(_child({
            "id": ids[c], "parent_id": order_id, "root_id": order_id, "level": 2,
            "kind": kind, "status": "pending_shipment",
            "warehouse": warehouse_ids[wh] if wh is not None else None,
            "warehouses": where,
            "merchant": key.merchant, "temperature": key.temperature,
            "handling": key.handling, "cross_border": key.cross_border,
            "delivery_hours": round(minutes / 60, 4) if minutes is not None else None,
            "reasons": why[c],
            "linked_children": [ids[k] for k in sorted(link)] if link else [],
            "lines": lines, "amounts": child_amounts[c],
        }))
    fixed_children = sum(1 for d in drafts if d.kind != "shipment" or d.bulky)
    exponent = currency_exponent(order.currency)
    objective = Objective.built({
        "children": len(children),
        "delivery_hours": _hours(latest) if latest is not None else None,
        "unit_hours": _hours(unit_minutes),
        "cost": cost_text(cost, exponent),
        "children_lower_bound": min(len(children),
                                    int(result.children_lower_bound) + fixed_children),
        "line_fragments": 0 if whole is not None else _line_fragments(drafts),
        "stock_value": _stock_value(request, compiled, result.assignment),
    })
    stock_prices = request.options.stock_prices
    return Plan.built({
        "order_id": order_id,
        "status": result.status.value,
        "solver": result.backend,
        "runtime_ms": float(round(runtime_ms if runtime_ms is not None else
                                  (time.perf_counter() - (started or time.perf_counter()))
                                  * 1000, 3)),
        "objective": objective,
        "waits_for_stock": bool(layout.waits),
        "parent": ParentInfo.built({"id": order_id, "status": "split",
                                    "amounts": parent_amounts}),
        "children": children,
        "stock_prices_version": stock_prices.version if stock_prices is not None else None,
    })


def _stock_value(request: SplitRequest, compiled: Compiled, x: np.ndarray) -> float | None:
    """The priced stock the plan uses, by the request's own prices (the solver's integer
    matrix is rounded): every unit shipped, from a warehouse or a store, at the price of
    its SKU there (a bundle by its components). ``None`` without ``stock_prices``."""
    prices = request.options.stock_prices
    if prices is None:
        return None
    layout, order, catalog = compiled.layout, request.order, request.catalog

    def unit(line: int, component: str | None, w: int) -> float:
        table = prices.prices.get(layout.warehouse_ids[w], {})
        if component is not None:
            return table.get(component, 0.0)
        sku = order.lines[line].sku
        comps = catalog[sku].components
        if comps:  # a bundle shipped whole
            return sum(c.quantity * table.get(c.sku, 0.0) for c in comps)
        return table.get(sku, 0.0)

    total = 0.0
    for i, w in zip(*np.nonzero(x), strict=True):
        item = layout.items[i]
        total += int(x[i, w]) * unit(item.line, item.component, int(w))
    for part in layout.fixed:
        if part.kind in ("bulky", "store") and part.warehouse is not None:
            total += part.quantity * unit(part.line, part.component, part.warehouse)
    return round(total, 6)


def _whole_lines(n_lines: int, drafts: list[DraftChild]) -> tuple[list[int], list[int]] | None:
    """The child and the units of each line when every line is one part of one child
    (then no line is fragmented, and the money is the usual plan's), else ``None``."""
    line_child = [-1] * n_lines
    line_units = [0] * n_lines
    for c, draft in enumerate(drafts):
        for part in draft.parts:
            if line_child[part.line] >= 0:
                return None
            line_child[part.line] = c
            line_units[part.line] = int(part.quantity)
    if -1 in line_child:
        return None
    return line_child, line_units


def _line_fragments(drafts: list[DraftChild]) -> int:
    """(line, child) pieces beyond one per line, over every child (fixed parts too)."""
    pieces = {(part.line, c) for c, draft in enumerate(drafts) for part in draft.parts}
    return len(pieces) - len({line for line, _ in pieces})


AmountStrings = tuple[list[dict[str, str]], list[list[dict[str, str]]], dict[str, str]]


def _allocate(request: SplitRequest, drafts: list[DraftChild]) -> AmountStrings:
    """Money per child, per child line and for the parent: in one compiled call where
    it takes the plan (:func:`~ordersplit.money.plan.parts_texts`), else the general way."""
    part_child, part_line, part_weight = [], [], []
    for c, draft in enumerate(drafts):
        for part in draft.parts:
            part_child.append(c)
            part_line.append(part.line)
            part_weight.append(int(part.quantity))
    kinds = [d.kind for d in drafts]
    texts = parts_texts(request, part_child, part_line, part_weight,
                        [KIND_CODES[k] for k in kinds])
    children, parts, parent = texts if texts is not None else plan_amount_texts(
        request, part_child, part_line, part_weight, kinds)
    per_part: list[list[dict[str, str]]] = []
    start = 0
    for d in drafts:  # the parts are numbered child by child
        per_part.append(parts[start:start + len(d.parts)])
        start += len(d.parts)
    return children, per_part, parent
