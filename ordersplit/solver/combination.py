"""Exact combination search: branch and bound over warehouse sets, group by group.

Each group is a covering problem over elements: a SKU (its splittable single-SKU lines
merged) or any other item on its own (a bundle, an unsplittable line). When no SKU is
contended between elements (:attr:`SplitProblem.coverable`) and the group has one reach
set, a plan is fixed by the warehouse set each group opens: inside a set, shipping each
element fastest-first is optimal for delivery. Contended stock (a bundle sharing a SKU
with a line) is split into coverable placement cases
(:mod:`ordersplit.solver.contention`); only where that does not apply does the search
solve the relaxation in which every element sees the whole stock, its plan proven only
when the shared-stock fill reaches the relaxation's objective. On large groups the count
stage runs in a second thread beside the later stages, which share their root branches
between the two threads (the compiled kernel releases the GIL). The binary groups (the
common case) run in the compiled kernel :mod:`ordersplit.solver.cover_kernel`. The search looks for a
smallest covering set the way set covering is solved by hand - branch on the uncovered
SKU with the fewest candidate warehouses (the scarce item), add one of them, exclude it
in later siblings - and prunes with lexicographic bounds against the incumbent (the
best heuristic plan). Every cover is visited through one of its subsets, so the
smallest cover with the best tie-break is found; when the search completes it is proven.

The objective must put ``children`` first. A global makespan couples the groups; it is
handled in two phases: each group's best makespan fixes the order's makespan ``M*``,
and the groups are then re-optimized for the later terms with every warehouse slower
than ``M*`` left out.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ordersplit.solver import cover_kernel as kernel
from ordersplit.solver.contention import (
    PlacementCase,
    contended_items,
    fits,
    placement_cases,
)
from ordersplit.solver.evaluate import Objective, evaluate
from ordersplit.solver.fragments import without_fragments
from ordersplit.solver.heuristics.state import fill_fastest
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline, parallel_allowed

log = logging.getLogger(__name__)

CHECK_EVERY = 32


def applicable(problem: SplitProblem) -> bool:
    """Whether the search can settle ``problem``: children first, one child per
    warehouse, and one reach set per group.

    It is exact outright when :attr:`SplitProblem.coverable`. Otherwise (a SKU contended
    by a bundle and a line, or by two groups) it solves the relaxation in which every
    element sees the whole stock, a lower bound, and the plan is proven only when the
    real fill from shared stock reaches that bound (see :func:`combination_search`).
    """
    if not problem.per_warehouse:
        return False
    if not problem.objective or problem.objective[0] != "children":
        return False
    for items in problem.groups():
        rows = problem.allowed[items]
        if items.size and not (rows == rows[0]).all():
            return False
    return True


@dataclass
class _BitData:
    """Packed bitmasks of a binary group for the compiled kernel, built once and shared
    by its searches: ``cand[k]`` SKU k's candidate warehouses, ``cov[w]`` the SKUs
    warehouse w covers; ``fastest[k]`` SKU k's fastest candidate."""

    cand: np.ndarray
    cov: np.ndarray
    k_order: np.ndarray
    hours: np.ndarray
    cost: np.ndarray
    demand: np.ndarray
    fastest: np.ndarray


@dataclass
class GroupData:
    """One group's covering problem on the warehouses that can help it."""

    items: IntArray
    wh: IntArray  # problem warehouse index of each local column, fastest first
    supply: IntArray  # [local wh, local sku]
    demand: IntArray  # [local sku]
    hours: IntArray
    cost: IntArray
    bits: _BitData | None = None


