"""One block of SKUs of the pricing LP, solved with lazily generated arcs (HiGHS).

:func:`solve_block` builds the block's sparse LP with numpy (CSC columns), starts each
region with its cheapest warehouses, and adds every arc whose reduced cost is negative
under the duals, re-solving from the last basis, until none is: the duals are then
those of the block's full LP. :mod:`ordersplit.lookahead.prices` assembles the blocks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import highspy
import numpy as np

from ordersplit.solver.backends.milp import new_highs


class BlockParams(Protocol):
    """What a block reads of :class:`~ordersplit.lookahead.prices.PricingParams`."""

    @property
    def initial_cover(self) -> float: ...
    @property
    def max_rounds(self) -> int: ...
    @property
    def tolerance(self) -> float: ...


@dataclass
class Block:
    objective: float
    dual_objective: float
    prices: tuple[np.ndarray, np.ndarray, np.ndarray]
    shipped: tuple[np.ndarray, np.ndarray, np.ndarray]
    values: tuple[np.ndarray, np.ndarray, np.ndarray]


def solve_block(stock: np.ndarray, demand: np.ndarray, cost: np.ndarray,
                order: list[np.ndarray], penalty: float, params: BlockParams,
                stats: dict[str, float]) -> Block:
    """The LP of a block of SKUs, with arcs generated until no reduced cost is negative."""
    n_w, m = stock.shape
    sw, sj = np.nonzero(stock > 0)
    dr, dj = np.nonzero(demand > 0)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if dr.size == 0:
        return Block(0.0, 0.0, empty, (sw, sj, np.zeros(sw.size)), empty)
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
    lp = BlockLP(srow, drow, stock[sw, sj], demand[dr, dj], cost, penalty)
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
            return Block(objective, float(demand[dr, dj] @ y_d + stock[sw, sj] @ y_s),
                          (sw[pos], sj[pos], price[pos]), (sw, sj, row_val[:sw.size]),
                          (dr, dj, y_d))
        in_arc |= new
    raise RuntimeError(f"arc generation did not converge in {params.max_rounds} rounds")


class BlockLP:
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
        self.h = new_highs()  # silent, one thread: the process's one HiGHS scheduler
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
