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

At scale the SKUs are solved in blocks of ``chunk_skus`` (one sparse LP per block,
:mod:`ordersplit.lookahead.lp_blocks`), with the arcs generated lazily: each region
starts with its cheapest warehouses holding ``initial_cover`` x its expected demand;
arcs whose reduced cost is negative under the duals are added and the block solved
again until none is, so the prices are the duals of the full LP (every arc), not of a
pruned one. Small blocks are fastest (measured: docs/lookahead.md).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ordersplit.lookahead.forecast import Forecast, ForecastError
from ordersplit.lookahead.lp_blocks import solve_block
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
    _csc: sp.csc_matrix | None = field(default=None, repr=False, compare=False)

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
        """float64 [len(warehouse_ids), len(skus)] prices (0 where a pair is unknown).

        Reads each SKU's column of a column-major copy (made once): a split asks for a
        few SKUs at a few dozen warehouses per order, which sparse fancy indexing makes
        cost a large share of the split itself."""
        out = np.zeros((len(warehouse_ids), len(skus)))
        row = np.full(len(self.warehouse_ids), -1, dtype=np.int64)
        for i, wid in enumerate(warehouse_ids):
            k = self._w.get(wid)
            if k is not None:
                if row[k] >= 0:  # a warehouse asked twice: its row is copied below
                    continue
                row[k] = i
        csc = self._by_sku()
        for j, sku in enumerate(skus):
            s = self._s.get(sku)
            if s is None:
                continue
            a, b = csc.indptr[s], csc.indptr[s + 1]
            at = row[csc.indices[a:b]]
            keep = at >= 0
            out[at[keep], j] = csc.data[a:b][keep]
        for i, wid in enumerate(warehouse_ids):
            k = self._w.get(wid)
            if k is not None and row[k] != i:
                out[i] = out[row[k]]
        return out

    def _by_sku(self) -> sp.csc_matrix:
        """The prices column-major (built on first use, then kept)."""
        if self._csc is None:
            object.__setattr__(self, "_csc", self.prices.tocsc())
        assert self._csc is not None
        return self._csc

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
        block = solve_block(net.stock[:, lo:hi], demand[:, lo:hi], cost, order, penalty, params,
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
