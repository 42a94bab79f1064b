"""A native copy of a model's validator, for the happy path of parsing.

A few bounds need a Python before-validator (a JSON ``2.0`` is the integer ``2``; money
is a decimal string or a JSON integer), and pydantic calls it once per value: hundreds
of calls on an ordinary request, tens of thousands on a large network. The copy made
here swaps each such validator for the narrower pydantic-core schema its bounds
register (:data:`~ordersplit.models.bounds.NATIVE_NARROWING`): it accepts a subset of
what the model accepts, with the same values, and runs no Python until the model's own
validators (a field validator here and there). Input it refuses is validated again by
the model itself, which accepts it or names the error exactly as before.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator

from ordersplit.models.bounds import NATIVE_NARROWING


def _narrowed(node: Any) -> Any:
    """``node`` (a core schema or a part of one) with every registered before-validator
    replaced by its native narrowing; other parts are shared, not copied."""
    if isinstance(node, list):
        return [_narrowed(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "function-before":
        function = node.get("function", {}).get("function")
        swap = NATIVE_NARROWING.get(function) if callable(function) else None
        if swap is not None:
            return swap(_narrowed(node["schema"]))
    return {key: _narrowed(value) for key, value in node.items()}


def _models(node: Any, found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model class a core schema builds."""
    if isinstance(node, list):
        for item in node:
            _models(item, found)
    elif isinstance(node, dict):
        if node.get("type") == "model":
            found.add(node["cls"])
        for value in node.values():
            _models(value, found)
    return found


def native_validator(model: type[BaseModel]) -> SchemaValidator:
    """A validator of ``model`` instances that runs no Python before-validator of the
    bounds: same values where it accepts, refuses the rest (with errors to discard)."""
    schema = model.__pydantic_core_schema__
    # pydantic-core reuses a complete model's own validator for a model node, which
    # would bring the Python validators back: build while the classes read incomplete
    complete = {cls: cls.__pydantic_complete__ for cls in _models(schema, set())}
    for cls in complete:
        cls.__pydantic_complete__ = False
    try:
        return SchemaValidator(_narrowed(schema))
    finally:
        for cls, was in complete.items():
            cls.__pydantic_complete__ = was
