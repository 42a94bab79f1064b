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

import heapq
import logging
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

from ordersplit.batch.model import OrderPlan, narrow
from ordersplit.batch.plan_columns import Columnar, plan_cells, plan_ints
from ordersplit.batch.plan_list import plan_view
from ordersplit.batch.search import BatchState, PartTask
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

CUTS = ("components", "region", "location")


def _triples(plans: Sequence[OrderPlan]) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Every plan's (order, location, SKU column, units), concatenated."""
    if isinstance(plans, Columnar):  # the driver's packed plans: no plan objects
        order, loc, col, units = plan_cells(plans, "use_loc", "use_col", "use_units")
        return order, loc, col, units
    sizes = np.fromiter((p.use_loc.size for p in plans), dtype=np.int64, count=len(plans))
    if not sizes.sum():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    order = np.repeat(np.arange(len(plans), dtype=np.int64), sizes)
    live = [p for p in plans if p.use_loc.size]
    return (order, np.concatenate([p.use_loc for p in live]).astype(np.int64),
            np.concatenate([p.use_col for p in live]).astype(np.int64),
            np.concatenate([p.use_units for p in live]).astype(np.int64))


def _first(keys: IntArray, orders: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct ``keys`` (sorted) and, for each, the first order holding it."""
    uniq, first = np.unique(keys, return_index=True)
    return uniq, orders[first]


def _lookup(uniq: IntArray, value: IntArray, keys: IntArray) -> IntArray:
    """``value`` of each of ``keys`` in ``uniq`` (-1 when absent)."""
    if uniq.size == 0:
        return np.full(keys.size, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(uniq, keys), uniq.size - 1)
    return np.where(uniq[pos] == keys, value[pos], -1)


def component_labels(plans: Sequence[OrderPlan], lower: Sequence[OrderPlan],
                     residual: IntArray) -> list[int]:
    """Union of each regretful order with the holders of the cells it is short of, and of
    each order waiting for a SKU with the orders holding that SKU (connected components
    of those links, vectorized: this runs on the driver every third round)."""
    out: list[int] = component_codes(plans, lower, residual).tolist()
    return out


def component_codes(plans: Sequence[OrderPlan], lower: Sequence[OrderPlan],
                    residual: IntArray) -> IntArray:
    """:func:`component_labels` as an array."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(plans)
    n_skus = residual.shape[1]
    order, loc, col, _ = _triples(plans)
    cells, cell_holder = _first(loc * n_skus + col, order)
    skus, sku_holder = _first(col, order)
    src = [order]
    dst = [_lookup(cells, cell_holder, loc * n_skus + col)]  # holders of one cell
    w_owner, w_cols = plan_cells(plans, "short_cols")
    if w_owner.size:  # an order waiting for a SKU joins a holder of that SKU
        src.append(w_owner)
        dst.append(_lookup(skus, sku_holder, w_cols))
    regret = np.flatnonzero(plan_ints(plans, "children") > plan_ints(lower, "children"))
    if regret.size:  # a regretful order joins the holders of the cells its bound plan lacks
        lo, ll, lc, lu = _triples(plan_view(lower, regret))
        lack = lu > residual[ll, lc]
        src.append(np.asarray(regret, dtype=np.int64)[lo[lack]])
        dst.append(_lookup(cells, cell_holder, ll[lack] * n_skus + lc[lack]))
    a, b = np.concatenate(src), np.concatenate(dst)
    keep = b >= 0
    graph = coo_matrix((np.ones(int(keep.sum()), dtype=np.int8), (a[keep], b[keep])),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def labels_for(cut: str, state: BatchState, plans: Sequence[OrderPlan],
               lower: Sequence[OrderPlan], residual: IntArray) -> list[Hashable]:
    """A group label per order under ``cut``."""
    if cut == "components":
        return list(component_labels(plans, lower, residual))
    if cut == "region":
        if "region" not in state.memo:
            state.memo["region"] = [t.destination for t in state.templates]
        return list(state.memo["region"])
    if cut == "location":  # the lower-bound plans never change during a search
        key = f"location-{id(lower)}"
        if key not in state.memo:
            state.memo[key] = main_location(lower)
        return list(state.memo[key])
    raise ValueError(f"unknown cut {cut!r}")


def label_codes(cut: str, state: BatchState, plans: Sequence[OrderPlan],
                lower: Sequence[OrderPlan], residual: IntArray) -> IntArray:
    """:func:`labels_for` as int codes (equal labels, equal codes), without a Python
    object per order: what :func:`balanced_parts` takes."""
    if cut == "components":
        return component_codes(plans, lower, residual)
    if cut == "region":
        if "region-codes" not in state.memo:
            state.memo["region-codes"] = codes([t.destination for t in state.templates])
        out: IntArray = state.memo["region-codes"]
        return out
    if cut == "location":
        key = f"location-codes-{id(lower)}"
        if key not in state.memo:
            state.memo[key] = np.asarray(main_location(lower), dtype=np.int64)
        out = state.memo[key]
        return out
    raise ValueError(f"unknown cut {cut!r}")


def main_location(plans: Sequence[OrderPlan]) -> list[int]:
    """Per plan, the location it takes most units from (the first such in the plan's
    cells, as ``np.argmax``), -1 for a plan taking nothing; vectorized over the cells."""
    owner, loc, units = plan_cells(plans, "use_loc", "use_units")
    out = np.full(len(plans), -1, dtype=np.int64)
    if owner.size:
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        most = np.maximum.reduceat(units, starts)
        group = np.cumsum(np.r_[False, owner[1:] != owner[:-1]])
        at = np.where(units == most[group], np.arange(owner.size), owner.size)
        first = np.minimum.reduceat(at, starts)
        out[owner[starts]] = loc[first]
    result: list[int] = out.tolist()
    return result


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


def codes(labels: Sequence[Hashable] | IntArray) -> IntArray:
    """``labels`` as int codes, equal labels equal codes (an int array is its own)."""
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu":
        return labels.astype(np.int64, copy=False)
    seen: dict[Hashable, int] = {}
    return np.fromiter((seen.setdefault(lab, len(seen)) for lab in labels), dtype=np.int64,
                       count=len(labels))


def balanced_parts(labels: Sequence[Hashable] | IntArray,
                   secondary: Sequence[Hashable] | IntArray, n_parts: int) -> list[IntArray]:
    """``pack(balanced(labels, secondary, n_parts), n_parts)``, vectorized: the same
    parts (the driver cuts 100,000-1,000,000 orders a round, and the two loops over
    them with a dict and a tuple label per order took a good part of its serial work).
    The groups are placed as :func:`pack` places them: largest first (ties: the one
    with the earliest order), each into the part with fewest orders so far (ties: the
    first)."""
    lab, sec = codes(labels), codes(secondary)
    n = lab.size
    if n == 0:
        return []
    share = -(-n // max(1, n_parts))
    lab = np.unique(lab, return_inverse=True)[1].reshape(-1)
    big = np.bincount(lab)[lab] > share  # cut by the secondary label
    sec = np.unique(sec, return_inverse=True)[1].reshape(-1)
    key = lab * (int(sec.max()) + 2) + np.where(big, sec + 1, 0)
    group = np.unique(key, return_inverse=True)[1].reshape(-1)
    sizes = np.bincount(group)
    over = sizes[group] > share  # still too large: runs in arrival order
    if over.any():
        order = np.argsort(group, kind="stable")
        starts = np.cumsum(sizes) - sizes
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - starts[group[order]]
        run = rank // max(1, share // 2)
        key = group * (int(run.max()) + 2) + np.where(over, run + 1, 0)
        group = np.unique(key, return_inverse=True)[1].reshape(-1)
        sizes = np.bincount(group)
    first = np.unique(group, return_index=True)[1]  # each group's earliest order
    bins = max(1, n_parts)
    heap = [(0, b) for b in range(bins)]  # (orders so far, part): the fewest, then the first
    part_of = np.empty(sizes.size, dtype=np.int64)
    for g in np.lexsort((first, -sizes)).tolist():
        filled, b = heap[0]
        part_of[g] = b
        heapq.heapreplace(heap, (filled + int(sizes[g]), b))
    where = part_of[group]
    parts = [np.flatnonzero(where == b) for b in range(bins)]
    return [p for p in parts if p.size]


def _demand_entries(state: BatchState) -> tuple[IntArray, IntArray, IntArray]:
    """Every (order, known SKU column, demand) of the batch, flat (kept on the state: the
    templates never change)."""
    cached: tuple[IntArray, IntArray, IntArray] | None = state.memo.get("demand")
    if cached is None:
        tpls = [state.templates[o] for o in range(len(state.templates))]
        sizes = np.fromiter((t.cols.size for t in tpls), dtype=np.int64, count=len(tpls))
        order = np.repeat(np.arange(len(tpls), dtype=np.int64), sizes)
        cols = np.concatenate([t.cols for t in tpls]).astype(np.int64) if tpls else order
        dem = np.concatenate([t.demand for t in tpls]).astype(np.int64) if tpls else order
        known = cols >= 0
        cached = (order[known], cols[known], dem[known])
        state.memo["demand"] = cached
    return cached


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
        labels = label_codes(cut, state, plans, lower, residual)
        secondary = label_codes("location" if cut != "location" else "region", state, plans,
                                lower, residual)
        parts = balanced_parts(labels, secondary, n_parts)
    n_skus = residual.shape[1]
    entry_order, entry_col, entry_dem = _demand_entries(state)
    part_of = np.full(len(plans), -1, dtype=np.int64)
    for p, orders in enumerate(parts):
        part_of[orders] = p
    entry_part = part_of[entry_order]
    demand = np.zeros((len(parts), n_skus), dtype=np.int64)
    np.add.at(demand, (entry_part, entry_col), entry_dem)
    pairs = np.unique(entry_part * n_skus + entry_col)
    part_cols = [pairs[(pairs // n_skus) == p] % n_skus for p in range(len(parts))]
    total = demand.sum(axis=0)
    safe = np.maximum(total, 1)
    # each part's share of the free stock of its columns (only those: a part's budget
    # covers its own columns), the rounding rest to the part wanting the column most
    # narrowed at once (as they travel): at 1,000,000 orders each of 10 parts covers
    # nearly every SKU column, 200 x 100,000 int64 cells (160 MB) per part
    shares = [narrow(residual[:, c] * demand[p, c][None, :] // safe[c][None, :])
              for p, c in enumerate(part_cols)]
    left = residual.copy()
    for c, share in zip(part_cols, shares, strict=True):
        left[:, c] -= share
    top = np.argmax(demand, axis=0)
    for p, c in enumerate(part_cols):
        shares[p] = narrow(shares[p] + np.where((top[c] == p)[None, :], left[:, c], 0))
    tasks = []
    for p, orders in enumerate(parts):
        part = part_cols[p]
        tasks.append(PartTask(
            orders=orders,
            plans=plan_view(plans, orders),
            lower=plan_view(lower, orders),
            cols=part,
            budget=shares[p],
            limit_s=limit_s,
            max_moves=max_moves,
            tries=None if tries is None else tries[orders],
            joint=joint,
            sku_tries=sku_tries,
            **({} if breadth is None else {"breadth": breadth}),
        ))
    return tasks
