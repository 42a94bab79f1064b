"""The plan builder's child drafting and reasons as they were before session 13's
speed-up (``ordersplit.plan.children`` at 8f59a58): the reference the faster ones are
compared with (``tests/test_plan_children.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ordersplit.plan.children import KIND_RANK, DraftChild
from ordersplit.rules.keys import REASON_ORDER, GroupKey, differing_rules
from ordersplit.solver.compile import Layout
from ordersplit.solver.problem import IntArray


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
