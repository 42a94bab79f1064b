"""Warehouses' ``child_cost`` as the compiler needs it: integers of one common scale.

The scale is ``10^d`` with ``d`` the most decimals any cost needs (at most
``MAX_COST_DECIMALS``); each cost becomes ``int(cost * 10^d)`` (truncated, as ``int()``
does). Costs are read from their plain text (``"19.32"``), which is quicker than any
``Decimal`` arithmetic and matters on networks of thousands of warehouses; a cost
written with an exponent, a sign or as NaN takes the ``Decimal`` way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

MAX_COST_DECIMALS = 6


def cost_decimals(cost: Decimal) -> int:
    """Decimals ``cost`` needs (``1.50`` -> 1, ``2`` -> 0)."""
    text = str(cost)
    if _plain(text):
        point = text.find(".")
        return 0 if point < 0 else len(text[point + 1:].rstrip("0"))
    exp = cost.normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def cost_units(cost: Decimal, scale: int) -> int:
    """``cost`` in integer units of ``1 / scale`` (truncated, as ``int()`` does)."""
    return int(cost * scale)


def cost_table(costs: Sequence[Decimal]) -> tuple[int, list[int]]:
    """The common scale of ``costs`` and each cost in its units (see the module)."""
    texts = [str(cost) for cost in costs]
    if not all(map(_plain, texts)):
        scale = 10 ** min(max(map(cost_decimals, costs), default=0), MAX_COST_DECIMALS)
        return scale, [cost_units(cost, scale) for cost in costs]
    parts = [text.partition(".") for text in texts]
    decimals = min(max((len(frac.rstrip("0")) for _, _, frac in parts), default=0),
                   MAX_COST_DECIMALS)
    return 10**decimals, [int(whole + frac[:decimals].ljust(decimals, "0"))
                          for whole, _, frac in parts]


NETWORKS_REMEMBERED = 256
"""Distinct cost lists :func:`cost_table_memo` keeps (it starts over when full)."""

_TABLES: dict[tuple[Decimal, ...], tuple[int, list[int]]] = {}


def cost_table_memo(costs: tuple[Decimal, ...]) -> tuple[int, list[int]]:
    """:func:`cost_table`, remembered by value: a service splits order after order
    against the same network, and hashing the costs is far cheaper than reading them.
    The table depends on the values alone (``1.5`` and ``1.50`` give the same), so
    equal keys give equal tables. The list returned is shared: do not change it."""
    table = _TABLES.get(costs)
    if table is None:
        table = cost_table(costs)
        if len(_TABLES) >= NETWORKS_REMEMBERED:
            _TABLES.clear()
        _TABLES[costs] = table
    return table


def _plain(text: str) -> bool:
    """Digits with at most one point: no sign, exponent, NaN or infinity."""
    return text.replace(".", "", 1).isdigit()
