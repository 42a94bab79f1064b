"""A small order's combination search in one compiled call: per group the
one-warehouse check, the group's kernel data and the staged search; per order every
group, both makespan phases and the fill.

:func:`ordersplit.solver.group_search.search_group` does, for an unpriced group: the
warehouses that ship the whole group (then the best of them by the terms, fastest,
cheapest, first: ``_one_of``), else the group's kernel data
(:func:`~ordersplit.solver.group_prep.group_bits`), the incumbent's key
(``_incumbent_key``) and the staged search
(:func:`~ordersplit.solver.staged_kernel.staged_search`), each a kernel call with
Python around it (result objects, a dozen arrays boxed and unboxed); and
``combination._search_problem`` runs that per group and phase, then fills each group
(``fill_group``). On a 10 x 30 order that glue costs more than the kernels.
:func:`small_group` runs one group's steps on the same arrays in one call and returns
what ``search_group`` returns; :func:`small_order` runs ``_search_problem`` of a
coverable order (no SKU shared between elements or groups) without an incumbent or a
count limit. The Python path stays for everything they decline (a priced group, a work
budget, large groups, placement cases, a floor that is no arrival level) and is their
definition (``tests/test_group_kernel.py`` compares them).

numba compiles the kernels it calls into this module's cache entry, so the entry is
dropped whenever their sources change (:func:`ordersplit.kernels.drop_if_changed`).
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock, group_prep, staged_kernel
from ordersplit.solver import cover_kernel as kernel
from ordersplit.solver import partial_kernel as pkernel
from ordersplit.solver.cover_kernel import COST, MAKESPAN, UNIT_HOURS, _now
from ordersplit.solver.group_prep import (
    fill_items,
    fill_plain,
    group_bits,
    group_order,
    plan_terms,
    sku_elements,
    whole_warehouses,
)
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


@nb.njit(cache=True)
def _incumbent(inc_used: np.ndarray, wh: np.ndarray, binary: bool, sup: np.ndarray,
               cand: np.ndarray, hrs: np.ndarray, cst: np.ndarray, worth: np.ndarray,
               demand: np.ndarray, codes: np.ndarray, start_key: np.ndarray,
               start_set: np.ndarray) -> int:
    """``_incumbent_key``: the start kind (2, its key and set in ``start_key`` and
    ``start_set``) of an incumbent shipping from the warehouses of ``inc_used``, or 0
    when one of them is not among the group's (``wh``) or they do not cover it."""
    local = np.full(inc_used.size, -1, dtype=np.int64)
    for i in range(wh.size):
        local[wh[i]] = i
    chosen = np.zeros(start_set.size, dtype=np.uint64)
    some = False
    for w in range(inc_used.size):
        if inc_used[w]:
            if local[w] < 0:
                return 0
            some = True
            chosen[local[w] >> 6] |= kernel._ONE << np.uint64(local[w] & 63)
    if not some or not staged_kernel._covers(sup, demand, chosen):
        return 0
    staged_kernel._leaf(binary, sup, cand, hrs, cst, worth, demand, codes, chosen, start_key,
                        start_set)
    return 2


