"""The look-ahead policy: each split pays for the priced stock it uses.

Prices are the shadow prices of :func:`~ordersplit.lookahead.prices.price_stock`,
refreshed from the current stock and a forecast of the rest of the pricing window
(until the next replenishment, or the end of the horizon) every ``refresh_orders``
orders and/or every ``refresh_hours`` simulated hours. Each request is sent to
``split`` with the ``stock_value`` objective term right after ``children`` (so the
fewest children stay proven-optimal; ``position="after_delivery"`` puts it after
``delivery`` instead) and the prices of the order's SKUs at its candidate warehouses::

    "options": {"objective": ["children", "stock_value", "delivery"],
                "stock_prices": {"version": "<prices version>",
                                 "prices": {"<warehouse_id>": {"<sku>": 1.25}}}}

Only positive prices are sent (an absent pair is worth 0). Refreshing is not part of a
split's latency (:meth:`LookaheadPolicy.prepare` runs outside the timed call; in a
service the prices are refreshed in the background).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

import ordersplit
from ordersplit.bench.network import Network
from ordersplit.lookahead.forecasters import Forecaster
from ordersplit.lookahead.network import network_from_scenario
from ordersplit.lookahead.prices import PricingParams, StockPrices, price_stock
from ordersplit.lookahead.reserve import contested_skus, reserve_request
from ordersplit.lookahead.simulate import SimulationState
from ordersplit.lookahead.stream import order_units
from ordersplit.models.plan import Plan

log = logging.getLogger(__name__)

STOCK_VALUE = "stock_value"
Position = Literal["before_delivery", "after_delivery"]
POSITIONS: tuple[Position, ...] = ("before_delivery", "after_delivery")


def stock_value_available() -> bool:
    """Whether this build's solver knows the ``stock_value`` objective term."""
    from ordersplit.solver.problem import OBJECTIVE_TERMS

    return STOCK_VALUE in OBJECTIVE_TERMS


def objective_with_stock_value(request: Mapping[str, Any], position: Position) -> list[str]:
    """The request's objective (its own, else the default its preference implies) with
    ``stock_value`` inserted after ``children`` (and after ``delivery`` when
    ``position`` is ``after_delivery`` and delivery comes after children). An objective
    without ``children`` is left as it is: the term may only follow children."""
    own = request.get("options", {}).get("objective")
    if own is not None:
        terms = [str(t) for t in own if t != STOCK_VALUE]
    elif request["order"].get("preference") == "fastest":
        terms = ["delivery", "children"]
    else:
        terms = ["children", "delivery"]
    if "children" not in terms:
        return terms
    at = terms.index("children") + 1
    if position == "after_delivery" and "delivery" in terms[at:]:
        at = terms.index("delivery") + 1
    terms.insert(at, STOCK_VALUE)
    return terms


def prices_for_request(prices: StockPrices, request: Mapping[str, Any]) -> dict[str, Any]:
    """``options.stock_prices`` for one order: the positive prices of its stock SKUs
    (bundles as components) at the candidate warehouses that hold them (a unit a location
    does not hold is never shipped from it: its price would only be parsed and compiled)."""
    skus = sorted(order_units(request))
    locations = request.get("warehouses", [])
    wids = [str(w["id"]) for w in locations]
    table = prices.lookup(wids, skus)
    held = np.array([[int(w.get("stock", {}).get(s, 0)) > 0 for s in skus] for w in locations],
                    dtype=bool).reshape(table.shape)
    out: dict[str, dict[str, float]] = {}
    rows, cols = np.nonzero((table > 0) & held)  # row-major: warehouses, then SKUs, in order
    for i, j, price in zip(rows.tolist(), cols.tolist(), table[rows, cols].tolist(), strict=True):
        out.setdefault(wids[i], {})[skus[j]] = price
    return {"version": prices.version, "prices": out}


def request_with_prices(request: Mapping[str, Any], prices: StockPrices, position: Position
                        ) -> dict[str, Any]:
    """A copy of ``request`` with the ``stock_value`` objective and its prices (as it is
    when its own objective has no ``children`` to put the term after)."""
    options = dict(request.get("options", {}))
    objective = objective_with_stock_value(request, position)
    if STOCK_VALUE not in objective:
        return {**request, "options": options}
    options["objective"] = objective
    options["stock_prices"] = prices_for_request(prices, request)
    return {**request, "options": options}


