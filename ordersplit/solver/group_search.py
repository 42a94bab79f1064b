"""One shipping group's exact search: the covering data and the compiled kernels.

A group is a covering problem over elements: a SKU (its splittable single-SKU lines
merged) or any other item on its own (a bundle, an unsplittable line). A plan of the
group is fixed by the warehouse set it opens: inside a set, shipping each element
fastest first is optimal for every objective term (with a varying ``stock_value``
term: each element from its open warehouses by the lowest unit hours and stock value
in the objective's order, :func:`~ordersplit.solver.cover_kernel.before`; the same in
the kernels' leaves and in :func:`fill_group`). The search looks for the
lexicographically best set with a compiled branch and bound: binary groups (every
warehouse holds none or all of an element's demand) in :mod:`cover_kernel`, partial
stock (capped stocks must add up to the demand) in :mod:`partial_kernel`; both read
word bitmasks over warehouses in (hours, cost, id) order and share one interface, so
the stages below drive either.

When makespan directly follows the count, the stages are: the count (fewest
warehouses), the makespan by a binary search over arrival times (is there a cover of
``c*`` warehouses no slower than ``H``?), then the later terms under that cap. On large
groups the count stage runs in a second thread beside the later stages, which share
their root branches between the two threads (the kernels release the GIL); the set
returned does not depend on timing. Every stage looks at ``stop``: building the data
(dominance) included.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ordersplit.solver import cover_kernel as kernel
from ordersplit.solver import group_kernel
from ordersplit.solver import group_prep as prep
from ordersplit.solver import partial_kernel as pkernel
from ordersplit.solver import staged_kernel as staged
from ordersplit.solver.evaluate import Objective, line_count, of_terms
from ordersplit.solver.fill_small import SMALL_FILL, fill_small
from ordersplit.solver.heuristics.state import fill_fastest
from ordersplit.solver.problem import ELEMENTS_MEMO, IntArray, SplitProblem
from ordersplit.solver.stop import Deadline, parallel_allowed

log = logging.getLogger(__name__)


@dataclass
class _BitData:
    """A group's kernel arrays, built once and shared by its searches.

    ``cand[k]``: element k's candidate warehouses; ``cov[w]``: the elements warehouse
    w supplies; ``floor``: no cover is faster (the slowest of the elements' fastest
    covering prefixes). Partial groups add the capped supplies ``sup``, per-element
    candidates by supply (``by_size``, ``n_by``), per-warehouse elements (``welem``,
    ``wdeg``) and the dominance masks for count-only searches and for the later terms.
    """

    binary: bool
    cand: np.ndarray
    cov: np.ndarray
    k_order: np.ndarray
    hours: np.ndarray
    cost: np.ndarray
    demand: np.ndarray
    floor: int
    sup: np.ndarray | None = None
    by_size: np.ndarray | None = None
    n_by: np.ndarray | None = None
    welem: np.ndarray | None = None
    wdeg: np.ndarray | None = None
    dom_count: np.ndarray | None = None
    dom_terms: np.ndarray | None = None
    worth: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    """``[E, W]`` one unit's stock value (no rows: the stock value is not searched)."""


@dataclass
class GroupData:
    """One group's covering problem on the warehouses that can help it."""

    items: IntArray
    wh: IntArray  # problem warehouse index of each local column, fastest first
    supply: IntArray  # [local wh, local element], capped at the demand
    demand: IntArray  # [local element]
    hours: IntArray
    cost: IntArray
    worth: IntArray | None = None
    """``[local wh, local element]`` one unit's stock value, when it is searched."""
    bits: _BitData | None = None
    lists: tuple[np.ndarray, np.ndarray] | None = None
    """:func:`_element_lists` of ``supply``, when the dominance test has built them."""


SMALL_GROUP = 64
"""Items of a group up to which :func:`elements` runs one compiled pass (numpy beyond)."""


def elements(problem: SplitProblem, items: IntArray) -> tuple[IntArray, IntArray]:
    """The group's cover elements (see :attr:`SplitProblem.coverable`): what each
    warehouse can supply of each, ``[W, E]`` capped at the demand, and the demand
    ``[E]`` in item units. SKU elements come first, in SKU order, then the other items.

    Kept on the problem per group (read-only): the search, its fill and the fragments
    stages ask for the same group's elements several times."""
    memo = problem.__dict__.setdefault(ELEMENTS_MEMO, {})
    key = items.tobytes()
    found = memo.get(key)
    if found is None:
        found = memo[key] = _elements(problem, items)
        for arr in found:
            arr.setflags(write=False)
    return found


def _elements(problem: SplitProblem, items: IntArray) -> tuple[IntArray, IntArray]:
    if items.size <= SMALL_GROUP:  # a few lines: one compiled call beats numpy's calls
        merged, _, demand, supply = prep.group_sku_elements(
            prep.readonly(items), problem.single_sku, problem.splittable, problem.quantity,
            prep.readonly(np.ascontiguousarray(problem.stock)))
    else:
        merged = (problem.single_sku[items] >= 0) & problem.splittable[items]
        local, inverse = np.unique(problem.single_sku[items[merged]], return_inverse=True)
        demand = np.bincount(inverse, weights=problem.quantity[items[merged]],
                             minlength=local.size).astype(np.int64)
        supply = np.minimum(problem.stock[:, local], demand[None, :])
    others = items[~merged]
    if others.size == 0:
        return supply, demand
    cap = problem.capacity_of(others).T  # capped at the quantity, 0 where not allowed
    whole = ~problem.splittable[others]
    q = problem.quantity[others]
    cap = np.where(whole[None, :] & (cap < q[None, :]), 0, cap)
    return np.concatenate([supply, cap], axis=1), np.concatenate([demand, q.astype(np.int64)])


def element_worth(problem: SplitProblem, items: IntArray) -> IntArray:
    """``[W, E]``: one unit's stock value for each of the group's elements (in the
    order of :func:`elements`); a bundle's is its components' at that warehouse."""
    merged = (problem.single_sku[items] >= 0) & problem.splittable[items]
    local = np.unique(problem.single_sku[items[merged]])
    skus = problem.prices[:, local]
    others = items[~merged]
    if others.size == 0:
        return skus
    return np.concatenate([skus, problem.unit_value[others].T], axis=1)


def priced(problem: SplitProblem, terms: tuple[str, ...]) -> bool:
    """Whether the group search ranks by stock value: a term of its own that varies."""
    return "stock_value" in terms and problem.stock_value_varies


