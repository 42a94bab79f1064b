"""In-memory orders of one lineage: the shape the store reads and writes.

Money is in integer minor units. Every order (parent, child, grandchild) has the same
amount keys as the plan: ``goods``, ``discount``, ``shipping_fee``, one per payment
method, ``invoice``, ``tax``; every item (order line) carries the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordersplit.models.currency import format_minor

BASE_KEYS = ("goods", "discount", "shipping_fee")
TAIL_KEYS = ("invoice", "tax")
OWN_DISCOUNT = "_own"
"""Key of a line's own discount among an item's discount components."""


def amount_keys(methods: tuple[str, ...]) -> tuple[str, ...]:
    """The amount keys for an order paid with ``methods`` (in the payment plan's order)."""
    return BASE_KEYS + methods + TAIL_KEYS


@dataclass
class Item:
    """One line of an order: what it carries of a root order line, and its money."""

    line_id: str
    sku: str
    quantity: int
    component_of: str | None
    amounts: dict[str, int]
    discounts: dict[str, int] = field(default_factory=dict)
    """The item's discount by source: ``_own`` (the line's own) and each activity id."""


@dataclass
class Activity:
    """A promotion as it applies to one order (for a child: its share of the discount)."""

    activity_id: str
    kind: str
    amount: int | None
    lines: list[str] | None = None
    trigger_lines: list[str] = field(default_factory=list)
    gift_lines: list[str] = field(default_factory=list)


@dataclass
class OrderNode:
    """One stored order: parent (level 1), child (2) or grandchild (3)."""

    id: str
    root_id: str
    parent_id: str | None
    level: int
    kind: str
    """``parent``, or the child kind: ``shipment``, ``backorder``, ``store``."""
    status: str
    currency: str
    exponent: int
    methods: tuple[str, ...]
    amounts: dict[str, int]
    items: list[Item] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    invoiced: tuple[str, ...] = ("cash",)
    warehouse: str | None = None
    warehouses: list[str] = field(default_factory=list)
    merchant: str | None = None
    temperature: str | None = None
    handling: str | None = None
    delivery_hours: float | None = None
    reasons: list[str] = field(default_factory=list)
    version: int = 1

    @property
    def keys(self) -> tuple[str, ...]:
        """Amount keys in display order."""
        return amount_keys(self.methods)

    @property
    def paid(self) -> int:
        """What the customer paid for this order, all methods together."""
        return sum(self.amounts[m] for m in self.methods)

    def fmt(self, units: int) -> str:
        """``units`` minor units as a decimal string in this order's currency."""
        return format_minor(units, self.exponent)

    def formatted(self) -> dict[str, str]:
        """The order's amounts as decimal strings, like the plan's."""
        return {k: self.fmt(self.amounts[k]) for k in self.keys}

    def units(self) -> dict[str, int]:
        """Units of each SKU this order carries."""
        out: dict[str, int] = {}
        for item in self.items:
            out[item.sku] = out.get(item.sku, 0) + item.quantity
        return out
