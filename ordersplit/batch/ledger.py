"""Residual stock over a set of SKU columns, with take/give that can never oversell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ordersplit.batch.model import OrderPlan, OrderTemplate
from ordersplit.batch.plan_columns import Columnar, plan_cells
from ordersplit.errors import OrderSplitError
from ordersplit.solver.problem import IntArray


class OversellError(OrderSplitError, RuntimeError):
    """A batch solution takes more of a SKU from a location than it has (a bug, never data)."""


SMALL_MAX = 2**31 - 1
"""Residual cells below this are held as int32."""


class Ledger:
    """Residual units ``residual[location, j]`` of the global SKU columns ``cols[j]`` (sorted)."""

    def __init__(self, cols: IntArray, residual: IntArray) -> None:
        if residual.shape[1] != cols.size:
            raise ValueError("residual must have one column per SKU column")
        self.cols = np.asarray(cols, dtype=np.int64)
        # int32 when the stock fits (200 locations x 100,000 SKUs: 80 MB instead of 160);
        # :meth:`give` widens it should a cell ever outgrow it
        small = residual.size == 0 or (int(residual.max()) < SMALL_MAX
                                       and int(residual.min()) >= 0)
        self.residual: IntArray = np.array(residual, dtype=np.int32 if small else np.int64)
        """(int32 or int64: every value fits; read it as integers)"""

    @classmethod
    def full(cls, stock: IntArray) -> Ledger:
        return cls(np.arange(stock.shape[1], dtype=np.int64), stock)

    def local(self, gcols: IntArray) -> IntArray:
        """Positions of global columns ``gcols`` (which must all be in this ledger)."""
        pos = np.searchsorted(self.cols, gcols)
        if pos.size and (pos.max(initial=0) >= self.cols.size or
                         not np.array_equal(self.cols[pos], gcols)):
            raise KeyError("SKU column outside this ledger")
        return pos

    def view(self, tpl: OrderTemplate) -> IntArray:
        """The order's clipped view of the residual (see :func:`~ordersplit.batch.model.clipped_view`)."""
        known = tpl.cols >= 0
        view = np.zeros((self.residual.shape[0], tpl.cols.size), dtype=np.int64)
        if known.any():
            pos = self.local(tpl.cols[known])
            view[:, known] = np.minimum(self.residual[:, pos], tpl.demand[None, known])
        return view

    def fits(self, plan: OrderPlan) -> bool:
        return self.fits_cells(plan.use_loc, plan.use_col, plan.use_units)

    def fits_cells(self, loc: IntArray, col: IntArray, units: IntArray) -> bool:
        """Whether the cells (location, SKU column, units) of a plan are all left (a
        plan held packed: :meth:`~ordersplit.batch.plan_list.PlanList.uses`)."""
        if units.size == 0:
            return True
        pos = self.local(col)
        return bool((self.residual[loc, pos] >= units).all())

    def take(self, plan: OrderPlan) -> None:
        self.take_cells(plan.use_loc, plan.use_col, plan.use_units)

    def take_cells(self, loc: IntArray, col: IntArray, units: IntArray) -> None:
        """Take a plan's cells (see :meth:`fits_cells`)."""
        if units.size == 0:
            return
        pos = self.local(col)
        left = self.residual[loc, pos] - units.astype(np.int64)
        if (left < 0).any():
            raise OversellError("a plan takes more stock than is left")
        self.residual[loc, pos] = left

    def give(self, plan: OrderPlan) -> None:
        if plan.use_units.size == 0:
            return
        pos = self.local(plan.use_col)
        cells = self.residual[plan.use_loc, pos].astype(np.int64) + plan.use_units
        if self.residual.dtype != np.int64 and int(cells.max()) >= SMALL_MAX:
            self.residual = self.residual.astype(np.int64)
        self.residual[plan.use_loc, pos] = cells


def total_use(plans: Sequence[OrderPlan | None], shape: tuple[int, int]) -> IntArray:
    """Units every plan takes, summed per ``[location, sku]``."""
    used = np.zeros(shape, dtype=np.int64)
    if isinstance(plans, Columnar):  # packed: the cells without plan objects
        _, locs, cols, units = plans.cells("use_loc", "use_col", "use_units")
        np.add.at(used, (locs, cols), units)
        return used
    live = [p for p in plans if p is not None and p.use_units.size]
    if live:
        np.add.at(used, (np.concatenate([p.use_loc for p in live]),
                         np.concatenate([p.use_col for p in live])),
                  np.concatenate([p.use_units for p in live]))
    return used


def check_no_oversell(stock: IntArray, plans: Sequence[OrderPlan | None]) -> IntArray:
    """The residual stock after ``plans``; raises :class:`OversellError` if any cell is short."""
    residual = total_use(plans, stock.shape)  # then the residual, in place (one grid,
    np.subtract(stock, residual, out=residual)  # 160 MB at 200 x 100,000, not two)
    if (residual < 0).any():
        w, k = np.argwhere(residual < 0)[0]
        raise OversellError(f"location {int(w)} oversells SKU column {int(k)} by "
                            f"{-int(residual[w, k])}")
    return residual


def _cells(plans: Sequence[OrderPlan]) -> tuple[IntArray, IntArray, IntArray]:
    if isinstance(plans, Columnar):
        _, locs, cols, units = plan_cells(plans, "use_loc", "use_col", "use_units")
        return locs, cols, units
    live = [p for p in plans if p.use_units.size]
    if not live:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (np.concatenate([p.use_loc for p in live]), np.concatenate([p.use_col for p in live]),
            np.concatenate([p.use_units for p in live]))


def apply_changes(residual: IntArray, old: Sequence[OrderPlan], new: Sequence[OrderPlan]) -> None:
    """Update ``residual`` in place for plans ``old`` replaced by ``new``; raises
    :class:`OversellError` if a cell they take from goes below zero (the per-round check
    of the merged parts, in time proportional to the changes, not to the batch)."""
    locs, cols, units = _cells(old)
    np.add.at(residual, (locs, cols), units)
    locs, cols, units = _cells(new)
    np.subtract.at(residual, (locs, cols), units)
    short = residual[locs, cols] < 0
    if short.any():
        w, k = int(locs[short][0]), int(cols[short][0])
        raise OversellError(f"location {w} oversells SKU column {k} by "
                            f"{-int(residual[w, k])}")
