"""The status machine: allowed transitions, terminal statuses, inherited statuses."""

from __future__ import annotations

import pytest

from ordersplit.lifecycle import TransitionError, allowed, check_transition
from ordersplit.lifecycle.status import initial_child_status


def test_parent_split_is_not_cancelled() -> None:
    assert "split" in allowed(1, "paid")
    assert allowed(1, "split") == frozenset()
    with pytest.raises(TransitionError):
        check_transition("P", 1, "split", "cancelled")


@pytest.mark.parametrize("terminal", ["cancelled", "rejected", "delivered", "split"])
def test_terminal_statuses(terminal: str) -> None:
    assert allowed(2, terminal) == frozenset()
    with pytest.raises(TransitionError, match="terminal"):
        check_transition("C", 2, terminal, "shipped")


def test_child_path_and_refusals() -> None:
    for old, new in [("pending_shipment", "in_warehouse"), ("in_warehouse", "shipped"),
                     ("shipped", "delivered"), ("shipped", "rejected"),
                     ("pending_shipment", "cancelled"), ("in_warehouse", "split")]:
        check_transition("C", 2, old, new)
    with pytest.raises(TransitionError):
        check_transition("C", 2, "shipped", "cancelled")
    with pytest.raises(TransitionError):
        check_transition("C", 3, "pending_shipment", "split")  # no fourth level
    with pytest.raises(TransitionError, match="unknown status"):
        check_transition("C", 2, "pending_shipment", "lost")


def test_grandchildren_keep_the_warehouse_status() -> None:
    assert initial_child_status("in_warehouse") == "in_warehouse"
    assert initial_child_status("pending_shipment") == "pending_shipment"
