"""Decomposition: cut the batch into parts that can be searched at the same time.

Every part gets its own orders and a *stock budget*: what its plans hold plus a share
of the free stock. Budgets never overlap, so the parts can be solved in parallel (on
local cores or on a Dask cluster) and merged without overselling. Three cuts take
turns, so that a trade one cut separates another cut keeps together:

* ``components``: orders linked through stock they compete for (an order worse than
  its lower bound, and the orders holding what it lacks) stay together; independent
  groups are packed into parts of similar size;
* ``region``: orders by destination (they want the same fast locations);
* ``location``: orders by the location their lower-bound plan uses most.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

from ordersplit.batch.model import OrderPlan
from ordersplit.batch.search import BatchState, PartTask
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

CUTS = ("components", "region", "location")


def _find(parent: list[int], a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def component_labels(plans: Sequence[OrderPlan], lower: Sequence[OrderPlan],
                     residual: IntArray) -> list[int]:
    """Union of each regretful order with the holders of the cells it is short of, and of
    each order waiting for a SKU with the orders holding that SKU."""
    n = len(plans)
    parent = list(range(n))
    holders: dict[tuple[int, int], int] = {}
    column: dict[int, int] = {}
    for o, p in enumerate(plans):
        for w, k in zip(p.use_loc.tolist(), p.use_col.tolist(), strict=True):
            first = holders.setdefault((w, k), o)
            if first != o:
                parent[_find(parent, o)] = _find(parent, first)
            column.setdefault(k, o)
    for o, p in enumerate(plans):  # an order waiting for a SKU joins its holders
        for k in p.short_cols.tolist():
            h = column.get(k)
            if h is not None:
                parent[_find(parent, o)] = _find(parent, h)
    # holders of one cell are already joined; now join each short order to them
    for o, p in enumerate(plans):
        lb = lower[o]
        if p.children <= lb.children or lb.use_units.size == 0:
            continue
        lack = lb.use_units > residual[lb.use_loc, lb.use_col]
        for w, k in zip(lb.use_loc[lack].tolist(), lb.use_col[lack].tolist(), strict=True):
            h = holders.get((w, k))
            if h is not None:
                parent[_find(parent, o)] = _find(parent, h)
    return [_find(parent, o) for o in range(n)]


def labels_for(cut: str, state: BatchState, plans: Sequence[OrderPlan],
               lower: Sequence[OrderPlan], residual: IntArray) -> list[Hashable]:
    """A group label per order under ``cut``."""
    if cut == "components":
        return list(component_labels(plans, lower, residual))
    if cut == "region":
        return [t.request.order.destination for t in state.templates]
    if cut == "location":
        out: list[Hashable] = []
        for lb in lower:
            out.append(int(lb.use_loc[np.argmax(lb.use_units)]) if lb.use_units.size else -1)
        return out
    raise ValueError(f"unknown cut {cut!r}")


def balanced(labels: Sequence[Hashable], secondary: Sequence[Hashable],
             n_parts: int) -> list[Hashable]:
    """``labels`` with every group larger than one part's fair share cut further: by
    ``secondary`` first, then (if still too large) into runs of orders in arrival order.

    A round takes as long as its largest part. On the default scenario one
    stock-competition component holds 70 % of the orders, so without this the second
    worker idles for most of the round; the orders it separates meet again in the
    other cuts' rounds.
    """
    n = len(labels)
    share = -(-n // max(1, n_parts))
    sizes = Counter(labels)
    out: list[Hashable] = [lab if sizes[lab] <= share else (lab, sec)
                           for lab, sec in zip(labels, secondary, strict=True)]
    sizes = Counter(out)
    runs: dict[Hashable, int] = {}
    for o, lab in enumerate(out):
        if sizes[lab] > share:
            seen = runs.get(lab, 0)
            runs[lab] = seen + 1
            out[o] = (lab, "run", seen // max(1, share // 2))
    return out


def pack(labels: Sequence[Hashable], n_parts: int) -> list[IntArray]:
    """Groups of equal label packed into at most ``n_parts`` parts of similar size."""
    groups: dict[Hashable, list[int]] = {}
    for o, lab in enumerate(labels):
        groups.setdefault(lab, []).append(o)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    bins: list[list[int]] = [[] for _ in range(max(1, n_parts))]
    for g in ordered:
        min(bins, key=len).extend(g)
    return [np.array(sorted(b), dtype=np.int64) for b in bins if b]


def make_tasks(state: BatchState, plans: Sequence[OrderPlan], lower: Sequence[OrderPlan],
               residual: IntArray, cut: str, n_parts: int, limit_s: float,
               max_moves: int | None = None, tries: IntArray | None = None,
               breadth: int | None = None, joint: bool = False,
               sku_tries: IntArray | None = None) -> list[PartTask]:
    """Parts under ``cut`` with their share of the free ``residual`` stock (``tries``,
    ``breadth``, ``joint`` and ``sku_tries``: see :class:`PartTask`)."""
    if n_parts <= 1:
        parts = [np.arange(len(plans), dtype=np.int64)]
    else:
        labels = labels_for(cut, state, plans, lower, residual)
        secondary = labels_for("location" if cut != "location" else "region", state, plans,
                               lower, residual)
        parts = pack(balanced(labels, secondary, n_parts), n_parts)
    n_skus = residual.shape[1]
    demand = np.zeros((len(parts), n_skus), dtype=np.int64)
    part_cols: list[IntArray] = []
    for p, orders in enumerate(parts):
        cols = [state.templates[o].cols for o in orders.tolist()]
        allc = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        known = allc >= 0
        dem = np.concatenate([state.templates[o].demand for o in orders.tolist()]) if cols else allc
        np.add.at(demand[p], allc[known], dem[known])
        part_cols.append(np.unique(allc[known]))
    total = demand.sum(axis=0)
    safe = np.maximum(total, 1)
    shares = [residual * demand[p][None, :] // safe[None, :] for p in range(len(parts))]
    left = residual - sum(shares) if shares else residual
    top = np.argmax(demand, axis=0)
    for p in range(len(parts)):
        shares[p] = shares[p] + np.where((top == p)[None, :], left, 0)
    tasks = []
    for p, orders in enumerate(parts):
        part = part_cols[p]
        tasks.append(PartTask(
            orders=orders,
            plans=[plans[o] for o in orders.tolist()],
            lower=[lower[o] for o in orders.tolist()],
            cols=part,
            budget=shares[p][:, part],
            limit_s=limit_s,
            max_moves=max_moves,
            tries=None if tries is None else tries[orders],
            joint=joint,
            sku_tries=sku_tries,
            **({} if breadth is None else {"breadth": breadth}),
        ))
    return tasks
