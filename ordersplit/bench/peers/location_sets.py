"""Location sets of growing size with a step cap: Salesforce Order Management's routing.

Salesforce OM's *Find Routes With Fewest Splits* action returns the combinations of
inventory locations that can fulfil the whole order, trying one location, then pairs,
and so on, but never more than ``maximumNumberOfSplits`` + 1 locations; its companion
*Rank Routes By Average Distance* orders those routes by the mean distance of their
locations to the customer. A flow then ships from the first route.

Our reading, on the compiled problem: sets of ``k = 1 .. max_splits + 1`` candidate
warehouses; a set qualifies when, together, it can ship every item (checked by filling
the items fastest-first inside it); the qualifying sets of the smallest ``k`` are ranked
by mean delivery hours (ties: listing order) and the first one that really fits wins.
Salesforce works on the order as a whole, not per shipping group, so the set is chosen
for the whole order and the rules' groups then multiply the children. When no set
within the cap fits, the action returns no route; we then source the order line by
line in priority order (what a default flow falls back to), see
:func:`~ordersplit.bench.peers.fill.priority_fill`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ordersplit.bench.peers.fill import priority_fill
from ordersplit.solver.heuristics.state import fill_fastest
from ordersplit.solver.problem import IntArray, SplitProblem

MAX_SPLITS = 2
"""Default step cap: at most three locations per route (Salesforce's input is optional)."""
MAX_SETS = 200_000
"""Sets of one size screened at most; larger sizes are not enumerated (a cost guard)."""
CHUNK = 8_192
"""Sets screened per numpy step (bounds the memory of the screen)."""
MAX_TRIALS = 64
"""Screened sets actually filled per size before giving up on that size."""


def location_sets(problem: SplitProblem, max_splits: int = MAX_SPLITS) -> IntArray | None:
    """The nearest-on-average smallest location set that ships the whole order."""
    n = problem.n_items
    if n == 0:
        return np.zeros((0, problem.n_warehouses), dtype=np.int64)
    cap = problem.capacity
    cand = np.flatnonzero(cap.sum(axis=0) > 0)
    items = np.arange(n)
    for k in range(1, min(max_splits + 1, cand.size) + 1):
        if math.comb(int(cand.size), k) > MAX_SETS:
            break
        fits = _screen(problem, cap[:, cand], cand, k)
        if fits.size == 0:
            continue
        mean_hours = problem.hours[fits].mean(axis=1)
        ranked = fits[np.lexsort((*fits.T[::-1], mean_hours))]
        for chosen in ranked[:MAX_TRIALS]:
            rows = fill_fastest(problem, items, chosen, problem.stock.copy())
            if rows is not None:
                return rows
    return priority_fill(problem)


def _screen(problem: SplitProblem, cap: IntArray, cand: IntArray, k: int) -> IntArray:
    """Sets of ``k`` candidates (as warehouse indices) whose capacities cover every item.

    A necessary condition only (stock shared between items is checked by the fill).
    """
    whole = ~problem.splittable
    need = problem.quantity[:, None]
    found: list[IntArray] = []
    combos = itertools.combinations(range(cand.size), k)
    while True:
        block = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, CHUNK)),
                            dtype=np.int64).reshape(-1, k)
        if block.size == 0:
            break
        sub = cap[:, block]  # [item, set, k]
        ok = (sub.sum(axis=2) >= need).all(axis=0)
        if whole.any():
            ok &= (sub[whole].max(axis=2) >= need[whole]).all(axis=0)
        found.append(cand[block[ok]])
    return np.concatenate(found) if found else np.zeros((0, k), dtype=np.int64)