def elements(problem: SplitProblem, items: IntArray) -> tuple[IntArray, IntArray]:
    """The group's cover elements (see :attr:`SplitProblem.coverable`): what each
    warehouse can supply of each, ``[W, E]`` capped at the demand, and the demand
    ``[E]`` in item units. SKU elements come first, in SKU order, then the other items."""
    merged = (problem.single_sku[items] >= 0) & problem.splittable[items]
    local, inverse = np.unique(problem.single_sku[items[merged]], return_inverse=True)
    demand = np.bincount(inverse, weights=problem.quantity[items[merged]],
                         minlength=local.size).astype(np.int64)
    supply = np.minimum(problem.stock[:, local], demand[None, :])
    others = items[~merged]
    if others.size == 0:
        return supply, demand
    cap = problem.capacity[others].T  # capped at the quantity, 0 where not allowed
    whole = ~problem.splittable[others]
    q = problem.quantity[others]
    cap = np.where(whole[None, :] & (cap < q[None, :]), 0, cap)
    return np.concatenate([supply, cap], axis=1), np.concatenate([demand, q.astype(np.int64)])


def group_data(problem: SplitProblem, items: IntArray, cap_minutes: int | None) -> GroupData:
    """The group's covering data, dominated warehouses left out.

    A warehouse is dominated when another covers the *whole* demand of every SKU it
    supplies, and is no slower and no dearer (ties: the earlier one stays). In a set
    that holds both, the dominated one ships nothing; in a set that holds only it,
    swapping in the dominator makes no objective term worse. So an optimum survives.
    (Mere elementwise dominance is not enough: two partial stocks may both be needed.)
    """
    supply, demand = elements(problem, items)
    ok = problem.allowed[items[0]].copy()
    if cap_minutes is not None:
        ok &= problem.hours <= cap_minutes
    ok &= supply.any(axis=1)
    wh = np.flatnonzero(ok)
    wh = wh[np.lexsort((wh, problem.cost[wh], problem.hours[wh]))]
    sup, hrs, cst = supply[wh], problem.hours[wh], problem.cost[wh]
    if wh.size > 1:
        # ge[a, b]: a has at least b's supply everywhere; a comes before b in (hours, cost, id)
        full = sup == demand[None, :]
        # ge[a, b]: a covers the whole demand of every SKU that b supplies
        ge = (full[:, None, :] | (sup[None, :, :] == 0)).all(axis=2)
        no_worse = (hrs[:, None] <= hrs[None, :]) & (cst[:, None] <= cst[None, :])
        earlier = np.triu(np.ones((wh.size, wh.size), dtype=bool), k=1)
        same = ge & ge.T & (hrs[:, None] == hrs[None, :]) & (cst[:, None] == cst[None, :])
        dominated = (ge & no_worse & (earlier | ~same)).any(axis=0)
        keep = ~dominated
        wh, sup, hrs, cst = wh[keep], sup[keep], hrs[keep], cst[keep]
    return GroupData(items, wh, sup, demand, hrs, cst)


