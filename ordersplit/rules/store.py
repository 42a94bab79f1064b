"""Offline-store lines: which store ships them, or why they wait.

Offline-store goods (bought for a physical store, rule ``offline_store``) are never
split: all of an order's store lines form one ``store`` child, shipped by one warehouse
of kind ``store`` that holds all of them (with the stock rule on, enough units of every
SKU, bundles as their components; with it off, listing every SKU is enough). Among the
stores that can, the fastest to the destination wins (stores that do not deliver there
come last), then the first in the request. If no store holds them all, the store lines
wait together in a back-order child of their own (DOMAIN rule 6: what cannot ship now
waits for stock); a request with store lines and no store at all is refused, naming the
first store line, since nothing could ever ship them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ordersplit.errors import RequestError
from ordersplit.models.request import SplitRequest


@dataclass(frozen=True)
class StorePlacement:
    """Where an order's offline-store lines go."""

    lines: tuple[int, ...]
    """Indices of the store lines (empty when the order has none or the rule is off)."""
    warehouse: int | None
    """The store (index into ``request.warehouses``) that ships them all; ``None`` when
    they wait in a back-order (or there are none)."""


def store_lines(request: SplitRequest) -> tuple[int, ...]:
    """Indices of the lines the offline-store rule takes out of the optimization."""
    if not request.rules.offline_store:
        return ()
    return tuple(i for i, line in enumerate(request.order.lines)
                 if request.catalog[line.sku].offline_store)


def store_demand(request: SplitRequest, lines: tuple[int, ...]) -> dict[str, int]:
    """Stock units per SKU the store lines take (a bundle takes its components)."""
    need: dict[str, int] = {}
    for i in lines:
        line = request.order.lines[i]
        comps = request.catalog[line.sku].components
        for sku, per in ([(c.sku, c.quantity) for c in comps] if comps else [(line.sku, 1)]):
            need[sku] = need.get(sku, 0) + per * line.quantity
    return need


def place_store_lines(request: SplitRequest, minutes: list[int]) -> StorePlacement:
    """The store that ships all the store lines, or none (they wait); see the module.

    ``minutes``: arrival minutes of every warehouse at the destination (-1: none).
    Raises :class:`RequestError` when there are store lines but no warehouse of kind
    ``store``.
    """
    lines = store_lines(request)
    if not lines:
        return StorePlacement((), None)
    stores = [w for w, wh in enumerate(request.warehouses) if wh.kind == "store"]
    if not stores:
        raise RequestError("an offline-store line needs a warehouse of kind 'store' to ship "
                           "from, and the request has none", field=f"order.lines[{lines[0]}]",
                           order_id=request.order.id)
    need = store_demand(request, lines)

    def holds_all(w: int) -> bool:
        stock = request.warehouses[w].stock
        if not request.rules.stock:
            return all(sku in stock for sku in need)
        return all(stock.get(sku, 0) >= units for sku, units in need.items())

    able = [w for w in stores if holds_all(w)]
    if not able:
        return StorePlacement(lines, None)
    best = min(able, key=lambda w: (minutes[w] < 0, minutes[w], w))
    return StorePlacement(lines, best)
