"""A day of orders split one by one against depleting stock, by a pluggable policy.

Orders come from the scenario generator (:mod:`ordersplit.bench.scenario`) and arrive at
Olist-shaped times (:mod:`ordersplit.lookahead.arrivals`). Each order is split in
arrival order by a :class:`Policy` against the stock left (every location, restricted
to the order's SKUs), and the units its plan ships are taken off. With
``replenish_every_hours`` the stock is brought back up to its starting level at those
times (order-up-to). A bad order, or a plan that would take more than is on hand, is
reported on its row and the day goes on.

Several policies run over the same orders interleaved (:func:`simulate_many`): each
order is split by each policy in turn, each against its own stock. Policies:
:class:`MyopicPolicy` (``ordersplit.split`` as is) and
:class:`~ordersplit.lookahead.policy.LookaheadPolicy` (the ``stock_value`` term, priced
by :class:`~ordersplit.lookahead.StockPrices`); both read the same
:class:`SimulationState`. A policy's ``prepare`` runs before the timed split (e.g. a
price refresh), so ``latency_ms`` is the split's own wall time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd

import ordersplit
from ordersplit.bench.network import Network, location_dicts
from ordersplit.bench.scenario import ScenarioConfig, scenario_network
from ordersplit.errors import OrderSplitError
from ordersplit.lookahead.stream import OrderStream, scenario_stream
from ordersplit.models.plan import Plan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulationState:
    """What a policy may read when an order arrives (the stock is a read-only view)."""

    clock_hours: float
    location_ids: tuple[str, ...]
    sku_ids: tuple[str, ...]
    stock: np.ndarray
    """int64 [location, sku] units on hand now."""
    window_end_hours: float
    """When the stock is next replenished, or the horizon ends: what a forecast of the
    rest of the stock's life covers."""


class Policy(Protocol):
    """Splits one order (a contract request dict with the current stock) into a plan."""

    name: str

    def prepare(self, state: SimulationState) -> None:
        """Work before the order's split that is not part of its latency."""

    def split(self, request: dict[str, Any], state: SimulationState) -> Plan: ...


class MyopicPolicy:
    """Today's behaviour: each order's own best plan (``ordersplit.split``), nothing more."""

    name = "myopic"

    def prepare(self, state: SimulationState) -> None:
        return None

    def split(self, request: dict[str, Any], state: SimulationState) -> Plan:
        return ordersplit.split(request)


@dataclass(frozen=True)
class SimulationConfig:
    """The orders, their horizon and the stock policy of one simulated run."""

    scenario: ScenarioConfig
    horizon_hours: float = 24.0
    replenish_every_hours: float | None = None
    seed: int = 0
    """Seed of the arrival times (the scenario has its own)."""

    def __post_init__(self) -> None:
        if not self.horizon_hours > 0:
            raise ValueError("horizon_hours must be positive")
        if self.replenish_every_hours is not None and not self.replenish_every_hours > 0:
            raise ValueError("replenish_every_hours must be positive")


@dataclass
class SimulationResult:
    """Per-order rows (one per arrival, planned or not), totals and the stock left."""

    policy: str
    orders: pd.DataFrame
    totals: dict[str, float]
    final_stock: np.ndarray
    min_stock: int
    """The least units any (location, SKU) held at any time (never below 0)."""
    policy_stats: dict[str, float] = dataclasses.field(default_factory=dict)
    """What the policy reports of itself (e.g. price refreshes and their seconds)."""


class StockShortError(OrderSplitError):
    """A plan the simulator cannot apply (it takes more units than a location holds)."""

    def __init__(self, message: str, field: str = "warehouses") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def simulate(config: SimulationConfig, policy: Policy, network: Network | None = None
             ) -> SimulationResult:
    """Run ``policy`` over the scenario's orders in arrival order; see the module doc."""
    return simulate_many(config, [policy], network)[policy.name]


