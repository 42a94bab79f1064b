"""One group's staged search in one compiled call (the sequential path of small groups).

:func:`ordersplit.solver.group_search._search_kernel` drives the kernels stage by stage
from Python: a greedy cover, the count stage (on a partial group its binary relaxation
first), the makespan by probes over arrival levels, the later terms under that cap,
and the key of the chosen set. On a 10 x 30 order each of those ten-odd kernel calls
costs more in Python glue (bitmasks as ints, small arrays, result objects) than in the
kernel itself. :func:`staged_search` runs the same stages, in the same order, on the
same arrays, calling the same kernels (:func:`ordersplit.solver.cover_kernel.search`,
:func:`ordersplit.solver.partial_kernel.search`), so it returns the same set, key,
proofs and node count; ``tests/test_staged_kernel.py`` compares the two paths.

It serves one thread under a wall-clock deadline; the two-thread path of large groups
and a work budget (which counts every look at the clock) stay in Python.

numba keys a cached function on its own source file only: this module compiles the
kernels it calls into its own cache, so it is rebuilt whenever their sources change
(:func:`ordersplit.kernels.drop_if_changed`).
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock
from ordersplit.solver import cover_kernel as kernel
from ordersplit.solver import partial_kernel as pkernel
from ordersplit.solver.cover_kernel import MAKESPAN, _count, _now

NO_ERROR, NO_FLOOR_LEVEL = 0, 1
"""``info[4]`` of :func:`staged_search`: the floor is not an arrival level (cannot
happen for a coverable group; the Python path then decides, as it always did)."""


@nb.njit(cache=True)
def _search(binary: bool, sup: np.ndarray, cand: np.ndarray, cov: np.ndarray,
            by_size: np.ndarray, n_by: np.ndarray, welem: np.ndarray, wdeg: np.ndarray,
            dom: np.ndarray, hours: np.ndarray, cost: np.ndarray, worth: np.ndarray,
            demand: np.ndarray, k_order: np.ndarray, codes: np.ndarray, avail: np.ndarray,
            start_kind: int, start_key: np.ndarray, start_set: np.ndarray, min_count: int,
            deadline: float, key: np.ndarray, used: np.ndarray) -> tuple[int, int, bool]:
    """``_run_bits``: one kernel search of ``avail`` from a start (kind 0 none, 1 a key
    to beat, 2 a key with its set); ``key`` (``1 + codes.size`` entries) and ``used``
    receive the incumbent. Returns the kind of what is there, nodes, aborted."""
    state = np.zeros(4, dtype=np.int64)  # state[3] = 0: no node limit (a deadline)
    key[:] = 0
    used[:] = 0
    if start_kind >= 1:
        for i in range(key.size):
            key[i] = start_key[i]
        state[0] = 1
        if start_kind == 2:
            state[0] = 2
            used[:] = start_set
    chosen = np.zeros(used.size, dtype=np.uint64)
    if binary:
        kernel.search(cand, cov, hours, cost, worth, demand, k_order, codes, avail, chosen,
                      key, used, state, deadline)
    else:
        pkernel.search(sup, cand, by_size, n_by, welem, wdeg, dom, hours, cost, worth,
                       demand, k_order, codes, avail, chosen, key, used, state, deadline,
                       min_count)
    return state[0], state[1], state[2] != 0


@nb.njit(cache=True)
def _count_stage(binary: bool, sup: np.ndarray, cand: np.ndarray, cov: np.ndarray,
                 by_size: np.ndarray, n_by: np.ndarray, welem: np.ndarray, wdeg: np.ndarray,
                 dom_count: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                 worth: np.ndarray, demand: np.ndarray, k_order: np.ndarray, avail: np.ndarray,
                 start_kind: int, start_count: int, start_set: np.ndarray, deadline: float,
                 key: np.ndarray, used: np.ndarray) -> tuple[int, int, bool]:
    """``_run_count``: a count-only search of ``avail`` beating the start; on a partial
    group the binary relaxation first (its answer when it finishes without beating the
    start, or finds a real cover; else its size bounds the real search)."""
    none = np.zeros(0, dtype=np.int64)
    least = 0
    start_key = np.full(1, start_count, dtype=np.int64)
    if start_kind >= 1 and not binary:
        rkey = np.full(1, start_count, dtype=np.int64)
        rused = np.zeros(used.size, dtype=np.uint64)
        state = np.zeros(4, dtype=np.int64)
        state[0] = 1
        kernel.search(cand, cov, hours, cost, np.zeros((0, hours.size), dtype=np.int64),
                      demand, k_order, none, avail, np.zeros(used.size, dtype=np.uint64),
                      rkey, rused, state, deadline)
        if state[2] == 0:
            if state[0] != 2:  # nothing beats the start: it stands
                key[0] = start_count
                used[:] = 0
                if start_kind == 2:
                    used[:] = start_set
                return start_kind, state[1], False
            if _covers(sup, demand, rused):
                key[0] = rkey[0]
                used[:] = rused
                return 2, state[1], False
            least = _count(rused)
    return _search(binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom_count, hours, cost,
                   worth, demand, k_order, none, avail,
                   start_kind, start_key, start_set, least, deadline, key, used)


@nb.njit(cache=True)
def _covers(sup: np.ndarray, demand: np.ndarray, chosen: np.ndarray) -> bool:
    """Whether the warehouses of ``chosen`` supply every element's demand."""
    for e in range(demand.size):
        total = 0
        for i in range(chosen.size):
            x = chosen[i]
            while x:
                w = 64 * i + kernel._low(x)
                x &= x - kernel._ONE
                total += sup[w, e]
        if total < demand[e]:
            return False
    return True