def fill_group(problem: SplitProblem, items: IntArray, open_wh: IntArray,
               stock: IntArray) -> IntArray | None:
    """Assignment rows of ``items`` inside ``open_wh`` from ``stock`` (consumed in
    place), fastest warehouse first and earlier lines first, as
    :func:`~ordersplit.solver.heuristics.state.fill_fastest` does; vectorized for a group
    of plain lines (one unit of one SKU each), delegated otherwise. ``None`` when the
    items do not fit. With a varying stock value, :func:`fill_priced` instead."""
    if priced(problem, problem.objective):
        return fill_priced(problem, items, open_wh, stock)
    plain = problem.single_sku[items]
    if items.size == 0 or (plain < 0).any() or not problem.splittable[items].all():
        return fill_fastest(problem, items, open_wh, stock)
    if items.size * open_wh.size <= SMALL_FILL:
        return fill_small(problem, items, open_wh, stock)
    wh = open_wh[np.lexsort((open_wh, problem.hours[open_wh]))]
    wh = wh[problem.allowed[items[0], wh]]
    local, inv = np.unique(plain, return_inverse=True)
    q = problem.quantity[items]
    demand = np.bincount(inv, weights=q, minlength=local.size).astype(np.int64)
    sup = stock[np.ix_(wh, local)]
    take = np.clip(demand[None, :] - (np.cumsum(sup, axis=0) - sup), 0, sup)  # [W, K]
    if (take.sum(axis=0) < demand).any():
        return None
    t_hi = np.cumsum(take, axis=0)
    idx = np.argsort(inv, kind="stable")
    q_hi = np.empty_like(q)
    q_hi[idx] = np.cumsum(q[idx]) - (np.cumsum(demand) - demand)[inv[idx]]
    # item i holds units [q_hi - q, q_hi) of its SKU, warehouse w [t_hi - take, t_hi)
    hi = np.minimum(q_hi[:, None], t_hi[:, inv].T)
    lo = np.maximum((q_hi - q)[:, None], (t_hi - take)[:, inv].T)
    rows = np.zeros((items.size, problem.n_warehouses), dtype=np.int64)
    rows[:, wh] = np.maximum(hi - lo, 0)
    stock[np.ix_(wh, local)] -= take
    return rows