class _Search:
    """Depth-first branch and bound on one group for the key (count, *terms)."""

    def __init__(self, data: GroupData, terms: tuple[str, ...], stop: Deadline) -> None:
        self.d = data
        self.terms = terms
        self.stop = stop
        self.best_key: tuple[int, ...] | None = None
        self.best_set: IntArray | None = None
        self.nodes = 0
        self.aborted = False

    def evaluate(self, chosen: IntArray) -> tuple[tuple[int, ...], IntArray]:
        """Fastest fill inside ``chosen`` (sorted fastest first); key of the used set."""
        d = self.d
        sup = d.supply[chosen]
        before = np.cumsum(sup, axis=0) - sup
        take = np.clip(d.demand[None, :] - before, 0, sup)
        used = chosen[take.any(axis=1)]
        values = {
            "makespan": int(d.hours[used].max()) if used.size else 0,
            "unit_hours": int((take.sum(axis=1) * d.hours[chosen]).sum()),
            "cost": int(d.cost[used].sum()),
        }
        return (int(used.size), *(values[t] for t in self.terms)), used

    def offer(self, chosen: IntArray) -> None:
        key, used = self.evaluate(np.sort(chosen))
        if self.best_key is None or key < self.best_key:
            self.best_key, self.best_set = key, used

    def prune(self, chosen: list[int], residual: IntArray, avail: IntArray) -> bool:
        """True when no leaf below can beat the incumbent (or none is feasible).

        Compares a lexicographic lower bound term by term, computing each term only
        while the earlier ones tie with the incumbent.
        """
        d = self.d
        need = residual > 0
        sup = d.supply[avail][:, need]
        ordered = -np.sort(-sup, axis=0)
        reach = np.cumsum(ordered, axis=0) >= residual[need][None, :]
        if not reach[-1].all() if reach.size else True:
            return True
        extra = int((~reach).sum(axis=0).max()) + 1
        best = self.best_key
        if best is None:
            return False
        count = len(chosen) + extra
        if count != best[0]:
            return count > best[0]
        idx = np.array(chosen, dtype=np.int64)
        for pos, term in enumerate(self.terms, start=1):
            if term == "makespan":
                first = (sup > 0).argmax(axis=0)  # fastest avail warehouse per needed SKU
                value = max(int(d.hours[idx].max()) if idx.size else 0,
                            int(d.hours[avail[first]].max()))
            elif term == "cost":
                value = int(d.cost[idx].sum()) + int(np.sort(d.cost[avail])[:extra].sum())
            else:  # unit hours of a fastest fill over everything still allowed
                pool = np.sort(np.concatenate([idx, avail]))
                s = d.supply[pool]
                before = np.cumsum(s, axis=0) - s
                take = np.clip(d.demand[None, :] - before, 0, s)
                value = int((take.sum(axis=1) * d.hours[pool]).sum())
            if value != best[pos]:
                return value > best[pos]
        return True

    def run(self, chosen: list[int], residual: IntArray, excluded: np.ndarray) -> None:
        self.nodes += 1
        if self.nodes % CHECK_EVERY == 0 and self.stop.expired():
            self.aborted = True
        if self.aborted:
            return
        if not residual.any():
            self.offer(np.array(chosen, dtype=np.int64))
            return
        avail = np.flatnonzero(~excluded)
        if self.prune(chosen, residual, avail):
            return
        d = self.d
        need = np.flatnonzero(residual > 0)
        counts = (d.supply[np.ix_(avail, need)] > 0).sum(axis=0)
        k = int(need[np.argmin(counts)])  # the scarce SKU: fewest candidates
        cands = avail[d.supply[avail, k] > 0]  # fastest first
        excluded = excluded.copy()
        depth = len(chosen) + 1
        for w in cands:
            if self.best_key is not None and depth > self.best_key[0]:
                return  # every child would open more warehouses than the incumbent
            excluded[w] = True
            rest = np.maximum(residual - d.supply[w], 0)
            if rest.any() and self.best_key is not None and depth >= self.best_key[0]:
                continue  # would need yet another warehouse
            chosen.append(int(w))
            self.run(chosen, rest, excluded)
            chosen.pop()
            if self.aborted:
                return


def is_binary(data: GroupData) -> bool:
    """Every warehouse holds none or all of each SKU's demand: covering is yes/no."""
    return bool(((data.supply == 0) | (data.supply == data.demand[None, :])).all())


def _bit_data(data: GroupData) -> _BitData:
    """The group's packed bitmasks (built once, shared by every search on the group)."""
    if data.bits is None:
        full = data.supply > 0
        data.bits = _BitData(
            cand=kernel.pack(full.T.copy()), cov=kernel.pack(full),
            k_order=np.argsort(full.sum(axis=0), kind="stable").astype(np.int64),
            hours=data.hours.astype(np.int64), cost=data.cost.astype(np.int64),
            demand=data.demand.astype(np.int64),
            fastest=full.argmax(axis=0).astype(np.int64),
        )
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


def _terms_codes(terms: tuple[str, ...]) -> np.ndarray:
    return np.array([kernel.TERM_CODES[t] for t in terms], dtype=np.int64)


def _key_of(data: GroupData, terms: tuple[str, ...], chosen: int) -> tuple[tuple[int, ...], list[int]]:
    """Key of the fastest fill inside the warehouse set ``chosen`` (a bitmask), and
    the warehouses that ship."""
    b = _bit_data(data)
    n_w = data.wh.size
    used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    key = np.zeros(1 + len(terms), dtype=np.int64)
    kernel.leaf_key(b.cand, b.hours, b.cost, b.demand, _terms_codes(terms),
                    kernel.mask_words(chosen, n_w), used, key)
    used_mask = kernel.words_mask(used)
    return tuple(int(v) for v in key), [w for w in range(n_w) if used_mask >> w & 1]


