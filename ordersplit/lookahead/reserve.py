"""Back-order reservation: an order that waits anyway leaves contested units for later.

Where stock is scarce the offline batch saves children by choosing which orders wait for
which units: an order that already has a back-order child (some line no warehouse can
supply) may as well let one more line of the same group wait, when that line would
otherwise ship as a child of its own and the units it takes are wanted by orders still
to come, which would otherwise wait for them (the batch's *takers* moves). A per-order
objective term after ``children`` cannot express this: with ``backorder: split``
everything the stock can supply ships, so the choice lies in the stock the order is
shown. This module makes that choice before the split:

* :func:`contested_skus`: SKUs whose forecast demand over the rest of the window, counted
  only for the share of orders that take what they find (an order short anyway leaves
  contested units too, so it is no taker), is at least ``ratio`` x the units left: every
  unit left of them should find a taker before the window ends;
* :func:`reserve_request`: for an order that is short of a line for certain (fewer units
  at its shipping warehouses than the line asks), the stock of its contested plain lines
  in a short line's group is hidden, so those lines join the group's back-order child.

The order's children never grow: its plan with the full stock, with the hidden lines
moved into the back-order child it already has, is a plan against the stock it is
shown, and the split is exact (tested). What grows is the units that wait; the study
reports them (``backorder_units``) beside the children.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ordersplit.lookahead.forecast import Forecast

DEFAULT_RESERVE_RATIO = 0.6
"""Contested: forecast units over the window >= this many times the units left. Chosen on
seed 1 at 10,000 orders (docs/lookahead.md; never on the report seed 0): a lower ratio
saves more children and makes more units wait (default scenario, perfect forecast: 0.7
saved 345 children at +1.9 % units waiting, 0.5 saved 828 at +6.1 %); 0.6 lies between."""
GROUP_FIELDS = (("merchant", "default"), ("handling", "standard"),
                ("temperature", "ambient"), ("cross_border", False))
"""The catalog fields of a child's group key (``ordersplit.rules.keys``) and their
contract defaults; the key holds a field only while its rule is on."""


def contested_skus(forecast: Forecast, sku_ids: Sequence[str], stock_left: np.ndarray,
                   ratio: float = 1.0, taker_share: float = 1.0) -> frozenset[str]:
    """SKUs whose forecast units over the window, times ``taker_share`` (the share of
    orders that take what they find rather than leave it: orders short anyway leave
    contested units too), reach ``ratio`` x the units left in ``stock_left`` (int
    [location, sku], columns ``sku_ids``); a SKU with no unit left is not contested
    (there is nothing to leave)."""
    if not ratio > 0:
        raise ValueError("the reservation ratio must be positive")
    if not 0.0 <= taker_share <= 1.0:
        raise ValueError("the taker share must be in [0, 1]")
    index = {s: k for k, s in enumerate(sku_ids)}
    cols = np.array([index.get(s, -1) for s in forecast.sku_ids], dtype=np.int64)
    known = cols >= 0
    demand = taker_share * np.asarray(forecast.units, dtype=np.float64).sum(axis=0)[known]
    left = np.asarray(stock_left, dtype=np.float64).sum(axis=0)[cols[known]]
    hit = (demand > 0) & (left > 0) & (demand >= ratio * left)
    return frozenset(s for s, h in zip(np.asarray(forecast.sku_ids)[known].tolist(), hit.tolist(),
                                       strict=True) if h)


@dataclass(frozen=True)
class Reservation:
    """What :func:`reserve_request` made of one order."""

    request: dict[str, Any]
    """The request to split (a copy; its warehouses' stock without the hidden SKUs)."""
    hidden: list[str]
    """The SKUs whose lines wait (empty: the request as it was given)."""
    short: bool
    """Whether the order is short of a line for certain (it waits in part anyway)."""


def reserve_request(request: Mapping[str, Any], contested: frozenset[str]) -> Reservation:
    """``request`` with the stock of its reservable lines hidden (module doc)."""
    order = request["order"]
    rules = request.get("rules") or {}
    if order.get("backorder", "split") != "split" or rules.get("stock", True) is False:
        return Reservation(dict(request), [], False)
    catalog = request.get("catalog", {})
    shipping = _shipping(request.get("warehouses", []), str(order.get("destination", "")))
    plain, short_keys = _plain_lines(order["lines"], catalog, rules, shipping)
    hide = sorted({sku for sku, key in plain.items() if key in short_keys and sku in contested})
    if not hide:
        return Reservation(dict(request), [], bool(short_keys))
    gone = set(hide)
    warehouses = [{**w, "stock": {s: q for s, q in w.get("stock", {}).items() if s not in gone}}
                  for w in request.get("warehouses", [])]
    return Reservation({**request, "warehouses": warehouses}, hide, True)


def _shipping(warehouses: Sequence[Mapping[str, Any]], destination: str
              ) -> list[Mapping[str, Any]]:
    """The locations that can ship a plain line to ``destination`` (not stores; a lane)."""
    return [w for w in warehouses if w.get("kind", "warehouse") != "store"
            and (destination in w.get("delivery_hours", {}) or "*" in w.get("delivery_hours", {}))]


def _plain_lines(lines: Sequence[Mapping[str, Any]], catalog: Mapping[str, Any],
                 rules: Mapping[str, Any], shipping: Sequence[Mapping[str, Any]]
                 ) -> tuple[dict[str, tuple[Any, ...]], set[tuple[Any, ...]]]:
    """Plain lines (SKU -> group key) that may be hidden, and the group keys of lines
    short for certain. A line is plain when it is no bundle, not bulky, not an
    offline-store line, its SKU is on no other line and in no bundle of the order."""
    counts: dict[str, int] = {}
    for line in lines:
        item = catalog.get(line["sku"], {})
        for sku in [line["sku"], *[c["sku"] for c in item.get("components") or []]]:
            counts[sku] = counts.get(sku, 0) + 1
    plain: dict[str, tuple[Any, ...]] = {}
    short: set[tuple[Any, ...]] = set()
    on_hand = _units_at(shipping, [str(line["sku"]) for line in lines])
    for line in lines:
        sku = line["sku"]
        item = catalog.get(sku, {})
        if item.get("components") or (item.get("bulky") and rules.get("bulky", True) is not False) \
                or item.get("offline_store") or counts.get(sku, 0) > 1:
            continue
        key = tuple(item.get(f, default) if rules.get(f, True) is not False else None
                    for f, default in GROUP_FIELDS)
        plain[sku] = key
        if on_hand[sku] < int(line["quantity"]):
            short.add(key)
    return plain, short


def _units_at(locations: Sequence[Mapping[str, Any]], skus: Sequence[str]) -> dict[str, int]:
    """Units of each of ``skus`` over ``locations`` (one pass over each location's stock)."""
    units = dict.fromkeys(skus, 0)
    for loc in locations:
        stock = loc.get("stock", {})
        for sku in units.keys() & stock.keys():
            units[sku] += int(stock[sku])
    return units
