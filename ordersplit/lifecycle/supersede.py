"""Batch write-back: a stored order's pending children replaced by a batch's new plan.

A batch re-optimization (:mod:`ordersplit.batch`) may give a stored order a new plan.
The old children then become ``superseded`` (not cancelled: nothing was refunded) and
the new children, of a new generation (ids ``{order}-v{n}-{k}``), are stored under the
same parent (``parent_id``/``root_id`` the order, ``level`` 2) with the money shared out
again. Only an order whose children are all still ``pending_shipment`` may change; one
with a released child (in the warehouse, held, shipped, re-split, cancelled...) keeps
its plan. Every order a batch touches gets one ``batch_writes`` row, in the same
transaction as its orders, so a batch id applied twice writes nothing the second time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ordersplit.lifecycle import schema as t
from ordersplit.lifecycle.nodes import OrderNode
from ordersplit.lifecycle.status import PENDING, SUPERSEDED
from ordersplit.models.plan import Plan

GENERATION = re.compile(r"-v(\d+)-\d+$")
"""A batch generation's child id ends ``-v{n}-{k}``; the first split's ids have no ``v``."""
CHUNK = 500
"""Order ids per ``IN (...)`` query."""

INSERTED, REPLACED, UNCHANGED, KEPT = "inserted", "replaced", "unchanged", "kept"
"""What a batch did to an order (``batch_writes.action``)."""


@dataclass(frozen=True)
class StoredOrder:
    """A stored order as a batch sees it before optimizing."""

    order_id: str
    order_json: str
    """The stored request's ``order`` (canonical JSON), to check the batch has the same."""
    movable: bool
    """All its children are still pending: the batch may replace them."""
    held: list[tuple[str | None, str, int]]
    """``(warehouse, sku, quantity)`` of every item of its live children (a bundle's
    item names the bundle)."""
    change: dict[str, Any] | None
    """The changes row this batch id already wrote for it (``None``: not yet)."""


@dataclass(frozen=True)
class BatchWrite:
    """What one order's write-back did: the action, the stored plan, the changes row."""

    action: str
    plan: Plan
    change: dict[str, Any]


def order_json(order: Any) -> str:
    """Canonical JSON of a request's ``order`` (a pydantic model or its dump)."""
    data = order.model_dump(mode="json") if hasattr(order, "model_dump") else order
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def movable(below: Iterable[tuple[int, str]]) -> bool:
    """Whether the orders below a root, as ``(level, status)``, are all pending (or
    superseded) children, at least one pending: only then may a batch re-plan it."""
    seen = list(below)
    return any(status == PENDING for _, status in seen) and all(
        level == 2 and status in (PENDING, SUPERSEDED) for level, status in seen)


def live_children(tree: Sequence[OrderNode]) -> list[OrderNode]:
    """The root's children that are not superseded."""
    return [o for o in tree if o.level == 2 and o.status != SUPERSEDED]


def _child_key(kind: str, warehouse: str | None, warehouses: Sequence[str],
               lines: Iterator[tuple[str, str, int, str | None]]) -> tuple[Any, ...]:
    return (kind, warehouse, tuple(sorted(warehouses)), tuple(sorted(lines, key=str)))


def same_children(live: Sequence[OrderNode], plan: Plan) -> bool:
    """Whether the plan's children are the stored ones (places and lines; ids aside)."""
    stored = sorted((_child_key(o.kind, o.warehouse, o.warehouses,
                                ((i.line_id, i.sku, i.quantity, i.component_of) for i in o.items))
                     for o in live), key=str)
    new = sorted((_child_key(c.kind, c.warehouse, c.warehouses,
                             ((ln.line_id, ln.sku, ln.quantity, ln.component_of)
                              for ln in c.lines)) for c in plan.children), key=str)
    return stored == new


def next_generation(tree: Sequence[OrderNode]) -> int:
    """The generation number of the next children (the first split's are generation 1)."""
    gens = [int(m.group(1)) for o in tree if o.level == 2 and (m := GENERATION.search(o.id))]
    return max(gens, default=1) + 1