def _run_bits(data: GroupData, terms: tuple[str, ...], stop: Deadline, avail: int,
              start: tuple[tuple[int, ...], list[int] | None] | None,
              chosen: int = 0) -> _BitRun:
    """One search over the warehouses in ``avail`` from ``start`` (an incumbent key and
    set; a set of ``None`` is a bound to beat without a plan behind it), for covers that
    contain the warehouses in ``chosen``."""
    b = _bit_data(data)
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
            best_used[:] = kernel.mask_words(sum(1 << w for w in start[1]), n_w)
    kernel.search(b.cand, b.cov, b.hours, b.cost, b.demand, b.k_order, _terms_codes(terms),
                  kernel.mask_words(avail, n_w), kernel.mask_words(chosen, n_w), best_key,
                  best_used, state, stop.end)
    stop.charge(int(state[1]))
    if state[0] == 0:
        return _BitRun(None, None, int(state[1]), bool(state[2]))
    key = tuple(int(v) for v in best_key)
    if state[0] == 1:
        return _BitRun(key, None, int(state[1]), bool(state[2]))
    used = kernel.words_mask(best_used)
    return _BitRun(key, [w for w in range(n_w) if used >> w & 1], int(state[1]), bool(state[2]))


@dataclass
class CombinationOutcome:
    """The search's plan, whether it is proven optimal, a proven lower bound on the
    children (0 when not even the count was proven), and the nodes visited."""

    assignment: IntArray | None
    proven: bool
    children_bound: int
    nodes: int
    infeasible: bool = False


@dataclass
class GroupOutcome:
    """One group's best warehouse set (problem ids) and key; ``proven`` for the whole
    key, ``count_proven`` for its first entry (the count stage finished)."""

    wh: IntArray | None
    key: tuple[int, ...] | None
    proven: bool
    count_proven: bool
    nodes: int


def _incumbent_key(data: GroupData, x_rows: IntArray, terms: tuple[str, ...],
                   problem: SplitProblem) -> tuple[tuple[int, ...], IntArray] | None:
    """The incumbent's key in this group's local terms, or ``None`` if it uses a
    warehouse outside this phase's reach (above the cap, or left out as dominated)."""
    used = np.flatnonzero(x_rows.sum(axis=0))
    lookup = np.full(problem.n_warehouses, -1, dtype=np.int64)
    lookup[data.wh] = np.arange(data.wh.size)
    local = lookup[used]
    if used.size == 0 or (local < 0).any():
        return None
    search = _Search(data, terms, Deadline(0))
    return search.evaluate(np.sort(local))


def _greedy_cover(data: GroupData) -> list[int] | None:
    """A quick cover: repeatedly the warehouse covering most uncovered SKUs (fastest on
    ties); ``None`` when some SKU has no candidate."""
    b = _bit_data(data)
    chosen = np.zeros(max(1, data.wh.size), dtype=np.int64)
    size = kernel.greedy_cover(b.cov, int(b.demand.size), chosen)
    return None if size < 0 else [int(w) for w in chosen[:size]]


def _search_binary(data: GroupData, terms: tuple[str, ...], stop: Deadline,
                   inc: tuple[tuple[int, ...], IntArray] | None,
                   count_limit: int | None = None) -> GroupOutcome:
    """Binary groups. When makespan directly follows children, it is found by a binary
    search over arrival times (is there a cover of ``c*`` warehouses no slower than
    ``H``?), and only the terms after it are searched by enumeration under that cap."""
    everything = (1 << data.wh.size) - 1
    start: tuple[tuple[int, ...], list[int] | None] | None
    start = None if inc is None else (inc[0], [int(w) for w in inc[1]])
    if start is None and count_limit is not None:  # only sets of at most the limit
        start = ((count_limit + 1,) + (0,) * len(terms), None)
    nodes = 0
    proven = True

    def done(bits: _BitRun) -> None:
        nonlocal nodes, proven
        nodes += bits.nodes
        proven &= not bits.aborted

    if not terms or terms[0] != "makespan":
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
            pending = _pool().submit(_run_bits, data, (), stop, everything, seed)
            ahead = _after_count(data, terms, stop, len(guess), guess)
            count = pending.result()
        else:
            count = _run_bits(data, (), stop, everything, seed)
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


