"""The batch against the lifecycle store: what it may change, the write-back, the tables.

Before the search (:func:`read_store`): every input order already in the store is
looked up. An order this batch id already wrote, or whose children are not all still
pending (released: in the warehouse, held, shipped, re-split, cancelled), is *pinned*:
it stays out of the search, keeps its stored plan, and the units its live children hold
are taken off the batch's stock. A movable stored order starts from its stored children
(its current assignment). A stored order whose lines or payments differ from the
batch's is an error row.

After the search (:func:`write_back`): each order in its own transaction
(:meth:`ordersplit.lifecycle.Store.write_batch_plan`): new orders are stored, changed
ones get their old children superseded by the new generation, unchanged and released
ones are recorded as such. A crash leaves every order old or new, and running the same
batch id again finishes the rest and rewrites nothing.

The returned tables are read back from the store (:func:`stored_tables`), so they are
exactly what it keeps, and the same batch id gives the same tables again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ordersplit.batch.inputs import BatchInput, OrderError
from ordersplit.batch.model import OrderTemplate, World
from ordersplit.batch.output import TABLE_COLUMNS, frame, plan_rows
from ordersplit.lifecycle.resplit import expand
from ordersplit.lifecycle.supersede import KEPT, BatchWrite, StoredOrder, order_json
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

STORE_CHANGE_COLUMNS = ("store_action", "superseded", "superseded_by")
"""Columns the store adds to the changes table."""
CHUNK = 25
"""Orders written back per transaction (each in a savepoint of its own)."""


@dataclass
class StoreView:
    """The stored side of a batch: what is pinned, what may move, what is wrong."""

    url: str
    batch_id: str
    stored: dict[str, StoredOrder]
    pinned: list[str] = field(default_factory=list)
    """Orders kept out of the search (written by this batch id already, or released)."""
    errors: list[OrderError] = field(default_factory=list)
    batch: BatchInput | None = None
    """The batch to optimize: the input less the pinned and wrong orders."""

    def counts(self) -> dict[str, int]:
        """Pinned orders by reason."""
        done = sum(1 for o in self.pinned if self.stored[o].change is not None)
        return {"already_written": done, "released": len(self.pinned) - done}


def read_store(url: str, batch_id: str, batch: BatchInput) -> StoreView:
    """Look the batch's orders up in the store and cut the batch down (module docstring)."""
    from ordersplit.lifecycle import open_store

    store = open_store(url)
    try:
        stored = store.batch_orders(batch_id, [t.order_id for t in batch.templates])
    finally:
        store.close()
    view = StoreView(url, batch_id, stored)
    keep: list[OrderTemplate] = []
    taken = np.zeros_like(batch.world.stock)
    reserved: dict[str, IntArray] = {}
    loc_index = {loc.id: w for w, loc in enumerate(batch.world.locations)}
    sku_index = batch.world.sku_index()
    for tpl in batch.templates:
        row = stored.get(tpl.order_id)
        if row is None:
            keep.append(tpl)
            continue
        if row.order_json != order_json(tpl.request.order):
            view.errors.append(OrderError(tpl.order_id, tpl.input_row, "order",
                                          "the stored order differs from the batch's order "
                                          "(same order id, different lines or payments)"))
            continue
        units = _held_units(tpl.request, row, loc_index, sku_index)
        if row.change is not None or not row.movable:
            view.pinned.append(tpl.order_id)
            for (w, k), q in units.items():
                taken[w, k] += q
            continue
        keep.append(tpl)
        reserved[tpl.order_id] = _view(tpl, units, batch.world.n_locations)
    world = batch.world
    if taken.any():
        world = World(world.locations, world.sku_ids, np.maximum(world.stock - taken, 0))
    templates = [replace(t, position=i, row=t.input_row) for i, t in enumerate(keep)]
    view.batch = BatchInput(world, templates, [], len(templates), batch.current,
                            batch.settings, reserved=reserved)
    log.info("batch %s: %d orders stored, %d pinned, %d movable, %d differ", batch_id,
             len(stored), len(view.pinned), len(reserved), len(view.errors))
    return view


def _held_units(request: SplitRequest, row: StoredOrder, loc_index: dict[str, int],
                sku_index: dict[str, int]) -> dict[tuple[int, int], int]:
    """Stock units (location, SKU column) the order's live children hold."""
    out: dict[tuple[int, int], int] = {}
    for wid, sku, qty in row.held:
        w = loc_index.get(wid) if wid is not None else None
        if w is None:
            continue  # waiting, or shipped from several warehouses (not attributable)
        for part, units in expand(request, sku, qty).items():
            k = sku_index.get(part)
            if k is not None:
                out[(w, k)] = out.get((w, k), 0) + units
    return out