def fill_priced(problem: SplitProblem, items: IntArray, open_wh: IntArray,
                stock: IntArray) -> IntArray | None:
    """:func:`fill_group` when the stock value ranks plans: each item (earlier first)
    from ``open_wh`` in the kernels' leaf order, by its unit hours and unit stock value in
    the objective's order, ties fastest, then cheapest, then first (the search's
    warehouse order); ``stock`` consumed in place. The same element gets the same order
    for each of its lines, so the fill matches the kernels' per-element fill."""
    terms = [t for t in problem.objective if t in ("unit_hours", "stock_value")]
    rows = np.zeros((items.size, problem.n_warehouses), dtype=np.int64)
    base = open_wh[np.lexsort((open_wh, problem.cost[open_wh], problem.hours[open_wh]))]
    rank = np.arange(base.size)
    for r, i in enumerate(items):
        wh = base[problem.allowed[i, base]]
        keys = {"unit_hours": problem.hours[wh], "stock_value": problem.unit_value[i, wh]}
        wh = wh[np.lexsort((rank[:wh.size], *(keys[t] for t in reversed(terms))))]
        need = int(problem.quantity[i])
        used = problem.usage[i]
        skus = np.flatnonzero(used)
        for w in wh:
            can = int((stock[w, skus] // used[skus]).min()) if skus.size else need
            take = min(need, can)
            if not problem.splittable[i] and take < need:
                continue
            if take > 0:
                rows[r, w] = take
                stock[w, skus] -= take * used[skus]
                need -= take
            if need == 0:
                break
        if need:
            return None
    return rows


def _element_lists(sup: IntArray) -> tuple[np.ndarray, np.ndarray]:
    """Per warehouse, the elements it supplies (padded rows) and how many."""
    rows, cols = np.nonzero(sup)
    deg = np.bincount(rows, minlength=sup.shape[0]).astype(np.int64)
    lists = np.zeros((sup.shape[0], max(1, int(deg.max(initial=0)))), dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(deg)[:-1]])
    lists[rows, np.arange(rows.size) - start[rows]] = cols
    return lists, deg


def group_data(problem: SplitProblem, items: IntArray, cap_minutes: int | None,
               stop: Deadline, elems: tuple[IntArray, IntArray] | None = None,
               worth: IntArray | None = None) -> GroupData | None:
    """The group's covering data, dominated warehouses left out; ``None`` when the
    deadline passed first.

    A warehouse is dominated when another covers the *whole* demand of every element
    it supplies, and is no slower and no dearer (of two alike the earlier stays). In a
    set that holds both, the dominated one ships nothing; in a set that holds only it,
    swapping in the dominator makes no objective term worse. So an optimum survives.
    (Mere elementwise dominance is not enough to leave one out: two partial stocks may
    both be needed; the partial kernel uses it to prune siblings instead.) With
    ``worth`` (``[W, E]`` unit stock values, when they rank plans) the dominator must
    also be no pricier on each of those elements (:func:`_priced_full_dominance`).
    """
    supply, demand = elements(problem, items) if elems is None else elems
    if worth is None:  # the usual case: every array in one compiled call
        wh, sup, welem, wdeg, done = prep.group_arrays(  # (a column pick can be F-ordered)
            prep.readonly(np.ascontiguousarray(supply)), _reach(problem, items, cap_minutes),
            prep.readonly(problem.hours), prep.readonly(problem.cost), prep.readonly(demand),
            stop.end)
        if not done or stop.expired():
            return None
        return GroupData(items, wh, sup, demand, problem.hours[wh], problem.cost[wh],
                         lists=(welem, wdeg))
    ok = _reach(problem, items, cap_minutes) & supply.any(axis=1)
    wh = np.flatnonzero(ok)
    wh = wh[np.lexsort((wh, problem.cost[wh], problem.hours[wh]))]
    sup, hrs, cst = supply[wh], problem.hours[wh], problem.cost[wh]
    if wh.size > 1 and worth is not None and \
            _priced_cells(wh.size, demand.size) <= PRICED_DOMINANCE_CELLS:
        keep = ~_priced_full_dominance(sup, demand, hrs, cst, worth[wh])
        wh, sup, hrs, cst = wh[keep], sup[keep], hrs[keep], cst[keep]
    lists = None
    if wh.size > 1 and worth is None:
        welem, wdeg = _element_lists(sup)
        dominated = np.zeros(wh.size, dtype=np.bool_)
        if not pkernel.full_dominated(sup, welem, wdeg, demand, hrs.astype(np.int64),
                                      cst.astype(np.int64), dominated, stop.end):
            return None
        keep = ~dominated
        wh, sup, hrs, cst = wh[keep], sup[keep], hrs[keep], cst[keep]
        lists = (welem[keep], wdeg[keep])  # a warehouse's elements stay what they were
    if stop.expired():
        return None
    return GroupData(items, wh, np.ascontiguousarray(sup), demand, hrs, cst,
                     None if worth is None else worth[wh], lists=lists)


def _group_bits(problem: SplitProblem, items: IntArray, ok: np.ndarray, stop: Deadline,
                elems: tuple[IntArray, IntArray], terms: tuple[str, ...]) -> GroupData | None:
    """:func:`group_data` and :func:`_bit_data` of an unpriced group in one compiled call
    (:func:`~ordersplit.solver.group_prep.group_bits`), from its reach ``ok``; ``None``
    when the deadline passed first."""
    supply, demand = elems
    (wh, sup, welem, wdeg, hrs, cst, binary, cand, cov, k_order, floor, by_size, n_by,
     dom_count, dom_terms, done) = prep.group_bits(
        prep.readonly(np.ascontiguousarray(supply)), ok, prep.readonly(problem.hours),
        prep.readonly(problem.cost), prep.readonly(demand), stop.end,
        "makespan" in terms or "unit_hours" in terms, "cost" in terms)
    if not done or stop.expired():
        return None
    bits = _BitData(binary=binary, cand=cand, cov=cov, k_order=k_order, hours=hrs, cost=cst,
                    demand=demand.astype(np.int64), floor=floor,
                    worth=np.zeros((0, wh.size), dtype=np.int64))
    if not binary:
        bits.sup, bits.by_size, bits.n_by = sup, by_size, n_by
        bits.welem, bits.wdeg = welem, wdeg
        bits.dom_count, bits.dom_terms = dom_count, dom_terms
    return GroupData(items, wh, sup, demand, problem.hours[wh], problem.cost[wh],
                     lists=(welem, wdeg), bits=bits)


def _priced_full_dominance(sup: IntArray, demand: IntArray, hours: IntArray, cost: IntArray,
                           worth: IntArray) -> np.ndarray:
    """Which warehouses (rows, in (hours, cost, id) order) another one dominates: it
    covers the whole demand of every element the first supplies, at no higher unit price
    of each, no slower and no dearer (of two alike the earlier stays). Dominance is
    transitive, so every one left out has a dominator that stays."""
    n = sup.shape[0]
    beats = (hours[:, None] <= hours[None, :]) & (cost[:, None] <= cost[None, :])  # [v, u]
    for e in range(demand.size):
        whole = (sup[:, e] >= demand[e])[:, None] & (worth[:, e][:, None] <= worth[:, e][None, :])
        beats &= whole | (sup[:, e] == 0)[None, :]
    np.fill_diagonal(beats, False)
    earlier = np.arange(n)[:, None] < np.arange(n)[None, :]
    beats &= ~beats.T | earlier  # alike: only the earlier dominates
    return np.asarray(beats.any(axis=0))


def _reach(problem: SplitProblem, items: IntArray, cap_minutes: int | None) -> np.ndarray:
    """The warehouses that may ship the group (under the cap)."""
    ok = problem.allowed[items[0]].copy()
    if cap_minutes is not None:
        ok &= problem.hours <= cap_minutes
    return ok


def _one_warehouse(problem: SplitProblem, items: IntArray, terms: tuple[str, ...],
                   cap_minutes: int | None, supply: IntArray, demand: IntArray,
                   worth: IntArray | None = None) -> GroupOutcome | None:
    """The group's optimum when one warehouse can ship all of it (no search needed:
    one child is the fewest, and the later terms pick among those warehouses, ties to
    the fastest, then cheapest, then first); ``None`` when none can."""
    whole = np.flatnonzero(_reach(problem, items, cap_minutes)
                           & (supply >= demand[None, :]).all(axis=1))
    if whole.size == 0:
        return None
    return _one_of(problem, whole, terms, demand, worth)


def _one_of(problem: SplitProblem, whole: IntArray, terms: tuple[str, ...], demand: IntArray,
            worth: IntArray | None) -> GroupOutcome:
    """:func:`_one_warehouse`'s choice among the warehouses ``whole`` that each ship the
    whole group (in index order)."""
    if whole.size == 1 and worth is None:  # the usual case: scalars, no arrays
        w = int(whole[0])
        hour, fee = int(problem.hours[w]), int(problem.cost[w])
        scalar = {"makespan": hour, "cost": fee, "unit_hours": hour * int(demand.sum())}
        return GroupOutcome(np.array([w], dtype=np.int64),
                            (1, *(scalar.get(t, 0) for t in terms)), True, True, 0)
    if worth is None and whole.size <= SMALL_GROUP:  # a few: Python tuples beat lexsort
        return _one_of_few(problem, whole, terms, int(demand.sum()))
    hours, cost = problem.hours[whole], problem.cost[whole]

    def value(term: str) -> IntArray:
        if term in ("makespan", "cost"):
            return hours if term == "makespan" else cost
        if term == "unit_hours":
            return hours * int(demand.sum())
        return np.zeros_like(hours) if worth is None else worth[whole] @ demand

    values = {t: value(t) for t in terms}  # only the terms asked for
    best = 0 if whole.size == 1 else int(
        np.lexsort((whole, cost, hours, *(values[t] for t in reversed(terms))))[0])
    w = int(whole[best])
    key = (1, *(int(values[t][best]) for t in terms))
    return GroupOutcome(np.array([w], dtype=np.int64), key, True, True, 0)


def _one_of_few(problem: SplitProblem, whole: IntArray, terms: tuple[str, ...], units: int
                ) -> GroupOutcome:
    """:func:`_one_of` of a few unpriced warehouses: the same key (the terms in order,
    then fastest, cheapest, first) as Python tuples; ``units`` is the group's demand."""
    hours, cost, ids = problem.hours[whole].tolist(), problem.cost[whole].tolist(), whole.tolist()
    zero = [0] * len(ids)
    column = {"makespan": hours, "cost": cost, "unit_hours": [h * units for h in hours]}
    values = [column.get(t, zero) for t in terms]
    keys = [(*(v[j] for v in values), hours[j], cost[j], ids[j]) for j in range(len(ids))]
    best = min(range(len(ids)), key=keys.__getitem__)
    return GroupOutcome(np.array([ids[best]], dtype=np.int64),
                        (1, *(v[best] for v in values)), True, True, 0)


def is_binary(data: GroupData) -> bool:
    """Every warehouse holds none or all of each element's demand: covering is yes/no."""
    return bool(((data.supply == 0) | (data.supply == data.demand[None, :])).all())


def makespan_floor(problem: SplitProblem, items: IntArray) -> int:
    """No plan of the group delivers sooner: per element, the fastest warehouses of the
    group's reach whose capped supplies add up to its demand, the slowest of those
    over the elements (0 for an empty group; a large number when one cannot be
    covered), from the problem before the group's data is built."""
    if items.size == 0:
        return 0
    supply, demand = elements(problem, items)
    wh = np.flatnonzero(_reach(problem, items, None))
    wh = wh[np.argsort(problem.hours[wh], kind="stable")]
    reach = np.cumsum(supply[wh], axis=0) >= demand[None, :]
    if wh.size == 0 or not reach[-1].all():
        return NO_COVER if demand.any() else 0
    return int(problem.hours[wh[reach.argmax(axis=0)]].max()) if demand.size else 0


NO_COVER = 1 << 62
"""The makespan floor of a group that no warehouse set covers."""


def _bit_data(data: GroupData, terms: tuple[str, ...] = (), stop: Deadline | None = None,
              ) -> _BitData | None:
    """The group's kernel arrays (built once, shared by every search on the group);
    ``None`` when the deadline stopped the dominance masks of a partial group."""
    if data.bits is not None:
        return data.bits
    worth = (np.zeros((0, data.wh.size), dtype=np.int64) if data.worth is None
             else np.ascontiguousarray(data.worth.T, dtype=np.int64))
    sup = np.ascontiguousarray(data.supply, dtype=np.int64)
    hrs = data.hours.astype(np.int64)
    demand = data.demand.astype(np.int64)
    binary, cand, cov, k_order, floor, by_size, n_by = prep.bit_arrays(sup, demand, hrs)
    bits = _BitData(binary=binary, cand=cand, cov=cov, k_order=k_order, hours=hrs,
                    cost=data.cost.astype(np.int64), demand=demand, floor=floor, worth=worth)
    if not bits.binary:
        end = stop.end if stop is not None else float("inf")
        bits.sup = sup
        bits.by_size = by_size  # [E, W] largest supply first
        bits.n_by = n_by
        bits.welem, bits.wdeg = data.lists if data.lists is not None else _element_lists(sup)
        words = bits.cand.shape[1]
        bits.dom_count = np.zeros((data.wh.size, words), dtype=np.uint64)
        bits.dom_terms = np.zeros((data.wh.size, words), dtype=np.uint64)
        timed = "makespan" in terms or "unit_hours" in terms
        for dom, hours, dear in ((bits.dom_count, False, False),
                                 (bits.dom_terms, timed, "cost" in terms)):
            if not pkernel.dominance(sup, bits.welem, bits.wdeg, bits.hours, bits.cost, hours,
                                     dear, dom, end):
                return None
        if data.worth is not None:  # the dominator must hold no pricier stock either
            if _priced_cells(data.wh.size, data.demand.size) <= PRICED_DOMINANCE_CELLS:
                bits.dom_terms &= _pack(_no_pricier(sup, data.worth))
            else:  # too large to compare prices pair by pair: no sibling dominance
                bits.dom_terms[:] = 0
    data.bits = bits
    return bits


PRICED_DOMINANCE_CELLS = 20_000_000
"""Warehouse pairs x elements up to which priced dominance is worked out (numpy, about
0.1 s at the limit); beyond it a priced group goes without (valid, only slower)."""


def _priced_cells(n_wh: int, n_elements: int) -> int:
    return n_wh * n_wh * max(n_elements, 1)


def _no_pricier(sup: IntArray, worth: IntArray) -> np.ndarray:
    """``[v, u]``: ``v``'s unit price of every element ``u`` supplies is at most ``u``'s."""
    out = np.ones((sup.shape[0], sup.shape[0]), dtype=bool)
    for e in range(sup.shape[1]):
        out &= (worth[:, e][:, None] <= worth[:, e][None, :]) | (sup[:, e] == 0)[None, :]
    return out


def _bits(data: GroupData) -> _BitData:
    assert data.bits is not None, "the kernel arrays are built before any search"
    return data.bits


@dataclass
class _BitRun:
    """What one kernel search found: the incumbent key and set (``None`` when the
    search only had a key to beat and did not beat it), nodes, and whether it stopped
    on the deadline."""

    best_key: tuple[int, ...] | None
    best_set: list[int] | None
    nodes: int
    aborted: bool


@dataclass
class GroupOutcome:
    """One group's best warehouse set (problem ids) and key; ``proven`` for the whole
    key, ``count_proven`` for its first entry (the count stage finished)."""

    wh: IntArray | None
    key: tuple[int, ...] | None
    proven: bool
    count_proven: bool
    nodes: int


@functools.lru_cache(maxsize=64)
def _terms_codes(terms: tuple[str, ...]) -> np.ndarray:
    """Kernel codes of ``terms``; ``fragments`` (partial kernel only, groups of whole
    lines) counts pieces level by level when unit hours come before it. One array per
    terms, shared by every call (the kernels only read it)."""
    levels = "unit_hours" in terms[:terms.index("fragments")] if "fragments" in terms else False
    frag = pkernel.FRAGMENTS_LEVELS if levels else pkernel.FRAGMENTS_FEWEST
    return np.array([frag if t == "fragments" else kernel.TERM_CODES[t] for t in terms],
                    dtype=np.int64)


def _words(mask: int, n_w: int) -> np.ndarray:
    """:func:`~ordersplit.solver.cover_kernel.mask_words`, without the byte round trip
    for a single word (every order of at most 64 candidate warehouses)."""
    if n_w <= 64:
        return np.array([mask], dtype=np.uint64)
    return kernel.mask_words(mask, n_w)


_BITS = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


def _pack(rows: np.ndarray) -> np.ndarray:
    """:func:`~ordersplit.solver.cover_kernel.pack` (boolean rows as ``uint64`` words),
    by one product for rows of at most 64 columns (a sum of distinct bits is their or)."""
    n, m = rows.shape
    if m > 64 or m == 0:
        return kernel.pack(rows)
    return (rows * _BITS[:m]).sum(axis=1, dtype=np.uint64).reshape(n, 1)


def _members(words: np.ndarray, n_w: int) -> list[int]:
    """The warehouses (bits) set in ``words``, in increasing order."""
    mask = int(words[0]) if words.size == 1 else kernel.words_mask(words)
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _key_of(data: GroupData, terms: tuple[str, ...], chosen: int) -> tuple[tuple[int, ...], list[int]]:
    """Key of the fastest fill inside the cover ``chosen`` (a bitmask), and the
    warehouses that ship."""
    b = _bits(data)
    n_w = data.wh.size
    used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    key = np.zeros(1 + len(terms), dtype=np.int64)
    words = _words(chosen, n_w)
    if b.binary:
        kernel.leaf_key(b.cand, b.hours, b.cost, b.worth, b.demand, _terms_codes(terms), words,
                        used, key)
    else:
        assert b.sup is not None
        pkernel.leaf_key(b.sup, b.cand, b.hours, b.cost, b.worth, b.demand, _terms_codes(terms),
                         words, used, key)
    return tuple(key.tolist()), _members(used, n_w)


def _run_bits(data: GroupData, terms: tuple[str, ...], stop: Deadline, avail: int,
              start: tuple[tuple[int, ...], list[int] | None] | None,
              chosen: int = 0, min_count: int = 0) -> _BitRun:
    """One kernel search over the warehouses in ``avail`` from ``start`` (an incumbent
    key and set; a set of ``None`` is a bound to beat without a plan behind it), for
    covers that contain the warehouses in ``chosen``; no cover has fewer than
    ``min_count`` warehouses (the partial kernel bounds the later terms with it)."""
    b = _bits(data)
    n_w = data.wh.size
    best_key = np.zeros(1 + len(terms), dtype=np.int64)
    best_used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    state = np.zeros(4, dtype=np.int64)
    state[3] = stop.node_limit()  # a work budget's node limit (0: none)
    if start is not None:
        best_key[:] = start[0]
        state[0] = 1
        if start[1] is not None:
            state[0] = 2
            best_used[:] = _words(sum(1 << w for w in start[1]), n_w)
    codes = _terms_codes(terms)
    av, ch = _words(avail, n_w), _words(chosen, n_w)
    if b.binary:
        kernel.search(b.cand, b.cov, b.hours, b.cost, b.worth, b.demand, b.k_order, codes, av,
                      ch, best_key, best_used, state, stop.end)
    else:
        assert b.sup is not None and b.by_size is not None and b.n_by is not None
        assert b.welem is not None and b.wdeg is not None
        dom = b.dom_terms if terms else b.dom_count
        assert dom is not None
        pkernel.search(b.sup, b.cand, b.by_size, b.n_by, b.welem, b.wdeg, dom, b.hours,
                       b.cost, b.worth, b.demand, b.k_order, codes, av, ch, best_key, best_used, state,
                       stop.end, min_count)
    nodes, aborted = int(state[1]), bool(state[2])
    stop.charge(nodes)
    if state[0] == 0:
        return _BitRun(None, None, nodes, aborted)
    key = tuple(best_key.tolist())
    if state[0] == 1:
        return _BitRun(key, None, nodes, aborted)
    return _BitRun(key, _members(best_used, n_w), nodes, aborted)


def _run_relaxed(data: GroupData, stop: Deadline, avail: int, beat: int) -> _BitRun:
    """The binary kernel's count-only search on a partial group's relaxation, in which
    a warehouse covers an element when it holds any of it: a cover of fewer than
    ``beat`` warehouses of ``avail``, if any (a relaxed cover, not always a real one)."""
    b = _bits(data)
    n_w = data.wh.size
    best_key = np.array([beat], dtype=np.int64)
    best_used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    state = np.array([1, 0, 0, stop.node_limit()], dtype=np.int64)
    kernel.search(b.cand, b.cov, b.hours, b.cost, b.worth[:0], b.demand, b.k_order,
                  _terms_codes(()), _words(avail, n_w),
                  _words(0, n_w), best_key, best_used, state, stop.end)
    nodes, aborted = int(state[1]), bool(state[2])
    stop.charge(nodes)
    found = _members(best_used, n_w) if state[0] == 2 else None
    return _BitRun((int(best_key[0]),) if found else None, found, nodes, aborted)


def _run_count(data: GroupData, stop: Deadline, avail: int,
               start: tuple[tuple[int, ...], list[int] | None] | None,
               search: Callable[..., _BitRun] | None = None) -> _BitRun:
    """A count-only search (by ``search``, :func:`_run_bits` by default) for a cover of
    ``avail`` beating ``start``. On a partial group the binary relaxation goes first
    (some 20 times faster per node): every real cover is a relaxed one, so when the
    relaxation finishes without beating the start, neither can a real cover and the
    start stands; when its best cover is a real one, that is the answer; otherwise its
    size bounds the real search from below."""
    least = 0
    if start is not None and not _bits(data).binary:
        relaxed = _run_relaxed(data, stop, avail, start[0][0])
        if not relaxed.aborted:
            if relaxed.best_set is None:
                return _BitRun(start[0], start[1], relaxed.nodes, False)
            chosen = np.array(relaxed.best_set, dtype=np.int64)
            if (data.supply[chosen].sum(axis=0) >= data.demand).all():
                return relaxed
            least = len(relaxed.best_set)
    return (search or _run_bits)(data, (), stop, avail, start, min_count=least)


def _incumbent_key(data: GroupData, x_rows: IntArray, terms: tuple[str, ...],
                   problem: SplitProblem) -> tuple[tuple[int, ...], list[int]] | None:
    """The incumbent's key in this group's local terms, or ``None`` if it uses a
    warehouse outside this phase's reach (above the cap, or left out as dominated)."""
    used = np.flatnonzero(x_rows.sum(axis=0))
    lookup = np.full(problem.n_warehouses, -1, dtype=np.int64)
    lookup[data.wh] = np.arange(data.wh.size)
    local = lookup[used]
    if used.size == 0 or (local < 0).any():
        return None
    covered = data.supply[local].sum(axis=0) >= data.demand
    if not covered.all():
        return None
    return _key_of(data, terms, sum(1 << w for w in local.tolist()))


def _greedy_cover(data: GroupData) -> list[int] | None:
    """A quick cover: repeatedly the warehouse that covers the most of what is left
    (fastest on ties); ``None`` when there is no cover."""
    b = _bits(data)
    chosen = np.zeros(max(1, data.wh.size), dtype=np.int64)
    if b.binary:
        size = kernel.greedy_cover(b.cov, int(b.demand.size), chosen)
    else:
        assert b.sup is not None and b.welem is not None and b.wdeg is not None
        size = pkernel.greedy_cover(b.sup, b.welem, b.wdeg, b.demand, chosen)
    return None if size < 0 else chosen[:size].tolist()


def _search_kernel(data: GroupData, terms: tuple[str, ...], stop: Deadline,
                   inc: tuple[tuple[int, ...], list[int]] | None,
                   count_limit: int | None = None) -> GroupOutcome:
    """The staged search of one group (see the module docstring): in one compiled call
    on one thread under a deadline (:mod:`ordersplit.solver.staged_kernel`), else stage
    by stage from here."""
    if STAGED and not stop.work_limited and _threads_for(data) == 1:
        out = _search_staged(data, terms, stop, inc, count_limit)
        if out is not None:
            return out
    everything = (1 << data.wh.size) - 1
    start: tuple[tuple[int, ...], list[int] | None] | None
    start = inc
    if start is None and count_limit is not None:  # only sets of at most the limit
        start = ((count_limit + 1,) + (0,) * len(terms), None)
    nodes = 0
    proven = True

    def done(bits: _BitRun) -> None:
        nonlocal nodes, proven
        nodes += bits.nodes
        proven &= not bits.aborted

    # priced binary groups too take the count stage first: its cover seeds the terms
    if not terms or (_bits(data).binary and terms[0] != "makespan" and data.worth is None):
        bits = _run_bits(data, terms, stop, everything, start)
        done(bits)
        chosen = bits.best_set
        count_proven = proven
    else:
        greedy = _greedy_cover(data)
        seed: tuple[tuple[int, ...], list[int] | None] | None
        if greedy is not None and (start is None or len(greedy) < start[0][0]
                                   or (len(greedy) == start[0][0] and start[1] is not None)):
            seed = ((len(greedy),), greedy)
        else:
            seed = None if start is None else ((start[0][0],), start[1])
        guess = None if seed is None else seed[1]
        ahead: _BitRun | None = None
        if guess is not None and _threads_for(data) > 1:
            # The count stage (proving no smaller cover) and the later stages, assuming
            # the count of a short first search is optimal (it nearly always is), run
            # side by side.
            if QUICK_SECONDS > 0:
                quick = _run_bits(data, (), stop.within(min(QUICK_SECONDS,
                                                            QUICK_SHARE * stop.remaining())),
                                  everything, seed)
                nodes += quick.nodes
                if quick.best_set is not None and quick.best_key is not None:
                    guess = quick.best_set
                    seed = (quick.best_key, guess)
            pending = _pool().submit(_run_count, data, stop, everything, seed)
            ahead = _after_count(data, terms, stop, len(guess), guess)
            count = pending.result()
        else:
            count = _run_count(data, stop, everything, seed)
        done(count)
        count_proven = proven
        if count.best_set is None:
            return GroupOutcome(None, None, proven, count_proven, nodes)
        if ahead is not None and guess is not None and len(count.best_set) == len(guess):
            staged = ahead
        else:  # sequential, or a smaller cover exists: the later stages for its count
            if ahead is not None:
                nodes += ahead.nodes
            staged = _after_count(data, terms, stop, len(count.best_set), count.best_set)
        nodes += staged.nodes
        proven &= not staged.aborted
        chosen = staged.best_set
    if chosen is None:
        return GroupOutcome(None, None, proven, count_proven, nodes)
    key, used = _key_of(data, terms, sum(1 << w for w in chosen))
    return GroupOutcome(data.wh[np.array(sorted(used), dtype=np.int64)], key, proven,
                        count_proven, nodes)




STAGED = True
"""Whether small groups take the one-call path (:func:`_search_staged`); the stage-by-stage
path is its definition (``tests/test_staged_kernel.py`` compares them)."""
_NO_PARTIAL = (np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64),
               np.zeros((1, 1), dtype=np.uint64))