def _run_split(data: GroupData, terms: tuple[str, ...], stop: Deadline, avail: int,
               start: tuple[tuple[int, ...], list[int] | None] | None) -> _BitRun:
    """:func:`_run_bits` with its root branches shared by this thread and the pool's.

    The root branches on the SKU with the fewest candidates: branch ``i`` takes its
    ``i``-th candidate and excludes the earlier ones, so the branches split the covers
    between them. Each thread takes the next branch, seeded with the best key so far.

    With later terms (the last stage, whose set is the plan) a branch may tie that key,
    and ``start`` counts as a bound only, so the set returned does not depend on timing:
    the smallest key, ties to the earliest branch. Count-only searches (the makespan
    probes, of which only the count is used) must beat the key, which prunes far more.
    """
    full = data.supply > 0
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
            run = _run_bits(data, terms, stop, branch_avail, seed, chosen=1 << w)
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
    makespan by binary search over arrival times, then the later terms under it."""
    search = _run_split if _threads_for(data) > 1 else _run_bits
    nodes = 0
    aborted = False
    hours = [int(h) for h in data.hours]
    levels = sorted({hours[w] for w in range(data.wh.size)})
    # No cover is faster than the slowest of each SKU's fastest candidate.
    floor = int(data.hours[_bit_data(data).fastest].max())
    lo, hi = levels.index(floor), levels.index(max(hours[w] for w in found))
    while lo < hi and not stop.expired():
        mid = (lo + hi) // 2
        cap = levels[mid]
        under = sum(1 << w for w in range(data.wh.size) if hours[w] <= cap)
        probe = search(data, (), stop, under, ((c_star + 1,), None))
        nodes += probe.nodes
        aborted |= probe.aborted
        if probe.best_set is not None and len(probe.best_set) <= c_star:
            hi, found = mid, probe.best_set
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
        bits = search(data, rest, stop, under, (seed_key, seed_set))
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
    exists."""
    if items.size == 0:
        return GroupOutcome(np.zeros(0, dtype=np.int64), (0,) * (1 + len(terms)), True, True, 0)
    data = group_data(problem, items, cap_minutes)
    inc = None if incumbent_rows is None else _incumbent_key(data, incumbent_rows, terms, problem)
    if is_binary(data):
        return _search_binary(data, terms, stop, inc, count_limit)
    search = _Search(data, terms, stop)
    if inc is not None:
        search.best_key, search.best_set = inc
    elif count_limit is not None:
        search.best_key = (count_limit + 1,) + (0,) * len(terms)
    search.run([], data.demand.copy(), np.zeros(data.wh.size, dtype=bool))
    ok = not search.aborted
    if search.best_set is None:
        return GroupOutcome(None, None, ok, ok, search.nodes)
    return GroupOutcome(data.wh[search.best_set], search.best_key, ok, ok, search.nodes)


def combination_search(problem: SplitProblem, stop: Deadline,
                       incumbent: IntArray | None = None) -> CombinationOutcome:
    """Exact lexicographic optimum when :func:`applicable`, within ``stop``.

    Contended stock is first split into coverable placement cases
    (:mod:`ordersplit.solver.contention`); when it cannot be, the relaxation is searched
    and its plan verified. Line fragments are not a term of this search (the portfolio's
    post-stage, :mod:`ordersplit.solver.fragments`, settles them): it optimizes the others.
    """
    problem = without_fragments(problem)
    if not problem.coverable:
        cases = placement_cases(problem)
        if cases:
            return _search_cases(problem, cases, stop)
    return _search_problem(problem, stop, incumbent)


