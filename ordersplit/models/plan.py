"""The plan (CONTRACT.md): child orders with lineage, reasons, links and amounts.

These are output models: they document the answer's shape (and the service's OpenAPI
schema); amounts are decimal strings in major units.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["optimal", "feasible", "fallback"]
ChildKind = Literal["shipment", "backorder", "store"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChildLine(_Out):
    """The part of a parent line that one child carries."""

    line_id: str
    sku: str
    quantity: int
    component_of: str | None = None
    """For a bundle shipped in parts (bundle rule off): the bundle's SKU."""
    amounts: dict[str, str] = Field(default_factory=dict)


class Child(_Out):
    """One child order: shipped by one warehouse (or waiting for stock, or a store sale)."""

    id: str
    parent_id: str
    root_id: str
    level: int
    kind: ChildKind
    status: str = "pending_shipment"
    warehouse: str | None
    warehouses: list[str] = Field(default_factory=list)
    """Every warehouse the child ships from: one, except when the warehouse rule is off."""
    merchant: str | None
    temperature: str | None
    handling: str | None
    cross_border: bool | None = None
    delivery_hours: float | None
    reasons: list[str]
    linked_children: list[str]
    lines: list[ChildLine]
    amounts: dict[str, str] = Field(default_factory=dict)


class ParentInfo(_Out):
    """The parent order after the split."""

    id: str
    status: str = "split"
    amounts: dict[str, str] = Field(default_factory=dict)


class Objective(_Out):
    """The plan's objective values and the proven bound on the child count."""

    children: int
    delivery_hours: float | None
    unit_hours: float
    """Sum of arrival hours over shipped units (delivery's second level)."""
    cost: str
    children_lower_bound: int
    line_fragments: int = 0
    """(line, child) pieces beyond one per line: 0 when no line is split over children."""


class Plan(_Out):
    """The answer to a split request."""

    order_id: str
    status: Status
    solver: str
    runtime_ms: float
    objective: Objective
    waits_for_stock: bool = False
    """True when ``backorder: wait`` holds the whole order until everything can ship."""
    parent: ParentInfo
    children: list[Child]
