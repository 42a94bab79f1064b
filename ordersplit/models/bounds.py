"""Bounds on every value a request may carry, as annotated types with their JSON schema.

Untrusted numbers and strings are bounded where they enter, so that nothing downstream
(int64 arrays, the solvers, the SQL store, URLs) sees a value it cannot hold: a value out
of bounds is a :class:`~ordersplit.errors.RequestError` naming the field, never an
overflow deep inside a solver. Each type carries the JSON schema that says the same thing,
so the service's OpenAPI document matches the validation.

The bounds (documented in docs/service.md):

* ids (orders, lines, SKUs, warehouses, activities, children): 1 to 128 characters from
  ``A-Z a-z 0-9 _ . : @ + ~ -``, starting with a letter or a digit; safe in a URL path
  and in every store backend; a stored order named by ``order_id`` (a child's id is its
  parent's plus ``-n``) may have up to 160;
* names (destination, merchant, handling): 1 to 128 characters, no control characters,
  no leading or trailing white space; no lone surrogates in any text (UTF-8, and so no
  store, can hold them);
* money: a decimal string ``"12.50"`` (or a JSON integer) from 0 to below 10^12, at most
  12 decimals (the currency's minor unit is checked against the order's currency);
  JSON numbers with a fraction or exponent are rejected, as they would be read as binary
  floats; ``child_cost`` below 10^7 with at most 6 decimals; ``tax_rate`` below 10 with
  at most 6 decimals;
* currency: an upper-case ISO 4217 code that has a minor unit (``USD``; not ``usd``,
  ``XAU`` or ``000``);
* quantities 1 to 10^6, bundle component quantities 1 to 1,000, stock 0 to 10^9,
  delivery hours 0 to 10,000, seed 0 to 2^31 - 1;
* stock prices (``options.stock_prices``, the ``stock_value`` objective): JSON numbers
  from 0 to 10^7 (the child cost's bound), finite; their version 1 to 64 characters
  without control characters or surrounding white space.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import iso4217
from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema
from pydantic_core import CoreSchema, core_schema

MAX_ID_LENGTH = 128
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+~-]{0,127}$"
MAX_ORDER_REF_LENGTH = 160
ORDER_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+~-]{0,159}$"
"""A stored order's id: a root id (at most 128 characters) plus the children's ``-n``."""
MAX_NAME_LENGTH = 128
NAME_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,126}[^\s\x00-\x1f\x7f])?$"
MAX_NOTE_LENGTH = 1000
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]{0,1000}$"

METHOD_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
VERSION_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?$"

MAX_QUANTITY = 1_000_000
MAX_COMPONENT_QUANTITY = 1_000
MAX_STOCK = 1_000_000_000
MAX_DELIVERY_HOURS = 10_000
MAX_SEED = 2**31 - 1

MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,12})?$"
COST_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,6})?$"
TAX_RATE_PATTERN = r"^[0-9](\.[0-9]{1,6})?$"

CURRENCIES: tuple[str, ...] = tuple(sorted(
    c.code for c in iso4217.Currency if c.exponent is not None and re.fullmatch("[A-Z]{3}", c.code)))
"""ISO 4217 codes that have a minor unit (no metals, funds or test codes)."""

_CURRENCY_SET = frozenset(CURRENCIES)

NATIVE_NARROWING: dict[Callable[[Any], Any], Callable[[CoreSchema], CoreSchema]] = {}
"""For the Python before-validators below: given the schema the validator feeds, a
pydantic-core schema with no Python call that accepts a subset of what validator and
schema accept together, with the same value. The happy path of parsing
(:mod:`ordersplit.models.native`) runs these; whatever they refuse goes the full way,
which names the error."""


def whole(value: Any) -> Any:
    """A JSON number without a fraction (``2`` or ``2.0``, as JSON Schema's ``integer``)
    as an int; anything else is left for the strict integer check to reject."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


NATIVE_NARROWING[whole] = lambda inner: inner  # the strict integer alone: 2.0 goes the full way


def _decimal(pattern: re.Pattern[str], limit: int, what: str) -> Any:
    def check(value: Any) -> Decimal:
        value = whole(value)  # 12.0 is the JSON integer 12: exact
        if isinstance(value, bool | float):
            raise ValueError(f"must be a decimal string such as \"12.50\" ({what}); a JSON "
                             "number with a fraction would be read as a binary float")
        if isinstance(value, int):
            if 0 <= value < limit:
                return Decimal(value)
            raise ValueError(f"must be {what}")
        if isinstance(value, Decimal):
            try:
                text = format(value, "f") if value.is_finite() else "x"
            except InvalidOperation:  # pragma: no cover - is_finite guards it
                text = "x"
        elif isinstance(value, str):
            text = value
        else:
            raise ValueError(f"must be a decimal string ({what})")
        if not pattern.fullmatch(text):
            raise ValueError(f"must be {what}")
        return Decimal(text)

    NATIVE_NARROWING[check] = lambda _inner: _native_decimal(pattern.pattern, limit)
    return check


def _native_decimal(pattern: str, limit: int) -> CoreSchema:
    """A string matching ``pattern`` or a JSON integer in ``[0, limit)``, as ``Decimal``:
    what ``check`` accepts (less floats and ``Decimal`` objects), with the same value
    (``Decimal(text)`` keeps the string's decimals, as ``check`` does). The checked
    string or integer is handed to ``Decimal`` itself (a C type: no Python runs), not
    to pydantic-core's decimal schema, which would check again what the pattern and the
    bounds already say (finite, no sign) at a few method calls per value."""
    to_decimal = core_schema.no_info_plain_validator_function(Decimal)
    return core_schema.union_schema([
        core_schema.chain_schema([core_schema.str_schema(pattern=pattern, strict=True),
                                  to_decimal]),
        core_schema.chain_schema([core_schema.int_schema(ge=0, lt=limit, strict=True),
                                  to_decimal]),
    ], mode="left_to_right")


def _money_schema(pattern: str, limit: int) -> dict[str, Any]:
    return {"anyOf": [{"type": "string", "pattern": pattern},
                      {"type": "integer", "minimum": 0, "maximum": limit - 1}]}


def _check_currency(value: Any) -> str:
    if not isinstance(value, str) or value not in _CURRENCY_SET:
        raise ValueError("must be an upper-case ISO 4217 currency code with a minor unit "
                         "(such as USD, EUR, JPY)")
    return value


ID_TEXT = "1 to 128 characters from A-Z a-z 0-9 _ . : @ + ~ -, starting with a letter or digit"
PATTERN_TEXT: dict[str, str] = {
    ID_PATTERN: ID_TEXT,
    ORDER_REF_PATTERN: ID_TEXT.replace("128", "160"),
    NAME_PATTERN: "1 to 128 characters without control characters or surrounding white space",
    NOTE_PATTERN: "at most 1000 characters without control characters",
    METHOD_PATTERN: "a payment method name: a letter, then up to 63 letters, digits, _ or -",
    VERSION_PATTERN: "1 to 64 characters without control characters or surrounding white space",
}
"""What each pattern means, for error messages (``must be ...``)."""


def _text(pattern: str) -> StringConstraints:
    # pydantic's own (Rust) regex: fast, and a lone surrogate is no valid string there
    return StringConstraints(strict=True, pattern=pattern)


Id = Annotated[str, _text(ID_PATTERN)]
"""An identifier: safe in a URL path segment and in every store backend."""

OrderRef = Annotated[str, _text(ORDER_REF_PATTERN)]
"""The id of a stored order (a parent, child or grandchild)."""

Name = Annotated[str, _text(NAME_PATTERN)]
"""A free name (destination, merchant, handling)."""

Note = Annotated[str, _text(NOTE_PATTERN)]
"""A free text note."""

Method = Annotated[str, _text(METHOD_PATTERN)]
"""A payment method name (an amount key of the plan)."""

Currency = Annotated[str, BeforeValidator(_check_currency),
                     WithJsonSchema({"type": "string", "enum": list(CURRENCIES)})]
"""An ISO 4217 code with a minor unit."""

MONEY_LIMIT = 10**12
Money = Annotated[Decimal, BeforeValidator(_decimal(
    re.compile(MONEY_PATTERN), MONEY_LIMIT,
    "a non-negative decimal below 10^12 with at most 12 decimals")),
    WithJsonSchema(_money_schema(MONEY_PATTERN, MONEY_LIMIT))]
"""An amount in major units ("12.50"); its precision is checked against the currency."""

COST_LIMIT = 10**7
Cost = Annotated[Decimal, BeforeValidator(_decimal(
    re.compile(COST_PATTERN), COST_LIMIT,
    "a non-negative decimal below 10^7 with at most 6 decimals")),
    WithJsonSchema(_money_schema(COST_PATTERN, COST_LIMIT))]
"""A warehouse's cost per child (the ``cost`` objective)."""

TaxRate = Annotated[Decimal, BeforeValidator(_decimal(
    re.compile(TAX_RATE_PATTERN), 10, "a rate from 0 to below 10 with at most 6 decimals")),
    WithJsonSchema(_money_schema(TAX_RATE_PATTERN, 10))]
"""A VAT rate ("0.13")."""

Whole = BeforeValidator(whole)
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True), Whole]
ComponentQuantity = Annotated[int, Field(ge=1, le=MAX_COMPONENT_QUANTITY, strict=True), Whole]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK, strict=True), Whole]
Flag = Annotated[bool, Field(strict=True)]
"""``true`` or ``false`` only (not ``0``, ``"yes"``)."""
Hours = Annotated[float, Field(ge=0, le=MAX_DELIVERY_HOURS, allow_inf_nan=False)]
MAX_STOCK_PRICE = 10**7
StockPrice = Annotated[float, Field(ge=0, le=MAX_STOCK_PRICE, allow_inf_nan=False, strict=True)]
"""What one unit of a SKU at a warehouse is worth to the rest of the horizon (a JSON
number, not a string or a boolean)."""
Version = Annotated[str, _text(VERSION_PATTERN)]
"""A stock-price version (echoed in the plan)."""
