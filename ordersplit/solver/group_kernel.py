"""A small group's whole search in one compiled call: the one-warehouse check, the
group's kernel data and the staged search.

:func:`ordersplit.solver.group_search.search_group` does, for an unpriced group with no
incumbent: the warehouses that ship the whole group (then the best of them by the
terms, fastest, cheapest, first: ``_one_of``), else the group's kernel data
(:func:`~ordersplit.solver.group_prep.group_bits`) and the staged search
(:func:`~ordersplit.solver.staged_kernel.staged_search`), each a kernel call with
Python around it (result objects, a dozen arrays boxed and unboxed). On a 10 x 30
order that glue costs more than the kernels. :func:`small_group` runs the same steps
on the same arrays in one call and returns what ``search_group`` returns; the Python
path stays for everything it declines (an incumbent, a priced group, a work budget,
large groups, a floor that is no arrival level) and is its definition
(``tests/test_group_kernel.py`` compares the two).

numba compiles the kernels it calls into this module's cache entry, so the entry is
dropped whenever their sources change (:func:`ordersplit.solver.kernel_cache.drop_if_changed`).
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from ordersplit.solver import clock, group_prep, staged_kernel
from ordersplit.solver import cover_kernel as kernel
from ordersplit.solver import partial_kernel as pkernel
from ordersplit.solver.cover_kernel import COST, MAKESPAN, UNIT_HOURS, _now, load_kernels
from ordersplit.solver.group_prep import group_bits, whole_warehouses
from ordersplit.solver.kernel_cache import drop_if_changed
from ordersplit.solver.staged_kernel import NO_ERROR, staged_search

NONE, FOUND, EXPIRED, DECLINED = 0, 1, 2, 3
"""``info[0]`` of :func:`small_group`: no set (within the count limit), a set, the
deadline passed while the group's data was built, or left to the Python path."""


@nb.njit(cache=True, inline="always")
def _term_value(code: int, w: int, hours: np.ndarray, cost: np.ndarray, units: int) -> int:
    """One warehouse's value of a term when it ships the whole group (``_one_of_few``)."""
    if code == MAKESPAN:
        return hours[w]
    if code == COST:
        return cost[w]
    if code == UNIT_HOURS:
        return hours[w] * units
    return 0


@nb.njit(cache=True)
def _whole_before(a: int, b: int, codes: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                  units: int) -> bool:
    """Whether whole-group warehouse ``a`` comes before ``b``: the terms in order, then
    fastest, cheapest, first."""
    for t in range(codes.size):
        va = _term_value(codes[t], a, hours, cost, units)
        vb = _term_value(codes[t], b, hours, cost, units)
        if va != vb:
            return va < vb
    if hours[a] != hours[b]:
        return hours[a] < hours[b]
    if cost[a] != cost[b]:
        return cost[a] < cost[b]
    return a < b


@nb.njit(cache=True, nogil=True)
def small_group(supply: np.ndarray, ok: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                demand: np.ndarray, codes: np.ndarray, timed: bool, dear: bool,
                start_kind: int, start_count: int, deadline: float, key_out: np.ndarray,
                info: np.ndarray) -> np.ndarray:
    """``search_group`` of an unpriced group without an incumbent, from its elements
    (``supply`` ``[W, E]``, ``demand``) and reach ``ok``: ``codes`` are the terms after
    the count, ``timed``/``dear`` whether the later terms' dominance looks at hours and
    cost; the start is kind 0 (none) or 1 (``start_count`` warehouses to beat: the count
    limit plus one). Returns the chosen warehouses (problem ids, in the order the Python
    path gives them); ``key_out`` (``1 + codes.size``) gets the set's key, ``info`` the
    outcome (:data:`FOUND`, ...), nodes, proven, count proven."""
    info[:] = 0
    none = np.zeros(0, dtype=np.int64)
    whole = whole_warehouses(supply, ok, demand)
    if whole.size:  # one warehouse ships the whole group: the best of them
        units = 0
        for e in range(demand.size):
            units += demand[e]
        best = whole[0]
        for j in range(1, whole.size):
            if _whole_before(whole[j], best, codes, hours, cost, units):
                best = whole[j]
        key_out[0] = 1
        for t in range(codes.size):
            key_out[1 + t] = _term_value(codes[t], best, hours, cost, units)
        info[0], info[2], info[3] = FOUND, 1, 1
        out = np.empty(1, dtype=np.int64)
        out[0] = best
        return out
    (wh, sup, welem, wdeg, hrs, cst, binary, cand, cov, k_order, floor, by_size, n_by,
     dom_count, dom_terms, done) = group_bits(supply, ok, hours, cost, demand, deadline,
                                              timed, dear)
    if not done or _now() >= deadline:
        info[0] = EXPIRED
        return none
    words = cand.shape[1]
    start_key = np.zeros(1 + codes.size, dtype=np.int64)
    if start_kind == 1:
        start_key[0] = start_count
    key = np.zeros(1 + codes.size, dtype=np.int64)
    used = np.zeros(words, dtype=np.uint64)
    staged = np.zeros(5, dtype=np.int64)
    staged_search(binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom_count, dom_terms,
                  hrs, cst, np.zeros((0, wh.size), dtype=np.int64), demand.copy(), k_order,
                  codes, floor, start_kind, start_key, np.zeros(words, dtype=np.uint64),
                  deadline, key, used, staged)
    if staged[4] != NO_ERROR:
        info[0] = DECLINED
        return none
    info[1], info[2], info[3] = staged[1], staged[2], staged[3]
    if not staged[0]:
        info[0] = NONE
        return none
    n = 0
    for i in range(words):
        n += kernel._popcount(used[i])
    out = np.empty(n, dtype=np.int64)
    j = 0
    for i in range(words):  # the members in increasing local order (fastest first)
        x = used[i]
        while x:
            out[j] = wh[64 * i + kernel._low(x)]
            x &= x - kernel._ONE
            j += 1
    key_out[:] = key
    info[0] = FOUND
    return out


def _warm_up() -> None:
    """Compile (or load from numba's cache) with the run-time types: the elements as the
    problem's memo holds them (read-only), the reach writable, the problem's hours and
    costs read-only; a whole-warehouse group, a partial group and a binary one."""
    far = time.perf_counter() + 60
    demand = np.array([2, 2], dtype=np.int64)
    hours = np.array([1, 2, 3], dtype=np.int64)
    codes = np.array([MAKESPAN, UNIT_HOURS], dtype=np.int64)  # writable, as _terms_codes
    for arr in (demand, hours):
        arr.setflags(write=False)
    for rows in ([[2, 0], [1, 1], [0, 2]], [[2, 0], [2, 2], [0, 2]], [[2, 0], [2, 0], [0, 2]]):
        sup = np.array(rows, dtype=np.int64)
        sup.setflags(write=False)
        small_group(sup, np.ones(3, dtype=np.bool_), hours, hours, demand, codes, True, False,
                    0, 0, far, np.zeros(3, dtype=np.int64), np.zeros(4, dtype=np.int64))


drop_if_changed(small_group, (clock, kernel, pkernel, group_prep, staged_kernel))
COMPILED_ON_IMPORT = load_kernels("small group search", (small_group,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
