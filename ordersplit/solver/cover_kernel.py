"""The compiled kernel of the exact combination search on binary groups.

The branch and bound of :mod:`ordersplit.solver.combination` spends its time in a few
bit operations per node; in Python each costs a bytecode dispatch and a big-int
allocation, so a node took about 15 us. Here the same search runs on ``uint64`` word
arrays compiled by numba (``cache=True``: compiled once per installation, loaded from
the cache afterwards), at about a microsecond per node.

Conventions: warehouses are bits in fastest-first order, so the lowest set bit of a
candidate mask is the fastest candidate; ``cand[k]`` is SKU ``k``'s candidate mask over
warehouses, ``cov[w]`` warehouse ``w``'s mask over SKUs. ``terms`` encodes the objective
terms after the count: 0 makespan, 1 unit hours, 2 cost, 3 stock value; ``worth[k, w]``
is one unit of SKU ``k``'s stock value at ``w`` (no rows: no stock value, and each SKU
ships from its fastest chosen candidate; with rows, from the one with the lowest unit
hours and stock value in the order of ``terms``, see :func:`source`).

The module compiles its functions when imported (once per installation, then loaded
from numba's cache), so that no order's time budget pays for it. A cold compile logs a
warning with its expected time first; ``ordersplit warmup`` compiles on purpose.
"""

from __future__ import annotations

import logging
import time

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock

log = logging.getLogger(__name__)

MAKESPAN, UNIT_HOURS, COST, STOCK_VALUE = 0, 1, 2, 3
TERM_CODES = {"makespan": MAKESPAN, "unit_hours": UNIT_HOURS, "cost": COST,
              "stock_value": STOCK_VALUE}
CHECK_MASK = 255  # look at the clock every 256 nodes (a bounded node takes up to ~10 us)

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ONE = np.uint64(1)


@nb.njit(cache=True, inline="always")
def _popcount(x: np.uint64) -> int:
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return int((x * _H01) >> np.uint64(56))


@nb.njit(cache=True, inline="always")
def _low(x: np.uint64) -> int:
    """Index of the lowest set bit of a non-zero word."""
    return _popcount((x & (~x + _ONE)) - _ONE)


@nb.njit(cache=True)
def _now() -> float:
    return clock.now()  # perf_counter's clock, without object mode on Linux


@nb.njit(cache=True, inline="always")
def _first(mask: np.ndarray) -> int:
    """Lowest set bit of a multiword mask, or -1."""
    for i in range(mask.size):
        if mask[i]:
            return 64 * i + _low(mask[i])
    return -1


@nb.njit(cache=True, inline="always")
def _first_and(a: np.ndarray, b: np.ndarray) -> int:
    """Lowest set bit of ``a & b``, or -1."""
    for i in range(a.size):
        x = a[i] & b[i]
        if x:
            return 64 * i + _low(x)
    return -1


@nb.njit(cache=True, inline="always")
def _count(mask: np.ndarray) -> int:
    """Number of set bits of a multiword mask."""
    n = 0
    for i in range(mask.size):
        n += _popcount(mask[i])
    return n


@nb.njit(cache=True, inline="always")
def _reach_of(cov: np.ndarray, w: int, unc: np.ndarray) -> int:
    """How many of the SKUs in ``unc`` warehouse ``w`` covers."""
    r = 0
    for j in range(unc.size):
        r += _popcount(cov[w, j] & unc[j])
    return r