def simulate_many(config: SimulationConfig, policies: Sequence[Policy],
                  network: Network | None = None, stream: OrderStream | None = None
                  ) -> dict[str, SimulationResult]:
    """Run every policy over the same orders, interleaved order by order: each order is
    split by each policy in turn (the first one rotating), each against its own stock,
    so that the latencies compare under the same load. ``stream`` defaults to the scenario's
    (:func:`~ordersplit.lookahead.stream.scenario_stream`)."""
    names = [p.name for p in policies]
    if not names:
        raise ValueError("give at least one policy")
    if len(set(names)) != len(names):
        raise ValueError(f"policy names repeat: {names}")
    net = network if network is not None else scenario_network(config.scenario)
    orders = stream if stream is not None else scenario_stream(
        config.scenario, net, config.horizon_hours, config.seed)
    world = _World(net)
    runs = [_Run(p, world) for p in policies]
    if len(orders):
        _warm_up(orders.requests[0], world)
    every = config.replenish_every_hours
    next_fill = every
    for k, (clock, req) in enumerate(zip(orders.times.tolist(), orders.requests, strict=True)):
        if every is not None and next_fill is not None and clock >= next_fill:
            for run in runs:
                np.maximum(run.stock, world.start, out=run.stock)
            next_fill = float((np.floor(clock / every) + 1.0) * every)
        window_end = config.horizon_hours if next_fill is None else min(next_fill,
                                                                        config.horizon_hours)
        cols = _stock_columns(req, world.sku_col)
        first = k % len(runs)  # who goes first rotates: no policy always finds caches warm
        for run in runs[first:] + runs[:first]:
            run.step(req, cols, clock, window_end)
    return {run.policy.name: run.result() for run in runs}


def _warm_up(req: Mapping[str, Any], world: _World) -> None:
    """Split one order untimed and throw the plan away: the solver libraries load and the
    kernels compile before the first timed split (else the first policy pays for it)."""
    cols = _stock_columns(req, world.sku_col)
    with contextlib.suppress(OrderSplitError):  # a bad order is reported when it is split
        ordersplit.split({**req, "warehouses": location_dicts(
            world.net.locations, [world.sku_ids[c] for c in cols], world.start[:, cols])})


class _World:
    """The network's ids and starting stock, indexed for the simulator."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.sku_col = {s: k for k, s in enumerate(net.sku_ids)}
        self.loc_ids = tuple(str(loc["id"]) for loc in net.locations)
        self.loc_row = {w: i for i, w in enumerate(self.loc_ids)}
        self.sku_ids = tuple(net.sku_ids)
        self.start = np.array(net.stock, dtype=np.int64)


class _Run:
    """One policy's stock and rows over the stream."""

    def __init__(self, policy: Policy, world: _World) -> None:
        self.policy = policy
        self.world = world
        self.stock = world.start.copy()
        self.min_stock = int(self.stock.min()) if self.stock.size else 0
        self.rows: list[dict[str, Any]] = []

    def step(self, req: Mapping[str, Any], cols: list[int], clock: float, window_end: float
             ) -> None:
        """Split one order against this run's stock and take its plan's units off."""
        w = self.world
        request = {**req, "options": dict(req.get("options", {})),
                   "warehouses": location_dicts(w.net.locations, [w.sku_ids[c] for c in cols],
                                                self.stock[:, cols])}
        view = self.stock.view()
        view.setflags(write=False)
        state = SimulationState(float(clock), w.loc_ids, w.sku_ids, view, window_end)
        row: dict[str, Any] = {"order_id": req["order"]["id"], "arrival_h": float(clock)}
        self.policy.prepare(state)
        t0 = time.perf_counter()
        try:
            plan = self.policy.split(request, state)
            row["latency_ms"] = (time.perf_counter() - t0) * 1000
            take = _units_taken(plan, req["catalog"], w.loc_row, w.sku_col, self.stock.shape)
            if (self.stock - take < 0).any():
                i, k = np.argwhere(self.stock - take < 0)[0]
                raise StockShortError(f"the plan takes {take[i, k]} of {w.sku_ids[k]} at "
                                      f"{w.loc_ids[i]}, which holds {self.stock[i, k]}")
            self.stock -= take
            if (take > 0).any():
                self.min_stock = min(self.min_stock, int(self.stock[take > 0].min()))
            row.update(_plan_row(plan))
        except OrderSplitError as exc:
            row.setdefault("latency_ms", (time.perf_counter() - t0) * 1000)
            row.update({"status": "error", "error_field": getattr(exc, "field", ""),
                        "error_message": getattr(exc, "message", str(exc))})
            log.info("%s: order %s: %s", self.policy.name, row["order_id"], exc)
        self.rows.append(row)

    def result(self) -> SimulationResult:
        orders = pd.DataFrame.from_records(self.rows, columns=ROW_COLUMNS)
        stats = getattr(self.policy, "stats", None)
        return SimulationResult(self.policy.name, orders, totals(orders), self.stock,
                                self.min_stock, dict(stats()) if callable(stats) else {})


