"""Shared working state of the constructive heuristics: residual stock and quantities.

Groups are worked one after another against the same residual stock, so a heuristic
never oversells a SKU that two groups share. Every heuristic ends in :meth:`polish`,
which re-fills each group fastest-first inside the warehouses it opened (better
delivery) and closes warehouses that turn out not to be needed (fewer children).
"""

from __future__ import annotations

import numpy as np

from ordersplit.solver.group_prep import fill_items, readonly
from ordersplit.solver.problem import IntArray, SplitProblem

BIG = np.iinfo(np.int64).max


class Work:
    """Residual stock, remaining quantities and the assignment under construction."""

    def __init__(self, problem: SplitProblem) -> None:
        self.p = problem
        self.stock = problem.stock.copy()
        self.rem = problem.quantity.copy()
        self.x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
        # warehouses in delivery order (fastest first, then index) for tie-breaks
        self.fast = np.lexsort((np.arange(problem.n_warehouses), problem.hours))

    def caps(self, items: IntArray) -> IntArray:
        """``[len(items), W]``: units each warehouse can still give each item (capped at rem)."""
        p = self.p
        out = np.empty((items.size, p.n_warehouses), dtype=np.int64)
        skus = p.single_sku[items]
        single = skus >= 0
        out[single] = self.stock[:, skus[single]].T
        for r in np.flatnonzero(~single).tolist():
            i = int(items[r])
            used = np.flatnonzero(p.usage[i])
            out[r] = (self.stock[:, used] // p.usage[i, used]).min(axis=1)
        out = np.minimum(out, self.rem[items, None])
        out[~p.allowed[items]] = 0
        # an unsplittable item ships whole or not at all
        whole = ~p.splittable[items]
        if whole.any():
            out[whole] = np.where(out[whole] >= self.rem[items[whole], None], out[whole], 0)
        return out

    def give(self, i: int, w: int, units: int) -> None:
        if units <= 0:
            return
        self.x[i, w] += units
        self.rem[i] -= units
        self.stock[w] -= self.p.usage[i] * units

    def take_from(self, items: IntArray, w: int) -> int:
        """Ship from ``w`` everything it can of ``items`` (in item order); units shipped."""
        total = 0
        for i in items:
            if self.rem[i] == 0:
                continue
            cap = int(self.caps(np.array([i]))[0, w])
            self.give(int(i), w, cap)
            total += cap
        return total

    def coverable(self, items: IntArray) -> IntArray:
        """Per warehouse: units of ``items`` it could ship now (an optimistic score)."""
        return self.caps(items).sum(axis=0)

    def best_warehouse(self, score: IntArray) -> int:
        """Highest score; ties go to the faster, then the lower index."""
        order = self.fast
        return int(order[np.argmax(score[order])])

    def done(self, items: IntArray) -> bool:
        return not self.rem[items].any()


def fill_fastest(problem: SplitProblem, items: IntArray, open_wh: IntArray,
                 stock: IntArray) -> IntArray | None:
    """Assign ``items`` fastest-first inside ``open_wh`` from ``stock`` (consumed in place).

    Unsplittable items go first, each to the fastest open warehouse that has all of it.
    Returns the assignment rows for ``items`` or ``None`` if they do not fit. One compiled
    call (:func:`~ordersplit.solver.group_prep.fill_items`) on the usual array types.
    """
    if _compiled_fill(problem, stock):
        ro = readonly
        rows, fits = fill_items(ro(np.asarray(items, dtype=np.int64)),
                                ro(np.asarray(open_wh, dtype=np.int64)), problem.hours,
                                problem.quantity, problem.usage, problem.splittable,
                                problem.allowed, stock)
        return rows if fits else None
    return fill_fastest_python(problem, items, open_wh, stock)


def _compiled_fill(problem: SplitProblem, stock: IntArray) -> bool:
    """Whether :func:`fill_items` takes these arrays as they are (else plain Python)."""
    return (stock.dtype == np.int64 and stock.flags.c_contiguous and stock.flags.writeable
            and problem.hours.dtype == problem.quantity.dtype == problem.usage.dtype == np.int64
            and problem.allowed.flags.c_contiguous and problem.usage.flags.c_contiguous)


def fill_fastest_python(problem: SplitProblem, items: IntArray, open_wh: IntArray,
                        stock: IntArray) -> IntArray | None:
    """:func:`fill_fastest` in plain Python (its definition; the tests compare them)."""
    rows = np.zeros((items.size, problem.n_warehouses), dtype=np.int64)
    order_wh = open_wh[np.lexsort((open_wh, problem.hours[open_wh]))].tolist()
    splittable = problem.splittable[items].tolist()
    ranked = sorted(range(items.size), key=lambda r: (splittable[r], r))
    for r in ranked:  # plain Python on scalars: a few items and warehouses each time
        i = int(items[r])
        need = int(problem.quantity[i])
        used = np.flatnonzero(problem.usage[i]).tolist()
        per = [(k, int(problem.usage[i, k])) for k in used]
        allowed = problem.allowed[i]
        for w in order_wh:
            if need == 0:
                break
            if not allowed[w]:
                continue
            cap = min((int(stock[w, k]) // u for k, u in per), default=need)
            if not splittable[r]:
                if cap < need:
                    continue
                got = need
            else:
                got = min(need, cap)
            if got:
                rows[r, w] = got
                for k, u in per:
                    stock[w, k] -= u * got
                need -= got
        if need:
            return None
    return rows


def polish(problem: SplitProblem, x: IntArray, *, drop: bool = True) -> IntArray:
    """Re-fill every group fastest-first in its open warehouses; close unneeded ones.

    Never returns something worse in children: a change is kept only if it fits.
    """
    x = x.copy()
    stock = problem.stock - x.T @ problem.usage
    for items in problem.groups():
        if items.size == 0:
            continue
        mine = x[items]
        stock += (mine.T @ problem.usage[items])  # give the group's stock back
        open_wh = np.flatnonzero(mine.sum(axis=0))
        best = mine
        if drop:  # try closing the slowest first
            for w in open_wh[np.lexsort((-open_wh, -problem.hours[open_wh]))]:
                trial = open_wh[open_wh != w]
                if trial.size == 0:
                    continue
                rows = fill_fastest(problem, items, trial, stock.copy())
                if rows is not None:
                    open_wh = trial
        rows = fill_fastest(problem, items, open_wh, stock.copy())
        if rows is not None:
            best = rows
        x[items] = best
        stock -= best.T @ problem.usage[items]
    return x
