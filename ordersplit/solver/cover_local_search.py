"""Row-weighting local search for large unicost covers (fewest warehouses).

On a pure cover (:mod:`ordersplit.solver.set_cover`) with ``children`` first, the exact
search proves small orders but, on OR-Library's 200 x 1000 instances and larger, neither
it nor a MIP closes the gap within a minute; what finds the fewest warehouses there is a
local search. This is the row-weighting scheme of Gao et al. (RWLS, 2015), compiled by
numba:

* each line (row) has a weight, 1 at first; a warehouse's score is the weight of the
  uncovered rows it would cover (outside the set) or, negated, of the rows only it
  covers (inside the set);
* whenever the set covers every row it is recorded and its least useful warehouse is
  dropped, so the search always looks for a cover one smaller than the best;
* otherwise one step drops the least useful warehouse of the set (not the one just
  added; ties to the longest unchanged), then adds, for a random uncovered row, the
  candidate with the highest score (ties to the longest unchanged) among those whose
  neighbourhood changed since they left (configuration checking, against cycling:
  a tick per change stamped on the rows it touches, so the check reads a candidate's
  rows instead of each change writing to every neighbour),
  and raises the weight of every row left uncovered, so that rows that stay uncovered
  pull harder.

Seeded (numba's own generator) and bounded by steps as well as by the clock, so under a
work budget the result is reproducible. Given a lower bound (``floor``), it stops on a
cover of that size: nothing smaller exists, and the caller has its proof at once.
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock, cover_kernel
from ordersplit.solver.cover_kernel import _now

CHECK_STEPS = 4096
"""Steps between two looks at the clock."""


@nb.njit(cache=True)
def _add(c: int, col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray,
         row_cols: np.ndarray, w: np.ndarray, cnt: np.ndarray, ids: np.ndarray,
         score: np.ndarray, in_set: np.ndarray, unc: np.ndarray, unc_pos: np.ndarray,
         n_unc: int) -> int:
    """Put warehouse ``c`` into the set; returns the new number of uncovered rows.
    ``ids[r]`` is the sum of the ids of the set's warehouses covering row ``r``: the
    one left when ``cnt[r]`` is 1, found without a pass over the row."""
    in_set[c] = True
    score[c] = 0
    for j in range(col_ptr[c], col_ptr[c + 1]):
        r = col_rows[j]
        cnt[r] += 1
        ids[r] += c
        if cnt[r] == 1:  # newly covered: only c covers it, the others lose its gain
            for t in range(row_ptr[r], row_ptr[r + 1]):
                c2 = row_cols[t]
                if c2 != c:
                    score[c2] -= w[r]
            score[c] -= w[r]
            last = unc[n_unc - 1]  # out of the uncovered list
            unc[unc_pos[r]] = last
            unc_pos[last] = unc_pos[r]
            n_unc -= 1
        elif cnt[r] == 2:  # the other warehouse no longer covers it alone
            score[ids[r] - c] += w[r]
    return n_unc


@nb.njit(cache=True)
def _drop(c: int, col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray,
          row_cols: np.ndarray, w: np.ndarray, cnt: np.ndarray, ids: np.ndarray,
          score: np.ndarray, in_set: np.ndarray, unc: np.ndarray, unc_pos: np.ndarray,
          n_unc: int) -> int:
    """Take warehouse ``c`` out of the set; returns the new number of uncovered rows."""
    in_set[c] = False
    score[c] = 0
    for j in range(col_ptr[c], col_ptr[c + 1]):
        r = col_rows[j]
        cnt[r] -= 1
        ids[r] -= c
        if cnt[r] == 0:  # uncovered again: every candidate gains it
            for t in range(row_ptr[r], row_ptr[r + 1]):
                c2 = row_cols[t]
                if c2 != c:
                    score[c2] += w[r]
            score[c] += w[r]
            unc[n_unc] = r
            unc_pos[r] = n_unc
            n_unc += 1
        elif cnt[r] == 1:  # the one warehouse left covers it alone
            score[ids[r]] -= w[r]
    return n_unc


@nb.njit(cache=True)
def _mark(c: int, tick: int, col_ptr: np.ndarray, col_rows: np.ndarray,
          changed: np.ndarray) -> None:
    """Configuration checking: ``c`` changed at ``tick``, and with it every row it covers
    (so every warehouse sharing a row with it may come back)."""
    for j in range(col_ptr[c], col_ptr[c + 1]):
        changed[col_rows[j]] = tick


@nb.njit(cache=True)
def _may_return(c: int, col_ptr: np.ndarray, col_rows: np.ndarray, changed: np.ndarray,
                left: np.ndarray) -> bool:
    """Whether a warehouse sharing a row with ``c`` changed since ``c`` left the set."""
    for j in range(col_ptr[c], col_ptr[c + 1]):  # noqa: SIM110 (a loop numba compiles)
        if changed[col_rows[j]] > left[c]:
            return True
    return False


@nb.njit(cache=True)
def _least_useful(members: np.ndarray, n_mem: int, score: np.ndarray, stamp: np.ndarray,
                  tabu: int) -> int:
    """Index in ``members`` of the set's warehouse with the highest score (the least
    loss), not ``tabu``, ties to the oldest change."""
    best = -1
    for i in range(n_mem):
        c = members[i]
        if c == tabu and n_mem > 1:
            continue
        if best < 0 or score[c] > score[members[best]] or (
                score[c] == score[members[best]] and stamp[c] < stamp[members[best]]):
            best = i
    return best


@nb.njit(cache=True, nogil=True)
def search(col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray,
           row_cols: np.ndarray, start: np.ndarray, best_out: np.ndarray, max_steps: int,
           deadline: float, seed: int, floor: int, used: np.ndarray) -> int:
    """Fewest warehouses covering every row, from the cover ``start`` (booleans over
    warehouses; completed greedily when it covers not every row, built greedily when
    empty); the best cover found into ``best_out``, its size returned. Stops after
    ``max_steps`` steps (0: no limit), at ``deadline``, or on a cover of ``floor``
    warehouses (a lower bound: none is smaller); the steps taken go to ``used[0]``."""
    np.random.seed(seed)
    n_c = col_ptr.size - 1
    n_r = row_ptr.size - 1
    w = np.ones(n_r, dtype=np.int64)
    cnt = np.zeros(n_r, dtype=np.int64)
    ids = np.zeros(n_r, dtype=np.int64)
    score = np.zeros(n_c, dtype=np.int64)
    in_set = np.zeros(n_c, dtype=np.bool_)
    stamp = np.zeros(n_c, dtype=np.int64)
    unc = np.arange(n_r).astype(np.int64)
    unc_pos = np.arange(n_r).astype(np.int64)
    n_unc = n_r
    for r in range(n_r):  # every candidate gains every row while nothing is chosen
        for t in range(row_ptr[r], row_ptr[r + 1]):
            score[row_cols[t]] += 1
    changed = np.zeros(n_r, dtype=np.int64)  # configuration checking by ticks
    left = np.full(n_c, -1, dtype=np.int64)  # when each warehouse last left (-1: never)
    tick = 0
    members = np.zeros(n_c, dtype=np.int64)
    n_mem = 0
    for c in range(n_c):
        if start[c]:
            n_unc = _add(c, col_ptr, col_rows, row_ptr, row_cols, w, cnt, ids, score, in_set, unc,
                         unc_pos, n_unc)
            members[n_mem] = c
            n_mem += 1
    while n_unc > 0:  # no start, or not a cover: greedy, most uncovered rows first
        pick = 0
        for c in range(n_c):
            if not in_set[c] and (in_set[pick] or score[c] > score[pick]):
                pick = c
        if in_set[pick] or score[pick] <= 0:
            break  # a row no warehouse covers
        n_unc = _add(pick, col_ptr, col_rows, row_ptr, row_cols, w, cnt, ids, score, in_set,
                     unc, unc_pos, n_unc)
        members[n_mem] = pick
        n_mem += 1
    best_size = n_c + 1
    tabu = -1
    step = 0
    while True:
        while n_unc == 0:  # a cover: keep it, then look for one smaller
            if n_mem < best_size:
                best_size = n_mem
                best_out[:] = in_set
            if n_mem <= max(floor, 1):
                used[0] = step
                return best_size
            i = _least_useful(members, n_mem, score, stamp, -1)
            c = members[i]
            members[i] = members[n_mem - 1]
            n_mem -= 1
            n_unc = _drop(c, col_ptr, col_rows, row_ptr, row_cols, w, cnt, ids, score, in_set, unc,
                          unc_pos, n_unc)
            stamp[c] = step
        step += 1
        if (max_steps > 0 and step >= max_steps) or (
                (step % CHECK_STEPS) == 0 and _now() >= deadline):
            used[0] = step
            return best_size
        if n_mem > 0:
            i = _least_useful(members, n_mem, score, stamp, tabu)
            c = members[i]
            members[i] = members[n_mem - 1]
            n_mem -= 1
            n_unc = _drop(c, col_ptr, col_rows, row_ptr, row_cols, w, cnt, ids, score, in_set, unc,
                          unc_pos, n_unc)
            stamp[c] = step
            tick += 1  # not back until a neighbour changes
            _mark(c, tick, col_ptr, col_rows, changed)
            left[c] = tick
            if n_unc == 0:
                continue  # the warehouse was redundant: a smaller cover
        r = unc[np.random.randint(0, n_unc)]
        pick = -1
        for t in range(row_ptr[r], row_ptr[r + 1]):
            c = row_cols[t]
            if (pick < 0 or score[c] > score[pick] or (
                    score[c] == score[pick] and stamp[c] < stamp[pick])) and _may_return(
                    c, col_ptr, col_rows, changed, left):
                pick = c
        if pick < 0:  # every candidate unchanged since it left: the oldest
            for t in range(row_ptr[r], row_ptr[r + 1]):
                c = row_cols[t]
                if pick < 0 or stamp[c] < stamp[pick]:
                    pick = c
        tick += 1
        _mark(pick, tick, col_ptr, col_rows, changed)
        n_unc = _add(pick, col_ptr, col_rows, row_ptr, row_cols, w, cnt, ids, score, in_set, unc,
                     unc_pos, n_unc)
        members[n_mem] = pick
        n_mem += 1
        stamp[pick] = step
        tabu = pick
        for i in range(n_unc):  # rows left uncovered weigh more
            r = unc[i]
            w[r] += 1
            for t in range(row_ptr[r], row_ptr[r + 1]):
                score[row_cols[t]] += 1


def fewest_cover(cover: np.ndarray, start: np.ndarray, deadline: float, max_steps: int = 0,
                 seed: int = 0, floor: int = 1, used: np.ndarray | None = None,
                 ) -> np.ndarray | None:
    """The smallest cover found: ``cover[w, r]`` says warehouse ``w`` covers row ``r``,
    ``start`` a cover to begin from (none set: the search's own greedy cover, a few
    milliseconds where the Python greedy heuristic takes 80 ms on OR-Library's 5.x);
    booleans over warehouses, or ``None`` when a row has no warehouse."""
    if not cover.any(axis=0).all():
        return None
    cols_w, cols_r = np.nonzero(cover)  # warehouse-major
    col_ptr = np.searchsorted(cols_w, np.arange(cover.shape[0] + 1)).astype(np.int64)
    rows_r, rows_w = np.nonzero(cover.T)  # row-major
    row_ptr = np.searchsorted(rows_r, np.arange(cover.shape[1] + 1)).astype(np.int64)
    best = np.zeros(cover.shape[0], dtype=np.bool_)
    search(col_ptr, cols_r.astype(np.int64), row_ptr, rows_w.astype(np.int64),
           start.astype(np.bool_), best, int(max_steps), float(deadline), int(seed), int(floor),
           np.zeros(1, dtype=np.int64) if used is None else used)
    return best if best.any() else start.astype(np.bool_)


def _warm_up() -> None:
    cover = np.array([[True, False], [False, True], [True, True]])
    fewest_cover(cover, np.array([True, True, False]), time.perf_counter() + 60, 100)


drop_if_changed(search, (clock, cover_kernel))  # its code is compiled into these entries
COMPILED_ON_IMPORT = load_kernels("cover local search", (search,), _warm_up)
"""Whether importing this module compiled the search (a cold cache) rather than loaded it."""
