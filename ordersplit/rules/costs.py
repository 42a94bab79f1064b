"""A warehouse's ``child_cost`` as the compiler needs it, remembered per value.

A network's warehouses keep their costs from one order to the next, so the compiler
asks about the same few values again and again; equal values (``1.5``, ``1.50``) have
the same answer, so the cache is keyed by value.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache


def cost_decimals(cost: Decimal) -> int:
    """Decimals ``cost`` needs (``1.50`` -> 1, ``2`` -> 0): read from its plain text
    (quicker than any ``Decimal`` method), or its exponent when written with one."""
    text = str(cost)
    if "E" not in text and "N" not in text and "n" not in text:  # no exponent, NaN or inf
        point = text.find(".")
        return 0 if point < 0 else len(text[point + 1:].rstrip("0"))
    exp = cost.normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


@lru_cache(maxsize=4096)
def cost_units(cost: Decimal, scale: int) -> int:
    """``cost`` in integer units of ``1 / scale`` (truncated, as ``int()`` does)."""
    return int(cost * scale)