@nb.njit(cache=True, nogil=True)
def small_group(supply: np.ndarray, ok: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                demand: np.ndarray, codes: np.ndarray, timed: bool, dear: bool,
                start_kind: int, start_count: int, inc_used: np.ndarray, deadline: float,
                key_out: np.ndarray, info: np.ndarray) -> np.ndarray:
    """``search_group`` of an unpriced group, from its elements (``supply`` ``[W, E]``,
    ``demand``) and reach ``ok``: ``codes`` are the terms after the count,
    ``timed``/``dear`` whether the later terms' dominance looks at hours and cost; the
    start is kind 0 (none), 1 (``start_count`` warehouses to beat: the count limit plus
    one) or 2 (an incumbent shipping from the warehouses of ``inc_used``, which becomes
    the start when the group's data holds them all and they cover it, as
    ``_incumbent_key`` decides). Returns the chosen warehouses (problem ids, in the order the Python
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
    worth = np.zeros((0, wh.size), dtype=np.int64)
    need = demand.copy()
    start_key = np.zeros(1 + codes.size, dtype=np.int64)
    start_set = np.zeros(words, dtype=np.uint64)
    kind = start_kind
    if start_kind == 1:
        start_key[0] = start_count
    elif start_kind == 2:
        kind = _incumbent(inc_used, wh, binary, sup, cand, hrs, cst, worth, need, codes,
                          start_key, start_set)
    key = np.zeros(1 + codes.size, dtype=np.int64)
    used = np.zeros(words, dtype=np.uint64)
    staged = np.zeros(5, dtype=np.int64)
    staged_search(binary, sup, cand, cov, by_size, n_by, welem, wdeg, dom_count, dom_terms,
                  hrs, cst, worth, need, k_order, codes, floor, kind, start_key, start_set,
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


@nb.njit(cache=True)
def _elements(items: np.ndarray, single_sku: np.ndarray, splittable: np.ndarray,
              quantity: np.ndarray, usage: np.ndarray, stock: np.ndarray,
              allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``group_search.elements``: the SKU elements (merged plain lines, in SKU order),
    then each other item (a bundle, an unsplittable line) with what a warehouse could
    ship of it alone (``SplitProblem.capacity_of``; 0 where not allowed, and for an
    unsplittable item where it cannot ship all of it)."""
    merged, local, demand, supply = sku_elements(single_sku[items], splittable[items],
                                                 quantity[items], stock)
    n_w = stock.shape[0]
    n_other = 0
    for r in range(items.size):
        if not merged[r]:
            n_other += 1
    if n_other == 0:
        return supply, demand
    sup = np.empty((n_w, local.size + n_other), dtype=np.int64)
    dem = np.empty(local.size + n_other, dtype=np.int64)
    sup[:, :local.size] = supply
    dem[:local.size] = demand
    j = local.size
    for r in range(items.size):
        if merged[r]:
            continue
        i = items[r]
        q = quantity[i]
        for w in range(n_w):
            c = 0
            if allowed[i, w]:
                c = q
                for k in range(usage.shape[1]):
                    if usage[i, k] > 0:
                        c = min(c, stock[w, k] // usage[i, k])
                if not splittable[i] and c < q:
                    c = 0
            sup[w, j] = c
        dem[j] = q
        j += 1
    return sup, dem


@nb.njit(cache=True)
def _fill(order: np.ndarray, bounds: np.ndarray, sets: list[np.ndarray],
          single_sku: np.ndarray, splittable: np.ndarray, quantity: np.ndarray,
          usage: np.ndarray, stock: np.ndarray, allowed: np.ndarray, hours: np.ndarray,
          x: np.ndarray) -> bool:
    """``combination.build`` of a coverable order: each group's rows inside its set from
    a copy of the stock (``fill_group``: plain lines by :func:`fill_plain`, others by
    :func:`fill_items`); False when a group does not fit."""
    x[:] = 0
    left = stock.copy()
    for g in range(bounds.size - 1):
        items = order[bounds[g]:bounds[g + 1]]
        if items.size == 0:
            continue
        plain = True
        for i in items:
            if single_sku[i] < 0 or not splittable[i]:
                plain = False
        if plain:
            rows, fits = fill_plain(hours, allowed[items[0]], sets[g], single_sku[items],
                                    quantity[items], left)
        else:
            rows, fits = fill_items(items, sets[g], hours, quantity, usage, splittable,
                                    allowed, left)
        if not fits:
            return False
        for r in range(items.size):
            x[items[r]] = rows[r]
    return True


@nb.njit(cache=True)
def _dominance_terms(codes: np.ndarray) -> tuple[bool, bool]:
    """Whether the later terms' dominance looks at hours, and at cost."""
    timed = False
    dear = False
    for c in codes:
        timed |= (c == MAKESPAN) | (c == UNIT_HOURS)
        dear |= c == COST
    return timed, dear


@nb.njit(cache=True, nogil=True)
def small_order(group: np.ndarray, n_groups: int, single_sku: np.ndarray,
                splittable: np.ndarray, quantity: np.ndarray, usage: np.ndarray,
                stock: np.ndarray, allowed: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                fixed_makespan: int, codes: np.ndarray, span: int, later: np.ndarray,
                lines: np.ndarray, n_lines: int, own_lines: bool, deadline: float,
                x: np.ndarray, info: np.ndarray) -> None:
    """``combination._search_problem`` of a coverable, unpriced order with no incumbent,
    count limit or placement cases: each group by :func:`small_group` (``codes``: the
    terms after the count); when the makespan is term ``span`` of them (-1: not, or
    last) the groups faster than the order's makespan again under it for the ``later``
    terms, from the first plan; the plan in ``x``. ``info``: the outcome (:data:`FOUND`
    a plan, :data:`NONE` none, :data:`DECLINED` left to the Python path), proven, the
    proven children bound, nodes, whether no plan exists, and with a plan its
    :func:`~ordersplit.solver.group_prep.plan_terms` (``lines``, ``n_lines``,
    ``own_lines`` as ``evaluate`` passes them)."""
    info[:] = 0
    order, bounds, done = group_order(group, n_groups)
    if not done:
        info[0] = DECLINED
        return
    n_w = hours.size
    none = np.zeros(0, dtype=np.bool_)
    sups = []
    dems = []
    nonempty = 0
    for g in range(n_groups):
        items = order[bounds[g]:bounds[g + 1]]
        s, d = _elements(items, single_sku, splittable, quantity, usage, stock, allowed)
        sups.append(s)
        dems.append(d)
        if items.size:
            nonempty += 1
    keys = np.zeros((n_groups, 1 + codes.size), dtype=np.int64)
    sets = [np.zeros(0, dtype=np.int64) for _ in range(n_groups)]
    key = np.zeros(1 + codes.size, dtype=np.int64)
    ginfo = np.zeros(4, dtype=np.int64)
    proven = True
    counts_proven = True
    nodes = 0
    found = 0
    timed, dear = _dominance_terms(codes)
    for g in range(n_groups):
        items = order[bounds[g]:bounds[g + 1]]
        if items.size == 0:  # no warehouse, no terms
            found += 1
            continue
        ok = allowed[items[0]].copy()
        chosen = small_group(sups[g], ok, hours, cost, dems[g], codes, timed, dear, 0, 0, none,
                             deadline, key, ginfo)
        if ginfo[0] == DECLINED:
            info[0] = DECLINED
            return
        if ginfo[0] == EXPIRED:
            proven = False
            counts_proven = False
            break
        nodes += ginfo[1]
        proven &= ginfo[2] != 0
        counts_proven &= ginfo[3] != 0
        if ginfo[0] != FOUND:
            break
        sets[g] = chosen
        keys[g] = key
        found += 1
    bound = 0
    if counts_proven:
        for g in range(found):  # the groups before the first without a set
            bound += keys[g, 0]
    info[2], info[3] = bound, nodes
    if found < n_groups:  # a group without a set: no plan (none exists when proven)
        info[0] = NONE
        info[4] = counts_proven
        return
    final = sets
    replaced = False
    if span >= 0:
        m_star = fixed_makespan
        for g in range(n_groups):
            m_star = max(m_star, keys[g, 1 + span])
        below = np.zeros(n_groups, dtype=np.bool_)
        searched = False
        for g in range(n_groups):
            below[g] = keys[g, 1 + span] < m_star
            searched |= below[g] and keys[g, 0] > 1
        if below.any():
            start = np.zeros_like(x)
            started = searched and _fill(order, bounds, sets, single_sku, splittable, quantity,
                                         usage, stock, allowed, hours, start)
            sets2 = [s for s in sets]
            key2 = np.zeros(1 + later.size, dtype=np.int64)
            all_found = True
            l_timed, l_dear = _dominance_terms(later)
            under = hours <= m_star
            for g in range(n_groups):
                if not below[g]:
                    continue
                items = order[bounds[g]:bounds[g + 1]]
                if items.size == 0:
                    continue
                ok = allowed[items[0]] & under
                kind = 0
                inc = none
                if started:
                    kind = 2
                    inc = np.zeros(n_w, dtype=np.bool_)
                    for i in items:
                        for w in range(n_w):
                            if start[i, w] != 0:
                                inc[w] = True
                chosen = small_group(sups[g], ok, hours, cost, dems[g], later, l_timed, l_dear,
                                     kind, 0, inc, deadline, key2, ginfo)
                if ginfo[0] == DECLINED:
                    info[0] = DECLINED
                    return
                if ginfo[0] == EXPIRED:
                    all_found = False
                    proven = False
                    break
                nodes += ginfo[1]
                proven &= ginfo[2] != 0
                if ginfo[0] != FOUND:
                    all_found = False
                    break
                sets2[g] = chosen
            if not all_found:
                proven = False
            else:
                final = sets2
                replaced = True
    info[3] = nodes
    fits = _fill(order, bounds, final, single_sku, splittable, quantity, usage, stock, allowed,
                 hours, x)
    if not fits and replaced:
        proven = False
        fits = _fill(order, bounds, sets, single_sku, splittable, quantity, usage, stock,
                     allowed, hours, x)
    if not fits:
        info[0], info[1] = NONE, 0
        return
    info[0], info[1] = FOUND, proven
    info[5:11] = plan_terms(x, group, n_groups, hours, cost, lines, n_lines, own_lines)


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
        for kind in (0, 2):
            small_group(sup, np.ones(3, dtype=np.bool_), hours, hours, demand, codes, True,
                        False, kind, 0, np.ones(3, dtype=np.bool_), far,
                        np.zeros(3, dtype=np.int64), np.zeros(4, dtype=np.int64))
    usage = np.eye(2, dtype=np.int64)
    skus = np.arange(2, dtype=np.int64)
    ones = np.ones(2, dtype=np.bool_)
    qty = np.array([2, 2], dtype=np.int64)
    group = np.zeros(2, dtype=np.int64)
    for fixed in (usage, skus, ones, qty, group):
        fixed.setflags(write=False)
    for split_ok in (ones, np.array([True, False])):  # plain lines; an unsplittable one
        split_ok.setflags(write=False)
        for stock in ([[2, 0], [1, 1], [0, 2]], [[2, 0], [2, 2], [0, 2]]):
            stock_ = np.array(stock, dtype=np.int64)
            allowed = np.ones((2, 3), dtype=np.bool_)
            stock_.setflags(write=False)
            allowed.setflags(write=False)
            for span in (0, -1):
                for own in (True, False):
                    small_order(group, 1, skus, split_ok, qty, usage, stock_, allowed, hours,
                                hours, 0, codes, span, codes[1:].copy(), skus, 2, own, far,
                                np.zeros((2, 3), dtype=np.int64), np.zeros(11, dtype=np.int64))


drop_if_changed(small_group, (clock, kernel, pkernel, group_prep, staged_kernel))
COMPILED_ON_IMPORT = load_kernels("small group search", (small_group, small_order), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
small_order.disable_compile()  # other array types would compile it in an order's budget:
# they raise a TypeError instead, and the caller takes the Python path