"""Placeholders of a binary group's partial-only arrays (of the types the kernel takes)."""


def _search_staged(data: GroupData, terms: tuple[str, ...], stop: Deadline,
                   inc: tuple[tuple[int, ...], list[int]] | None,
                   count_limit: int | None) -> GroupOutcome | None:
    """:func:`_search_kernel`'s stages in :func:`~ordersplit.solver.staged_kernel.staged_search`
    (the same kernels in the same order, so the same outcome); ``None`` in the one case
    it leaves to the stages here (a floor that is no arrival level)."""
    b = _bits(data)
    words = b.cand.shape[1]
    start_key = np.zeros(1 + len(terms), dtype=np.int64)
    start_set = np.zeros(words, dtype=np.uint64)
    kind = 0
    if inc is not None:
        start_key[:] = inc[0]
        start_set[:] = _words(sum(1 << w for w in inc[1]), data.wh.size)
        kind = 2
    elif count_limit is not None:  # only sets of at most the limit
        start_key[0] = count_limit + 1
        kind = 1
    mat, vec, masks = _NO_PARTIAL
    key = np.zeros(1 + len(terms), dtype=np.int64)
    used = np.zeros(words, dtype=np.uint64)
    info = np.zeros(5, dtype=np.int64)
    staged.staged_search(
        b.binary, mat if b.sup is None else b.sup, b.cand, b.cov,
        mat if b.by_size is None else b.by_size, vec if b.n_by is None else b.n_by,
        mat if b.welem is None else b.welem, vec if b.wdeg is None else b.wdeg,
        masks if b.dom_count is None else b.dom_count,
        masks if b.dom_terms is None else b.dom_terms, b.hours, b.cost, b.worth, b.demand,
        b.k_order, _terms_codes(terms), b.floor, kind, start_key, start_set, stop.end, key,
        used, info)
    if info[4] != staged.NO_ERROR:
        return None
    nodes, proven, count_proven = int(info[1]), bool(info[2]), bool(info[3])
    stop.charge(nodes)
    if not info[0]:
        return GroupOutcome(None, None, proven, count_proven, nodes)
    chosen = np.array(_members(used, data.wh.size), dtype=np.int64)
    return GroupOutcome(data.wh[chosen], tuple(key.tolist()), proven, count_proven, nodes)


