"""Errors that cross the public boundary.

Every rejected input becomes a :class:`RequestError` that names the order and the
field (a JSON path such as ``order.lines[2].quantity``), so that the CLI, the Python
API and the HTTP service can all answer with the contract's error object.
"""

from __future__ import annotations

import json
from typing import Any

MAX_ECHO = 200
"""Characters of a client's own value (an order id) repeated in an error object."""


def echo(value: str | None) -> str | None:
    """A client's value safe to repeat in an error: cut to :data:`MAX_ECHO` characters,
    with what UTF-8 cannot encode (lone surrogates) written as escapes."""
    if value is None:
        return None
    return value[:MAX_ECHO].encode("utf-8", "backslashreplace").decode("utf-8")


class OrderSplitError(Exception):
    """Base class of every error ordersplit raises on purpose."""


class RequestError(OrderSplitError, ValueError):
    """A request that cannot be split as given: which order, which field, what is wrong."""

    def __init__(self, message: str, *, field: str = "", order_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = echo(field) or ""
        self.order_id = echo(order_id)

    def to_dict(self) -> dict[str, Any]:
        """The contract's error object: ``{"error": {"order_id", "field", "message"}}``."""
        return {"error": {"order_id": self.order_id, "field": self.field, "message": self.message}}

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        who = f"order {self.order_id}: " if self.order_id else ""
        return f"{who}{where}{self.message}"


class SolverError(OrderSplitError, RuntimeError):
    """A backend failed in a way that left no plan (the portfolio falls back instead)."""


def json_error_text(exc: BaseException) -> str:
    """Our description of why a body is not JSON (never Python's codec or parser text)."""
    if isinstance(exc, UnicodeError):
        return "malformed JSON: the body is not UTF-8 text"
    if isinstance(exc, RecursionError):
        return "malformed JSON: nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON at line {exc.lineno}, column {exc.colno}"
    return "malformed JSON: a value is out of range (numbers are limited to 4300 digits)"
