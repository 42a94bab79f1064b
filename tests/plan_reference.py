"""The plan builder's child drafting and reasons as they were before session 13's
speed-up (``ordersplit.plan.children`` and ``plan.build`` at 8f59a58): the reference the faster
ones are compared with (``tests/test_plan_children.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import numpy as np

from ordersplit.models.currency import currency_exponent
from ordersplit.models.plan import Child, ChildLine, Objective, ParentInfo, Plan
from ordersplit.models.request import SplitRequest
from ordersplit.money.plan import plan_amount_texts
from ordersplit.plan.build import _hours, _line_fragments, _stock_value, _whole_lines
from ordersplit.plan.children import KIND_RANK, DraftChild, gift_links
from ordersplit.rules.keys import REASON_ORDER, GroupKey, differing_rules
from ordersplit.solver.compile import Compiled, Layout
from ordersplit.solver.problem import IntArray
from ordersplit.solver.result import SolveResult


def _nonzero_cells(x: IntArray) -> Iterator[tuple[int, int, int]]:
    """``(item, warehouse, units)`` of every nonzero cell of ``x``, row-major."""
    if x.size <= 1 << 12:
        rows, cols = x.nonzero()
        units = x[rows, cols]
    else:  # a wide matrix: one flat scan, then the rows and columns
        flat = np.flatnonzero(x)
        rows, cols = np.divmod(flat, x.shape[1])
        units = x.ravel()[flat]
    return zip(rows.tolist(), cols.tolist(), units.tolist())  # noqa: B905 - equal lengths


class _KeyIds:
    """Small ints for group keys, equal keys alike: dict keys that hash in C (a
    :class:`GroupKey` hashes in Python, once per distinct object here)."""

    def __init__(self) -> None:
        self.keys: list[GroupKey] = []
        self._by_key: dict[GroupKey, int] = {}
        self._by_object: dict[int, int] = {}

    def __call__(self, key: GroupKey) -> int:
        found = self._by_object.get(id(key))
        if found is None:  # the key objects live as long as the layout: ids are stable
            found = self._by_key.setdefault(key, len(self._by_key))
            if found == len(self.keys):
                self.keys.append(key)
            self._by_object[id(key)] = found
        return found


def draft_children_reference(layout: Layout, x: IntArray, per_warehouse: bool) -> list[DraftChild]:
    """Children from the solver's assignment plus the parts the rules fixed."""
    drafts: dict[tuple[object, ...], DraftChild] = {}
    key_id = _KeyIds()
    items = layout.items
    for i, w, units in _nonzero_cells(x):
        item = items[i]
        wid: int | None = w
        slot: tuple[object, ...] = (("ship", key_id(item.key), wid) if per_warehouse
                                    else ("ship", key_id(item.key)))
        child = drafts.get(slot)
        if child is None:
            child = drafts[slot] = DraftChild("shipment", item.key, wid)
        if child.warehouse != wid:
            child.warehouse = None  # warehouse rule off: one child, several warehouses
        child.add(item.line, item.component, units)
        child.sources[w] = child.sources.get(w, 0) + units
    for part in layout.fixed:
        if part.kind == "bulky":
            slot = ("bulky", part.line, part.warehouse)
            drafts.setdefault(slot, DraftChild("shipment", part.key, part.warehouse, bulky=True))
            if part.warehouse is not None:
                drafts[slot].sources[part.warehouse] = part.quantity
        elif part.kind == "store":  # one child, from the one store that holds them all
            slot = ("store",)
            drafts.setdefault(slot, DraftChild("store", part.key, part.warehouse))
            if part.warehouse is not None:
                sources = drafts[slot].sources
                sources[part.warehouse] = sources.get(part.warehouse, 0) + part.quantity
        elif part.line in layout.store_lines:  # store lines wait together, on their own
            slot = ("backorder", "store")
            drafts.setdefault(slot, DraftChild("backorder", part.key, None))
        else:
            slot = ("backorder", key_id(part.key))
            drafts.setdefault(slot, DraftChild("backorder", part.key, None))
        drafts[slot].add(part.line, part.component, part.quantity)
    out = list(drafts.values())
    out.sort(key=lambda c: (KIND_RANK[c.kind], c.first_line(),
                            -1 if c.warehouse is None else c.warehouse))
    return out


def reasons_reference(children: list[DraftChild]) -> list[list[str]]:
    """For each child, the rules that separate it from at least one other child.

    Children of the same kind, bulkiness and group key are alike here, so the pairwise
    comparison runs over distinct classes, not over pairs of children: a big order
    opens hundreds of children but holds a handful of classes.
    """
    per_kind: dict[str, int] = {}
    key_id = _KeyIds()
    # (kind, bulky, key) -> children per warehouse; (kind, bulky) -> its distinct keys
    classes: dict[tuple[str, bool, int], dict[int | None, int]] = {}
    keys_of: dict[tuple[str, bool], list[GroupKey]] = {}
    of_child = [(c.kind, c.bulky, key_id(c.key)) for c in children]
    for c, cls in zip(children, of_child, strict=True):
        per_kind[c.kind] = per_kind.get(c.kind, 0) + 1
        same = classes.get(cls)
        if same is None:
            same = classes[cls] = {}
            keys_of.setdefault((c.kind, c.bulky), []).append(c.key)
        same[c.warehouse] = same.get(c.warehouse, 0) + 1
    sizes = {cls: sum(same.values()) for cls, same in classes.items()}
    key_diffs: dict[tuple[str, bool, int], set[str]] = {}
    for cls in classes:
        found: set[str] = set()
        key = key_id.keys[cls[2]]
        for other in keys_of[cls[:2]]:
            found.update(differing_rules(key, other))
        key_diffs[cls] = found
    n_children = len(children)
    out: list[list[str]] = []
    for a, cls in zip(children, of_child, strict=True):
        found = set(key_diffs[cls])
        if per_kind[a.kind] < n_children:  # the special child carries the reason
            if a.kind == "backorder":
                found.add("stock")
            elif a.kind == "store":
                found.add("offline_store")
        if a.bulky and per_kind[a.kind] > 1:
            found.add("bulky")
        if sizes[cls] > classes[cls][a.warehouse]:  # same key, another warehouse
            found.add("warehouse")
        out.append([r for r in REASON_ORDER if r in found] if found else [])
    return out


