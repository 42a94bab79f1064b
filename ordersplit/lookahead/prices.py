"""Shadow prices of stock from a transportation LP over expected demand (HiGHS).

After Acimovic and Graves, "Making Better Fulfillment Decisions on the Fly in an Online
Retail Environment" (MSOM 2015): the expected demand of a horizon is served from the
current stock at least cost, and the dual value of each (warehouse, SKU) stock row is
what one unit of that stock is worth to the rest of the horizon. A real-time split that
takes the unit should pay that price. See docs/lookahead.md for the formulation.

Per SKU ``s`` (the LP separates by SKU), with ``x[w, r]`` units of ``s`` shipped from
warehouse ``w`` to region ``r`` and ``u[r]`` expected units left unmet::

    min  sum c[w, r] x[w, r] + P sum u[r]
    s.t. sum_r x[w, r]        <= stock[w, s]      (dual -price[w, s], price >= 0)
         sum_w x[w, r] + u[r]  = demand[r, s]      (dual value[r, s])
         x, u >= 0

``c[w, r] = hour_cost * hours[w, r] + split_weight * child_cost[w] * (1 - breadth[w])``,
``breadth[w]`` the demand-weighted share of SKUs ``w`` stocks: a unit from a narrow
warehouse is likely to ship as an extra child (the split-penalty proxy).

At scale the SKUs are solved in blocks of ``chunk_skus`` (one sparse LP per block),
with the arcs generated lazily: each region starts with its cheapest warehouses holding
the SKU's whole expected demand; arcs whose reduced cost is negative under the duals
are added and the block solved again until none is, so the prices are the duals of the
full LP (every arc), not of a pruned one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ordersplit.lookahead.forecast import Forecast, ForecastError
from ordersplit.lookahead.network import PricingNetwork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PricingParams:
    """Costs of the pricing LP and how it is solved."""

    hour_cost: float = 1.0
    """Cost of one delivery hour of one unit."""
    split_weight: float = 1.0
    """Weight of the extra-child proxy ``child_cost[w] * (1 - breadth[w])`` per unit."""
    unmet_penalty: float | None = None
    """Cost of one expected unit left unmet (``None``: 2 x the dearest arc + 1)."""
    chunk_skus: int = 20
    """SKUs per LP block."""
    initial_cover: float = 1.5
    """First arcs of a region: its cheapest warehouses holding this many times its demand."""
    max_rounds: int = 50
    """Arc-generation rounds per block before giving up (raises)."""
    tolerance: float = 1e-7

    def __post_init__(self) -> None:
        if self.hour_cost < 0 or self.split_weight < 0:
            raise ValueError("hour_cost and split_weight must be >= 0")
        if self.unmet_penalty is not None and self.unmet_penalty <= 0:
            raise ValueError("unmet_penalty must be positive")
        if self.initial_cover <= 0:
            raise ValueError("initial_cover must be positive")
        if self.chunk_skus < 1 or self.max_rounds < 1:
            raise ValueError("chunk_skus and max_rounds must be >= 1")


@dataclass(frozen=True)
class StockPrices:
    """One immutable set of stock prices: ``prices[w, s]`` per unit, versioned.

    ``version`` is the creation time and a hash of every input (``inputs_hash``): equal
    inputs give equal hashes, and a plan can echo the version it was priced with.
    """

    version: str
    inputs_hash: str
    created_at: datetime
    warehouse_ids: tuple[str, ...]
    sku_ids: tuple[str, ...]
    regions: tuple[str, ...]
    prices: sp.csr_matrix
    """[warehouse, sku] shadow price per unit (>= 0; zero entries not stored)."""
    shipped: sp.csr_matrix
    """[warehouse, sku] units the LP ships from the stock row (its activity)."""
    demand_values: sp.csr_matrix
    """[region, sku] dual of the demand row: the marginal cost of one more expected unit."""
    objective: float
    """Optimal expected fulfilment cost (primal)."""
    dual_objective: float
    """``sum demand * value - sum stock * price``: equals ``objective`` at the optimum."""
    params: PricingParams
    stats: Mapping[str, float] = field(default_factory=dict)
    """Solve statistics: seconds, HiGHS solves (``lps``) and their seconds, arcs, penalty."""
    _w: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _s: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for m in (self.prices, self.shipped, self.demand_values):
            m.data.setflags(write=False)
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))
        self._w.update({w: i for i, w in enumerate(self.warehouse_ids)})
        self._s.update({s: i for i, s in enumerate(self.sku_ids)})

    def price(self, warehouse_id: str, sku: str) -> float:
        """The price of one unit of ``sku`` at ``warehouse_id`` (0 for an unknown pair)."""
        w, s = self._w.get(warehouse_id), self._s.get(sku)
        return 0.0 if w is None or s is None else float(self.prices[w, s])

    def lookup(self, warehouse_ids: Sequence[str], skus: Sequence[str]) -> np.ndarray:
        """float64 [len(warehouse_ids), len(skus)] prices (0 where a pair is unknown)."""
        w = np.array([self._w.get(x, -1) for x in warehouse_ids], dtype=np.int64)
        s = np.array([self._s.get(x, -1) for x in skus], dtype=np.int64)
        out = np.zeros((w.size, s.size))
        wi, si = np.flatnonzero(w >= 0), np.flatnonzero(s >= 0)
        if wi.size and si.size:
            out[np.ix_(wi, si)] = self.prices[w[wi]][:, s[si]].toarray()
        return out

    def to_frame(self) -> pd.DataFrame:
        """The positive prices as a table: ``warehouse_id, sku, price``."""
        coo = self.prices.tocoo()
        return pd.DataFrame({"warehouse_id": np.asarray(self.warehouse_ids, dtype=object)[coo.row],
                             "sku": np.asarray(self.sku_ids, dtype=object)[coo.col],
                             "price": coo.data})


def arc_costs(net: PricingNetwork, total_demand: np.ndarray, params: PricingParams
              ) -> np.ndarray:
    """float64 [warehouse, region] cost of shipping one unit (``inf``: no delivery)."""
    total = float(total_demand.sum())
    stocked = (net.stock > 0).astype(np.float64)
    breadth = stocked @ total_demand / total if total > 0 else np.zeros(len(net.warehouse_ids))
    extra = params.split_weight * net.child_cost * (1.0 - breadth)
    cost = params.hour_cost * net.hours + extra[:, None]
    return np.where(np.isnan(net.hours), np.inf, cost)


def align_demand(forecast: Forecast, net: PricingNetwork) -> np.ndarray:
    """float64 [network region, network sku] demand; unknown SKUs are dropped (logged)."""
    r_index = {r: i for i, r in enumerate(forecast.regions)}
    extra = [r for r in forecast.regions if r not in set(net.regions)]
    if extra:
        raise ForecastError(f"forecast region {extra[0]!r} is not a region of the network",
                            field="forecast.destination")
    s_index = {s: i for i, s in enumerate(net.sku_ids)}
    cols = np.array([s_index.get(s, -1) for s in forecast.sku_ids], dtype=np.int64)
    known = cols >= 0
    if not known.all():
        log.warning("%d forecast SKUs are not in the network (no stock): left out",
                    int((~known).sum()))
    out = np.zeros((len(net.regions), len(net.sku_ids)))
    rows = np.array([r_index.get(r, -1) for r in net.regions], dtype=np.int64)
    have = np.flatnonzero(rows >= 0)
    if have.size and known.any():
        out[np.ix_(have, cols[known])] = forecast.units[np.ix_(rows[have], np.flatnonzero(known))]
    return out


def price_stock(forecast: Forecast, net: PricingNetwork, params: PricingParams | None = None
                ) -> StockPrices:
    """Solve the pricing LP over ``forecast`` and the network's stock; see the module doc."""
    params = params or PricingParams()
    t0 = time.perf_counter()
    demand = align_demand(forecast, net)
    cost = arc_costs(net, demand.sum(axis=0), params)
    finite = cost[np.isfinite(cost)]
    penalty = params.unmet_penalty if params.unmet_penalty is not None else \
        2.0 * (float(finite.max()) if finite.size else 0.0) + 1.0
    order = [np.argsort(cost[:, r], kind="stable") for r in range(cost.shape[1])]
    order = [o[np.isfinite(cost[o, r])] for r, o in enumerate(order)]
    n_w, n_s = net.stock.shape
    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
        "prices": [], "shipped": [], "values": []}
    objective = dual = 0.0
    stats = {"lps": 0.0, "arcs": 0.0, "solve_s": 0.0}
    for lo in range(0, n_s, params.chunk_skus):
        hi = min(n_s, lo + params.chunk_skus)
        block = _solve_block(net.stock[:, lo:hi], demand[:, lo:hi], cost, order, penalty, params,
                             stats)
        objective += block.objective
        dual += block.dual_objective
        for name, (r, c, v) in (("prices", block.prices), ("shipped", block.shipped),
                                ("values", block.values)):
            parts[name].append((r, c + lo, v))
    prices = _csr(parts["prices"], (n_w, n_s))
    shipped = _csr(parts["shipped"], (n_w, n_s))
    values = _csr(parts["values"], (len(net.regions), n_s))
    created = datetime.now(UTC)
    digest = _inputs_hash(forecast, net, params)
    stats["seconds"] = time.perf_counter() - t0
    stats["unmet_penalty"] = penalty
    log.info("priced %d warehouses x %d skus in %.2f s (%d LPs, %d arcs)", n_w, n_s,
             stats["seconds"], stats["lps"], stats["arcs"])
    return StockPrices(f"{created:%Y%m%dT%H%M%S%fZ}-{digest[:12]}", digest, created,
                       net.warehouse_ids, net.sku_ids, net.regions, prices, shipped, values,
                       objective, dual, params, stats)


