"""The plan (CONTRACT.md): child orders with lineage, reasons, links and amounts.

These are output models: they document the answer's shape (and the service's OpenAPI
schema); amounts are decimal strings in major units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["optimal", "feasible", "fallback"]
ChildKind = Literal["shipment", "backorder", "store"]

_new = object.__new__
# BaseModel's own slots, set through their descriptors: ``object.__setattr__`` looks
# each name up along the model's class hierarchy first, several times slower
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


_M = TypeVar("_M", bound="_Out")


def _is_none(value: Any) -> bool:
    return value is None


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _every_field: ClassVar[set[str]] = set()
    """Every field's name: the one fields-set that :meth:`built` gives all instances."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._every_field = set(cls.model_fields)

    @classmethod
    def built(cls, fields: dict[str, Any]) -> Self:
        """An instance holding ``fields`` as they are, without validation: for the plan
        builder, whose values are its own and already of the fields' types (a plain
        ``int``, ``float`` or ``str`` each). ``fields`` gives every field, in declaration
        order (the JSON follows it), and becomes the instance's ``__dict__``.

        What ``model_construct`` does, without its per-field Python loop: a plan's dozen
        of models cost about 3x less than validated construction (``tests/test_plan_build``
        checks the result equals a validated copy, value types included). Every field is
        set, so the instances of a class share one fields-set (``model_fields_set``):
        pydantic only ever adds a field name to it (on assignment: one it holds already)
        and copies it for a model's copies, so sharing it changes nothing a caller sees
        and saves making a set per model.
        """
        obj = _new(cls)
        _set_dict(obj, fields)
        _set_fields_set(obj, cls._every_field)
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj


def builder(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """:meth:`_Out.built` for ``cls`` as a plain function, for a loop that builds many
    instances (a plan's child lines): the same instance, without the bound classmethod
    and the class attribute lookups per call."""
    every = cls._every_field

    def build(fields: dict[str, Any]) -> _M:
        obj = _new(cls)
        _set_dict(obj, fields)
        _set_fields_set(obj, every)
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj

    build.__doc__ = f"A {cls.__name__} holding ``fields`` unvalidated (:meth:`_Out.built`)."
    return build


def _optional() -> Any:
    """An extension field left out of the output while unset (``None``), so that a plan
    without it reads exactly as the contract's. ``exclude_if`` keeps serialization in
    pydantic's compiled core (a wrapping Python serializer made the JSON 2.5x slower)."""
    return Field(default=None, exclude_if=_is_none)


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
    stock_value: float | None = _optional()
    """The priced stock the plan uses, by ``options.stock_prices`` (left out without them)."""


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
    stock_prices_version: str | None = _optional()
    """The version of the stock prices the plan was priced with (left out without them)."""