def renamed(plan: Plan, generation: int) -> Plan:
    """The plan with its children named ``{order}-v{generation}-{k}`` (links follow)."""
    ids = {c.id: f"{plan.order_id}-v{generation}-{k}" for k, c in enumerate(plan.children, 1)}
    children = [c.model_copy(update={"id": ids[c.id], "linked_children": [
        ids.get(x, x) for x in c.linked_children]}) for c in plan.children]
    return plan.model_copy(update={"children": children})


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i:i + CHUNK])


def read_batch_orders(conn: Connection, batch_id: str, order_ids: Sequence[str]
                      ) -> dict[str, StoredOrder]:
    """The stored orders among ``order_ids`` (roots), in a few bulk queries."""
    o, it, bw = t.orders, t.items, t.batch_writes
    out: dict[str, StoredOrder] = {}
    for ids in _chunks(order_ids):
        rows = conn.execute(select(o.c.id, o.c.root_id, o.c.level, o.c.status, o.c.warehouse,
                                   o.c.request_json).where(o.c.root_id.in_(ids))).mappings().all()
        roots = {r["id"]: r for r in rows if r["level"] == 1}
        done = {r.order_id: r.change for r in conn.execute(
            select(bw.c.order_id, bw.c.change).where(bw.c.batch_id == batch_id,
                                                     bw.c.order_id.in_(ids)))}
        live = [r for r in rows if r["level"] == 2 and r["status"] != SUPERSEDED]
        items: dict[str, list[tuple[str, int]]] = {}
        for sub in _chunks([r["id"] for r in live]):
            for item in conn.execute(select(it.c.order_id, it.c.sku, it.c.quantity).where(
                    it.c.order_id.in_(sub))):
                items.setdefault(item.order_id, []).append((item.sku, int(item.quantity)))
        below: dict[str, list[Any]] = {}
        for node in rows:
            if node["level"] >= 2:
                below.setdefault(node["root_id"], []).append(node)
        for oid, root in roots.items():
            kids = below.get(oid, [])
            ok = movable((k["level"], k["status"]) for k in kids)
            request = json.loads(root["request_json"] or "{}")
            held = [(k["warehouse"], sku, q) for k in kids
                    if k["level"] == 2 and k["status"] != SUPERSEDED
                    for sku, q in items.get(k["id"], [])]
            out[oid] = StoredOrder(oid, order_json(request.get("order", {})), ok, held,
                                   done.get(oid))
    return out


def read_plans(conn: Connection, order_ids: Sequence[str]
               ) -> dict[str, tuple[str, str, dict[str, str]]]:
    """``order_id -> (request JSON, plan JSON, {child id: status})`` of stored roots."""
    o = t.orders
    out: dict[str, tuple[str, str, dict[str, str]]] = {}
    for ids in _chunks(order_ids):
        statuses: dict[str, dict[str, str]] = {}
        for r in conn.execute(select(o.c.id, o.c.root_id, o.c.status).where(
                o.c.root_id.in_(ids), o.c.level >= 2)):
            statuses.setdefault(r.root_id, {})[r.id] = r.status
        for r in conn.execute(select(o.c.id, o.c.request_json, o.c.plan_json).where(
                o.c.id.in_(ids), o.c.level == 1)):
            if r.plan_json:
                out[r.id] = (r.request_json or "{}", r.plan_json, statuses.get(r.id, {}))
    return out


def read_changes(conn: Connection, batch_id: str, order_ids: Sequence[str]
                 ) -> dict[str, dict[str, Any]]:
    """The changes rows ``batch_id`` wrote, by order id."""
    bw = t.batch_writes
    out: dict[str, dict[str, Any]] = {}
    for ids in _chunks(order_ids):
        for r in conn.execute(select(bw.c.order_id, bw.c.change).where(
                bw.c.batch_id == batch_id, bw.c.order_id.in_(ids))):
            out[r.order_id] = dict(r.change)
    return out