def _csr(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], shape: tuple[int, int]
         ) -> sp.csr_matrix:
    """One sparse matrix from the (row, column, value) triplets of the blocks."""
    if not parts:
        return sp.csr_matrix(shape)
    rows, cols, vals = (np.concatenate(x) for x in zip(*parts, strict=True))
    return sp.csr_matrix((vals, (rows, cols)), shape=shape)


def _inputs_hash(forecast: Forecast, net: PricingNetwork, params: PricingParams) -> str:
    h = hashlib.sha256()
    for ids in (net.warehouse_ids, net.sku_ids, net.regions, forecast.regions, forecast.sku_ids):
        h.update("\x1f".join(ids).encode())
        h.update(b"\x1e")
    for a in (net.stock, net.hours, net.child_cost, forecast.units):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr((params, forecast.horizon_hours)).encode())
    return h.hexdigest()


@dataclass
class _Block:
    objective: float
    dual_objective: float
    prices: tuple[np.ndarray, np.ndarray, np.ndarray]
    shipped: tuple[np.ndarray, np.ndarray, np.ndarray]
    values: tuple[np.ndarray, np.ndarray, np.ndarray]


def _solve_block(stock: np.ndarray, demand: np.ndarray, cost: np.ndarray,
                 order: list[np.ndarray], penalty: float, params: PricingParams,
                 stats: dict[str, float]) -> _Block:
    """The LP of a block of SKUs, with arcs generated until no reduced cost is negative."""
    n_w, m = stock.shape
    sw, sj = np.nonzero(stock > 0)
    dr, dj = np.nonzero(demand > 0)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if dr.size == 0:
        return _Block(0.0, 0.0, empty, (sw, sj, np.zeros(sw.size)), empty)
    srow = np.full((n_w, m), -1, dtype=np.int64)
    srow[sw, sj] = np.arange(sw.size)
    drow = np.full(demand.shape, -1, dtype=np.int64)
    drow[dr, dj] = np.arange(dr.size)
    # Arcs that may exist: stocked warehouse, reachable region with demand ([w, r, sku]).
    possible = (stock > 0)[:, None, :] & np.isfinite(cost)[:, :, None] & (demand > 0)[None]
    in_arc = np.zeros_like(possible)
    # First arcs: per region, its cheapest warehouses until they hold ``initial_cover`` x
    # the region's own expected demand; the pricing loop below adds whatever is missing.
    for r, o in enumerate(order):
        if o.size:
            s = stock[o]
            in_arc[o, r] = (s > 0) & (np.cumsum(s, axis=0) - s < params.initial_cover * demand[r])
    in_arc &= possible
    lp = _BlockLP(srow, drow, stock[sw, sj], demand[dr, dj], cost, penalty)
    new = in_arc
    for _ in range(params.max_rounds):
        lp.add_arcs(*np.nonzero(new))
        objective, row_val, row_dual = lp.solve(stats)
        y_s, y_d = row_dual[:sw.size], row_dual[sw.size:]
        neg_price = np.zeros((n_w, m))
        neg_price[sw, sj] = y_s
        value = np.zeros(demand.shape)
        value[dr, dj] = y_d
        reduced = cost[:, :, None] - neg_price[:, None, :] - value[None]
        tol = params.tolerance * (1.0 + np.abs(value))[None]
        new = possible & ~in_arc & (reduced < -tol)
        if not new.any():
            stats["arcs"] += float(in_arc.sum())
            price = np.maximum(0.0, -y_s)
            pos = price > 0
            return _Block(objective, float(demand[dr, dj] @ y_d + stock[sw, sj] @ y_s),
                          (sw[pos], sj[pos], price[pos]), (sw, sj, row_val[:sw.size]),
                          (dr, dj, y_d))
        in_arc |= new
    raise RuntimeError(f"arc generation did not converge in {params.max_rounds} rounds")


