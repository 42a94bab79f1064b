"""From an assignment to child orders: grouping, kinds, lineage, reasons, links.

A child is a set of parts (a parent line, or one bundle component of it, and a
quantity) that one warehouse ships together. Children are numbered deterministically:
shipments in the order of their first line, then the store child, then back-orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ordersplit.models.request import SplitRequest
from ordersplit.rules.keys import GroupKey
from ordersplit.solver.compile import Layout
from ordersplit.solver.problem import IntArray

KIND_RANK = {"shipment": 0, "store": 1, "backorder": 2}


@dataclass(slots=True)
class Part:
    line: int
    component: str | None
    quantity: int


@dataclass(slots=True)
class DraftChild:
    """A child before it gets its id and amounts."""

    kind: str
    key: GroupKey
    warehouse: int | None
    bulky: bool = False
    parts: list[Part] = field(default_factory=list)
    sources: dict[int, int] = field(default_factory=dict)
    """Units shipped from each warehouse (several only when the warehouse rule is off)."""

    def add(self, line: int, component: str | None, quantity: int) -> None:
        for part in self.parts:
            if part.line == line and part.component == component:
                part.quantity += quantity
                return
        self.parts.append(Part(line, component, quantity))

    def first_line(self) -> int:
        return min(p.line for p in self.parts)


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


def draft_children(layout: Layout, x: IntArray, per_warehouse: bool) -> list[DraftChild]:
    """Children from the solver's assignment plus the parts the rules fixed.

    One pass over the assignment's nonzero cells: a cell opens its child (holding the
    cell's part and units) or adds to it. Equal group keys share a child; the keys are
    told apart by small ints, looked up by the key object first (an item's key object
    lives as long as the layout; a :class:`GroupKey` hashes in Python, so each distinct
    object is hashed once). ``tests/test_plan_children.py`` compares the children with
    the earlier, plainer drafting on generated plans."""
    drafts: dict[object, DraftChild] = {}
    by_object: dict[int, int] = {}
    by_key: dict[GroupKey, int] = {}
    items = layout.items
    width = x.shape[1]
    for i, w, units in _nonzero_cells(x):
        line, component, key = items[i]
        kid = by_object.get(id(key))
        if kid is None:
            kid = by_object[id(key)] = by_key.setdefault(key, len(by_key))
        # an int slot per (key, warehouse) or key (fixed parts' slots are tuples)
        slot = kid * width + w if per_warehouse else kid
        child = drafts.get(slot)
        if child is None:
            drafts[slot] = DraftChild("shipment", key, w, False, [Part(line, component, units)],
                                      {w: units})
            continue
        sources = child.sources
        if child.warehouse != w:
            child.warehouse = None  # warehouse rule off: one child, several warehouses
            sources[w] = sources.get(w, 0) + units
        else:
            sources[w] += units
        for have in child.parts:  # (DraftChild.add, inline)
            if have.line == line and have.component == component:
                have.quantity += units
                break
        else:
            child.parts.append(Part(line, component, units))
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
            key = part.key
            kid = by_object.get(id(key))
            if kid is None:
                kid = by_object[id(key)] = by_key.setdefault(key, len(by_key))
            slot = ("backorder", kid)
            drafts.setdefault(slot, DraftChild("backorder", part.key, None))
        drafts[slot].add(part.line, part.component, part.quantity)
    out = list(drafts.values())
    out.sort(key=_draft_order)
    return out


def _draft_order(c: DraftChild) -> tuple[int, int, int]:
    """Shipments in the order of their first line, then the store child, then back-orders."""
    parts = c.parts
    return (KIND_RANK[c.kind], parts[0].line if len(parts) == 1 else min([p.line for p in parts]),
            -1 if c.warehouse is None else c.warehouse)


SMALL_ASSIGNMENT = 1 << 12
"""Cells of an assignment up to which :func:`_nonzero_cells` splits each flat index in
Python (a handful of cells: fewer numpy calls); beyond, numpy splits them all."""


def _nonzero_cells(x: IntArray) -> Iterable[tuple[int, int, int]]:
    """``(item, warehouse, units)`` of every nonzero cell of ``x``, row-major."""
    flat = x.ravel()
    cells = flat.nonzero()[0]
    width = x.shape[1]
    if x.size <= SMALL_ASSIGNMENT:
        return [(f // width, f % width, u)
                for f, u in zip(cells.tolist(), flat[cells].tolist())]  # noqa: B905 - equal
    rows, cols = np.divmod(cells, width)  # a wide matrix: every index at once
    return zip(rows.tolist(), cols.tolist(), flat[cells].tolist())  # noqa: B905 - equal lengths


def reasons(children: list[DraftChild]) -> list[list[str]]:
    """For each child, the rules that separate it from at least one other child.

    Children of the same kind, bulkiness and group key are alike here. A key rule
    separates a child from another of its kind and bulkiness exactly when their keys
    differ on that rule's field, so it separates every child of such a group as soon as
    the group's keys hold two values of the field: one pass over the children, no
    comparison of pairs. Each list is in :data:`~ordersplit.rules.keys.REASON_ORDER`.
    ``tests/test_plan_children.py`` compares the reasons with the
    earlier pairwise way's on generated plans.
    """
    n_children = len(children)
    per_kind: dict[str, int] = {}
    by_object: dict[int, int] = {}
    by_key: dict[GroupKey, int] = {}
    # (kind, bulky, key id) -> children per warehouse; (kind, bulky) -> its keys' fields
    classes: dict[tuple[str, bool, int], dict[int | None, int]] = {}
    fields_of: dict[tuple[str, bool], list[tuple[object, ...]]] = {}
    of_child = []
    for c in children:
        kind, key = c.kind, c.key
        per_kind[kind] = per_kind.get(kind, 0) + 1
        kid = by_object.get(id(key))
        if kid is None:
            kid = by_object[id(key)] = by_key.setdefault(key, len(by_key))
        cls = (kind, c.bulky, kid)
        of_child.append(cls)
        same = classes.get(cls)
        if same is None:
            same = classes[cls] = {}
            fields_of.setdefault((kind, c.bulky), []).append(
                (key.merchant, key.handling, key.temperature, key.cross_border))
        same[c.warehouse] = same.get(c.warehouse, 0) + 1
    # for each (kind, bulky): which key fields hold two values or more (KEY_RULES' order)
    split_on = {group: [len(set(values)) > 1 for values in zip(*keys, strict=True)]
                for group, keys in fields_of.items()}
    sizes = {cls: sum(same.values()) for cls, same in classes.items()}
    out: list[list[str]] = []
    for a, cls in zip(children, of_child, strict=True):
        merchant, handling, temperature, cross_border = split_on[cls[:2]]
        kind = a.kind
        alone = per_kind[kind] < n_children  # the special child carries the reason
        found = []
        if merchant:
            found.append("merchant")
        if sizes[cls] > classes[cls][a.warehouse]:  # same key, another warehouse
            found.append("warehouse")
        if handling:
            found.append("handling")
        if temperature:
            found.append("temperature")
        if cross_border:
            found.append("cross_border")
        if a.bulky and per_kind[kind] > 1:
            found.append("bulky")
        if alone and kind == "backorder":
            found.append("stock")
        if alone and kind == "store":
            found.append("offline_store")
        out.append(found)
    return out


def gift_links(request: SplitRequest, children: list[DraftChild]) -> list[set[int]]:
    """Child indices linked to each child through gift activities (both ways)."""
    links: list[set[int]] = [set() for _ in children]
    if not any(act.kind == "gift" for act in request.order.activities):
        return links
    index = {line.id: li for li, line in enumerate(request.order.lines)}
    holders: dict[int, set[int]] = {}
    for c, child in enumerate(children):
        for part in child.parts:
            holders.setdefault(part.line, set()).add(c)
    for act in request.order.activities:
        if act.kind != "gift":
            continue
        gifts = set().union(*(holders.get(index[g], set()) for g in act.gift_lines))
        triggers = set().union(*(holders.get(index[t], set()) for t in act.trigger_lines))
        for g in gifts:
            for t in triggers:
                if g != t:
                    links[g].add(t)
                    links[t].add(g)
    return links
