"""The status machine of parents, children and grandchildren.

A parent that was split is ``split`` (no longer a working order, but valid: finance and
BI must not mistake it for ``cancelled``). Children start ``pending_shipment``; a child
that is re-split becomes ``split`` too, and its grandchildren start with the status it
had (a child that already reached the warehouse keeps ``in_warehouse`` for them).
``cancelled`` and ``rejected`` are terminal; so is ``delivered`` for this engine.

``held``: an unshipped child stopped on purpose - a gift whose trigger was cancelled or
rejected (the cascade holds it in the same transaction), or a manual hold. A held child
cannot be shipped or re-split; it is either cancelled, or released back to the status
it had before the hold (``release``, never a plain status change).
A pending child that a batch re-optimization replaced is ``superseded`` (terminal, and
not a cancellation: its work lives on in the newer children of the same parent).
"""

from __future__ import annotations

from typing import Final

from ordersplit.lifecycle.errors import TransitionError

PAID: Final = "paid"
SPLIT: Final = "split"
PENDING: Final = "pending_shipment"
IN_WAREHOUSE: Final = "in_warehouse"
SHIPPED: Final = "shipped"
DELIVERED: Final = "delivered"
CANCELLED: Final = "cancelled"
REJECTED: Final = "rejected"
HELD: Final = "held"
SUPERSEDED: Final = "superseded"

STATUSES: Final = (PAID, SPLIT, PENDING, IN_WAREHOUSE, SHIPPED, DELIVERED, CANCELLED, REJECTED,
                   HELD, SUPERSEDED)
TERMINAL: Final = frozenset({CANCELLED, REJECTED, DELIVERED, SPLIT, SUPERSEDED})
"""No transition leaves these (``split`` orders live on through their children)."""
INVALID: Final = frozenset({CANCELLED, REJECTED})
"""Statuses that make an order not count as a valid order in reports."""
REPLACED: Final = frozenset({SPLIT, SUPERSEDED})
"""Orders no longer worked on because newer orders carry their lines (not invalid)."""
NOT_SHIPPED: Final = frozenset({PENDING, IN_WAREHOUSE})
"""A child in one of these can still be intercepted, cancelled or re-split."""
RELEASABLE: Final = NOT_SHIPPED
"""The statuses a held child goes back to when released (the one it had before)."""

_PARENT: Final[dict[str, frozenset[str]]] = {
    PAID: frozenset({SPLIT, CANCELLED}),
}
_CHILD: Final[dict[str, frozenset[str]]] = {
    PENDING: frozenset({IN_WAREHOUSE, SHIPPED, CANCELLED, SPLIT, HELD, SUPERSEDED}),
    IN_WAREHOUSE: frozenset({SHIPPED, CANCELLED, SPLIT, HELD}),
    HELD: frozenset({CANCELLED, *RELEASABLE}),
    SHIPPED: frozenset({DELIVERED, REJECTED}),
}


def allowed(level: int, current: str) -> frozenset[str]:
    """The statuses an order of ``level`` may move to from ``current``."""
    table = _PARENT if level == 1 else _CHILD
    targets = table.get(current, frozenset())
    if level >= 3:  # grandchildren are never split again, nor re-planned by a batch
        targets = targets - {SPLIT, SUPERSEDED}
    return targets


def check_transition(order_id: str, level: int, current: str, target: str) -> None:
    """Raise :class:`TransitionError` unless ``current -> target`` is allowed."""
    if target not in STATUSES:
        raise TransitionError(f"unknown status {target!r}", order_id=order_id)
    if target not in allowed(level, current):
        raise TransitionError(
            f"cannot go from {current} to {target} at level {level} "
            f"(allowed: {', '.join(sorted(allowed(level, current))) or 'none, terminal'})",
            order_id=order_id,
        )


def initial_child_status(parent_status: str) -> str:
    """The status new (grand)children start with, given their parent's before the split."""
    return parent_status if parent_status in NOT_SHIPPED else PENDING