class _BlockLP:
    """One block's LP in HiGHS: stock rows, demand rows with their unmet columns, and arc
    columns added round by round (each re-solve starts from the last basis)."""

    def __init__(self, srow: np.ndarray, drow: np.ndarray, cap: np.ndarray, need: np.ndarray,
                 cost: np.ndarray, penalty: float) -> None:
        self.srow, self.drow, self.cost = srow, drow, cost
        self.n_s = cap.size
        n_d = need.size
        lp = highspy.HighsLp()
        lp.num_col_ = n_d
        lp.num_row_ = self.n_s + n_d
        lp.col_cost_ = np.full(n_d, penalty)
        lp.col_lower_ = np.zeros(n_d)
        lp.col_upper_ = np.full(n_d, highspy.kHighsInf)
        lp.row_lower_ = np.concatenate([np.full(self.n_s, -highspy.kHighsInf), need])
        lp.row_upper_ = np.concatenate([cap.astype(np.float64), need])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.arange(n_d + 1, dtype=np.int32)
        lp.a_matrix_.index_ = (self.n_s + np.arange(n_d)).astype(np.int32)
        lp.a_matrix_.value_ = np.ones(n_d)
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("presolve", "off")  # measured: small blocks solve faster
        self.h.passModel(lp)

    def add_arcs(self, aw: np.ndarray, ar: np.ndarray, aj: np.ndarray) -> None:
        """Columns x[w, r, sku]: one unit of stock row (w, sku) to demand row (r, sku)."""
        n = aw.size
        index = np.empty(2 * n, dtype=np.int32)
        index[0::2] = self.srow[aw, aj]
        index[1::2] = self.n_s + self.drow[ar, aj]
        self.h.addCols(n, self.cost[aw, ar], np.zeros(n), np.full(n, highspy.kHighsInf), 2 * n,
                       np.arange(0, 2 * n, 2, dtype=np.int32), index, np.ones(2 * n))

    def solve(self, stats: dict[str, float]) -> tuple[float, np.ndarray, np.ndarray]:
        """Objective, row activities and row duals at the optimum."""
        t0 = time.perf_counter()
        self.h.run()
        stats["solve_s"] += time.perf_counter() - t0
        stats["lps"] += 1
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the pricing LP ended {self.h.modelStatusToString(status)}")
        sol = self.h.getSolution()
        return (float(self.h.getInfo().objective_function_value), np.asarray(sol.row_value),
                np.asarray(sol.row_dual))