def _run_split(data: GroupData, terms: tuple[str, ...], stop: Deadline, avail: int,
               start: tuple[tuple[int, ...], list[int] | None] | None,
               min_count: int = 0) -> _BitRun:
    """:func:`_run_bits` with its root branches shared by this thread and the pool's.

    The root branches on the SKU with the fewest candidates: branch ``i`` takes its
    ``i``-th candidate and excludes the earlier ones, so the branches split the covers
    between them. Each thread takes the next branch, seeded with the best key so far.

    With later terms (the last stage, whose set is the plan) a branch may tie that key,
    and ``start`` counts as a bound only, so the set returned does not depend on timing:
    the smallest key, ties to the earliest branch. Count-only searches (the makespan
    probes, of which only the count is used) must beat the key, which prunes far more.
    """
    full = data.supply > 0  # candidates (any supply), as the kernels branch
    n_w = data.wh.size
    in_avail = np.array([(avail >> w) & 1 for w in range(n_w)], dtype=bool)
    a = int(np.argmin(full[in_avail].sum(axis=0))) if in_avail.any() else 0
    cands = np.flatnonzero(in_avail & full[:, a])
    if not terms:  # count only: widest first, as the kernel orders them
        cands = cands[np.argsort(-full[cands].sum(axis=1), kind="stable")]
    branches = []
    excluded = 0
    for w in cands:
        excluded |= 1 << int(w)
        branches.append((int(w), avail & ~excluded))
    lock = threading.Lock()
    ties = bool(terms)
    # (key, branch index, set); the start is branch -1
    best: list[tuple[tuple[int, ...], int, list[int] | None]] = []
    if start is not None:
        best.append((start[0], -1, None if ties else start[1]))
    progress = {"next": 0, "nodes": 0, "aborted": False}

    def work() -> None:
        while True:
            with lock:
                i = progress["next"]
                if i >= len(branches) or progress["aborted"]:
                    return
                progress["next"] = i + 1
                seed: tuple[tuple[int, ...], list[int] | None] | None = None
                if best:
                    key = best[0][0]
                    seed = ((*key[:-1], key[-1] + 1), None) if ties else (key, None)
            w, branch_avail = branches[i]
            run = _run_bits(data, terms, stop, branch_avail, seed, chosen=1 << w,
                            min_count=min_count)
            with lock:
                progress["nodes"] += run.nodes
                progress["aborted"] |= run.aborted
                if run.best_set is not None and run.best_key is not None:
                    best.append((run.best_key, i, run.best_set))
                    best.sort(key=lambda e: (e[0], e[1]))
                    del best[1:]

    helper = _pool().submit(work)
    work()
    if not helper.cancel():  # not waiting for a helper still queued behind the count stage
        helper.result()
    nodes, aborted = int(progress["nodes"]), bool(progress["aborted"])
    if not best:
        return _BitRun(None, None, nodes, aborted)
    if best[0][2] is None and start is not None and start[1] is not None:
        return _BitRun(start[0], start[1], nodes, aborted)  # nothing found: the start's set
    return _BitRun(best[0][0], best[0][2], nodes, aborted)




