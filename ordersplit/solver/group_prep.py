"""The solver's small per-order and per-group passes, each one compiled call.

On a 10 x 30 order these cost more in numpy call overhead than in arithmetic, and the
search repeats them per group, stage and placement case:

* :func:`group_arrays`, :func:`bit_arrays`: what the exact search needs of a group (the
  warehouses that can help, fastest first, the fully dominated ones left out; the bit
  masks, the element order, the covering floor, the candidates by supply), as
  :func:`ordersplit.solver.group_search.group_data` and its ``_bit_data`` define them;
  :func:`group_bits` both with the dominance masks in one call;
* :func:`whole_warehouses`: the warehouses that ship a whole group (``_one_warehouse``);
* :func:`plain_pieces_bound`, :func:`fewest_pieces_fill`: a group's fragments bound and
  a set's fewest-pieces fill (``fragments._group_bound``, ``fragments_covers._fill``);
* :func:`sku_elements`, :func:`group_sku_elements`: a small group's SKU elements
  (``group_search.elements``);
* :func:`one_reach_per_group`: ``combination.applicable``'s reach test;
* :func:`fill_items`: the fastest-first fill of any items (``heuristics.state.fill_fastest``);
* :func:`group_order`: the items of each group (``SplitProblem.groups``);
* :func:`fill_plain`: the fastest-first fill of plain lines (``fill_small``);
* :func:`plan_terms`: a plan's objective terms (``evaluate``, ``fragments``);
* :func:`single_skus`, :func:`independent_elements`: ``SplitProblem.single_sku`` and
  ``coverable``.

Each computes exactly its numpy definition (``tests/test_group_prep.py`` and
``tests/test_small_paths.py`` compare them on random inputs). The arrays passed are
read-only where the problem's are (:func:`readonly`), so one compiled variant serves.
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock, cover_kernel, partial_kernel
from ordersplit.solver.cover_kernel import _ONE, _now
from ordersplit.solver.partial_kernel import dominance, full_dominated


@nb.njit(cache=True, nogil=True)
def group_arrays(supply: np.ndarray, ok: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                 demand: np.ndarray, deadline: float,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The warehouses of ``ok`` that supply something, in (hours, cost, id) order, with
    those another one fully dominates left out (see ``group_data``), their supplies
    ``[W, E]`` and element lists (padded rows and lengths, elements in increasing
    order, padded to the widest row before the dominated ones left). The last value is
    False when the deadline stopped the dominance test (the rest is then unusable)."""
    n_all, n_e = supply.shape
    n = 0
    cand = np.empty(n_all, dtype=np.int64)
    for w in range(n_all):
        if ok[w]:
            for e in range(n_e):
                if supply[w, e] != 0:
                    cand[n] = w
                    n += 1
                    break
    cand = cand[:n]
    by_cost = np.argsort(cost[cand], kind="mergesort")
    cand = cand[by_cost]
    cand = cand[np.argsort(hours[cand], kind="mergesort")]
    sup = np.empty((n, n_e), dtype=np.int64)
    hrs = np.empty(n, dtype=np.int64)
    cst = np.empty(n, dtype=np.int64)
    deg = np.zeros(n, dtype=np.int64)
    for i in range(n):
        w = cand[i]
        hrs[i] = hours[w]
        cst[i] = cost[w]
        for e in range(n_e):
            sup[i, e] = supply[w, e]
            if supply[w, e] != 0:
                deg[i] += 1
    width = 1
    for i in range(n):
        width = max(width, deg[i])
    welem = np.zeros((n, width), dtype=np.int64)
    for i in range(n):
        j = 0
        for e in range(n_e):
            if sup[i, e] != 0:
                welem[i, j] = e
                j += 1
    if n <= 1:
        return cand, sup, welem, deg, True
    dominated = np.zeros(n, dtype=np.bool_)
    if not full_dominated(sup, welem, deg, demand, hrs, cst, dominated, deadline):
        return cand, sup, welem, deg, False
    keep = np.flatnonzero(~dominated)
    return cand[keep], sup[keep], welem[keep], deg[keep], True


