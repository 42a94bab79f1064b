"""The gift cascade and the hold: cancelling or rejecting a trigger holds (or cancels) its
unshipped gift child in the same transaction; a held child cannot ship or be re-split
until released. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from lifecycle_checks import check_tree
from lifecycle_data import gift_request

from ordersplit.lifecycle import LifecycleError, Store, TransitionError, release, rows


def test_cancelling_the_trigger_holds_the_gift_until_released(store: Store) -> None:
    store.split(gift_request())
    out = store.cancel("G-1-1", "customer changed mind")
    assert [(a.order_id, a.action, a.status) for a in out.linked] == [
        ("G-1-2", "hold", "pending_shipment")]
    gift = store.order("G-1-2")
    assert gift.status == "held"
    assert [(h.from_status, h.to_status, h.note) for h in store.history("G-1-2")][-1] == (
        "pending_shipment", "held", "linked gift of cancelled G-1-1")
    with pytest.raises(LifecycleError, match="status held"):
        store.resplit("G-1-2", {"ICE": 1})
    for status in ("shipped", "in_warehouse", "pending_shipment"):
        with pytest.raises(TransitionError):
            store.set_status("G-1-2", status)
    assert store.order("G-1-2").status == "held"
    assert release(store, "G-1-2", "customer keeps the gift") == "pending_shipment"
    store.set_status("G-1-2", "shipped")
    with pytest.raises(TransitionError, match="only a held order"):
        store.release("G-1-2")
    check_tree(store.tree("G-1"))


def test_release_returns_to_the_warehouse_status(store: Store) -> None:
    store.split(gift_request())
    store.set_status("G-1-2", "in_warehouse")
    store.set_status("G-1-1", "shipped")
    out = store.reject("G-1-1")
    assert [a.action for a in out.linked] == ["hold"]
    assert store.release("G-1-2") == "in_warehouse"
    assert store.order("G-1-2").status == "in_warehouse"


def test_cascade_by_option_cancels_and_refunds_the_gift(store: Store) -> None:
    store.split(gift_request())
    gift = store.order("G-1-2")
    out = store.cancel("G-1-1", gifts="cancel")
    assert [(a.order_id, a.action) for a in out.linked] == [("G-1-2", "cancel")]
    assert out.linked[0].refund == {m: gift.fmt(gift.amounts[m]) for m in gift.methods}
    assert store.order("G-1-2").status == "cancelled"
    with pytest.raises(LifecycleError, match="'hold' or 'cancel'"):
        store.cancel("G-1-2", gifts="drop")  # type: ignore[arg-type]


def test_a_held_gift_is_cancelled_by_a_later_cascade_or_by_hand(store: Store) -> None:
    store.split(gift_request())
    store.cancel("G-1-1")
    assert store.order("G-1-2").status == "held"
    out = store.cancel("G-1-2")  # a held child can still be cancelled
    assert out.status == "cancelled"
    assert [a.action for a in out.linked] == ["keep"]


def test_a_manual_hold_is_released_the_same_way(store: Store) -> None:
    store.split(gift_request())
    store.set_status("G-1-1", "held", "address check")
    with pytest.raises(LifecycleError, match="status held"):
        store.resplit("G-1-1", {"BREAD": 1})
    assert store.release("G-1-1") == "pending_shipment"
    store.resplit("G-1-1", {"BREAD": 1})


def test_a_crash_in_the_cascade_undoes_the_cancellation(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store.split(gift_request())
    before, counts = store.tree("G-1"), store.row_counts()
    real = rows.insert_status
    seen = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> None:
        seen["n"] += 1
        if seen["n"] == 2:  # the trigger's row is written, the gift's is not
            raise RuntimeError("injected crash")
        real(*args, **kwargs)

    monkeypatch.setattr(rows, "insert_status", flaky)
    with pytest.raises(RuntimeError, match="injected"):
        store.cancel("G-1-1")
    monkeypatch.undo()
    assert store.tree("G-1") == before and store.row_counts() == counts


def test_cancelling_a_child_never_moves_its_discount_onto_siblings(store: Store) -> None:
    store.split(gift_request())
    store.resplit("G-1-1", {"BREAD": 1})
    before = {o.id: o for o in store.tree("G-1")}
    milk = next(o for o in before.values() if o.level == 3 and "MILK" in o.units())
    out = store.cancel(milk.id)
    after = {o.id: o for o in store.tree("G-1")}
    for oid, node in before.items():
        assert after[oid].amounts == node.amounts  # nobody's share moved, the discount too
        assert [a.amount for a in after[oid].activities] == [a.amount for a in node.activities]
    assert out.refund == {m: milk.fmt(milk.amounts[m]) for m in milk.methods}
    assert after[milk.id].amounts["discount"] > 0  # its share stays on it, refunded net
