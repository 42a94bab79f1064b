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
from pydantic_core import SchemaValidator, core_schema

from ordersplit.models.bounds import NATIVE_NARROWING


def _narrowed(node: Any, loose: list[str] | None = None) -> Any:
    """``node`` (a core schema or a part of one) with every registered before-validator
    replaced by its native narrowing; other parts are shared, not copied. With
    ``loose`` (a list), the pattern of every map's keys is dropped and appended to it."""
    if isinstance(node, list):
        return [_narrowed(item, loose) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "function-before":
        function = node.get("function", {}).get("function")
        swap = NATIVE_NARROWING.get(function) if callable(function) else None
        if swap is not None:
            return swap(_narrowed(node["schema"], loose))
    out = {key: _narrowed(value, loose) for key, value in node.items()}
    keys = out.get("keys_schema")
    if (loose is not None and kind == "dict" and isinstance(keys, dict)
            and set(keys) == {"type", "strict", "pattern"} and keys["type"] == "str"):
        loose.append(keys["pattern"])
        out["keys_schema"] = {"type": "str", "strict": keys["strict"]}
    return out


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


def native_validator(model: type[BaseModel], loose: list[str] | None = None) -> SchemaValidator:
    """A validator of ``model`` instances that runs no Python before-validator of the
    bounds: same values where it accepts, refuses the rest (with errors to discard).

    With ``loose`` (a list), maps' keys are not matched against their patterns (one
    per map is appended to ``loose``): a network's maps repeat the same few keys hundreds of
    times, and the caller checks each distinct key once (:class:`KnownKeys`).
    """
    schema = model.__pydantic_core_schema__
    # pydantic-core reuses a complete model's own validator for a model node, which
    # would bring the Python validators back: build while the classes read incomplete
    complete = {cls: cls.__pydantic_complete__ for cls in _models(schema, set())}
    for cls in complete:
        cls.__pydantic_complete__ = False
    try:
        return SchemaValidator(_narrowed(schema, loose))
    finally:
        for cls, was in complete.items():
            cls.__pydantic_complete__ = was


KNOWN_KEYS_LIMIT = 1 << 14
"""Keys a :class:`KnownKeys` remembers (it starts over when full)."""


class KnownKeys:
    """Map keys checked against one pattern, each distinct key once per process: the
    rest of a loose native validation (:func:`native_validator`). A key is matched by
    pydantic-core's own string schema, so the same keys pass as with the full model."""

    def __init__(self, pattern: str) -> None:
        self._check = SchemaValidator(core_schema.str_schema(pattern=pattern, strict=True))
        self._known: set[str] = set()

    def all_valid(self, keys: set[str]) -> bool:
        """Whether every key of ``keys`` matches the pattern."""
        new = keys - self._known
        if not new:
            return True
        if not all(map(self._check.isinstance_python, new)):
            return False
        if len(self._known) + len(new) > KNOWN_KEYS_LIMIT:
            self._known = set()
        self._known |= new
        return True