def _view(tpl: OrderTemplate, units: dict[tuple[int, int], int], n_locations: int) -> IntArray:
    """Held units as the order's clipped stock view (its reservation)."""
    col = {int(k): j for j, k in enumerate(tpl.cols.tolist()) if k >= 0}
    view = np.zeros((n_locations, tpl.cols.size), dtype=np.int64)
    for (w, k), q in units.items():
        if k in col:
            view[w, col[k]] += q
    return np.minimum(view, tpl.demand[None, :])


def kept_change(plan: Plan) -> dict[str, Any]:
    """The changes row of an order the batch left as stored (released children)."""
    whs = ";".join(sorted({w for c in plan.children for w in c.warehouses}))
    hours = plan.objective.delivery_hours
    waiting = sum(ln.quantity for c in plan.children if c.kind == "backorder"
                  for ln in c.lines if ln.component_of is None)
    n = len(plan.children)
    return {"order_id": plan.order_id, "children_before": n, "children_after": n,
            "warehouses_before": whs, "warehouses_after": whs,
            "delivery_hours_before": hours, "delivery_hours_after": hours,
            "backorder_units_before": waiting, "backorder_units_after": waiting,
            "changed_warehouse": False, "changed_children": False}


def write_back(view: StoreView, requests: dict[str, SplitRequest], plans: Sequence[Plan],
               changes: dict[str, dict[str, Any]]) -> tuple[dict[str, BatchWrite], list[
                   tuple[str, str]]]:
    """Each plan into the store (:data:`CHUNK` orders per transaction, every order
    whole or not at all), and a ``kept`` record for each released order;
    ``(writes, [(order id, error)])``."""
    from ordersplit.lifecycle import open_store

    store = open_store(view.url)
    writes: dict[str, BatchWrite] = {}
    failed: list[tuple[str, str]] = []
    try:
        released = [o for o in view.pinned if view.stored[o].change is None]
        todo = [(Plan.model_validate_json(kept[1]), True) for kept in
                store.batch_plans(released).values()] + [(p, False) for p in plans]
        for i in range(0, len(todo), CHUNK):
            items = [(requests[p.order_id], p, kept_change(p) if keep else changes[p.order_id])
                     for p, keep in todo[i:i + CHUNK]]
            for (request, _, _), done in zip(items, store.write_batch_plans(
                    view.batch_id, items), strict=True):
                oid = request.order.id
                if isinstance(done, BatchWrite):
                    writes[oid] = done
                else:  # this order's error; the others go on
                    log.warning("batch %s: order %s not written: %s", view.batch_id, oid, done)
                    failed.append((oid, str(done)))
    finally:
        store.close()
    return writes, failed


def stored_tables(url: str, batch_id: str, order_ids: Sequence[str]
                  ) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The order tables and changes of ``order_ids`` as the store keeps them (statuses
    as stored); ``(tables, ids without a stored plan)``."""
    from ordersplit.lifecycle import open_store

    store = open_store(url)
    try:
        kept = store.batch_plans(order_ids)
        changed = store.batch_changes(batch_id, order_ids)
    finally:
        store.close()
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_COLUMNS}
    change_rows: list[dict[str, Any]] = []
    missing = []
    for oid in order_ids:
        if oid not in kept:
            missing.append(oid)
            continue
        request_json, plan_json, statuses = kept[oid]
        part = plan_rows(SplitRequest.model_validate_json(request_json),
                         Plan.model_validate_json(plan_json))
        for r in part["master"]:
            r["status"] = statuses.get(r["order_id"], r["status"])
        for name in TABLE_COLUMNS:
            rows[name].extend(part[name])
        if oid in changed:
            change_rows.append(changed[oid])
    tables = {name: frame(r, TABLE_COLUMNS[name]) for name, r in rows.items()}
    tables["changes"] = frame(change_rows)
    return tables, missing


def store_summary(view: StoreView, writes: dict[str, BatchWrite]) -> dict[str, Any]:
    """What the write-back did, by action, and what was pinned."""
    out: dict[str, Any] = {"url": view.url, "batch_id": view.batch_id}
    for action in ("inserted", "replaced", "unchanged", KEPT):
        out[action] = sum(1 for w in writes.values() if w.action == action)
    out.update(view.counts())
    return out