@nb.njit(cache=True, nogil=True)
def bit_arrays(sup: np.ndarray, demand: np.ndarray, hours: np.ndarray,
               ) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Of a group's supplies ``[W, E]`` (warehouses fastest first): whether it is binary
    (each supply none or the whole demand), the candidate masks per element ``[E, words
    of W]`` and the element masks per warehouse ``[W, words of E]``, the elements by
    fewest candidates (stable), the covering floor (the slowest over elements of the
    fastest prefix that covers it; 0 when some element is not covered), and per element
    its candidates by supply, largest first (stable) ``[E, W]``, with their number."""
    n_w, n_e = sup.shape
    binary = True
    cand = np.zeros((n_e, max(1, (n_w + 63) // 64)), dtype=np.uint64)
    cov = np.zeros((n_w, max(1, (n_e + 63) // 64)), dtype=np.uint64)
    n_by = np.zeros(n_e, dtype=np.int64)
    for w in range(n_w):
        for e in range(n_e):
            s = sup[w, e]
            if s != 0:
                if s != demand[e]:
                    binary = False
                cand[e, w >> 6] |= _ONE << np.uint64(w & 63)
                cov[w, e >> 6] |= _ONE << np.uint64(e & 63)
                n_by[e] += 1
    k_order = np.argsort(n_by, kind="mergesort").astype(np.int64)
    floor = 0
    covered = n_w > 0
    for e in range(n_e):
        total = 0
        reached = -1
        for w in range(n_w):
            total += sup[w, e]
            if total >= demand[e]:
                reached = w
                break
        if reached < 0:
            covered = False
            break
        floor = max(floor, hours[reached])
    if not covered:
        floor = 0
    by_size = np.empty((n_e, n_w), dtype=np.int64)
    for e in range(n_e):
        by_size[e] = np.argsort(-sup[:, e], kind="mergesort")
    return binary, cand, cov, k_order, floor, by_size, n_by


@nb.njit(cache=True, nogil=True)
def group_bits(supply: np.ndarray, ok: np.ndarray, hours: np.ndarray, cost: np.ndarray,
               demand: np.ndarray, deadline: float, timed: bool, dear: bool,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                          bool, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray,
                          np.ndarray, np.ndarray, bool]:
    """:func:`group_arrays`, then :func:`bit_arrays` and (on a partial group) the two
    dominance masks, in one call: a group's whole kernel data as ``group_data`` and
    ``_bit_data`` build it in two (``timed``: the later terms' dominance looks at
    hours, ``dear``: at cost). Returned: the warehouses, supplies, element lists, their
    hours and costs, then what :func:`bit_arrays` returns, the count and terms
    dominance masks (zeros on a binary group), and False when the deadline passed."""
    wh, sup, welem, wdeg, done = group_arrays(supply, ok, hours, cost, demand, deadline)
    hrs = np.empty(wh.size, dtype=np.int64)
    cst = np.empty(wh.size, dtype=np.int64)
    for i in range(wh.size):
        hrs[i] = hours[wh[i]]
        cst[i] = cost[wh[i]]
    need = demand.copy()
    binary, cand, cov, k_order, floor, by_size, n_by = bit_arrays(sup, need, hrs)
    dom_count = np.zeros((wh.size, cand.shape[1]), dtype=np.uint64)
    dom_terms = np.zeros((wh.size, cand.shape[1]), dtype=np.uint64)
    if done:
        done = _now() < deadline
    if done and not binary:
        done = dominance(sup, welem, wdeg, hrs, cst, False, False, dom_count, deadline) and \
            dominance(sup, welem, wdeg, hrs, cst, timed, dear, dom_terms, deadline)
    return (wh, sup, welem, wdeg, hrs, cst, binary, cand, cov, k_order, floor, by_size, n_by,
            dom_count, dom_terms, done)


@nb.njit(cache=True, nogil=True)
def whole_warehouses(supply: np.ndarray, ok: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """The warehouses of ``ok`` that supply every element's whole demand, in index order."""
    out = np.empty(ok.size, dtype=np.int64)
    n = 0
    for w in range(ok.size):
        if ok[w]:
            whole = True
            for e in range(demand.size):
                if supply[w, e] < demand[e]:
                    whole = False
                    break
            if whole:
                out[n] = w
                n += 1
    return out[:n]


