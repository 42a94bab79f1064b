"""The plan (CONTRACT.md): child orders with lineage, reasons, links and amounts.

These are output models: they document the answer's shape (and the service's OpenAPI
schema); amounts are decimal strings in major units.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

Status = Literal["optimal", "feasible", "fallback"]
ChildKind = Literal["shipment", "backorder", "store"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Extended(_Out):
    """An output model whose extension fields (``_optional``) are left out while unset,
    so that a plan without them reads exactly as the contract's."""

    _optional: tuple[str, ...] = ()

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self._optional:
                if data.get(name, 0) is None:
                    del data[name]
        return data


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


class Objective(_Extended):
    """The plan's objective values and the proven bound on the child count."""

    children: int
    delivery_hours: float | None
    unit_hours: float
    """Sum of arrival hours over shipped units (delivery's second level)."""
    cost: str
    children_lower_bound: int
    line_fragments: int = 0
    """(line, child) pieces beyond one per line: 0 when no line is split over children."""
    stock_value: float | None = None
    """The priced stock the plan uses, by ``options.stock_prices`` (left out without them)."""

    _optional = ("stock_value",)


class Plan(_Extended):
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
    stock_prices_version: str | None = None
    """The version of the stock prices the plan was priced with (left out without them)."""

    _optional = ("stock_prices_version",)