@nb.njit(cache=True, inline="always")
def _most_among(cand: np.ndarray, k: int, av: np.ndarray, values: np.ndarray) -> float:
    """The largest ``values[w]`` over the available candidates ``w`` of row ``k``
    (0 when there is none)."""
    most = 0.0
    for i in range(av.size):
        x = cand[k, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            most = max(most, values[w])
    return most


@nb.njit(cache=True, inline="always")
def _least_among(cand: np.ndarray, k: int, av: np.ndarray, values: np.ndarray,
                 ceiling: float) -> float:
    """The smallest ``values[w]`` over the available candidates ``w`` of row ``k``, at
    most ``ceiling``."""
    least = ceiling
    for i in range(av.size):
        x = cand[k, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            least = min(least, values[w])
    return least


@nb.njit(cache=True, inline="always")
def _take_from(cand: np.ndarray, k: int, av: np.ndarray, values: np.ndarray,
               amount: float) -> None:
    """Subtract ``amount`` from ``values[w]`` of every available candidate ``w`` of row ``k``."""
    for i in range(av.size):
        x = cand[k, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            values[w] -= amount


@nb.njit(cache=True, inline="always")
def n_available(cand: np.ndarray, k: int, av: np.ndarray) -> int:
    """How many available candidates row ``k`` has."""
    n = 0
    for i in range(av.size):
        n += _popcount(cand[k, i] & av[i])
    return n


@nb.njit(cache=True, inline="always")
def _is_zero(mask: np.ndarray) -> bool:
    for i in range(mask.size):  # noqa: SIM110 (numba compiles loops, not generators)
        if mask[i]:
            return False
    return True


@nb.njit(cache=True, inline="always")
def before(w: int, v: int, hours: np.ndarray, worth_k: np.ndarray, terms: np.ndarray) -> bool:
    """Whether a unit of an element ships from ``w`` rather than ``v``: lower unit hours
    or stock value, compared in the order of ``terms`` (ties: neither)."""
    for t in range(terms.size):
        code = terms[t]
        if code == UNIT_HOURS and hours[w] != hours[v]:
            return hours[w] < hours[v]
        if code == STOCK_VALUE and worth_k[w] != worth_k[v]:
            return worth_k[w] < worth_k[v]
    return False


@nb.njit(cache=True)
def source(cand_k: np.ndarray, chosen: np.ndarray, hours: np.ndarray, worth_k: np.ndarray,
           terms: np.ndarray) -> int:
    """The chosen candidate an element ships from when priced: the first by
    :func:`before`, ties to the lowest bit (fastest, then cheapest, then first)."""
    best = -1
    for i in range(chosen.size):
        x = cand_k[i] & chosen[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            if best < 0 or before(w, best, hours, worth_k, terms):
                best = w
    return best


@nb.njit(cache=True)
def worth_bound(cand: np.ndarray, worth: np.ndarray, demand: np.ndarray, av: np.ndarray,
                chm: np.ndarray) -> int:
    """A lower bound on the stock value of any cover below: every unit of each element
    at its lowest price among the chosen and available candidates."""
    value = 0
    for k in range(cand.shape[0]):
        low = -1
        for i in range(av.size):
            x = cand[k, i] & (av[i] | chm[i])
            while x:
                w = 64 * i + _low(x)
                x &= x - _ONE
                if low < 0 or worth[k, w] < low:
                    low = worth[k, w]
        value += demand[k] * max(low, 0)
    return value


@nb.njit(cache=True)
def put_worth(terms: np.ndarray, worth: int, key: np.ndarray) -> None:
    """The stock value into its slots of ``key`` (after :func:`score`)."""
    for t in range(terms.size):
        if terms[t] == STOCK_VALUE:
            key[t + 1] = worth


@nb.njit(cache=True)
def leaf_key(cand: np.ndarray, hours: np.ndarray, cost: np.ndarray, worth: np.ndarray,
             demand: np.ndarray, terms: np.ndarray, chosen: np.ndarray, used: np.ndarray,
             key: np.ndarray) -> None:
    """Key of the fill inside ``chosen`` (each SKU from its fastest chosen candidate, or
    by :func:`source` when priced) into ``key``; the warehouses that ship into ``used``."""
    used[:] = 0
    unit = 0
    total = 0
    for k in range(cand.shape[0]):
        if worth.shape[0]:
            w = source(cand[k], chosen, hours, worth[k], terms)
            total += demand[k] * worth[k, w]
        else:
            w = _first_and(cand[k], chosen)
        used[w >> 6] |= _ONE << np.uint64(w & 63)
        unit += demand[k] * hours[w]
    score(used, hours, cost, unit, terms, key)
    put_worth(terms, total, key)


@nb.njit(cache=True)
def score(used: np.ndarray, hours: np.ndarray, cost: np.ndarray, unit: int, terms: np.ndarray,
          key: np.ndarray) -> None:
    """``key`` of a plan that ships from the warehouses in ``used`` with ``unit`` unit
    hours: their number, then the terms (the slowest, the unit hours, their cost)."""
    count = 0
    span = 0
    total = 0
    for i in range(used.size):
        x = used[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            count += 1
            span = max(span, hours[w])
            total += cost[w]
    key[0] = count
    for t in range(terms.size):
        code = terms[t]
        key[t + 1] = span if code == MAKESPAN else (unit if code == UNIT_HOURS else total)


@nb.njit(cache=True)
def keep(key: np.ndarray, used: np.ndarray, best_key: np.ndarray, best_used: np.ndarray,
         state: np.ndarray) -> None:
    """Make ``key`` and its warehouses ``used`` the incumbent when ``key`` beats it."""
    better = state[0] == 0
    if not better:
        for t in range(key.size):
            if key[t] != best_key[t]:
                better = key[t] < best_key[t]
                break
    if better:
        best_key[:] = key
        best_used[:] = used
        state[0] = 2


@nb.njit(cache=True)
def _offer(cand: np.ndarray, hours: np.ndarray, cost: np.ndarray, worth: np.ndarray,
           demand: np.ndarray, terms: np.ndarray, chosen: np.ndarray, best_key: np.ndarray,
           best_used: np.ndarray, state: np.ndarray, used: np.ndarray, key: np.ndarray) -> None:
    """Evaluate the cover ``chosen`` and keep it when its key beats the incumbent."""
    leaf_key(cand, hours, cost, worth, demand, terms, chosen, used, key)
    keep(key, used, best_key, best_used, state)


@nb.njit(cache=True, inline="always")
def _common(cand: np.ndarray, unc: np.ndarray, pool: np.ndarray, out: np.ndarray) -> bool:
    """``out`` = the warehouses of ``pool`` that are candidates of every SKU in ``unc``;
    False as soon as that is empty."""
    out[:] = pool
    for j in range(unc.size):
        x = unc[j]
        while x:
            k = 64 * j + _low(x)
            x &= x - _ONE
            alive = False
            for i in range(out.size):
                out[i] &= cand[k, i]
                if out[i]:
                    alive = True
            if not alive:
                return False
    return True


@nb.njit(cache=True)
def _top_two_reach(cov: np.ndarray, unc: np.ndarray, av: np.ndarray) -> int:
    """The two largest numbers of uncovered SKUs that available warehouses cover, added."""
    first = 0
    second = 0
    for i in range(av.size):
        x = av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            r = _reach_of(cov, w, unc)
            if r > first:
                second = first
                first = r
            elif r > second:
                second = r
    return first + second


@nb.njit(cache=True)
def _top_sum(reach: np.ndarray, av: np.ndarray, m: int, best_r: np.ndarray) -> int:
    """Sum of the ``m`` largest ``reach`` values among the available warehouses."""
    if m <= 0:
        return 0
    m = min(m, best_r.size)
    best_r[:m] = -1
    for i in range(av.size):
        x = av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            r = reach[w]
            if r > best_r[m - 1]:
                p = m - 1
                while p > 0 and best_r[p - 1] < r:
                    best_r[p] = best_r[p - 1]
                    p -= 1
                best_r[p] = r
    total = 0
    for t in range(m):
        if best_r[t] > 0:
            total += best_r[t]
    return total


@nb.njit(cache=True)
def _finish(cand: np.ndarray, cov: np.ndarray, hours: np.ndarray, cost: np.ndarray,
            worth: np.ndarray, demand: np.ndarray, k_order: np.ndarray, terms: np.ndarray, unc: np.ndarray,
            av: np.ndarray, chm: np.ndarray, best_key: np.ndarray, best_used: np.ndarray,
            state: np.ndarray, scratch: np.ndarray, used: np.ndarray, key: np.ndarray) -> None:
    """Search a node that may add at most two more warehouses, without child nodes.

    With a count-only incumbent a leaf must beat its count, so one slot means "some
    warehouse is a candidate of every uncovered SKU" (a mask intersection) and two
    slots mean that after one candidate of the first uncovered SKU. With later terms a
    leaf may tie on the count, so with one slot every such warehouse is evaluated.
    Candidates are taken fastest first and each is excluded for the later ones, as the
    branching of :func:`search` does, so the same covers are reached.
    """
    common, pool, chosen = scratch[0], scratch[1], scratch[2]
    rest = np.empty(unc.size, dtype=np.uint64)
    if terms.size or best_key[0] - 1 - _count(chm) <= 1:
        if not _common(cand, unc, av, common):
            return
        for i in range(common.size):
            x = common[i]
            while x:
                w = 64 * i + _low(x)
                x &= x - _ONE
                chosen[:] = chm
                chosen[w >> 6] |= _ONE << np.uint64(w & 63)
                _offer(cand, hours, cost, worth, demand, terms, chosen, best_key, best_used, state,
                       used, key)
                if terms.size == 0:
                    return
        return
    if _top_two_reach(cov, unc, av) < _count(unc):
        return  # no two warehouses cover that many SKUs
    d = _count(chm)
    pick = -1
    for idx in range(k_order.size):
        k = k_order[idx]
        if (unc[k >> 6] >> np.uint64(k & 63)) & _ONE:
            pick = k
            break
    pool[:] = av
    for i in range(pool.size):
        x = cand[pick, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            slots = best_key[0] - 1 - d
            if slots < 1:
                return
            bit = _ONE << np.uint64(w & 63)
            pool[i] &= ~bit
            chosen[:] = chm
            chosen[i] |= bit
            empty = True
            for j in range(unc.size):
                if unc[j] & ~cov[w, j]:
                    empty = False
            if empty:
                _offer(cand, hours, cost, worth, demand, terms, chosen, best_key, best_used, state,
                       used, key)
                continue
            if slots < 2:
                continue
            for j in range(unc.size):
                rest[j] = unc[j] & ~cov[w, j]
            if _common(cand, rest, pool, common):
                w2 = _first(common)
                chosen[w2 >> 6] |= _ONE << np.uint64(w2 & 63)
                _offer(cand, hours, cost, worth, demand, terms, chosen, best_key, best_used, state,
                       used, key)


@nb.njit(cache=True)
def _pair_covers(cand: np.ndarray, cov: np.ndarray, rest: np.ndarray, m: int, pool: np.ndarray,
                 most: int, pool2: np.ndarray, rest2: np.ndarray, common: np.ndarray) -> bool:
    """Whether at most two warehouses of ``pool`` cover the ``m`` SKUs in ``rest`` (exact;
    ``most`` bounds how many of them any one warehouse covers). One of the two is a
    candidate ``v`` of the SKU with the fewest candidates in the pool (earlier ones are
    not partners of later ones: their pairs were all tried), which with ``most`` must
    reach ``m``; the other must be a candidate of every SKU ``v`` leaves (masks and-ed)."""
    e1 = -1
    fewest = 1 << 30
    for j in range(rest.size):
        x = rest[j]
        while x:
            k = 64 * j + _low(x)
            x &= x - _ONE
            c = n_available(cand, k, pool)
            if c < fewest:
                fewest = c
                e1 = k
    if fewest == 0:
        return False
    pool2[:] = pool
    for i in range(pool.size):
        x = cand[e1, i] & pool[i]
        while x:
            v = 64 * i + _low(x)
            x &= x - _ONE
            pool2[i] &= ~(_ONE << np.uint64(v & 63))  # v and the earlier candidates of e1
            if _reach_of(cov, v, rest) + most < m:
                continue
            empty = True
            for j in range(rest.size):
                rest2[j] = rest[j] & ~cov[v, j]
                if rest2[j]:
                    empty = False
            if empty or _common(cand, rest2, pool2, common):
                return True
    return False


@nb.njit(cache=True)
def _three_cover(cand: np.ndarray, cov: np.ndarray, unc: np.ndarray, av: np.ndarray,
                 reach: np.ndarray, scratch: np.ndarray) -> bool:
    """Whether at most three available warehouses cover the SKUs in ``unc`` (exact).

    The three largest reaches (uncovered SKUs a warehouse covers) must add up to their
    number; then a cover holds a candidate ``w`` of the SKU with the fewest available
    candidates (earlier ones are not partners of later ones), whose reach plus the two
    largest others' must reach that number, and the SKUs ``w`` leaves need a pair
    (:func:`_pair_covers`) of what is left. A count-only search asks it at nodes three
    warehouses from a leaf (most of the binary relaxation's nodes), where it ends
    nearly every node for less than the bounds cost. ``reach`` is overwritten;
    ``scratch`` has five rows of at least the word counts of ``av`` and ``unc``."""
    n = _count(unc)
    if n == 0:
        return True
    t1 = t2 = t3 = 0
    for i in range(av.size):
        x = av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            r = _reach_of(cov, w, unc)
            reach[w] = r
            if r > t1:
                t1, t2, t3 = r, t1, t2
            elif r > t2:
                t2, t3 = r, t2
            elif r > t3:
                t3 = r
    if t1 + t2 + t3 < n:
        return False
    e0 = -1
    fewest = 1 << 30
    for j in range(unc.size):
        x = unc[j]
        while x:
            k = 64 * j + _low(x)
            x &= x - _ONE
            c = n_available(cand, k, av)
            if c < fewest:
                fewest = c
                e0 = k
    if fewest == 0:
        return False
    nw = av.size
    nk = unc.size
    pool, pool2, common = scratch[0, :nw], scratch[1, :nw], scratch[4, :nw]
    rest, rest2 = scratch[2, :nk], scratch[3, :nk]
    pool[:] = av
    for i in range(nw):
        x = cand[e0, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            pool[i] &= ~(_ONE << np.uint64(w & 63))  # w and the earlier candidates of e0
            top = t1 + t2  # the two largest reaches but w's
            if reach[w] >= t1:
                top = t2 + t3
            elif reach[w] >= t2:
                top = t1 + t3
            m = n - reach[w]
            if m == 0:
                return True
            if m > top:
                continue
            for j in range(nk):
                rest[j] = unc[j] & ~cov[w, j]
            if _pair_covers(cand, cov, rest, m, pool, t1, pool2, rest2, common):
                return True
    return False


@nb.njit(cache=True)
def _reaches(cov: np.ndarray, unc: np.ndarray, av: np.ndarray, reach: np.ndarray) -> None:
    """``reach[w]``: how many uncovered SKUs each available warehouse ``w`` covers."""
    for i in range(av.size):
        x = av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            reach[w] = _reach_of(cov, w, unc)


@nb.njit(cache=True)
def _dual_bound(cand: np.ndarray, cov: np.ndarray, unc: np.ndarray, av: np.ndarray,
                k_order: np.ndarray, reach: np.ndarray, slack: np.ndarray) -> float:
    """Covering-LP dual bound on the warehouses still needed (a float; any cover has at
    least its ceiling): SKU ``k`` gets ``1 / (most uncovered SKUs any of its candidates
    covers)``, which keeps every warehouse's dual constraint at most 1; then one pass of
    dual ascent raises each SKU's value (fewest candidates first) by the least slack
    left among its candidates, which keeps them at most 1 too (on 100 x 300 covers it
    halves the nodes of the count stage). ``slack[w]`` ends as 1 minus the values of the
    uncovered SKUs that available warehouse ``w`` covers (its reduced cost): every cover
    ``C`` of the uncovered SKUs from the available warehouses has at least the bound
    plus the slacks of its members (:func:`_fix_by_slack`). ``reach`` holds each
    available warehouse's uncovered SKUs (:func:`_reaches`)."""
    slack[:] = 1.0
    total = 0.0
    for j in range(unc.size):
        z = unc[j]
        while z:
            k = 64 * j + _low(z)
            z &= z - _ONE
            value = 1.0 / _most_among(cand, k, av, reach)
            total += value
            _take_from(cand, k, av, slack, value)
    for idx in range(k_order.size):  # the ascent
        k = k_order[idx]
        if not (unc[k >> 6] >> np.uint64(k & 63)) & _ONE:
            continue
        least = _least_among(cand, k, av, slack, 1.0)
        if least > 1e-12:
            total += least
            _take_from(cand, k, av, slack, least)
    return total


FIX_MARGIN = 1e-7
"""Float margin of the reduced-cost test (the dual values are sums of a few hundred
reciprocals: their rounding error is many orders of magnitude smaller)."""


@nb.njit(cache=True)
def _fix_by_slack(total: float, slack: np.ndarray, room: int, av: np.ndarray) -> bool:
    """Reduced-cost fixing: drop from ``av`` every warehouse ``w`` with ``total +
    slack[w] > room`` (no cover of at most ``room`` warehouses can hold it, since a
    cover's size is at least ``total`` plus its members' slacks, see
    :func:`_dual_bound`); True when one was dropped."""
    removed = False
    limit = room - total + FIX_MARGIN
    for i in range(av.size):
        x = av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            if slack[w] > limit:
                av[i] &= ~(_ONE << np.uint64(w & 63))
                removed = True
    return removed


@nb.njit(cache=True)
def _scarcest(cand: np.ndarray, k_order: np.ndarray, unc: np.ndarray, av: np.ndarray) -> int:
    """The uncovered SKU with the fewest available candidates (first in ``k_order`` on
    ties), or -1 when one has none."""
    pick = -1
    fewest = 1 << 30
    for idx in range(k_order.size):
        k = k_order[idx]
        if not (unc[k >> 6] >> np.uint64(k & 63)) & _ONE:
            continue
        n = n_available(cand, k, av)
        if n == 0:
            return -1
        if n < fewest:
            pick = k
            fewest = n
    return pick


@nb.njit(cache=True)
def _terms_below(cand: np.ndarray, hours: np.ndarray, cost: np.ndarray, worth: np.ndarray,
                 demand: np.ndarray, terms: np.ndarray, unc: np.ndarray, av: np.ndarray, chm: np.ndarray,
                 best_key: np.ndarray) -> bool:
    """Whether a leaf below (with the incumbent's count) could still beat the incumbent
    on the later terms: compares lower bounds term by term."""
    for t in range(terms.size):
        code = terms[t]
        value = 0
        if code == MAKESPAN:  # the slowest chosen, and each uncovered SKU's fastest left
            for i in range(chm.size):
                x = chm[i]
                while x:
                    value = max(value, hours[64 * i + _low(x)])
                    x &= x - _ONE
            for j in range(unc.size):
                y = unc[j]
                while y:
                    k = 64 * j + _low(y)
                    y &= y - _ONE
                    value = max(value, hours[_first_and(cand[k], av)])
        elif code == UNIT_HOURS:  # every SKU from its fastest chosen or available
            for k in range(cand.shape[0]):
                best_w = _first_and(cand[k], av)
                mine = _first_and(cand[k], chm)
                if best_w < 0 or (0 <= mine < best_w):
                    best_w = mine
                value += demand[k] * hours[best_w]
        elif code == STOCK_VALUE:
            value = worth_bound(cand, worth, demand, av, chm)
        else:  # the chosen ones' cost
            for i in range(chm.size):
                x = chm[i]
                while x:
                    value += cost[64 * i + _low(x)]
                    x &= x - _ONE
        if value != best_key[t + 1]:
            return value < best_key[t + 1]
    return False


@nb.njit(cache=True)
def _branch_sku(cand: np.ndarray, cov: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                worth: np.ndarray, demand: np.ndarray, k_order: np.ndarray, terms: np.ndarray,
                unc: np.ndarray, av: np.ndarray, chm: np.ndarray, depth: int, best_key: np.ndarray,
                has_best: bool, union: np.ndarray, reach: np.ndarray, slack: np.ndarray,
                room: int) -> int:
    """The uncovered SKU to branch on (fewest candidates left), or -1 when the node is
    pruned: some SKU has no candidate, or the count bound (pairwise disjoint candidate
    sets, then the dual bound) exceeds the incumbent's, or ties it and the later
    terms cannot win. Warehouses that no cover of at most ``room`` more warehouses can
    hold (by their reduced cost) leave ``av`` for the node and everything below it."""
    union[:] = 0
    extra = 0
    pick = -1
    fewest = 1 << 30
    for idx in range(k_order.size):  # one pass: the pick and the disjoint bound
        k = k_order[idx]
        if not (unc[k >> 6] >> np.uint64(k & 63)) & _ONE:
            continue
        n = 0
        overlap = False
        for i in range(av.size):
            c = cand[k, i] & av[i]
            n += _popcount(c)
            if c & union[i]:
                overlap = True
        if n == 0:
            return -1
        if n < fewest:
            pick = k
            fewest = n
        if not overlap:
            extra += 1
            for i in range(av.size):
                union[i] |= cand[k, i] & av[i]
    if not has_best:
        return pick
    total = -1.0
    if depth + extra <= best_key[0]:
        _reaches(cov, unc, av, reach)
        total = _dual_bound(cand, cov, unc, av, k_order, reach, slack)
        extra = max(extra, int(np.ceil(total - 1e-9)))
    count = depth + extra
    if count > best_key[0]:
        return -1
    if count == best_key[0] and not _terms_below(cand, hours, cost, worth, demand, terms, unc, av,
                                                 chm, best_key):
        return -1
    if total >= 0.0 and _fix_by_slack(total, slack, room, av):
        return _scarcest(cand, k_order, unc, av)
    return pick


@nb.njit(cache=True, nogil=True)
def search(cand: np.ndarray, cov: np.ndarray, hours: np.ndarray, cost: np.ndarray,
           worth: np.ndarray, demand: np.ndarray, k_order: np.ndarray, terms: np.ndarray, avail0: np.ndarray,
           chosen0: np.ndarray, best_key: np.ndarray, best_used: np.ndarray,
           state: np.ndarray, deadline: float) -> None:
    """Depth-first branch and bound for the lexicographically smallest cover.

    ``best_key`` (count, *terms) is the incumbent, ``state[0]`` says whether there is
    one (0 none, 1 a key to beat without a set behind it, 2 a key with its set in
    ``best_used``); both are updated in place. Branching: the uncovered SKU with the
    fewest candidates, its candidates fastest first, each excluded in later siblings,
    so every cover is reached through one of its subsets. The recursion is an explicit
    stack of levels (uncovered SKUs, available and chosen warehouses, candidates left).
    ``state[1]`` returns the nodes visited, ``state[2]`` 1 when the deadline stopped the
    search (the result is then not proven); ``state[3]``, when present and positive, is a
    node limit (a work budget) that stops it as the deadline does. ``chosen0`` holds warehouses every cover
    searched must contain (one branch of a search split over threads; usually empty).
    """
    n_k, nw = cand.shape
    nk = cov.shape[1]
    levels = n_k + 2  # every choice covers a new SKU
    unc = np.zeros((levels, nk), dtype=np.uint64)
    av = np.zeros((levels, nw), dtype=np.uint64)
    chm = np.zeros((levels, nw), dtype=np.uint64)
    n_w = cov.shape[0]
    clist = np.zeros((levels, max(n_w, 1)), dtype=np.int64)  # candidates, in branch order
    n_c = np.zeros(levels, dtype=np.int64)
    pos = np.zeros(levels, dtype=np.int64)
    score = np.zeros(max(n_w, 1), dtype=np.int64)
    need = np.zeros(levels, dtype=np.int64)
    creach = np.zeros((levels, max(n_w, 1)), dtype=np.int64)
    best_r = np.zeros(n_k + 1, dtype=np.int64)
    tmp = np.zeros(max(n_w, 1), dtype=np.int64)
    union = np.zeros(nw, dtype=np.uint64)
    slack = np.zeros(max(n_w, 1))
    used = np.zeros(nw, dtype=np.uint64)
    key = np.zeros(best_key.size, dtype=np.int64)
    reach = np.zeros(cov.shape[0], dtype=np.int64)
    scratch = np.zeros((3, nw), dtype=np.uint64)
    scratch3 = np.zeros((5, max(nw, nk)), dtype=np.uint64)  # :func:`_three_cover`'s
    tie = 0 if terms.size else 1  # a leaf must beat the count unless later terms decide
    for k in range(n_k):
        unc[0, k >> 6] |= _ONE << np.uint64(k & 63)
    base = _count(chosen0)  # warehouses chosen before the root: depth d holds d + base
    for i in range(chosen0.size):
        x = chosen0[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            for j in range(nk):
                unc[0, j] &= ~cov[w, j]
    av[0, :] = avail0
    chm[0, :] = chosen0
    nodes = 0
    node_limit = state[3] if state.size > 3 else 0
    aborted = 0
    d = 0
    enter = True
    while True:
        if enter:
            nodes += 1
            if (nodes & CHECK_MASK) == 0 and (_now() >= deadline or 0 < node_limit <= nodes):
                aborted = 1
                break
            n_c[d] = 0
            pos[d] = 0
            if _is_zero(unc[d]):
                _offer(cand, hours, cost, worth, demand, terms, chm[d], best_key, best_used, state,
                       used, key)
            elif state[0] != 0 and best_key[0] - d - base - tie <= (2 if tie else 1):
                # One or two warehouses left: finish the node with candidate-mask
                # intersections instead of child nodes and bounds (most nodes are here).
                _finish(cand, cov, hours, cost, worth, demand, k_order, terms, unc[d], av[d], chm[d],
                        best_key, best_used, state, scratch, used, key)
            elif state[0] != 0 and best_key[0] - d - base - tie == 2 and (
                    _top_two_reach(cov, unc[d], av[d]) < _count(unc[d])):
                pass  # two slots left (ties allowed) and no two warehouses cover the rest
            elif state[0] != 0 and tie and best_key[0] - d - base - tie == 3 and not _three_cover(
                    cand, cov, unc[d], av[d], reach, scratch3):
                pass  # count only, three slots left, and no three warehouses cover the rest
            else:
                pick = _branch_sku(cand, cov, hours, cost, worth, demand, k_order, terms, unc[d],
                                   av[d], chm[d], d + base, best_key, state[0] != 0, union,
                                   reach, slack, best_key[0] - d - base - tie)
                if pick >= 0:
                    n = 0
                    for i in range(nw):
                        x = cand[pick, i] & av[d, i]
                        while x:
                            clist[d, n] = 64 * i + _low(x)
                            x &= x - _ONE
                            n += 1
                    need[d] = 0
                    if state[0] != 0:
                        slots = best_key[0] - d - base - tie
                        need[d] = _count(unc[d]) - _top_sum(reach, av[d], slots - 1, best_r)
                    if tie and state[0] != 0:
                        # Count only (reach[] is fresh from the bound): the widest
                        # candidates first, so that the later siblings, which exclude
                        # them, are left with weaker sets and prune sooner. A candidate
                        # plus the best the other slots could reach must cover the
                        # rest; reaches only fall along the list, so the first that
                        # cannot ends the level.
                        for t in range(n):
                            score[t] = -reach[clist[d, t]] * 65536 - t
                        order = np.argsort(score[:n])
                        tmp[:n] = clist[d, :n][order]
                        clist[d, :n] = tmp[:n]
                    if state[0] != 0:
                        for t in range(n):  # reach[] is overwritten deeper down
                            creach[d, t] = reach[clist[d, t]]
                    n_c[d] = n
        # the next candidate of level d
        advanced = False
        while pos[d] < n_c[d]:
            if state[0] != 0 and d + base + 1 > best_key[0]:
                break  # every child would open more warehouses than the incumbent
            w = clist[d, pos[d]]
            short = state[0] != 0 and creach[d, pos[d]] < need[d]
            if short and tie:
                break  # this and every later sibling reach too little
            pos[d] += 1
            bit = _ONE << np.uint64(w & 63)
            av[d, w >> 6] &= ~bit
            if short:
                continue  # no completion through w has few enough warehouses
            empty = True
            for j in range(nk):
                rest = unc[d, j] & ~cov[w, j]
                unc[d + 1, j] = rest
                if rest:
                    empty = False
            if not empty and state[0] != 0 and d + base + 1 >= best_key[0]:
                continue  # would need yet another warehouse
            av[d + 1, :] = av[d]
            chm[d + 1, :] = chm[d]
            chm[d + 1, w >> 6] |= bit
            d += 1
            advanced = True
            break
        if advanced:
            enter = True
            continue
        if d == 0:
            break
        d -= 1
        enter = False
    state[1] = nodes
    state[2] = aborted


@nb.njit(cache=True)
def greedy_cover(cov: np.ndarray, n_k: int, chosen: np.ndarray) -> int:
    """A quick cover: repeatedly the warehouse covering most uncovered SKUs (the
    fastest on ties); its warehouses into ``chosen``, their number returned, or -1 when
    some SKU has no candidate at all."""
    n_w, nk = cov.shape
    unc = np.zeros(nk, dtype=np.uint64)
    for k in range(n_k):
        unc[k >> 6] |= _ONE << np.uint64(k & 63)
    size = 0
    while not _is_zero(unc):
        best_w = -1
        best_n = 0
        for w in range(n_w):
            n = 0
            for j in range(nk):
                n += _popcount(cov[w, j] & unc[j])
            if n > best_n:
                best_w = w
                best_n = n
        if best_w < 0:
            return -1
        chosen[size] = best_w
        size += 1
        for j in range(nk):
            unc[j] &= ~cov[best_w, j]
    return size


def pack(rows: np.ndarray) -> np.ndarray:
    """Boolean rows as ``uint64`` word arrays (bit j of row r = ``rows[r, j]``)."""
    n, m = rows.shape
    words = max(1, (m + 63) // 64)
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :m] = rows
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64).reshape(n, words)


def mask_words(mask: int, n_bits: int) -> np.ndarray:
    """A Python int bitmask as ``uint64`` words."""
    words = max(1, (n_bits + 63) // 64)
    return np.frombuffer(mask.to_bytes(8 * words, "little"), dtype="<u8").astype(np.uint64)


def words_mask(words: np.ndarray) -> int:
    """``uint64`` words back to a Python int bitmask."""
    return int.from_bytes(words.astype("<u8").tobytes(), "little")


def _warm_up() -> None:
    """Compile (or load from the cache) every kernel with the types used at run time."""
    full = np.array([[True, False], [False, True], [True, True]])
    cand, cov = pack(full.T.copy()), pack(full)
    hours = np.array([1, 2, 3], dtype=np.int64)
    key = np.array([3, 3], dtype=np.int64)
    worth = np.zeros((0, 3), dtype=np.int64)
    search(cand, cov, hours, hours, worth, np.ones(2, dtype=np.int64), np.arange(2, dtype=np.int64),
           np.array([MAKESPAN], dtype=np.int64), mask_words(7, 3), mask_words(0, 3), key,
           np.zeros(1, dtype=np.uint64), np.zeros(3, dtype=np.int64), time.perf_counter() + 60)
    greedy_cover(cov, 2, np.zeros(3, dtype=np.int64))
    leaf_key(cand, hours, hours, worth, np.ones(2, dtype=np.int64), np.zeros(0, dtype=np.int64),
             mask_words(7, 3), np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.int64))


drop_if_changed(search, (clock,))  # the clock is compiled into these entries
COMPILED_ON_IMPORT = load_kernels("split kernel", (search, greedy_cover, leaf_key), _warm_up)
"""Whether importing this module compiled the kernels (a cold cache) rather than loaded them."""
