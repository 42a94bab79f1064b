"""Errors of the order lifecycle: lineage, status transitions, the store.

They all derive from :class:`LifecycleError`, itself an
:class:`~ordersplit.errors.OrderSplitError`, so a caller can catch the whole family.
"""

from __future__ import annotations

from ordersplit.errors import OrderSplitError


class LifecycleError(OrderSplitError):
    """An operation on a stored order that cannot be done (names the order)."""

    def __init__(self, message: str, *, order_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.order_id = order_id

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.message}" if self.order_id else self.message


class UnknownOrderError(LifecycleError, KeyError):
    """No order with that id in the store."""


class LevelError(LifecycleError):
    """A re-split that would create a fourth level (or re-split a parent)."""


class TransitionError(LifecycleError):
    """A status change the status machine does not allow."""


class IdempotencyError(LifecycleError):
    """The same order id was already stored with a different request."""


class ConflictError(LifecycleError):
    """Another transaction changed the order first (concurrent re-split or cancel)."""