@nb.njit(cache=True)
def _under(hours: np.ndarray, cap: int, words: int) -> np.ndarray:
    """The warehouses arriving by ``cap``, as a mask."""
    out = np.zeros(words, dtype=np.uint64)
    for w in range(hours.size):
        if hours[w] <= cap:
            out[w >> 6] |= kernel._ONE << np.uint64(w & 63)
    return out


@nb.njit(cache=True)
def _leaf(binary: bool, sup: np.ndarray, cand: np.ndarray, hours: np.ndarray,
          cost: np.ndarray, worth: np.ndarray, demand: np.ndarray, codes: np.ndarray,
          chosen: np.ndarray, key: np.ndarray, used: np.ndarray) -> None:
    """``_key_of``: the key of the fill inside ``chosen`` and the warehouses that ship."""
    if binary:
        kernel.leaf_key(cand, hours, cost, worth, demand, codes, chosen, used, key)
    else:
        pkernel.leaf_key(sup, cand, hours, cost, worth, demand, codes, chosen, used, key)


@nb.njit(cache=True, nogil=True)
def staged_search(binary: bool, sup: np.ndarray, cand: np.ndarray, cov: np.ndarray,
                  by_size: np.ndarray, n_by: np.ndarray, welem: np.ndarray, wdeg: np.ndarray,
                  dom_count: np.ndarray, dom_terms: np.ndarray, hours: np.ndarray,
                  cost: np.ndarray, worth: np.ndarray, demand: np.ndarray,
                  k_order: np.ndarray, codes: np.ndarray, floor: int, start_kind: int,
                  start_key: np.ndarray, start_set: np.ndarray, deadline: float,
                  key_out: np.ndarray, used_out: np.ndarray, info: np.ndarray) -> None:
    """The staged search of one group (``_search_kernel`` on one thread, see the module
    docstring). The start: kind 0 none, 1 ``start_key`` to beat, 2 that key with its set
    ``start_set``. Out: the chosen set's key and shipping warehouses (``key_out``,
    ``used_out``), and ``info``: a set found (1/0), nodes, proven, count proven, and an
    error code (:data:`NO_FLOOR_LEVEL`)."""
    n_w = hours.size
    words = used_out.size
    n_t = codes.size
    everything = _under(hours, hours.max() if n_w else 0, words)
    nodes = 0
    proven = True
    key = np.zeros(n_t + 1, dtype=np.int64)
    used = np.zeros(words, dtype=np.uint64)
    have = False
    info[:] = 0
    if n_t == 0 or (binary and codes[0] != MAKESPAN and worth.shape[0] == 0):
        dom = dom_terms if n_t else dom_count
        kind, n, aborted = _search(binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom,
                                   hours, cost, worth, demand, k_order, codes, everything,
                                   start_kind, start_key, start_set, 0, deadline, key, used)
        nodes += n
        proven &= not aborted
        count_proven = proven
        have = kind == 2
        chosen = used.copy()
    else:
        greedy = np.zeros(max(1, n_w), dtype=np.int64)
        if binary:
            size = kernel.greedy_cover(cov, demand.size, greedy)
        else:
            size = pkernel.greedy_cover(sup, welem, wdeg, demand, greedy)
        seed_kind, seed_count, seed_set = start_kind, start_key[0], start_set
        if size >= 0 and (start_kind == 0 or size < start_key[0]
                          or (size == start_key[0] and start_kind == 2)):
            seed_kind, seed_count = 2, size
            seed_set = np.zeros(words, dtype=np.uint64)
            for j in range(size):
                seed_set[greedy[j] >> 6] |= kernel._ONE << np.uint64(greedy[j] & 63)
        ckey = np.zeros(1, dtype=np.int64)
        cused = np.zeros(words, dtype=np.uint64)
        kind, n, aborted = _count_stage(binary, sup, cand, cov, by_size, n_by, welem, wdeg,
                                        dom_count, hours, cost, worth, demand, k_order,
                                        everything,
                                        seed_kind, seed_count, seed_set, deadline, ckey, cused)
        nodes += n
        proven &= not aborted
        count_proven = proven
        if kind == 2:
            kind, n, aborted = _after_count(binary, sup, cand, cov, by_size, n_by, welem,
                                            wdeg, dom_count, dom_terms, hours, cost, worth,
                                            demand, k_order, codes, floor, cused, deadline,
                                            key, used, info)
            if info[4] != NO_ERROR:
                return
            nodes += n
            proven &= not aborted
            have = kind == 2
            chosen = used.copy()
        else:
            chosen = used
    info[1] = nodes
    info[2] = proven
    info[3] = count_proven
    if have:
        _leaf(binary, sup, cand, hours, cost, worth, demand, codes, chosen, key_out, used_out)
        info[0] = 1