def _search_cases(problem: SplitProblem, cases: list[PlacementCase],
                  stop: Deadline) -> CombinationOutcome:
    """Best plan over the placement cases; proven when every case's search finished.

    Groups that use no SKU of a placed item are the same in every case and searched
    once. A first pass finds each case's fewest children (the cheap stage); only the
    cases that reach the fewest are then searched for the later terms.
    """
    best_x: IntArray | None = None
    best_key: tuple[int, ...] | None = None
    proven = True
    bound: int | None = None
    nodes = 0
    items = contended_items(problem)
    touched = (problem.usage[:, problem.usage[items].any(axis=0)] > 0).any(axis=1)
    varying = {int(g) for g in problem.group[touched]}
    cache: dict[tuple[object, ...], GroupOutcome] = {}
    fewest: int | None = None
    if len(cases) > 1 and len(problem.objective) > 1:
        counted: list[tuple[PlacementCase, int | None]] = []
        for case in cases:
            only_count = dataclasses.replace(case.problem, objective=("children",))
            first = _search_problem(only_count, stop, None, fewest, cache, varying)
            nodes += first.nodes
            if first.infeasible:  # no plan, or none with as few children as an earlier case
                continue
            c = first.children_bound if first.proven and first.assignment is not None else None
            counted.append((case, c))  # None: not finished, so searched in full below
            if c is not None:
                fewest = c if fewest is None else min(fewest, c)
        cases = [case for case, c in counted if c is None or c == fewest]
    for case in cases:
        limit = fewest if best_key is None else best_key[0]
        out = _search_problem(case.problem, stop, None, limit, cache, varying)
        nodes += out.nodes
        if out.infeasible:
            continue
        proven &= out.proven
        bound = out.children_bound if bound is None else min(bound, out.children_bound)
        x = out.assignment
        if x is None:
            continue
        if not fits(problem, x):  # cannot happen by construction; never trust it blindly
            log.warning("placement case %s oversells stock; case ignored", case.placement)
            proven = False
            continue
        key = evaluate(problem, x).key(problem.objective)
        if best_key is None or key < best_key:
            best_x, best_key = x, key
    if best_x is None:
        return CombinationOutcome(None, False, bound or 0, nodes, infeasible=bound is None)
    return CombinationOutcome(best_x, proven, bound or 0, nodes)