@nb.njit(cache=True, nogil=True)
def plain_pieces_bound(items: np.ndarray, skus: np.ndarray, splittable: np.ndarray,
                       qty: np.ndarray, stock: np.ndarray, allowed: np.ndarray,
                       reach: np.ndarray) -> int:
    """``fragments._group_bound`` of ``items`` when every line is one item of its own:
    over the splittable items of more than one unit, the fewest warehouses of ``reach``
    whose capacities (``min(stock, quantity)``, largest first) reach the quantity (or
    as many as have some), less one. -1 when such an item is not a plain line (one
    unit of one SKU): the numpy definition decides then."""
    total = 0
    caps = np.empty(allowed.shape[1], dtype=np.int64)
    for r in range(items.size):
        i = items[r]
        q = qty[i]
        if not splittable[i] or q <= 1:
            continue  # never splits
        k = skus[i]
        if k < 0:
            return -1
        n = 0
        for w in range(allowed.shape[1]):
            if allowed[i, w] and reach[i, w] and stock[w, k] > 0:
                caps[n] = min(stock[w, k], q)
                n += 1
        ranked = np.sort(caps[:n])[::-1]
        pieces = n
        reached = 0
        for j in range(n):
            reached += ranked[j]
            if reached >= q:
                pieces = j + 1
                break
        total += max(pieces, 1) - 1
    return total


@nb.njit(cache=True, nogil=True)
def fewest_pieces_fill(cap: np.ndarray, qty: np.ndarray, hours: np.ndarray,
                       price: np.ndarray, linear: np.ndarray,
                       ) -> tuple[np.ndarray, int, bool]:
    """``fragments_covers._fill``: per line (row of ``cap``, warehouses of one set as
    columns), its units taken in the order of the ``linear`` terms (0 unit hours, 1 its
    unit price ``price[line]``), then largest capacity, fastest, first; the rows, their
    unit hours, and False when a line cannot be covered."""
    n, m = cap.shape
    out = np.zeros((n, m), dtype=np.int64)
    order = np.empty(m, dtype=np.int64)
    for i in range(n):
        for j in range(m):  # insertion sort by the key above (m is a set's size)
            a = j
            while a > 0 and _fill_before(j, order[a - 1], i, cap, hours, price, linear):
                order[a] = order[a - 1]
                a -= 1
            order[a] = j
        need = qty[i]
        for t in range(m):
            if need == 0:
                break
            j = order[t]
            take = min(need, cap[i, j])
            out[i, j] = take
            need -= take
        if need:
            return out, 0, False
    unit = 0
    for j in range(m):
        for i in range(n):
            unit += out[i, j] * hours[j]
    return out, unit, True


@nb.njit(cache=True, inline="always")
def _fill_before(a: int, b: int, i: int, cap: np.ndarray, hours: np.ndarray,
                 price: np.ndarray, linear: np.ndarray) -> bool:
    """Whether column ``a`` comes before ``b`` in :func:`fewest_pieces_fill`'s order."""
    for t in range(linear.size):
        ka = hours[a] if linear[t] == 0 else price[i, a]
        kb = hours[b] if linear[t] == 0 else price[i, b]
        if ka != kb:
            return ka < kb
    if cap[i, a] != cap[i, b]:
        return cap[i, a] > cap[i, b]
    if hours[a] != hours[b]:
        return hours[a] < hours[b]
    return a < b