class LookaheadPolicy:
    """Split with the ``stock_value`` term, prices refreshed on a schedule (module doc)."""

    def __init__(self, net: Network, forecaster: Forecaster, *, refresh_orders: int | None = 250,
                 refresh_hours: float | None = None, params: PricingParams | None = None,
                 position: Position = "before_delivery", name: str | None = None,
                 reserve_ratio: float | None = None,
                 split_fn: Callable[[dict[str, Any]], Plan] = ordersplit.split) -> None:
        if refresh_orders is None and refresh_hours is None:
            raise ValueError("give refresh_orders or refresh_hours (or both)")
        if (refresh_orders is not None and refresh_orders < 1) or \
                (refresh_hours is not None and not refresh_hours > 0):
            raise ValueError("refresh_orders must be >= 1 and refresh_hours positive")
        if position not in POSITIONS:
            raise ValueError(f"position must be one of {list(POSITIONS)}")
        if reserve_ratio is not None and not reserve_ratio > 0:
            raise ValueError("reserve_ratio must be positive (None: no reservation)")
        self.net = net
        self.forecaster = forecaster
        self.refresh_orders = refresh_orders
        self.refresh_hours = refresh_hours
        self.params = params or PricingParams()
        self.position: Position = position
        self.name = name or f"lookahead_{forecaster.kind}"
        self.split_fn = split_fn
        self.reserve_ratio = reserve_ratio
        self.contested: frozenset[str] = frozenset()
        self.reserved_orders = 0
        self.reserved_lines = 0
        self.seen_orders = 0
        self.short_orders = 0
        self.prices: StockPrices | None = None
        self.refreshes = 0
        self.refresh_s = 0.0
        self._since = 0
        self._priced_at = 0.0

    def due(self, state: SimulationState) -> bool:
        """Whether the prices are to be refreshed before this order."""
        if self.prices is None:
            return True
        return ((self.refresh_orders is not None and self._since >= self.refresh_orders)
                or (self.refresh_hours is not None
                    and state.clock_hours - self._priced_at >= self.refresh_hours))

    def refresh(self, state: SimulationState) -> StockPrices:
        """Re-price the stock left against the forecast of the rest of the window."""
        t0 = time.perf_counter()
        forecast = self.forecaster.forecast(state.clock_hours, state.window_end_hours)
        pricing_net = network_from_scenario(self.net, state.stock)
        self.prices = price_stock(forecast, pricing_net, self.params)
        if self.reserve_ratio is not None:
            self.contested = contested_skus(forecast, pricing_net.sku_ids, pricing_net.stock,
                                            self.reserve_ratio, self.taker_share())
        self.refresh_s += time.perf_counter() - t0
        self.refreshes += 1
        self._since = 0
        self._priced_at = state.clock_hours
        log.info("%s: prices %s at %.2f h", self.name, self.prices.version, state.clock_hours)
        return self.prices

    def prepare(self, state: SimulationState) -> None:
        if self.due(state):
            self.refresh(state)

    def split(self, request: dict[str, Any], state: SimulationState) -> Plan:
        prices = self.prices if self.prices is not None else self.refresh(state)
        self._since += 1
        if self.reserve_ratio is not None and \
                objective_with_stock_value(request, self.position)[:1] == ["children"]:
            held = reserve_request(request, self.contested)
            self.seen_orders += 1
            self.short_orders += held.short
            if held.hidden:
                self.reserved_orders += 1
                self.reserved_lines += len(held.hidden)
                request = held.request
        return self.split_fn(request_with_prices(request, prices, self.position))

    def taker_share(self) -> float:
        """The share of the orders seen so far that were not short for certain: they take
        contested units rather than leave them (one short and one not assumed before)."""
        return (self.seen_orders - self.short_orders + 1) / (self.seen_orders + 2)

    def stats(self) -> dict[str, float]:
        """Price refreshes and the seconds they took (not counted in split latency), and
        the orders and lines that left contested units for later orders."""
        return {"price_refreshes": float(self.refreshes), "price_refresh_s": self.refresh_s,
                "reserved_orders": float(self.reserved_orders),
                "reserved_lines": float(self.reserved_lines)}