def _after_count(data: GroupData, terms: tuple[str, ...], stop: Deadline, c_star: int,
                 found: list[int]) -> _BitRun:
    """The stages after the count (``c_star``, with ``found`` a cover of that size): the
    makespan (when it comes first) by binary search over arrival times, then the later
    terms under it, knowing that no cover has fewer than ``c_star`` warehouses."""
    search = _run_split if _threads_for(data) > 1 else _run_bits
    nodes = 0
    aborted = False
    under = (1 << data.wh.size) - 1
    rest = terms
    if terms and terms[0] == "makespan":
        hours = data.hours.tolist()
        levels = sorted({hours[w] for w in range(data.wh.size)})
        lo = levels.index(_bits(data).floor)
        hi = levels.index(max(hours[w] for w in found))

        def fits_under(level: int) -> bool:
            """Whether a cover of ``c_star`` warehouses arrives by ``levels[level]``
            (then ``found`` is that cover)."""
            nonlocal nodes, aborted, found
            cap = levels[level]
            probe = _run_count(data, stop, sum(1 << w for w in range(data.wh.size)
                                               if hours[w] <= cap), ((c_star + 1,), None), search)
            nodes += probe.nodes
            aborted |= probe.aborted
            if probe.best_set is not None and len(probe.best_set) <= c_star:
                found = probe.best_set
                return True
            return False

        # The count's cover is usually as fast as any (on 10 x 30 orders most often), and
        # else the floor is often reached: those levels are probed first, then the rest
        # by bisection. Each probe at a level gives the same cover whatever came before,
        # so ``found`` is the cover of the level M* as with bisection alone.
        if lo < hi and not stop.expired():
            if fits_under(hi - 1):
                hi -= 1
            else:
                lo = hi
        if lo < hi and not stop.expired():
            if fits_under(lo):
                hi = lo
            else:
                lo += 1
        while lo < hi and not stop.expired():
            mid = (lo + hi) // 2
            if fits_under(mid):
                hi = mid
            else:
                lo = mid + 1
        if lo < hi:
            aborted = True
        cap = levels[hi]
        under = sum(1 << w for w in range(data.wh.size) if hours[w] <= cap)
        # M* is proven: every cover under the cap has exactly that makespan, so the last
        # stage ranks by the later terms only.
        rest = terms[1:]
    seed_key, seed_set = _key_of(data, rest, sum(1 << w for w in found))
    if rest:
        bits = search(data, rest, stop, under, (seed_key, seed_set), min_count=c_star)
    elif search is _run_split:  # ``found`` depends on which thread found it: search again
        bits = _run_bits(data, (), stop, under, ((c_star + 1,), None))
    else:  # count only: the found set is already the answer
        bits = _run_bits(data, rest, stop, under, (seed_key, seed_set))
    return _BitRun(bits.best_key, bits.best_set, nodes + bits.nodes, aborted or bits.aborted)