@nb.njit(cache=True, nogil=True)
def plan_terms(x: np.ndarray, group: np.ndarray, n_groups: int, hours: np.ndarray,
               cost: np.ndarray, lines: np.ndarray, n_lines: int, own_lines: bool,
               ) -> tuple[int, int, int, int, int, int]:
    """The plan terms of ``x[i, w]`` that :func:`~ordersplit.solver.evaluate.evaluate`
    needs, in one pass: opened (group, warehouse) pairs, groups that open any, the
    slowest opened warehouse's hours (meaningless when none opens), unit hours, the opened pairs' cost and
    the (line, warehouse) pieces beyond one per shipping line."""
    n, m = x.shape
    used = np.zeros((n_groups, m), dtype=np.bool_)
    unit = 0
    for i in range(n):
        g = group[i]
        for w in range(m):
            if x[i, w] != 0:
                used[g, w] = True
                unit += x[i, w] * hours[w]
    pairs = 0
    groups = 0
    total_cost = 0
    slowest = np.iinfo(np.int64).min
    for g in range(n_groups):
        opened = False
        for w in range(m):
            if used[g, w]:
                opened = True
                pairs += 1
                total_cost += cost[w]
                slowest = max(slowest, hours[w])
        if opened:
            groups += 1
    pieces = 0
    shipping = 0
    if own_lines:  # each row a line of its own: its nonzero cells are its pieces
        for i in range(n):
            cells = 0
            for w in range(m):
                if x[i, w] != 0:
                    cells += 1
            pieces += cells
            if cells:
                shipping += 1
    else:
        seen = np.zeros((n_lines, m), dtype=np.bool_)
        ships = np.zeros(n_lines, dtype=np.bool_)
        for i in range(n):
            line = lines[i]
            for w in range(m):
                if x[i, w] != 0:
                    ships[line] = True
                    if not seen[line, w]:
                        seen[line, w] = True
                        pieces += 1
        for line in range(n_lines):
            if ships[line]:
                shipping += 1
    return pairs, groups, slowest, unit, total_cost, pieces - shipping


@nb.njit(cache=True, nogil=True)
def fill_plain(hours: np.ndarray, allowed: np.ndarray, open_wh: np.ndarray, skus: np.ndarray,
               qty: np.ndarray, stock: np.ndarray) -> tuple[np.ndarray, bool]:
    """Rows ``[items, warehouses]`` of plain lines (one unit of SKU ``skus[r]`` each,
    ``qty[r]`` of them) inside ``open_wh``: the allowed ones fastest first (ties to the
    lower index), each SKU's demand taken from them in that order and its units handed
    to its lines in item order; ``stock`` consumed in place. False (and ``stock``
    untouched) when the lines do not fit."""
    wh = np.sort(open_wh)
    wh = wh[np.argsort(hours[wh], kind="mergesort")]
    n = 0
    for w in wh:
        if allowed[w]:
            wh[n] = w
            n += 1
    wh = wh[:n]
    n_items = skus.size
    rows = np.zeros((n_items, stock.shape[0]), dtype=np.int64)
    first = np.full(n_items, True)  # the first line of its SKU (the SKU's demand counted)
    taken = np.zeros((n_items, n), dtype=np.int64)  # per first line: what each warehouse gives
    for r in range(n_items):
        for p in range(r):
            if skus[p] == skus[r]:
                first[r] = False
                break
        if not first[r]:
            continue
        need = 0
        for p in range(r, n_items):
            if skus[p] == skus[r]:
                need += qty[p]
        for j in range(n):
            if need == 0:
                break
            got = min(need, stock[wh[j], skus[r]])
            if got > 0:
                taken[r, j] = got
                need -= got
        if need:
            return rows, False
    for r in range(n_items):
        if not first[r]:
            continue
        k = skus[r]
        line = r
        left = qty[r]
        for j in range(n):
            rest = taken[r, j]
            stock[wh[j], k] -= rest
            while rest:
                while left == 0:  # a line of zero units takes nothing
                    line += 1
                    while skus[line] != k:
                        line += 1
                    left = qty[line]
                units = min(rest, left)
                rows[line, wh[j]] += units
                rest -= units
                left -= units
    return rows, True


@nb.njit(cache=True, nogil=True)
def single_skus(usage: np.ndarray) -> np.ndarray:
    """Per item, the SKU it uses when it uses exactly one unit of one SKU, else -1
    (:attr:`~ordersplit.solver.problem.SplitProblem.single_sku`)."""
    n, n_k = usage.shape
    out = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        count = 0
        total = 0
        first = -1
        for k in range(n_k):
            total += usage[i, k]
            if usage[i, k] > 0:
                count += 1
                if first < 0:
                    first = k
        if count == 1 and total == 1:
            out[i] = first
    return out


