"""The order lifecycle after the split, kept in a real database.

Three levels (parent -> children -> grandchildren from a re-split), a validated status
machine, re-splits through the same :func:`ordersplit.split`, exact money at every
level, linked gift children, and a SQLAlchemy store (SQLite by default, PostgreSQL by
URL) where every split, re-split and cancellation is one transaction.

    store = open_store("sqlite:///orders.db")      # or postgresql+psycopg://...
    store.split(request)                            # split + save, idempotent
    resplit(store, "P-1001-2", {"ICE-CREAM": 1})    # grandchildren P-1001-2-1, ...
    cancel(store, "P-1001-3")                       # refund; its gift child is held
    release(store, "P-1001-4")                      # the held gift goes back to work
    print(show(store, "P-1001"))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ordersplit.lifecycle.errors import (
    ConflictError,
    IdempotencyError,
    LevelError,
    LifecycleError,
    TransitionError,
    UnknownOrderError,
)
from ordersplit.lifecycle.links import GiftPolicy, LinkedAction, linked_ids
from ordersplit.lifecycle.nodes import OrderNode
from ordersplit.lifecycle.render import render_tree
from ordersplit.lifecycle.resplit import Stock
from ordersplit.lifecycle.stats import By, OrderStats
from ordersplit.lifecycle.status import STATUSES, allowed, check_transition
from ordersplit.lifecycle.store import CancelOutcome, Saved, StatusChange, Store, open_store
from ordersplit.models.plan import Plan

__all__ = [
    "STATUSES",
    "CancelOutcome",
    "ConflictError",
    "GiftPolicy",
    "IdempotencyError",
    "LevelError",
    "LifecycleError",
    "LinkedAction",
    "OrderNode",
    "OrderStats",
    "Saved",
    "StatusChange",
    "Store",
    "TransitionError",
    "UnknownOrderError",
    "allowed",
    "cancel",
    "check_transition",
    "open_store",
    "reject",
    "release",
    "resplit",
    "show",
    "show_json",
    "stats",
]


def resplit(store: Store, child_id: str, shortage: Mapping[str, int],
            stock: Stock | None = None) -> Plan:
    """Re-split a child the warehouse is short for (see :meth:`Store.resplit`)."""
    return store.resplit(child_id, shortage, stock)


def cancel(store: Store, order_id: str, note: str | None = None,
           gifts: GiftPolicy = "hold") -> CancelOutcome:
    """Cancel an unshipped child: the refund per method and the linked orders' actions.

    Its unshipped linked gift children are held (or, ``gifts="cancel"``, cancelled) in
    the same transaction.
    """
    return store.cancel(order_id, note, gifts=gifts)


def reject(store: Store, order_id: str, note: str | None = None,
           gifts: GiftPolicy = "hold") -> CancelOutcome:
    """The customer rejected a shipped child: refund, linked actions, gift cascade."""
    return store.reject(order_id, note, gifts=gifts)


def release(store: Store, order_id: str, note: str | None = None) -> str:
    """Release a held child to the status it had before the hold; returns that status."""
    return store.release(order_id, note)


def stats(store: Store, by: By = "parent") -> list[OrderStats]:
    """Valid-order count and average order value per currency, by parent or by child."""
    return store.stats(by)


def show(store: Store, order_id: str) -> str:
    """The order's tree (it and everything below it) as readable text."""
    tree = store.tree(order_id)
    links = {o.id: linked_ids(tree[0], tree, o.id) for o in tree}
    return render_tree(tree, order_id, links)


def show_json(store: Store, order_id: str) -> dict[str, Any]:
    """The order's tree as JSON: every order with lineage, status, amounts, lines, links."""
    tree = store.tree(order_id)
    wanted = {order_id}
    for node in tree:  # parents come before children
        if node.parent_id in wanted:
            wanted.add(node.id)
    return {"order_id": order_id, "orders": [
        {"id": o.id, "parent_id": o.parent_id, "root_id": o.root_id, "level": o.level,
         "kind": o.kind, "status": o.status, "warehouse": o.warehouse,
         "linked": linked_ids(tree[0], tree, o.id), "amounts": o.formatted(),
         "lines": [{"line_id": i.line_id, "sku": i.sku, "quantity": i.quantity,
                    "component_of": i.component_of,
                    "amounts": {k: o.fmt(i.amounts[k]) for k in o.keys}} for i in o.items],
         "history": [h.__dict__ for h in store.history(o.id)]}
        for o in tree if o.id in wanted]}
