"""Fill chosen warehouse sets when plain lines of two groups share a SKU's stock.

The combination search solves such orders in the relaxation where every group sees a
SKU's whole stock. Its plan is proven when a real plan on the same warehouse sets
reaches the relaxation's objective. Filling group after group (fastest first) can miss
one: the first group may take the units the second can only get from that warehouse.
Here each SKU's units are placed jointly: a transportation problem from the warehouses
to the groups (each group draws only on its own set), solved for the fewest unit
hours. The cost sits on the warehouses alone, so the feasible sets of warehouse units
form a matroid (a transversal one) and taking units fastest first while a full
assignment stays possible - incremental augmenting paths - is optimal.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ordersplit.solver.problem import IntArray, SplitProblem


def _augment(cap: np.ndarray, flow: np.ndarray, s: int, t: int) -> int:
    """Push flow from ``s`` to ``t`` along shortest residual paths until none is
    left; returns the units pushed."""
    n = cap.shape[0]
    pushed = 0
    while True:
        parent = np.full(n, -1, dtype=np.int64)
        parent[s] = s
        queue = deque([s])
        while queue and parent[t] < 0:
            u = queue.popleft()
            for nxt in np.flatnonzero((cap[u] - flow[u] > 0) & (parent < 0)):
                parent[nxt] = u
                queue.append(int(nxt))
        if parent[t] < 0:
            return pushed
        v: int = t
        room = int(np.iinfo(np.int64).max)
        while v != s:
            u = int(parent[v])
            room = min(room, int(cap[u, v] - flow[u, v]))
            v = u
        v = t
        while v != s:
            u = int(parent[v])
            flow[u, v] += room
            flow[v, u] -= room
            v = u
        pushed += room


def fill_shared(problem: SplitProblem, groups: list[IntArray],
                sets: list[IntArray | None]) -> IntArray | None:
    """A plan with each group shipping only from its set in ``sets``, each SKU's stock
    shared by the groups, and the fewest unit hours; ``None`` when there is none or
    some item is not a plain line (bundles are placed by the contention cases)."""
    if not bool(problem.splittable.all()) or bool((problem.single_sku < 0).any()):
        return None
    x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
    sku = problem.single_sku
    for k in np.unique(sku):
        mine = [(g, items[sku[items] == k]) for g, items in enumerate(groups)]
        mine = [(g, rows) for g, rows in mine if rows.size]
        if any(sets[g] is None for g, _ in mine):
            return None
        wh = np.unique(np.concatenate([s_ for g, _ in mine if (s_ := sets[g]) is not None]))
        wh = wh[problem.stock[wh, k] > 0]
        wh = wh[np.lexsort((wh, problem.hours[wh]))]
        n_g = len(mine)
        s, t = 0, 1 + n_g + wh.size
        cap = np.zeros((t + 1, t + 1), dtype=np.int64)
        flow = np.zeros_like(cap)
        big = int(problem.quantity.sum()) + 1
        for j, (g, rows) in enumerate(mine):
            cap[s, 1 + j] = int(problem.quantity[rows].sum())
            opened = np.isin(wh, sets[g])  # type: ignore[arg-type]
            cap[1 + j, 1 + n_g + np.flatnonzero(opened)] = big
        for c, w in enumerate(wh):  # fastest first: each warehouse's units while they fit
            cap[1 + n_g + c, t] = problem.stock[w, k]
            _augment(cap, flow, s, t)
        if int(flow[s].sum()) < int(cap[s].sum()):
            return None
        for j, (_, rows) in enumerate(mine):
            for c, w in enumerate(wh):
                units = int(flow[1 + j, 1 + n_g + c])
                for i in rows:  # earlier lines first
                    if units <= 0:
                        break
                    take = min(units, int(problem.quantity[i] - x[i].sum()))
                    x[i, w] += take
                    units -= take
    return x