@nb.njit(cache=True, nogil=True)
def independent_elements(usage: np.ndarray, single_sku: np.ndarray, splittable: np.ndarray,
                         group: np.ndarray) -> bool:
    """Whether no SKU of several items is used by a bundle or an unsplittable item or
    by items of two groups (:attr:`~ordersplit.solver.problem.SplitProblem.coverable`)."""
    n, n_k = usage.shape
    for k in range(n_k):
        users = 0
        first_group = -1
        apart = False  # a non-merged item, or a second group
        for i in range(n):
            if usage[i, k] > 0:
                users += 1
                if single_sku[i] < 0 or not splittable[i]:
                    apart = True
                if users == 1:
                    first_group = group[i]
                elif group[i] != first_group:
                    apart = True
        if users > 1 and apart:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def sku_elements(skus: np.ndarray, splittable: np.ndarray, qty: np.ndarray, stock: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A group's SKU elements (see ``group_search.elements``): which items merge into
    one (splittable, one unit of one SKU), the SKUs they use (increasing), each SKU's
    demand (the merged items' units) and ``[W, SKUs]`` stock capped at that demand."""
    n_w, n_k = stock.shape
    merged = np.zeros(skus.size, dtype=np.bool_)
    units = np.zeros(n_k, dtype=np.int64)
    present = np.zeros(n_k, dtype=np.bool_)
    for r in range(skus.size):
        if skus[r] >= 0 and splittable[r]:
            merged[r] = True
            units[skus[r]] += qty[r]
            present[skus[r]] = True
    local = np.flatnonzero(present).astype(np.int64)
    demand = units[local]
    supply = np.empty((n_w, local.size), dtype=np.int64)
    for w in range(n_w):
        for j in range(local.size):
            supply[w, j] = min(stock[w, local[j]], demand[j])
    return merged, local, demand, supply


@nb.njit(cache=True, nogil=True)
def fill_items(items: np.ndarray, open_wh: np.ndarray, hours: np.ndarray, qty: np.ndarray,
               usage: np.ndarray, splittable: np.ndarray, allowed: np.ndarray,
               stock: np.ndarray) -> tuple[np.ndarray, bool]:
    """``heuristics.state.fill_fastest``: rows of ``items`` inside ``open_wh`` (fastest,
    then lowest id), unsplittable items first (each whole from the first warehouse that
    has all of it), then the others, each in item order, taking what each warehouse
    can give; ``stock`` consumed in place. False when an item does not fit (``stock``
    then holds what the items before it took)."""
    n_w = allowed.shape[1]
    rows = np.zeros((items.size, n_w), dtype=np.int64)
    wh = np.sort(open_wh)
    wh = wh[np.argsort(hours[wh], kind="mergesort")]
    for whole in (True, False):
        for r in range(items.size):
            i = items[r]
            if splittable[i] == whole:
                continue
            need = qty[i]
            for t in range(wh.size):
                if need == 0:
                    break
                w = wh[t]
                if not allowed[i, w]:
                    continue
                cap = need
                first = True
                for k in range(usage.shape[1]):
                    u = usage[i, k]
                    if u != 0:
                        c = stock[w, k] // u
                        cap = c if first else min(cap, c)
                        first = False
                if whole:
                    if cap < need:
                        continue
                    got = need
                else:
                    got = min(need, cap)
                if got:
                    rows[r, w] = got
                    for k in range(usage.shape[1]):
                        if usage[i, k] != 0:
                            stock[w, k] -= usage[i, k] * got
                    need -= got
            if need:
                return rows, False
    return rows, True


@nb.njit(cache=True, nogil=True)
def group_order(group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The items by group (in item order within one), and where each group starts
    (``n_groups + 1`` bounds): ``SplitProblem.groups``'s slices. False (and nothing
    usable) when a group id is outside ``[0, n_groups)``."""
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(group.size):
        if group[i] < 0 or group[i] >= n_groups:
            return np.zeros(0, dtype=np.int64), bounds, False
        bounds[group[i] + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    at = bounds[:-1].copy()
    order = np.empty(group.size, dtype=np.int64)
    for i in range(group.size):
        order[at[group[i]]] = i
        at[group[i]] += 1
    return order, bounds, True


@nb.njit(cache=True, nogil=True)
def group_sku_elements(items: np.ndarray, skus: np.ndarray, splittable: np.ndarray,
                       qty: np.ndarray, stock: np.ndarray,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sku_elements` of the rows ``items`` of the problem's item arrays (no
    copies of them first)."""
    return sku_elements(skus[items], splittable[items], qty[items], stock)


@nb.njit(cache=True, nogil=True)
def one_reach_per_group(allowed: np.ndarray, group: np.ndarray, n_groups: int) -> bool:
    """Whether every item may ship from exactly the warehouses the first item of its
    group may (``combination.applicable``)."""
    first = np.full(n_groups, -1, dtype=np.int64)
    for i in range(group.size):
        g = group[i]
        if first[g] < 0:
            first[g] = i
            continue
        f = first[g]
        for w in range(allowed.shape[1]):
            if allowed[i, w] != allowed[f, w]:
                return False
    return True


def _warm_up() -> None:
    """Compile (or load from numba's cache) both kernels with the run-time types."""
    supply = np.array([[2, 0], [1, 1], [0, 2]], dtype=np.int64)
    demand = np.array([2, 2], dtype=np.int64)
    hours = np.array([1, 2, 3], dtype=np.int64)
    ok = np.ones(3, dtype=np.bool_)
    for arr in (supply, demand, hours):  # as the problem and the group's elements hold them
        arr.setflags(write=False)
    _, sup, _, _, _ = group_arrays(supply, ok, hours, hours, demand,
                                   time.perf_counter() + 60)
    bit_arrays(sup, demand.copy(), hours.copy())
    items = readonly(np.arange(2, dtype=np.int64))
    plain_pieces_bound(items, readonly(np.zeros(2, dtype=np.int64)), readonly(ok[:2].copy()),
                       demand, supply, readonly(ok[:2, None] & ok[None, :]),
                       readonly(ok[:2, None] & ok[None, :]))
    fewest_pieces_fill(supply, demand, hours, supply, readonly(np.zeros(1, dtype=np.int64)))
    for sup_ in (supply, np.array([[2, 0], [2, 2], [0, 2]], dtype=np.int64)):
        sup_.setflags(write=False)
        group_bits(sup_, ok.copy(), hours, hours, demand, time.perf_counter() + 60, True, False)
        whole_warehouses(sup_, ok.copy(), demand)
    x = np.array([[1, 1], [0, 2]], dtype=np.int64)
    group = np.zeros(2, dtype=np.int64)
    group.setflags(write=False)
    for own in (True, False):
        plan_terms(readonly(x), group, 1, hours[:2], hours[:2], group, 1, own)
    fill_plain(hours, readonly(ok), readonly(np.arange(3)), readonly(np.zeros(2, dtype=np.int64)),
               readonly(demand), supply.copy())
    sku = single_skus(supply)  # an items x SKUs usage matrix
    sku_elements(readonly(sku), readonly(ok), readonly(demand), supply)
    group_sku_elements(readonly(np.arange(3, dtype=np.int64)), readonly(sku), readonly(ok),
                       readonly(demand[np.zeros(3, dtype=np.int64)]), supply)
    one_reach_per_group(readonly(ok[:, None] & ok[None, :]), readonly(np.zeros(3, dtype=np.int64)), 1)
    group_order(readonly(np.zeros(3, dtype=np.int64)), 1)
    fill_items(readonly(np.arange(2, dtype=np.int64)), readonly(np.arange(3, dtype=np.int64)),
               hours, readonly(np.ones(2, dtype=np.int64)), readonly(np.eye(2, dtype=np.int64)),
               readonly(ok[:2].copy()), readonly(ok[:2, None] & ok[None, :]), supply.copy())
    independent_elements(supply, readonly(sku), readonly(ok), readonly(sku))


def readonly(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr``: the kernels are compiled for the problem's read-only
    arrays, and a writable one of the same values would compile them once more."""
    if not arr.flags.writeable:
        return arr
    view = arr.view()
    view.setflags(write=False)
    return view


drop_if_changed(group_arrays, (clock, cover_kernel, partial_kernel))  # they call its kernels
COMPILED_ON_IMPORT = load_kernels(
    "group arrays",
    (group_arrays, bit_arrays, group_bits, whole_warehouses, plain_pieces_bound,
     fewest_pieces_fill, plan_terms, fill_plain,
     single_skus, independent_elements, sku_elements, group_sku_elements, one_reach_per_group,
     group_order, fill_items),
    _warm_up)
"""Whether importing this module compiled the kernels (a cold cache) rather than loaded them."""
