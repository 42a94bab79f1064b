"""Currencies: ISO 4217 minor-unit exponents and decimal strings at the edges.

Inside ordersplit money is an integer count of minor units; decimal strings exist only
where data enters or leaves. The exponent comes from the ``iso4217`` package.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

import iso4217


@lru_cache(maxsize=512)
def currency_exponent(code: str) -> int:
    """Number of decimals of the currency's minor unit (CNY 2, JPY 0, KWD 3).

    Raises ``KeyError`` for a code ISO 4217 does not know.
    """
    try:
        cur = iso4217.Currency(code.upper())
    except (ValueError, KeyError, AttributeError) as exc:
        raise KeyError(code) from exc
    exponent = cur.exponent
    return 0 if exponent is None else int(exponent)


def to_minor(value: Decimal, exponent: int) -> int:
    """Exact integer minor units; raises ``ValueError`` if ``value`` has finer precision."""
    scaled = value.scaleb(exponent)
    if scaled.is_finite():  # int() then one exact comparison: the common case
        units = int(scaled)
        if units != scaled:
            raise ValueError(f"{value} has more than {exponent} decimal places")
        return units
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {exponent} decimal places")
    return int(scaled)


def format_minor(units: int, exponent: int) -> str:
    """Decimal string in major units, with exactly ``exponent`` decimals."""
    sign = "-" if units < 0 else ""
    units = abs(int(units))
    if exponent == 0:
        return f"{sign}{units}"
    major, minor = divmod(units, 10**exponent)
    return f"{sign}{major}.{minor:0{exponent}d}"


def format_minor_many(values: Iterable[int], exponent: int) -> dict[int, str]:
    """:func:`format_minor` of each of ``values`` (ints), as a dict: the plan builder's
    amounts in one pass, with one format string bound once."""
    if exponent == 0:
        return {v: str(v) for v in values}
    if exponent > 3:
        return {v: format_minor(v, exponent) for v in values}
    scale, minor = 10**exponent, minor_digits(exponent)
    return {v: f"{v // scale}.{minor[v % scale]}" if v >= 0 else format_minor(v, exponent)
            for v in values}


MEMO_LIMIT = 1 << 14
"""Entries each memo of :func:`to_minor_memo` holds at most (it starts over when full)."""

_UNITS_MEMO: dict[int, dict[Decimal, int]] = {}


def to_minor_memo(value: Decimal, exponent: int) -> int:
    """:func:`to_minor`, remembered per exponent by value (equal decimals such as
    ``1.5`` and ``1.50`` have the same minor units): the plan builder's unit prices and
    discounts recur from order to order, and a dict lookup is a fraction of the
    conversion. Raises as :func:`to_minor` (a failure is not remembered)."""
    memo = _UNITS_MEMO.get(exponent)
    if memo is None:
        memo = _UNITS_MEMO.setdefault(exponent, {})
    units = memo.get(value)
    return _remember(memo, value, value, exponent) if units is None else units


_TEXT_MEMO: dict[int, dict[str, int]] = {}


def text_units_memo(exponent: int) -> dict[str, int]:
    """The memo of :func:`to_minor_text` for ``exponent``: minor units by a value's
    text (``str(value)``), for callers that read it in a loop (a miss must go through
    :func:`to_minor_text`, which checks the value and bounds the memo)."""
    memo = _TEXT_MEMO.get(exponent)
    if memo is None:
        memo = _TEXT_MEMO.setdefault(exponent, {})
    return memo


def to_minor_text(value: Decimal, exponent: int) -> int:
    """:func:`to_minor`, remembered per exponent by the value's text: what
    :func:`to_minor_memo` does, keyed by ``str(value)`` instead of the ``Decimal``.
    A ``Decimal`` computes its hash (modular arithmetic on its digits) the first time it
    is hashed, and every decimal of a freshly parsed request is new, so each lookup by
    value paid that; its text costs a fraction of it and hashes in C. A decimal's text
    is exact (``Decimal(str(value))`` is ``value``, digits and exponent), so equal texts
    have equal minor units. Raises as :func:`to_minor` (a failure is not remembered)."""
    memo = text_units_memo(exponent)
    text = str(value)
    units = memo.get(text)
    return _remember(memo, text, value, exponent) if units is None else units


def _remember(memo: dict[Any, int], key: Any, value: Decimal, exponent: int) -> int:
    """A memo's miss: :func:`to_minor` of ``value`` kept under ``key`` (the memo
    cleared first when full, so it stays bounded; a failure raises and is not kept)."""
    units = to_minor(value, exponent)
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = units
    return units


@lru_cache(maxsize=4)
def minor_digits(exponent: int) -> tuple[str, ...]:
    """Every minor part, zero-padded to ``exponent`` digits (a table lookup beats formatting)."""
    return tuple(f"{i:0{exponent}d}" for i in range(10**exponent))