ROW_COLUMNS = ["order_id", "arrival_h", "status", "solver", "children", "children_lower_bound",
               "backorder_children", "backorder_units", "delivery_hours", "unit_hours", "cost",
               "units_shipped", "stock_value", "latency_ms", "error_field", "error_message"]
"""Columns of :attr:`SimulationResult.orders`."""


def _stock_columns(req: Mapping[str, Any], sku_col: Mapping[str, int]) -> list[int]:
    """Stock columns of every SKU the order may draw on (lines and bundle components)."""
    skus: list[str] = []
    for line in req["order"]["lines"]:
        skus.append(line["sku"])
        skus += [c["sku"] for c in req["catalog"].get(line["sku"], {}).get("components") or []]
    return sorted({sku_col[s] for s in skus if s in sku_col})


def _units_taken(plan: Plan, catalog: Mapping[str, Any], loc_row: Mapping[str, int],
                 sku_col: Mapping[str, int], shape: tuple[int, ...]) -> np.ndarray:
    """int64 [location, sku] units the plan's shipped and store children take."""
    take = np.zeros(shape, dtype=np.int64)
    for child in plan.children:
        if child.kind == "backorder" or child.warehouse is None:
            continue
        if len(child.warehouses) > 1:
            raise StockShortError(f"child {child.id} ships from several warehouses; the "
                                  "simulator needs rules.warehouse on", field="rules.warehouse")
        w = loc_row[child.warehouse]
        for line in child.lines:
            comps = catalog.get(line.sku, {}).get("components") if line.component_of is None else None
            for sku, per in ([(c["sku"], c["quantity"]) for c in comps] if comps
                             else [(line.sku, 1)]):
                take[w, sku_col[sku]] += line.quantity * per
    return take


def _plan_row(plan: Plan) -> dict[str, Any]:
    back = sum(1 for c in plan.children if c.kind == "backorder")
    waiting = sum(ln.quantity for c in plan.children if c.kind == "backorder" for ln in c.lines)
    shipped = sum(ln.quantity for c in plan.children if c.kind != "backorder" for ln in c.lines)
    return {"status": plan.status, "solver": plan.solver, "children": plan.objective.children,
            "children_lower_bound": plan.objective.children_lower_bound,
            "backorder_children": back, "backorder_units": waiting,
            "delivery_hours": plan.objective.delivery_hours,
            "unit_hours": plan.objective.unit_hours, "cost": float(Decimal(plan.objective.cost)),
            "units_shipped": shipped,
            "stock_value": _number(getattr(plan.objective, "stock_value", None))}


def _number(value: Any) -> float | None:
    """A plan figure as a float (``None`` when the plan has none)."""
    return None if value is None else float(Decimal(str(value)))


def totals(orders: pd.DataFrame) -> dict[str, float]:
    """The run's totals: orders, errors, children, delivery hours, cost, latency."""
    ok = orders[orders["status"] != "error"]
    lat = orders["latency_ms"].astype(float)
    return {"orders": float(len(orders)), "planned": float(len(ok)),
            "errors": float(len(orders) - len(ok)),
            "children": float(ok["children"].sum()),
            "children_over_bound": float((ok["children"] - ok["children_lower_bound"]).sum()),
            "backorder_children": float(ok["backorder_children"].sum()),
            "backorder_units": float(ok["backorder_units"].sum()),
            "mean_delivery_hours": float(ok["delivery_hours"].astype(float).mean()) if len(ok) else 0.0,
            "cost": float(ok["cost"].sum()),
            "units_shipped": float(ok["units_shipped"].sum()),
            "mean_latency_ms": float(lat.mean()) if len(lat) else 0.0,
            "p95_latency_ms": float(lat.quantile(0.95)) if len(lat) else 0.0}


POLICY_NAMES = ("myopic", "lookahead", "batch")
"""What ``ordersplit simulate --policies`` accepts: ``lookahead`` runs one look-ahead
policy per forecast kind, ``batch`` the offline reference
(:mod:`ordersplit.lookahead.offline`)."""