def _search_problem(problem: SplitProblem, stop: Deadline, incumbent: IntArray | None,
                    count_limit: int | None = None,
                    cache: dict[tuple[object, ...], GroupOutcome] | None = None,
                    varying: set[int] | None = None) -> CombinationOutcome:
    """The search on one problem: exact when coverable, else on the relaxation.

    With ``count_limit`` only plans of at most that many children are looked for
    (``infeasible`` then means none exists). ``cache`` keeps the outcomes of the groups
    not in ``varying`` between calls on problems that differ only in those groups.
    """
    terms = problem.objective[1:]
    groups = problem.groups()
    nodes = 0
    proven = True
    counts_proven = True
    fixed = [] if varying is None else [g for g in range(len(groups)) if g not in varying]
    # fixed groups first, so that a varying group's count limit knows what they spend
    order = fixed + [g for g in range(len(groups)) if varying is None or g in varying]
    nonempty = sum(1 for items in groups if items.size)

    def phase(active_terms: tuple[str, ...], cap: int | None, start: IntArray | None,
              only: list[bool] | None = None, keep: list[IntArray | None] | None = None,
              kept: list[tuple[int, ...] | None] | None = None,
              ) -> tuple[list[IntArray | None], list[tuple[int, ...] | None]]:
        nonlocal nodes, proven, counts_proven
        sets: list[IntArray | None] = [None] * len(groups)
        keys: list[tuple[int, ...] | None] = [None] * len(groups)
        spent = 0  # children of the groups done so far (fixed groups go first)
        for done, g in enumerate(order):
            items = groups[g]
            if only is not None and not only[g] and keep is not None and kept is not None:
                sets[g], keys[g] = keep[g], kept[g]
                continue
            inc = start[items] if start is not None else None
            limit = None
            if count_limit is not None and only is None and items.size:
                later = sum(1 for h in order[done + 1:] if groups[h].size)
                limit = count_limit - spent - later  # every later group opens one at least
            memo = None
            if cache is not None and g in fixed:
                memo = (g, active_terms, cap, None if inc is None else inc.tobytes())
            out = cache.get(memo) if cache is not None and memo is not None else None
            if out is None:
                out = search_group(problem, items, active_terms, cap, stop, inc,
                                   None if memo is not None else limit)
                if memo is not None and cache is not None and out.proven:
                    cache[memo] = out
                nodes += out.nodes
            elif limit is not None and out.key is not None and out.key[0] > limit:
                out = GroupOutcome(None, None, True, True, 0)
            proven &= out.proven
            counts_proven &= out.count_proven
            sets[g], keys[g] = out.wh, out.key
            if out.key is not None:
                spent += out.key[0]
            elif nonempty:
                break  # no plan within the limit: the other groups need not be searched
        return sets, keys

    def build(sets: list[IntArray | None]) -> IntArray | None:
        if any(s is None for s in sets):
            return None
        x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
        stock = problem.stock.copy()
        for items, wh in zip(groups, sets, strict=True):
            assert wh is not None
            rows = fill_fastest(problem, items, wh, stock)
            if rows is None:  # a contended SKU: the relaxation's sets do not fit
                return None
            x[items] = rows
        return x

    sets, keys = phase(terms, None, incumbent)
    # each group's count, once proven, bounds the children whatever the later stages do
    bound = sum(k[0] for k in keys if k is not None) if counts_proven else 0
    if any(s is None for s in sets):
        # with no incumbent, a finished search that found no set proves there is none
        return CombinationOutcome(None, False, bound, nodes,
                                  infeasible=counts_proven and incumbent is None)
    final = sets
    if "makespan" in terms and terms.index("makespan") + 1 < len(terms):
        pos = terms.index("makespan")
        m_star = max([problem.fixed_makespan] + [k[1 + pos] for k in keys if k is not None])
        # A group whose own best makespan is M* already has the best later terms; only
        # the faster groups may trade speed for the later terms, up to M*.
        below = [k is not None and k[1 + pos] < m_star for k in keys]
        if any(below):
            later = terms[:pos] + terms[pos + 1:]
            sets2, _ = phase(later, m_star, build(sets), below, sets, keys)
            if any(s is None for s in sets2):
                proven = False
            else:
                final = sets2
    x = build(final)
    if x is None and final is not sets:
        proven, x = False, build(sets)
    if x is None:  # the relaxation's sets do not fit the shared stock
        return CombinationOutcome(None, False, bound, nodes)
    if proven:
        # proven for the relaxation; the plan is optimal when it reaches that bound
        objective = problem.objective
        proven = evaluate(problem, x).key(objective) == relaxed_objective(
            problem, groups, final).key(objective)
    return CombinationOutcome(x, proven, bound, nodes)


def relaxed_objective(problem: SplitProblem, groups: list[IntArray],
                      sets: list[IntArray | None]) -> Objective:
    """The objective of the chosen warehouse sets when every element sees the whole
    stock and ships fastest first (ties: cheaper, then lower id), as the search scores
    them: a lower bound on any plan when the search proved the sets optimal."""
    children = unit = cost = 0
    makespan = problem.fixed_makespan
    for items, chosen in zip(groups, sets, strict=True):
        if items.size == 0 or chosen is None or chosen.size == 0:
            continue
        supply, demand = elements(problem, items)
        wh = chosen[np.lexsort((chosen, problem.cost[chosen], problem.hours[chosen]))]
        sup = supply[wh]
        before = np.cumsum(sup, axis=0) - sup
        take = np.clip(demand[None, :] - before, 0, sup)
        used = wh[take.any(axis=1)]
        children += used.size
        unit += int((take.sum(axis=1) * problem.hours[wh]).sum())
        cost += int(problem.cost[used].sum())
        if used.size:
            makespan = max(makespan, int(problem.hours[used].max()))
    return Objective(children, makespan, unit, cost)