@nb.njit(cache=True)
def _after_count(binary: bool, sup: np.ndarray, cand: np.ndarray, cov: np.ndarray,
                 by_size: np.ndarray, n_by: np.ndarray, welem: np.ndarray, wdeg: np.ndarray,
                 dom_count: np.ndarray, dom_terms: np.ndarray, hours: np.ndarray,
                 cost: np.ndarray, worth: np.ndarray, demand: np.ndarray,
                 k_order: np.ndarray, codes: np.ndarray, floor: int, found: np.ndarray,
                 deadline: float, key: np.ndarray, used: np.ndarray, info: np.ndarray,
                 ) -> tuple[int, int, bool]:
    """``_after_count``: the makespan by probes over the arrival levels (when it comes
    first), then the later terms under it, from the count stage's cover ``found``."""
    words = used.size
    c_star = _count(found)
    nodes = 0
    aborted = False
    under = _under(hours, hours.max(), words)
    rest = codes
    found = found.copy()
    if codes.size and codes[0] == MAKESPAN:
        levels = np.unique(hours)
        lo = -1
        for i in range(levels.size):
            if levels[i] == floor:
                lo = i
        if lo < 0:
            info[4] = NO_FLOOR_LEVEL
            return 0, 0, False
        slowest = 0
        for i in range(words):
            x = found[i]
            while x:
                w = 64 * i + kernel._low(x)
                x &= x - kernel._ONE
                slowest = max(slowest, hours[w])
        hi = 0
        for i in range(levels.size):
            if levels[i] == slowest:
                hi = i
        pkey = np.zeros(1, dtype=np.int64)
        pused = np.zeros(words, dtype=np.uint64)
        step = 0  # probe hi - 1 first, then lo, then bisect (as the Python stages do)
        while lo < hi and _now() < deadline:
            if step == 0:
                level = hi - 1
            elif step == 1:
                level = lo
            else:
                level = (lo + hi) // 2
            kind, n, probe_aborted = _count_stage(
                binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom_count, hours, cost,
                worth, demand, k_order, _under(hours, levels[level], words), 1, c_star + 1,
                np.zeros(words, dtype=np.uint64), deadline, pkey, pused)
            nodes += n
            aborted |= probe_aborted
            fits = kind == 2 and _count(pused) <= c_star
            if fits:
                found[:] = pused
            if step == 0:
                if fits:
                    hi -= 1
                else:
                    lo = hi
            elif step == 1:
                if fits:
                    hi = lo
                else:
                    lo += 1
            elif fits:
                hi = level
            else:
                lo = level + 1
            step += 1
        if lo < hi:
            aborted = True
        under = _under(hours, levels[hi], words)
        rest = codes[1:].copy()
    seed_key = np.zeros(rest.size + 1, dtype=np.int64)
    seed_used = np.zeros(words, dtype=np.uint64)
    _leaf(binary, sup, cand, hours, cost, worth, demand, rest, found, seed_key, seed_used)
    out_key = np.zeros(rest.size + 1, dtype=np.int64)
    dom = dom_terms if rest.size else dom_count
    kind, n, last_aborted = _search(binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom,
                                    hours, cost, worth, demand, k_order, rest, under, 2,
                                    seed_key, seed_used, c_star if rest.size else 0, deadline,
                                    out_key, used)
    return kind, nodes + n, aborted or last_aborted