def _allocate_general(request: SplitRequest, drafts: list[DraftChild]
                      ) -> tuple[list[dict[str, str]], list[list[dict[str, str]]], dict[str, str]]:
    """Money per child, per child line and for the parent, the general way."""
    part_child, part_line, part_weight = [], [], []
    for c, draft in enumerate(drafts):
        for part in draft.parts:
            part_child.append(c)
            part_line.append(part.line)
            part_weight.append(int(part.quantity))
    children, parts, parent = plan_amount_texts(request, part_child, part_line, part_weight,
                                                [d.kind for d in drafts])
    per_part: list[list[dict[str, str]]] = []
    start = 0
    for d in drafts:
        per_part.append(parts[start:start + len(d.parts)])
        start += len(d.parts)
    return children, per_part, parent


def build_plan_reference(request: SplitRequest, compiled: Compiled, result: SolveResult,
               runtime_ms: float | None = None, *, started: float | None = None) -> Plan:
    """``build_plan`` as it was at 8f59a58, on the reference drafting and reasons, and
    with the money the general way (``plan_amount_texts``, which the direct ways equal:
    ``tests/test_plan_direct.py``). The plan for ``request`` given a feasible ``result``
    on its compiled problem.

    Give either ``runtime_ms`` (as measured by the caller) or ``started``, the
    ``time.perf_counter()`` reading when the split began: then the plan's
    ``runtime_ms`` covers everything up to its own assembly, money included.
    The output models are built from values this function makes itself, of the fields'
    exact types, so they skip validation (:meth:`~ordersplit.models.plan._Out.built`).
    """
    layout, problem = compiled.layout, compiled.problem
    assert result.assignment is not None
    drafts = draft_children_reference(layout, result.assignment, problem.per_warehouse)
    why = reasons_reference(drafts)
    links = gift_links(request, drafts)
    order = request.order
    order_id = order.id
    ids = [f"{order_id}-{c + 1}" for c in range(len(drafts))]
    line_of = order.lines
    whole = _whole_lines(len(line_of), drafts)
    texts = None if whole is None else plan_amount_texts(
        request, whole[0], list(range(len(line_of))), whole[1], [d.kind for d in drafts])
    if texts is not None:  # the usual plan: a child line's amounts are its line's
        child_amounts, line_amounts, parent_amounts = texts
        part_amounts = [[line_amounts[p.line] for p in d.parts] for d in drafts]
    else:
        child_amounts, part_amounts, parent_amounts = _allocate_general(request, drafts)
    minutes_of = layout.minutes.tolist()
    warehouse_ids = layout.warehouse_ids

    children: list[Child] = []
    cost = Decimal(0)
    unit_minutes = 0
    latest: int | None = None
    for c, draft in enumerate(drafts):
        wh = draft.warehouse
        sources = draft.sources
        reach = [m for m in map(minutes_of.__getitem__, sources) if m >= 0]
        minutes = max(reach) if reach else None
        if draft.kind == "store" and wh is not None and minutes_of[wh] >= 0:
            minutes = minutes_of[wh]
        if draft.kind == "shipment":
            for w, units in sources.items():
                cost += request.warehouses[w].child_cost
                unit_minutes += minutes_of[w] * units
            if minutes is not None:
                latest = minutes if latest is None else max(latest, minutes)
        lines = []
        amounts = part_amounts[c]  # one per part, in order
        for j, p in enumerate(draft.parts):
            line = line_of[p.line]
            lines.append(ChildLine.built({
                "line_id": line.id,
                "sku": p.component or line.sku,
                "quantity": int(p.quantity),
                "component_of": line.sku if p.component else None,
                "amounts": amounts[j],
            }))
        key = draft.key
        children.append(Child.built({
            "id": ids[c], "parent_id": order_id, "root_id": order_id, "level": 2,
            "kind": draft.kind, "status": "pending_shipment",
            "warehouse": warehouse_ids[wh] if wh is not None else None,
            "warehouses": [warehouse_ids[w] for w in sorted(sources)],
            "merchant": key.merchant, "temperature": key.temperature,
            "handling": key.handling, "cross_border": key.cross_border,
            "delivery_hours": _hours(minutes) if minutes is not None else None,
            "reasons": why[c], "linked_children": [ids[k] for k in sorted(links[c])],
            "lines": lines, "amounts": child_amounts[c],
        }))
    fixed_children = sum(1 for d in drafts if d.kind != "shipment" or d.bulky)
    exponent = currency_exponent(order.currency)
    cost_places = max(exponent, -int(cost.normalize().as_tuple().exponent or 0), 0)
    objective = Objective.built({
        "children": len(children),
        "delivery_hours": _hours(latest) if latest is not None else None,
        "unit_hours": _hours(unit_minutes),
        "cost": f"{cost:.{cost_places}f}",
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