SEARCH_THREADS = max(1, min(2, int(os.environ.get("ORDERSPLIT_SEARCH_THREADS", "2"))))
"""Threads one large group's search may use (``ORDERSPLIT_SEARCH_THREADS``, 1 or 2):
the count stage runs beside the later stages. The compiled kernel releases the GIL."""
QUICK_SECONDS, QUICK_SHARE = 0.02, 0.05
"""Time for the short count search whose cover the later stages assume (at most that
share of what is left; 0: none, the seed's count is assumed)."""
PARALLEL_CELLS = 15_000
"""Warehouses x elements from which a group counts as large enough for a second thread
(at 100 x 300 the count stage alone takes about half a second)."""
_POOLS: dict[int, ThreadPoolExecutor] = {}
"""The count stage's thread, per process (a forked child makes its own)."""


def _threads_for(data: GroupData) -> int:
    if not parallel_allowed():  # a work budget: one thread, so the work is reproducible
        return 1
    return SEARCH_THREADS if data.wh.size * data.demand.size >= PARALLEL_CELLS else 1


def _pool() -> ThreadPoolExecutor:
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS.clear()  # a pool inherited through fork has no thread behind it
        _POOLS[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ordersplit-count")
    return _POOLS[pid]



def search_group(problem: SplitProblem, items: IntArray, terms: tuple[str, ...],
                 cap_minutes: int | None, stop: Deadline,
                 incumbent_rows: IntArray | None, count_limit: int | None = None,
                 ) -> GroupOutcome:
    """Best warehouse set of one group; with ``count_limit`` (and no incumbent) only
    sets of at most that many warehouses are looked at, and none found means none
    exists. Unproven (and without a set) when the deadline passes while the group's
    data is built."""
    if items.size == 0:
        return GroupOutcome(np.zeros(0, dtype=np.int64), (0,) * (1 + len(terms)), True, True, 0)
    if count_limit is not None and count_limit < 1 and incumbent_rows is None:
        return GroupOutcome(None, None, True, True, 0)  # every plan opens a warehouse
    elems = elements(problem, items)
    worth = element_worth(problem, items) if priced(problem, terms) else None
    if worth is None:  # the usual case: the compiled passes, one reach for both
        ok = _reach(problem, items, cap_minutes)
        if _small(problem, elems[1].size, stop):
            small = _search_small(elems, ok, problem, terms, stop, count_limit, incumbent_rows)
            if small is not None:
                return small
        whole = prep.whole_warehouses(elems[0], ok, elems[1])
        if whole.size:
            return _one_of(problem, whole, terms, elems[1], None)
        data = _group_bits(problem, items, ok, stop, elems, terms)
    else:
        single = _one_warehouse(problem, items, terms, cap_minutes, *elems, worth)
        if single is not None:
            return single
        data = group_data(problem, items, cap_minutes, stop, elems, worth)
        if data is not None and _bit_data(data, terms, stop) is None:
            data = None
    if data is None:
        return GroupOutcome(None, None, False, False, 0)
    inc = None if incumbent_rows is None else _incumbent_key(data, incumbent_rows, terms, problem)
    return _search_kernel(data, terms, stop, inc, count_limit)


SMALL_KERNEL = True
"""Whether small groups without an incumbent take the one-call search
(:func:`_search_small`); the path through :func:`_group_bits` and :func:`_search_kernel`
is its definition (``tests/test_group_kernel.py`` compares them)."""


_NO_INCUMBENT = np.zeros(0, dtype=np.bool_)


def search_order(problem: SplitProblem, stop: Deadline,
                 objective: tuple[str, ...] | None = None,
                 ) -> tuple[IntArray | None, bool, int, int, bool, Objective | None] | None:
    """``combination._search_problem`` of a coverable, unpriced order without an
    incumbent, count limit or placement cases, whose groups all take the one-call
    search, in one compiled call (:func:`~ordersplit.solver.group_kernel.small_order`):
    the plan (``None``: none), whether it is proven, the proven children bound, nodes,
    whether no plan exists, and the plan's objective; ``None`` when it leaves the order
    to the Python path (also for arrays of other types than ``compile_request`` builds,
    which the kernel refuses rather than compile anew). ``objective``: the one searched
    for, when not ``problem``'s (the same data under another objective, without the
    problem built)."""
    n = problem.n_items
    if objective is None:
        objective = problem.objective
    if not (n and _small(problem, n, stop) and problem.coverable
            and not priced(problem, objective)):
        return None
    codes, span, later = _order_codes(objective)
    x = np.zeros((n, problem.n_warehouses), dtype=np.int64)
    info = np.zeros(11, dtype=np.int64)
    try:  # the problem's arrays are read-only, as the kernel was compiled for
        group_kernel.small_order(
            problem.group, problem.n_groups, problem.single_sku, problem.splittable,
            problem.quantity, problem.usage, problem.stock, problem.allowed, problem.hours,
            problem.cost, int(problem.fixed_makespan), codes, span, later, problem.lines,
            line_count(problem), problem.own_lines, stop.end, x, info)
    except TypeError:  # other array types: not compiled for them
        return None
    got = info.tolist()  # Python ints: no numpy scalars or slices below
    outcome = got[0]
    if outcome == group_kernel.DECLINED:
        return None
    nodes = got[3]
    stop.charge(nodes)
    if outcome == group_kernel.NONE:
        return None, False, got[2], nodes, got[4] != 0, None
    return x, got[1] != 0, got[2], nodes, False, of_terms(problem, x, tuple(got[5:11]))


@functools.lru_cache(maxsize=64)
def _order_codes(objective: tuple[str, ...]) -> tuple[np.ndarray, int, np.ndarray]:
    """:func:`search_order`'s term arguments of an objective (children first): the codes
    of the terms after the count, the makespan's place among them (-1: not a term, or
    the last one: one phase) and the codes of the second phase's terms (shared arrays,
    which the kernel only reads)."""
    terms = objective[1:]
    span = terms.index("makespan") if "makespan" in terms else -1
    if span + 1 >= len(terms):  # not a term, or the last one: one phase
        span = -1
    later = tuple(t for t in terms if t != "makespan") if span >= 0 else ()
    return _terms_codes(terms), span, _terms_codes(later)


def _small(problem: SplitProblem, n_elements: int, stop: Deadline) -> bool:
    """Whether the one-call search serves a group of ``n_elements``: what
    :func:`_search_kernel` would run in :func:`_search_staged` (one thread under a
    deadline; any group of the problem is below :data:`PARALLEL_CELLS`)."""
    return (SMALL_KERNEL and STAGED and not stop.work_limited
            and problem.n_warehouses * n_elements < PARALLEL_CELLS)


def _search_small(elems: tuple[IntArray, IntArray], ok: np.ndarray, problem: SplitProblem,
                  terms: tuple[str, ...], stop: Deadline, count_limit: int | None,
                  incumbent_rows: IntArray | None) -> GroupOutcome | None:
    """:func:`search_group` of an unpriced group in one compiled call
    (:func:`~ordersplit.solver.group_kernel.small_group`); ``None`` when that leaves the
    group to the stage-by-stage path (a floor that is no arrival level)."""
    supply, demand = elems
    key = np.zeros(1 + len(terms), dtype=np.int64)
    info = np.zeros(4, dtype=np.int64)
    if incumbent_rows is not None:  # an incumbent overrides the count limit
        kind, count, used = 2, 0, np.ascontiguousarray(incumbent_rows.sum(axis=0) != 0)
    else:
        kind = 0 if count_limit is None else 1
        count = 0 if count_limit is None else count_limit + 1
        used = _NO_INCUMBENT
    chosen = group_kernel.small_group(
        prep.readonly(np.ascontiguousarray(supply)), ok, prep.readonly(problem.hours),
        prep.readonly(problem.cost), prep.readonly(demand), _terms_codes(terms),
        "makespan" in terms or "unit_hours" in terms, "cost" in terms, kind, count, used,
        stop.end, key, info)
    found, nodes = int(info[0]), int(info[1])
    if found == group_kernel.DECLINED:
        return None
    if found == group_kernel.EXPIRED:
        return GroupOutcome(None, None, False, False, 0)
    stop.charge(nodes)
    proven, count_proven = bool(info[2]), bool(info[3])
    if found == group_kernel.NONE:
        return GroupOutcome(None, None, proven, count_proven, nodes)
    return GroupOutcome(chosen, tuple(key.tolist()), proven, count_proven, nodes)


def search_fragments(problem: SplitProblem, items: IntArray, terms: tuple[str, ...],
                     cap_minutes: int | None, stop: Deadline, rows: IntArray,
                     ) -> GroupOutcome | None:
    """The last stage of a group whose elements are whole lines (see
    :func:`~ordersplit.solver.fragments_covers.line_elements`) searched again with
    ``fragments`` as its last term: ``terms`` are the group's terms after the count and
    the makespan (the makespan is ``cap_minutes``), ending in ``fragments``; ``rows``
    the group's plan, whose count and earlier terms are proven optima, is the
    incumbent. The set returned has the fewest fragments among the sets that keep them
    (proven when the search finished); ``None`` when the kernel does not apply (binary
    stock, where the fastest fill keeps lines whole, or a plan outside the reach)."""
    data = group_data(problem, items, cap_minutes, stop)
    if data is None or _bit_data(data, terms, stop) is None:
        return GroupOutcome(None, None, False, False, 0)
    if _bits(data).binary:
        return None
    inc = _incumbent_key(data, rows, terms, problem)
    if inc is None:
        return None
    found = _after_count(data, terms, stop, len(inc[1]), inc[1]) if stop.remaining() > 0 \
        else _BitRun(None, None, 0, True)
    chosen = found.best_set if found.best_set is not None else inc[1]
    key, used = _key_of(data, terms, sum(1 << w for w in chosen))
    return GroupOutcome(data.wh[np.array(sorted(used), dtype=np.int64)], key,
                        not found.aborted, True, found.nodes)
