"""Per-line fill peers: each order line takes what it can from warehouses in a fixed order.

This is how the common open-source order systems source an order by default, line by
line with no look-ahead over the rest of the order:

* :func:`priority_fill` - warehouses in their configured priority order (the order they
  are listed in the request). Magento MSI's *Source Priority* selection algorithm;
  Saleor's *prioritize sorting order* allocation strategy.
* :func:`nearest_fill` - warehouses nearest the destination first (delivery hours stand
  in for distance). Magento MSI's *Distance Priority* selection algorithm.
* :func:`most_stock_fill` - for each line, the warehouse with the most available stock of
  it first. Saleor's *prioritize high stock* allocation strategy.

All work on the compiled :class:`~ordersplit.solver.problem.SplitProblem`, so the rules
(groups, reach, unsplittable bundles, stock) are the same as for our solvers: an
unsplittable item goes whole to the first warehouse in the order that can ship all of it.
They return ``None`` when a line cannot be filled from what earlier lines left.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ordersplit.solver.heuristics.state import Work
from ordersplit.solver.problem import IntArray, SplitProblem

Ranking = Callable[[Work, int], IntArray]
"""Warehouse order for item ``i`` given the working state (best first)."""


def _fill(problem: SplitProblem, rank: Ranking) -> IntArray | None:
    """Fill items in line order, each from warehouses in ``rank``'s order."""
    work = Work(problem)
    for i in range(problem.n_items):
        one = np.array([i])
        for w in rank(work, i):
            if work.rem[i] == 0:
                break
            work.give(i, int(w), int(work.caps(one)[0, w]))
        if work.rem[i]:
            return None
    return work.x


def priority_fill(problem: SplitProblem) -> IntArray | None:
    """Every line from warehouses in priority (listing) order, taking all it can from each."""
    order = np.arange(problem.n_warehouses)
    return _fill(problem, lambda _work, _i: order)


def nearest_fill(problem: SplitProblem) -> IntArray | None:
    """Every line from the nearest warehouses first (fewest delivery hours, then listing)."""
    return _fill(problem, lambda work, _i: work.fast)


def available(work: Work, i: int) -> IntArray:
    """Units of item ``i`` each warehouse could give now, not capped at the need."""
    p = work.p
    used = np.flatnonzero(p.usage[i])
    if used.size == 0:
        return np.zeros(p.n_warehouses, dtype=np.int64)
    units = (work.stock[:, used] // p.usage[i, used]).min(axis=1)
    return np.where(p.allowed[i], units, 0)


def most_stock_fill(problem: SplitProblem) -> IntArray | None:
    """Every line from the warehouse holding most of it first (ties: listing order)."""

    def rank(work: Work, i: int) -> IntArray:
        units = available(work, i)
        return np.lexsort((np.arange(units.size), -units))

    return _fill(problem, rank)
