"""The store on SQLite and PostgreSQL: idempotent splits, re-splits, cancellations,
lineage, money invariants, status history, stats, transactions and concurrency."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from lifecycle_checks import check_tree
from lifecycle_data import gift_request
from sqlalchemy import select

from ordersplit import split
from ordersplit.errors import RequestError
from ordersplit.lifecycle import (
    ConflictError,
    IdempotencyError,
    LevelError,
    LifecycleError,
    Store,
    TransitionError,
    UnknownOrderError,
    open_store,
    rows,
    show,
    show_json,
)
from ordersplit.lifecycle import schema as t


def test_save_split_is_idempotent(store: Store) -> None:
    req = gift_request()
    first = store.save_split(req, split(req))
    assert first.created
    counts = store.row_counts()
    again = store.save_split(req, split(req))
    assert not again.created
    assert again.plan == first.plan
    assert store.split(req).plan == first.plan  # no solve, same stored plan
    assert store.row_counts() == counts  # nothing written twice
    check_tree(store.tree("G-1"))
    other = gift_request(shipping_fee="0.00", payments=[{"method": "cash", "amount": "49.01"}])
    with pytest.raises(IdempotencyError, match="different request"):
        store.save_split(other, split(other))
    assert store.row_counts() == counts


def test_saved_tree_matches_the_plan(store: Store) -> None:
    req = gift_request()
    plan = store.split(req).plan
    tree = store.tree("G-1-1")
    assert [o.id for o in tree] == ["G-1", "G-1-1", "G-1-2"]
    root, milk, ice = tree
    assert (root.status, root.level, milk.level, milk.parent_id) == ("split", 1, 2, "G-1")
    assert milk.status == ice.status == "pending_shipment"
    assert milk.formatted() == plan.children[0].amounts
    assert root.formatted() == plan.parent.amounts
    assert store.linked("G-1-1") == ["G-1-2"] and store.linked("G-1-2") == ["G-1-1"]
    promo = next(a for a in milk.activities if a.activity_id == "PROMO")
    assert promo.amount == 301  # the whole activity: both its lines are in this child
    assert [h.to_status for h in store.history("G-1-1")] == ["pending_shipment"]


def test_resplit_makes_exact_grandchildren(store: Store) -> None:
    store.split(gift_request())
    store.set_status("G-1-1", "in_warehouse")
    plan = store.resplit("G-1-1", {"BREAD": 1})
    ids = [c.id for c in plan.children]
    assert ids == ["G-1-1-1", "G-1-1-2"]
    assert {c.level for c in plan.children} == {3}
    assert {c.parent_id for c in plan.children} == {"G-1-1"}
    assert {c.root_id for c in plan.children} == {"G-1"}
    assert {c.status for c in plan.children} == {"in_warehouse"}  # kept from the child
    tree = store.tree("G-1")
    check_tree(tree)
    by_id = {o.id: o for o in tree}
    assert by_id["G-1-1"].status == "split"
    assert by_id["G-1-1-2"].warehouse == "W2"  # the bread W1 is short of
    # the gift is now linked to the grandchild with the milk (both ways)
    milk_gc = next(o for o in tree if o.level == 3 and "MILK" in o.units())
    assert store.linked("G-1-2") == [milk_gc.id]
    assert next(c for c in plan.children if c.id == milk_gc.id).linked_children == ["G-1-2"]
    assert store.plan("G-1-1") == plan
    assert [h.to_status for h in store.history("G-1-1")] == [
        "pending_shipment", "in_warehouse", "split"]


def test_fourth_level_and_bad_resplits_are_refused(store: Store) -> None:
    store.split(gift_request())
    store.resplit("G-1-1", {"BREAD": 1})
    counts = store.row_counts()
    with pytest.raises(LevelError, match="level 4"):
        store.resplit("G-1-1-1", {"MILK": 1})
    with pytest.raises(LevelError):
        store.resplit("G-1", {})
    with pytest.raises(LifecycleError, match="status split"):
        store.resplit("G-1-1", {"BREAD": 1})
    with pytest.raises(RequestError, match="carries") as bad:
        store.resplit("G-1-2", {"MILK": 1})
    assert (bad.value.field, bad.value.order_id) == ("shortage.MILK", "G-1-2")
    for qty in (-1, 0):
        with pytest.raises(RequestError, match="positive whole number") as bad:
            store.resplit("G-1-2", {"ICE": qty})
        assert bad.value.field == "shortage.ICE"
    with pytest.raises(UnknownOrderError):
        store.resplit("nope", {})
    assert store.row_counts() == counts


def test_cancel_trigger_holds_or_recalls_the_gift(store: Store) -> None:
    store.split(gift_request("A"))
    out = store.cancel("A-1", "customer changed mind")
    milk = store.order("A-1")
    assert out.status == "cancelled"
    assert out.refund == {m: milk.fmt(milk.amounts[m]) for m in milk.methods}
    assert out.refund_total == milk.fmt(milk.paid)
    assert [(a.order_id, a.role, a.action) for a in out.linked] == [("A-2", "gift", "hold")]
    assert store.order("A-2").status == "held"
    with pytest.raises(TransitionError):
        store.cancel("A-1")

    store.split(gift_request("B"))
    store.set_status("B-2", "shipped")
    store.set_status("B-1", "shipped")
    out = store.reject("B-1")
    assert [(a.order_id, a.action) for a in out.linked] == [("B-2", "recall_or_charge")]


def test_cancelling_the_gift_keeps_the_trigger(store: Store) -> None:
    store.split(gift_request())
    out = store.cancel("G-1-2")
    assert [(a.order_id, a.role, a.action) for a in out.linked] == [("G-1-1", "trigger", "keep")]
    assert store.order("G-1-1").status == "pending_shipment"


def test_stats_never_double_count(store: Store) -> None:
    store.split(gift_request("A"))
    store.split(gift_request("B"))
    store.resplit("B-1", {"BREAD": 1})
    by_parent = store.stats("parent")[0]
    by_child = store.stats("child")[0]
    assert by_parent.count == 2 and by_child.count == 5  # B-2, B-1-1, B-1-2
    assert by_parent.value == by_child.value == "118.00"
    assert by_parent.average == "59.00"
    store.cancel("A-1")
    store.cancel("A-2")
    assert store.stats("parent")[0].count == 1  # all of A cancelled: not a valid order
    assert store.stats("parent")[0].value == "59.00"


def test_show_prints_the_tree(store: Store) -> None:
    store.split(gift_request())
    store.resplit("G-1-1", {"BREAD": 1})
    text = show(store, "G-1")
    assert "G-1  [split]" in text and "G-1-1-2  [pending_shipment]  level 3" in text
    assert "linked: G-1-1-1" in text
    data = show_json(store, "G-1-1")
    assert [o["id"] for o in data["orders"]] == ["G-1-1", "G-1-1-1", "G-1-1-2"]
    assert data["orders"][0]["history"][-1]["to_status"] == "split"


def test_history_has_timestamps(store: Store) -> None:
    store.split(gift_request())
    store.set_status("G-1-1", "in_warehouse", "picked")
    hist = store.history("G-1-1")
    assert hist[-1].from_status == "pending_shipment" and hist[-1].note == "picked"
    assert hist[0].at <= hist[-1].at


def test_stale_version_is_a_conflict(store: Store) -> None:
    store.split(gift_request())
    with store.engine.connect() as conn:
        stale = conn.execute(select(t.orders).where(t.orders.c.id == "G-1-1")).mappings().one()
    store.set_status("G-1-1", "in_warehouse")
    with pytest.raises(ConflictError), store._write() as conn:
        store._bump(conn, stale, "shipped", None)


def _boom_after(monkeypatch: pytest.MonkeyPatch, calls: int) -> None:
    real = rows.insert_items
    seen = {"n": 0}

    def flaky(conn: Any, node: Any) -> None:
        seen["n"] += 1
        if seen["n"] > calls:
            raise RuntimeError("injected crash")
        real(conn, node)

    monkeypatch.setattr(rows, "insert_items", flaky)


def test_crash_inside_a_write_leaves_nothing(store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    req = gift_request()
    plan = split(req)
    with monkeypatch.context() as m:
        _boom_after(m, 2)  # root and first child written, then the crash
        with pytest.raises(RuntimeError, match="injected"):
            store.save_split(req, plan)
    assert set(store.row_counts().values()) == {0}
    store.save_split(req, plan)
    before = store.row_counts()
    tree_before = store.tree("G-1")
    with monkeypatch.context() as m:
        _boom_after(m, 1)  # child marked split, first grandchild written, then the crash
        with pytest.raises(RuntimeError, match="injected"):
            store.resplit("G-1-1", {"BREAD": 1})
    assert store.row_counts() == before
    assert store.tree("G-1") == tree_before


def test_two_concurrent_resplits_never_both_succeed(store_url: str) -> None:
    setup = open_store(store_url)
    setup.split(gift_request())
    setup.close()
    stores = [open_store(store_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(k: int) -> None:
        barrier.wait()
        try:
            results[k] = stores[k].resplit("G-1-1", {"BREAD": 1})
        except LifecycleError as exc:
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    errors = [r for r in results if isinstance(r, LifecycleError)]
    assert len(errors) == 1, results
    tree = stores[0].tree("G-1")
    assert [o.id for o in tree if o.level == 3] == ["G-1-1-1", "G-1-1-2"]
    check_tree(tree)
    for s in stores:
        s.close()


def test_concurrent_saves_of_one_order(store_url: str) -> None:
    req = gift_request()
    plan = split(req)
    open_store(store_url).close()
    stores = [open_store(store_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    created: list[Any] = [None, None]

    def run(k: int) -> None:
        barrier.wait()
        created[k] = stores[k].save_split(req, plan).created

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(created) == [False, True]
    assert stores[0].row_counts()["orders"] == 3
    for s in stores:
        s.close()