def _warm_up() -> None:
    """Compile (or load from numba's cache) with the run-time types: a partial group and
    a binary one (whose partial-only arrays are placeholders of the same types)."""
    from ordersplit.solver.cover_kernel import mask_words, pack

    far = time.perf_counter() + 60
    for sup in (np.array([[2, 0], [1, 1], [0, 2]], dtype=np.int64),
                np.array([[2, 0], [2, 2], [0, 2]], dtype=np.int64)):
        demand = np.array([2, 2], dtype=np.int64)
        cand, cov = pack((sup > 0).T.copy()), pack(sup > 0)
        hours = np.array([1, 2, 3], dtype=np.int64)
        welem = np.array([[0, 0], [0, 1], [1, 0]], dtype=np.int64)
        wdeg = np.array([1, 2, 1], dtype=np.int64)
        by_size = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.int64)
        n_by = np.array([2, 2], dtype=np.int64)
        dom = np.zeros((3, 1), dtype=np.uint64)
        binary = bool(((sup == 0) | (sup == demand[None, :])).all())
        staged_search(binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom, dom.copy(),
                      hours, hours.copy(), np.zeros((0, 3), dtype=np.int64), demand,
                      np.arange(2, dtype=np.int64), np.array([MAKESPAN, 1], dtype=np.int64),
                      2, 0, np.zeros(3, dtype=np.int64), mask_words(0, 3), far,
                      np.zeros(3, dtype=np.int64), np.zeros(1, dtype=np.uint64),
                      np.zeros(5, dtype=np.int64))


drop_if_changed(staged_search, (clock, kernel, pkernel))
COMPILED_ON_IMPORT = load_kernels("staged group search", (staged_search,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
