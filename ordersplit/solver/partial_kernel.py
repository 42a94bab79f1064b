"""The compiled kernel of the exact combination search on partial-stock groups.

In a partial-stock group a warehouse may hold part of an element's demand, so a cover
is a warehouse set whose capped supplies ``sup[w, e]`` (``min(stock, demand)``) add up
to every element's demand. The search is the binary kernel's
(:mod:`ordersplit.solver.cover_kernel`) with sums in place of bits:

* it branches on the element with the fewest available candidates (the scarce item),
  its candidates fastest first (widest first when only the count matters), each
  excluded in later siblings, so every cover is reached through one of its subsets;
* after a candidate ``v`` is excluded, so is every warehouse ``v`` dominates (no less
  supply of any element, no slower, no dearer): any plan that uses one of them without
  ``v`` is matched, term by term, by the plan that uses ``v`` instead, which the
  sibling branch of ``v`` has already searched;
* the count bound is the largest of: the fewest available warehouses that still cover
  one element's remaining units (largest supplies first), that sum over elements with
  pairwise disjoint candidate sets, and the covering LP's dual bound (one pass of
  dual ascent); a warehouse whose reduced cost pushes that bound past the warehouses
  still allowed is in no cover that fits, and leaves the node's candidates;
* at a node two, three or four warehouses from a leaf, exact tests (:func:`_two_cover`,
  :func:`_three_cover`, :func:`_few_cover`) first ask whether that many available
  warehouses cover the remaining units at all; they end only nodes with no leaf below
  (the same leaves in the same order), and most such nodes end there, before the bounds
  (at four, a node ends before its twenty-odd children each ask the three-warehouse
  test);
* with the count tied, the later terms are bounded: the makespan by the slowest of the
  chosen and of each element's fastest available prefix that covers its remaining
  units, the unit hours by a fastest fill over every warehouse still allowed, the cost
  by the chosen plus the cheapest available ones.

A leaf is scored by the fastest fill inside the chosen set (each element from its
fastest chosen warehouses first), which is optimal for every term given the set. With
stock prices (``worth[e, w]``, one unit's stock value; no rows: none) each element is
filled from its chosen warehouses in the order of
:func:`~ordersplit.solver.cover_kernel.before` (lower unit hours and stock value in
the order of the terms, ties fastest first), optimal for the linear terms given the
warehouses that ship; the stock value is bounded by every unit at its element's lowest
price among the chosen and available warehouses. The
arrays are the binary kernel's word masks plus ``sup``, per-element candidate lists by
supply (``by_size``) and per-warehouse element lists (``welem``).
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock, cover_kernel
from ordersplit.solver.cover_kernel import (
    _ONE,
    COST,
    MAKESPAN,
    STOCK_VALUE,
    UNIT_HOURS,
    _count,
    _fix_by_slack,
    _low,
    _most_among,
    _now,
    _popcount,
    _top_sum,
    before,
    keep,
    n_available,
    put_worth,
    score,
)

FRAGMENTS_LEVELS, FRAGMENTS_FEWEST = 9, 10  # above every other term code
"""Term codes of line fragments, for groups whose elements are whole lines (one line per
SKU): a leaf counts each element's pieces in its fewest-pieces fill inside the shipping
warehouses. ``LEVELS`` when unit hours come first (faster hours levels in full, the
slowest level needed from the fewest warehouses, largest supply first); ``FEWEST`` when
they do not count (the fewest warehouses, largest supply first)."""
WORK_PER_CHECK = 1 << 16
"""Units of work (element and candidate visits) between two looks at the clock."""
EPS = 1e-9


@nb.njit(cache=True, inline="always")
def _has(mask: np.ndarray, w: int) -> bool:
    return bool((mask[w >> 6] >> np.uint64(w & 63)) & _ONE)


@nb.njit(cache=True)
def leaf_key(sup: np.ndarray, cand: np.ndarray, hours: np.ndarray, cost: np.ndarray,
             worth: np.ndarray, demand: np.ndarray, terms: np.ndarray, chosen: np.ndarray,
             used: np.ndarray, key: np.ndarray) -> None:
    """Key of the fastest fill (or the priced one) inside the cover ``chosen`` into
    ``key``; the warehouses that ship into ``used``."""
    used[:] = 0
    unit = 0
    if worth.shape[0]:
        total = _priced_fill(sup, cand, hours, worth, demand, terms, chosen, used)
        unit = total[0]
        score(used, hours, cost, unit, terms, key)
        put_worth(terms, total[1], key)
        return
    for e in range(cand.shape[0]):
        r = demand[e]
        for i in range(chosen.size):
            if r <= 0:
                break
            x = cand[e, i] & chosen[i]
            while x and r > 0:
                w = 64 * i + _low(x)
                x &= x - _ONE
                t = min(sup[w, e], r)
                r -= t
                unit += t * hours[w]
                used[i] |= _ONE << np.uint64(w & 63)
    score(used, hours, cost, unit, terms, key)
    for t in range(terms.size):
        if terms[t] >= FRAGMENTS_LEVELS:  # either fragments code
            key[t + 1] = _fragments(sup, cand, hours, demand, used,
                                    terms[t] == FRAGMENTS_LEVELS)


@nb.njit(cache=True)
def _fewest_reaching(vals: np.ndarray, n: int, r: int) -> int:
    """Fewest of ``vals[:n]`` whose sum reaches ``r`` (largest first; ``n`` when none)."""
    part = np.sort(vals[:n])
    got = 0
    for j in range(n):
        got += part[n - 1 - j]
        if got >= r:
            return j + 1
    return n


@nb.njit(cache=True)
def _fragments(sup: np.ndarray, cand: np.ndarray, hours: np.ndarray, demand: np.ndarray,
               used: np.ndarray, levels: bool) -> int:
    """Pieces beyond one per element in the fewest-pieces fill inside ``used`` (see
    :data:`FRAGMENTS_LEVELS`); warehouses are in hours order, so a level is a run."""
    total = 0
    buf = np.zeros(max(1, sup.shape[0]), dtype=np.int64)
    for e in range(cand.shape[0]):
        r = demand[e]
        if r <= 1:
            continue  # one unit is one piece
        n = 0
        level_sum = 0
        cur = -1
        pieces = 0
        done = False
        for i in range(used.size):
            x = cand[e, i] & used[i]
            while x:
                w = 64 * i + _low(x)
                x &= x - _ONE
                h = hours[w] if levels else 0
                if n > 0 and h != cur:
                    if level_sum >= r:  # the remainder is reached at this level
                        done = True
                        break
                    pieces += n  # a faster level is taken in full
                    r -= level_sum
                    n = 0
                    level_sum = 0
                cur = h
                buf[n] = sup[w, e]
                level_sum += sup[w, e]
                n += 1
            if done:
                break
        pieces += _fewest_reaching(buf, n, r)
        total += pieces - 1
    return total


@nb.njit(cache=True)
def _priced_fill(sup: np.ndarray, cand: np.ndarray, hours: np.ndarray, worth: np.ndarray,
                 demand: np.ndarray, terms: np.ndarray, chosen: np.ndarray,
                 used: np.ndarray) -> tuple[int, int]:
    """Each element from its chosen warehouses in the order of ``before``; the unit
    hours and stock value of that fill, the warehouses that ship into ``used``."""
    unit = 0
    total = 0
    taken = np.zeros_like(chosen)
    for e in range(cand.shape[0]):
        r = demand[e]
        taken[:] = 0
        while r > 0:
            w = -1
            for i in range(chosen.size):
                x = cand[e, i] & chosen[i] & ~taken[i]
                while x:
                    v = 64 * i + _low(x)
                    x &= x - _ONE
                    if w < 0 or before(v, w, hours, worth[e], terms):
                        w = v
            if w < 0:
                break
            bit = _ONE << np.uint64(w & 63)
            taken[w >> 6] |= bit
            t = min(sup[w, e], r)
            r -= t
            unit += t * hours[w]
            total += t * worth[e, w]
            used[w >> 6] |= bit
    return unit, total


@nb.njit(cache=True)
def _worth_fill_bound(sup: np.ndarray, cand: np.ndarray, worth: np.ndarray,
                      demand: np.ndarray, av: np.ndarray, chm: np.ndarray) -> int:
    """A lower bound on the stock value of any cover below: each element's demand filled
    from the chosen and available warehouses, lowest unit price first (its cheapest
    fill, stock limits only; the elements do not compete)."""
    value = 0
    taken = np.zeros_like(av)
    for e in range(cand.shape[0]):
        r = demand[e]
        taken[:] = 0
        while r > 0:
            best = -1
            for i in range(av.size):
                x = cand[e, i] & (av[i] | chm[i]) & ~taken[i]
                while x:
                    w = 64 * i + _low(x)
                    x &= x - _ONE
                    if best < 0 or worth[e, w] < worth[e, best]:
                        best = w
            if best < 0:
                break
            taken[best >> 6] |= _ONE << np.uint64(best & 63)
            t = min(sup[best, e], r)
            r -= t
            value += t * worth[e, best]
    return value


@nb.njit(cache=True)
def _offer(sup: np.ndarray, cand: np.ndarray, hours: np.ndarray, cost: np.ndarray,
           worth: np.ndarray, demand: np.ndarray, terms: np.ndarray, chosen: np.ndarray,
           best_key: np.ndarray, best_used: np.ndarray, state: np.ndarray, used: np.ndarray,
           key: np.ndarray) -> None:
    """Score the cover ``chosen`` and keep it when it beats the incumbent."""
    leaf_key(sup, cand, hours, cost, worth, demand, terms, chosen, used, key)
    keep(key, used, best_key, best_used, state)


@nb.njit(cache=True)
def _reach(sup: np.ndarray, welem: np.ndarray, wdeg: np.ndarray, res: np.ndarray,
           av: np.ndarray, reach: np.ndarray) -> int:
    """``reach[w]``: the share of the remaining units of the elements left that each
    available warehouse supplies (the covering LP's column sums); work done."""
    work = 0
    for i in range(av.size):
        x = av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            s = 0.0
            for j in range(wdeg[w]):
                e = welem[w, j]
                r = res[e]
                if r > 0:
                    s += min(sup[w, e], r) / r
            reach[w] = s
            work += wdeg[w]
    return work


@nb.njit(cache=True)
def _too_few(reach: np.ndarray, av: np.ndarray, room: int, n_unc: int,
             scratch: np.ndarray) -> bool:
    """Whether no ``room`` available warehouses can cover the ``n_unc`` elements left:
    a cover's members' shares (:func:`_reach`) add up to at least 1 on each element, so
    to ``n_unc`` at least, and no ``room`` of them add up to more than the ``room``
    largest. Costs one pass over ``reach`` (already there): most nodes two warehouses
    from a leaf end here, before the elements' bounds."""
    return _top_sum(reach, av, room, scratch) < n_unc - EPS


@nb.njit(cache=True)
def _two_cover(sup: np.ndarray, cand: np.ndarray, res: np.ndarray, av: np.ndarray,
               left: np.ndarray, mask: np.ndarray, work: np.ndarray) -> bool:
    """Whether at most two available warehouses cover every remaining unit (exact).

    One of them supplies the element with the fewest available candidates; for each
    such ``w`` the other must be a candidate of every element ``w`` leaves short, so
    the candidate masks of those elements are and-ed, and the few warehouses left are
    checked unit by unit. An earlier ``w`` need not be the partner of a later one (its
    pairs were all tried). At nodes two warehouses from a leaf this replaces the
    bounds: most of them have no such pair, and this costs less than the shares."""
    n_left = 0
    e0 = -1
    fewest = 1 << 60
    for e in range(res.size):
        if res[e] > 0:
            left[n_left] = e
            n_left += 1
            n = n_available(cand, e, av)
            if n < fewest:
                fewest = n
                e0 = e
    if n_left == 0:
        return True
    work[0] += n_left
    for i in range(av.size):
        x = cand[e0, i] & av[i]
        tried_i = np.uint64(0)
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            tried_i |= _ONE << np.uint64(w & 63)
            mask[:] = av
            mask[:i] &= ~(cand[e0, :i] & av[:i])  # the earlier candidates of e0
            mask[i] &= ~tried_i
            short = 0
            empty = False
            for t in range(n_left):
                e = left[t]
                if res[e] > sup[w, e]:
                    short += 1
                    nz = np.uint64(0)
                    for j in range(mask.size):
                        mask[j] &= cand[e, j]
                        nz |= mask[j]
                    if nz == 0:
                        empty = True
                        break
            work[0] += n_left
            if short == 0:
                return True
            if empty:
                continue
            for j in range(mask.size):
                y = mask[j]
                while y:
                    v = 64 * j + _low(y)
                    y &= y - _ONE
                    ok = True
                    for t in range(n_left):
                        e = left[t]
                        if res[e] > sup[w, e] + sup[v, e]:
                            ok = False
                            break
                    work[0] += n_left
                    if ok:
                        return True
    return False


THREE_PAIRS = 3000
"""Warehouse pairs :func:`_three_cover` may try at one node before it gives up (the
bounds then decide the node, as before)."""


@nb.njit(cache=True)
def _scarce_first(cand: np.ndarray, res: np.ndarray, av: np.ndarray, left: np.ndarray,
                  cnt: np.ndarray) -> int:
    """``left[:n]`` := the elements with units left, fewest available candidates first
    (``cnt[:n]`` those counts); returns ``n``."""
    n = 0
    for e in range(res.size):
        if res[e] > 0:
            c = n_available(cand, e, av)
            p = n
            while p > 0 and cnt[p - 1] > c:
                left[p] = left[p - 1]
                cnt[p] = cnt[p - 1]
                p -= 1
            left[p] = e
            cnt[p] = c
            n += 1
    return n


@nb.njit(cache=True)
def touch_bits(welem: np.ndarray, wdeg: np.ndarray, n_e: int) -> np.ndarray:
    """``[W, words]``: the elements each warehouse holds any of, as bits."""
    out = np.zeros((welem.shape[0], max(1, (n_e + 63) // 64)), dtype=np.uint64)
    for w in range(welem.shape[0]):
        for j in range(wdeg[w]):
            e = welem[w, j]
            out[w, e >> 6] |= _ONE << np.uint64(e & 63)
    return out


@nb.njit(cache=True)
def _touch_counts(touch: np.ndarray, left: np.ndarray, n_left: int, av: np.ndarray,
                  lbits: np.ndarray, tc: np.ndarray) -> tuple[int, int, int]:
    """``tc[u]``: how many of the elements ``left[:n_left]`` each available ``u`` holds
    any of; returns the three largest (largest first, repeats counted)."""
    lbits[:] = 0
    for t in range(n_left):
        e = left[t]
        lbits[e >> 6] |= _ONE << np.uint64(e & 63)
    t1 = t2 = t3 = 0
    for i in range(av.size):
        x = av[i]
        while x:
            u = 64 * i + _low(x)
            x &= x - _ONE
            c = 0
            for k in range(lbits.size):
                c += _popcount(touch[u, k] & lbits[k])
            tc[u] = c
            if c > t1:
                t1, t2, t3 = c, t1, t2
            elif c > t2:
                t2, t3 = c, t2
            elif c > t3:
                t3 = c
    return t1, t2, t3


@nb.njit(cache=True)
def _three_cover(sup: np.ndarray, cand: np.ndarray, welem: np.ndarray, wdeg: np.ndarray,
                 touch: np.ndarray, res: np.ndarray, av: np.ndarray, left: np.ndarray,
                 cnt: np.ndarray, short: np.ndarray, tc: np.ndarray, lbits: np.ndarray,
                 pool: np.ndarray, others: np.ndarray, mask: np.ndarray, budget: int,
                 work: np.ndarray) -> bool:
    """Whether at most three available warehouses may cover every remaining unit: False
    only when none do (exact), True when some do or when more than ``budget`` pairs
    would have to be tried (the bounds decide then).

    Each element left must be held (in part at least) by a member, so the members'
    counts of the elements left they hold (``touch``) add up to at least their number:
    the three largest counts must, else no cover. Then a cover holds a candidate ``w``
    of the element with the fewest (earlier ones are not partners of later ones); the
    elements ``w`` does not finish need the two largest counts but ``w``'s; the rest of
    the cover, two at most, holds a candidate ``v`` of the first element (fewest first)
    that ``w`` leaves short, whose count plus the largest must reach them too (first
    ``w``'s count, which bounds the elements it finishes, before they are counted; then
    ``v``'s count of the elements left short by ``w`` itself, one popcount); the third
    must be a candidate of every element ``w`` and ``v`` leave short, so those masks are
    and-ed (fewest candidates first, which empties the mask soonest) and the few
    warehouses left are checked unit by unit. At nodes three warehouses from a leaf,
    where the partial searches spend most of their nodes and next to none has such a
    cover, this costs a fraction of the bounds (the elements scanned are counted in
    ``work``, as the clock looks are spaced by it)."""
    n_left = _scarce_first(cand, res, av, left, cnt)
    work[0] += n_left
    if n_left == 0:
        return True
    if n_left > 1 and cnt[0] * cnt[1] > budget:
        return True  # too many pairs to try: the bounds decide
    t1, t2, t3 = _touch_counts(touch, left, n_left, av, lbits, tc)
    work[0] += n_available(cand, left[0], av)
    if t1 + t2 + t3 < n_left:
        return False
    pairs = 0
    e0 = left[0]
    pool[:] = av
    wbits = lbits.copy()  # the elements w leaves short, as bits
    for i in range(av.size):
        x = cand[e0, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            pool[i] &= ~(_ONE << np.uint64(w & 63))  # w and the earlier candidates of e0
            top = t1 + t2  # the two largest counts but w's
            if tc[w] >= t1:
                top = t2 + t3
            elif tc[w] >= t2:
                top = t1 + t3
            if n_left - tc[w] > top:
                continue  # w finishes no more elements than it holds: too many left
            done = 0
            wbits[:] = lbits
            for j in range(wdeg[w]):
                e = welem[w, j]
                if 0 < res[e] <= sup[w, e]:
                    done += 1
                    wbits[e >> 6] &= ~(_ONE << np.uint64(e & 63))
            rest = n_left - done  # the elements w leaves short
            if rest == 0:
                return True  # w alone
            if rest > top:
                continue
            p1 = 0
            while res[left[p1]] <= sup[w, left[p1]]:
                p1 += 1
            e1 = left[p1]
            others[:] = pool
            for j in range(pool.size):
                y = cand[e1, j] & pool[j]
                while y:
                    v = 64 * j + _low(y)
                    y &= y - _ONE
                    others[j] &= ~(_ONE << np.uint64(v & 63))  # v, earlier candidates of e1
                    if tc[v] + t1 < rest:
                        continue
                    held = 0  # of the elements w leaves short, those v holds
                    for k in range(wbits.size):
                        held += _popcount(touch[v, k] & wbits[k])
                    if held + t1 < rest:
                        continue
                    pairs += 1
                    if pairs > budget:
                        return True
                    mask[:] = others
                    n_short = 0
                    empty = False
                    for t in range(p1, n_left):
                        e = left[t]
                        work[0] += 1
                        if res[e] > sup[w, e] + sup[v, e]:
                            short[n_short] = e
                            n_short += 1
                            nz = np.uint64(0)
                            for k in range(mask.size):
                                mask[k] &= cand[e, k]
                                nz |= mask[k]
                            if nz == 0:
                                empty = True
                                break
                    if n_short == 0:
                        return True  # w and v
                    if empty:
                        continue
                    for k in range(mask.size):
                        z = mask[k]
                        while z:
                            u = 64 * k + _low(z)
                            z &= z - _ONE
                            ok = True
                            for s in range(n_short):
                                e = short[s]
                                if res[e] > sup[w, e] + sup[v, e] + sup[u, e]:
                                    ok = False
                                    break
                            if ok:
                                return True
    return False

FEW_CALLS = 4000
"""Levels :func:`_few_cover` may open at one node before it gives up (the node is then
searched as before)."""
FEW_ROOM = 4
"""The room (warehouses a leaf below may still add) at which a node asks
:func:`_few_cover` whether any cover fits (three: :func:`_three_cover`)."""


@nb.njit(cache=True)
def _one_cover(sup: np.ndarray, cand: np.ndarray, res: np.ndarray, rbits: np.ndarray,
               av: np.ndarray, mask: np.ndarray) -> bool:
    """Whether one available warehouse covers every remaining unit (the elements left
    as ``rbits``): the candidate masks of those elements are and-ed (it must hold each),
    then the few warehouses left are checked unit by unit."""
    mask[:] = av
    for k in range(rbits.size):
        x = rbits[k]
        while x:
            e = 64 * k + _low(x)
            x &= x - _ONE
            nz = np.uint64(0)
            for i in range(mask.size):
                mask[i] &= cand[e, i]
                nz |= mask[i]
            if nz == 0:
                return False
    for i in range(mask.size):
        x = mask[i]
        while x:
            u = 64 * i + _low(x)
            x &= x - _ONE
            ok = True
            for k in range(rbits.size):
                y = rbits[k]
                while y and ok:
                    e = 64 * k + _low(y)
                    y &= y - _ONE
                    ok = res[e] <= sup[u, e]
                if not ok:
                    break
            if ok:
                return True
    return False


_SLOT_BITS = 20
"""A level's big warehouses are kept as ``count << _SLOT_BITS | warehouse`` (most held
first when sorted descending)."""
_SLOT_MASK = (1 << _SLOT_BITS) - 1


@nb.njit(cache=True)
def _few_undo(welem: np.ndarray, wdeg: np.ndarray, res: np.ndarray, lvl_list: np.ndarray,
              lvl_undo: np.ndarray, step: np.ndarray, lo: int, k: int) -> None:
    """Give back the units that the warehouses branched on at levels ``lo..k`` took."""
    for lv in range(lo, k + 1):
        t = step[2, lv]
        if t > 0:
            w = lvl_list[lv, t - 1] & _SLOT_MASK
            for j in range(wdeg[w]):
                res[welem[w, j]] = lvl_undo[lv, j]


@nb.njit(cache=True)
def _few_cover(sup: np.ndarray, cand: np.ndarray, welem: np.ndarray, wdeg: np.ndarray,
               touch: np.ndarray, res: np.ndarray, av: np.ndarray, k: int, order: np.ndarray,
               held: np.ndarray, slot: np.ndarray, bucket: np.ndarray, lvl_bits: np.ndarray,
               lvl_av: np.ndarray, lvl_list: np.ndarray, lvl_undo: np.ndarray,
               mask: np.ndarray, calls: np.ndarray, budget: int, work: np.ndarray) -> bool:
    """Whether at most ``k`` available warehouses may cover every remaining unit: False
    only when none do (exact), True when some do or when more than ``budget`` levels
    would have to be opened.

    Each element left must be held (in part at least) by a member, so the member holding
    most of them holds at least ``ceil(n / k)`` of the ``n`` left (pigeonhole). So a
    cover has a member among the available warehouses holding that many (a *big* one);
    one is taken (earlier ones are not partners of later ones: their covers were all
    tried), its units subtracted, and the rest is a cover of at most ``k - 1`` of what it
    leaves, asked the same way; one warehouse is found by and-ing candidate masks.

    What a warehouse holds of fewer elements is no more, so a level finds its big ones
    among its parent level's big ones after the branch taken (recounted) whenever its
    threshold is no lower than the parent's (a warehouse below the parent's threshold is
    below its own), else among the first level's counts (sorted by counting sort, most
    first) after the first level's branch. The levels are a loop with their state in
    rows of the scratch arrays, not calls (a call with this many arrays cost more than
    the level's work): ``lvl_bits[lv]`` the elements left at level ``lv`` (``lv``
    warehouses may still be added), ``lvl_av[lv]`` its available warehouses (its big ones
    leave as they are branched on), ``lvl_list[lv]`` its big ones (count and warehouse,
    most held first), ``lvl_undo[lv]`` the units its branch took. ``res`` is left as it
    was; ``calls[0]``: the levels opened."""
    rbits = lvl_bits[k]
    rbits[:] = 0
    n = 0
    for e in range(res.size):
        if res[e] > 0:
            rbits[e >> 6] |= _ONE << np.uint64(e & 63)
            n += 1
    calls[0] = 0
    if n == 0:
        return True
    if k <= 0:
        return False
    if k == 1:
        return _one_cover(sup, cand, res, rbits, av, mask)
    bucket[:n + 1] = 0
    m = 0
    for i in range(av.size):  # every available warehouse's count, then sorted most first
        x = av[i]
        while x:
            u = 64 * i + _low(x)
            x &= x - _ONE
            c = 0
            for q in range(rbits.size):
                c += _popcount(touch[u, q] & rbits[q])
            slot[0, m] = u
            slot[1, m] = c
            bucket[c] += 1
            m += 1
    work[0] += m
    pos = 0
    for c in range(n, -1, -1):
        size = bucket[c]
        bucket[c] = pos
        pos += size
    for j in range(m):
        c = slot[1, j]
        order[bucket[c]] = slot[0, j]
        held[bucket[c]] = c
        bucket[c] += 1
    step = np.empty((4, k + 1), dtype=np.int64)  # per level: left, big ones, next, threshold
    least = (n + k - 1) // k
    n_big = 0
    while n_big < m and held[n_big] >= least:
        lvl_list[k, n_big] = (held[n_big] << _SLOT_BITS) | order[n_big]
        n_big += 1
    lvl_av[k, :] = av
    step[0, k] = n
    step[1, k] = n_big
    step[2, k] = 0
    step[3, k] = least
    calls[0] = 1
    lv = k
    while True:
        t = step[2, lv]
        if t > 0:  # give back what the previous branch took
            w = lvl_list[lv, t - 1] & _SLOT_MASK
            for j in range(wdeg[w]):
                res[welem[w, j]] = lvl_undo[lv, j]
        if t >= step[1, lv]:
            if lv == k:
                return False
            step[2, lv] = 0
            lv += 1
            continue
        w = lvl_list[lv, t] & _SLOT_MASK
        step[2, lv] = t + 1
        lvl_av[lv, w >> 6] &= ~(_ONE << np.uint64(w & 63))  # w and the earlier big ones
        sub = lv - 1
        for q in range(rbits.size):
            lvl_bits[sub, q] = lvl_bits[lv, q]
        left = step[0, lv]
        for j in range(wdeg[w]):
            e = welem[w, j]
            r = res[e]
            lvl_undo[lv, j] = r
            if r > 0:
                if sup[w, e] >= r:
                    res[e] = 0
                    lvl_bits[sub, e >> 6] &= ~(_ONE << np.uint64(e & 63))
                    left -= 1
                else:
                    res[e] = r - sup[w, e]
        work[0] += wdeg[w]
        if left == 0 or (sub == 1 and _one_cover(sup, cand, res, lvl_bits[1], lvl_av[lv],
                                                 mask)):
            _few_undo(welem, wdeg, res, lvl_list, lvl_undo, step, lv, k)
            return True
        if sub == 1:
            continue
        calls[0] += 1
        if calls[0] > budget:
            _few_undo(welem, wdeg, res, lvl_list, lvl_undo, step, lv, k)
            return True  # over budget: undecided
        least = (left + sub - 1) // sub
        n_sub = 0
        if least >= step[3, lv]:  # every big one of this level is a big one here, after w
            for j in range(t + 1, step[1, lv]):
                if (lvl_list[lv, j] >> _SLOT_BITS) < least:
                    break
                u = lvl_list[lv, j] & _SLOT_MASK
                c = 0
                for q in range(rbits.size):
                    c += _popcount(touch[u, q] & lvl_bits[sub, q])
                if c >= least:
                    v = (c << _SLOT_BITS) | u
                    p = n_sub
                    while p > 0 and lvl_list[sub, p - 1] < v:
                        lvl_list[sub, p] = lvl_list[sub, p - 1]
                        p -= 1
                    lvl_list[sub, p] = v
                    n_sub += 1
            work[0] += step[1, lv] - t
        else:  # the first level's order after its branch (first counts bound these)
            for j in range(step[2, k], m):
                if held[j] < least:
                    break
                u = order[j]
                work[0] += 1
                if not (lvl_av[lv, u >> 6] >> np.uint64(u & 63)) & _ONE:
                    continue
                c = 0
                for q in range(rbits.size):
                    c += _popcount(touch[u, q] & lvl_bits[sub, q])
                if c >= least:
                    v = (c << _SLOT_BITS) | u
                    p = n_sub
                    while p > 0 and lvl_list[sub, p - 1] < v:
                        lvl_list[sub, p] = lvl_list[sub, p - 1]
                        p -= 1
                    lvl_list[sub, p] = v
                    n_sub += 1
        if n_sub == 0:
            continue
        lvl_av[sub, :] = lvl_av[lv]
        step[0, sub] = left
        step[1, sub] = n_sub
        step[2, sub] = 0
        step[3, sub] = least
        lv = sub


@nb.njit(cache=True)
def _dual_bound(cand: np.ndarray, sup: np.ndarray, res: np.ndarray, av: np.ndarray,
                k_order: np.ndarray, reach: np.ndarray, slack: np.ndarray) -> float:
    """Covering-LP dual bound (a float; a cover has at least its ceiling) on the LP whose
    column ``w`` holds ``a[w, e] = min(sup[w, e], res[e]) / res[e]`` (each cover sums to
    1 at least on every element): element ``e`` gets ``1 / (largest reach of its
    available candidates)``, which keeps every warehouse's dual constraint at most 1,
    then one pass of dual ascent (``k_order``) raises each element's value by the most
    its candidates' slacks allow. ``slack[w]`` ends as 1 minus ``w``'s dual column sum:
    a cover ``C`` from the available warehouses has at least the bound plus its members'
    slacks (:func:`~ordersplit.solver.cover_kernel._fix_by_slack`)."""
    slack[:] = 1.0
    total = 0.0
    for e in range(res.size):
        r = res[e]
        if r <= 0:
            continue
        value = 1.0 / _most_among(cand, e, av, reach)
        total += value
        _take_share(cand, sup, e, r, av, slack, value)
    for idx in range(k_order.size):  # the ascent
        e = k_order[idx]
        r = res[e]
        if r <= 0:
            continue
        least = _least_share(cand, sup, e, r, av, slack)
        if least > 1e-12:
            total += least
            _take_share(cand, sup, e, r, av, slack, least)
    return total


@nb.njit(cache=True, inline="always")
def _least_share(cand: np.ndarray, sup: np.ndarray, e: int, r: int, av: np.ndarray,
                 slack: np.ndarray) -> float:
    """The most element ``e``'s dual value can rise (at most 1): the least slack of an
    available candidate per share of ``e``'s remaining units it holds."""
    least = 1.0
    for i in range(av.size):
        x = cand[e, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            least = min(least, slack[w] * r / min(sup[w, e], r))
    return least


@nb.njit(cache=True, inline="always")
def _take_share(cand: np.ndarray, sup: np.ndarray, e: int, r: int, av: np.ndarray,
                slack: np.ndarray, value: float) -> None:
    """Charge ``value`` of element ``e`` to each available candidate's slack, in
    proportion to the share of ``e``'s remaining units it holds."""
    for i in range(av.size):
        x = cand[e, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            slack[w] -= value * min(sup[w, e], r) / r


@nb.njit(cache=True, inline="always")
def _push_top(top: np.ndarray, n: int, slots: int, v: int) -> tuple[int, int]:
    """Keep the ``slots`` largest values seen in ``top[:n]`` (descending); returns the
    new ``n`` and the change in their sum."""
    if n < slots:
        n += 1
        gain = v
    elif v > top[n - 1]:
        gain = v - top[n - 1]
    else:
        return n, 0
    p = n - 1
    while p > 0 and top[p - 1] < v:
        top[p] = top[p - 1]
        p -= 1
    top[p] = v
    return n, gain


@nb.njit(cache=True)
def _terms_below(sup: np.ndarray, cand: np.ndarray, by_size: np.ndarray, n_by: np.ndarray,
                 hours: np.ndarray, cost: np.ndarray, worth: np.ndarray, demand: np.ndarray,
                 terms: np.ndarray,
                 res: np.ndarray, av: np.ndarray, chm: np.ndarray, slots: int,
                 top: np.ndarray, best_key: np.ndarray) -> bool:
    """Whether a leaf below with the incumbent's count (exactly ``slots`` more
    warehouses, all available) could still beat the incumbent on the later terms:
    lower bounds, term by term. Each element's remaining units come from at most
    ``slots`` available warehouses, so from no more than their ``slots`` largest
    supplies: the makespan bound is the earliest arrival by which that many are
    available, the unit hours bound a fastest fill with the available units capped
    at that sum."""
    for t in range(terms.size):
        code = terms[t]
        value = 0
        if code == MAKESPAN:
            for i in range(chm.size):
                x = chm[i]
                while x:
                    value = max(value, hours[64 * i + _low(x)])
                    x &= x - _ONE
            for e in range(res.size):
                r = res[e]
                if r <= 0:
                    continue
                n = 0
                got = 0
                for i in range(av.size):
                    if got >= r:
                        break
                    x = cand[e, i] & av[i]
                    while x and got < r:
                        w = 64 * i + _low(x)
                        x &= x - _ONE
                        n, gain = _push_top(top, n, slots, sup[w, e])
                        got += gain
                        if got >= r:
                            value = max(value, hours[w])
        elif code == UNIT_HOURS:
            for e in range(res.size):
                cap = 0  # the slots largest available supplies of e
                n = 0
                for j in range(n_by[e]):
                    if n >= slots:
                        break
                    w = by_size[e, j]
                    if _has(av, w):
                        cap += sup[w, e]
                        n += 1
                r = demand[e]
                for i in range(av.size):
                    if r <= 0:
                        break
                    x = cand[e, i] & (av[i] | chm[i])
                    while x and r > 0:
                        w = 64 * i + _low(x)
                        x &= x - _ONE
                        take = min(sup[w, e], r)
                        if not _has(chm, w):
                            take = min(take, cap)
                            cap -= take
                        r -= take
                        value += take * hours[w]
        elif code >= FRAGMENTS_LEVELS:  # either fragments code
            # per element: the fewest chosen or available warehouses reaching its demand
            for e in range(demand.size):
                if demand[e] <= 1:
                    continue
                got = 0
                for j in range(n_by[e]):
                    w = by_size[e, j]
                    if _has(av, w) or _has(chm, w):
                        got += sup[w, e]
                        value += 1
                        if got >= demand[e]:
                            break
                value -= 1
        elif code == STOCK_VALUE:
            value = _worth_fill_bound(sup, cand, worth, demand, av, chm)
        else:  # the chosen, and the cheapest available for the slots left
            for i in range(chm.size):
                x = chm[i]
                while x:
                    value += cost[64 * i + _low(x)]
                    x &= x - _ONE
            n = 0
            for i in range(av.size):
                x = av[i]
                while x and slots > 0:
                    c = cost[64 * i + _low(x)]
                    x &= x - _ONE
                    n, _ = _push_top(top, n, slots, -c)
            for j in range(n):
                value -= top[j]
        if value != best_key[t + 1]:
            return value < best_key[t + 1]
    return False


@nb.njit(cache=True)
def _min_cover(sup: np.ndarray, by_size: np.ndarray, n_by: np.ndarray, e: int, r: int,
               av: np.ndarray) -> int:
    """Fewest available warehouses whose supplies of ``e`` reach ``r`` (-1: none)."""
    got = 0
    n = 0
    for j in range(n_by[e]):
        w = by_size[e, j]
        if _has(av, w):
            got += sup[w, e]
            n += 1
            if got >= r:
                return n
    return -1


@nb.njit(cache=True)
def _branch_element(sup: np.ndarray, cand: np.ndarray, by_size: np.ndarray, n_by: np.ndarray,
                    hours: np.ndarray, cost: np.ndarray, worth: np.ndarray,
                    demand: np.ndarray, k_order: np.ndarray, terms: np.ndarray,
                    res: np.ndarray, av: np.ndarray,
                    chm: np.ndarray, depth: int, min_count: int, best_key: np.ndarray,
                    has_best: bool,
                    tie: int, union: np.ndarray, reach: np.ndarray, costs: np.ndarray,
                    work: np.ndarray, slack: np.ndarray, mcs: np.ndarray) -> int:
    """The element to branch on (fewest available candidates; ties: the one needing
    more warehouses), or -1 when the node is pruned (see the module docstring).
    Warehouses that no cover of the room left can hold (by their reduced cost) leave
    ``av`` for the node and everything below it."""
    pick = _scarcest(sup, cand, by_size, n_by, k_order, res, av, mcs, work)
    if pick < 0:
        return -1
    union[:] = 0
    extra = 0
    disjoint = 0
    for idx in range(k_order.size):
        e = k_order[idx]
        if res[e] <= 0:
            continue
        extra = max(extra, mcs[e])
        overlap = False
        for i in range(av.size):
            if cand[e, i] & av[i] & union[i]:
                overlap = True
        if not overlap:
            disjoint += mcs[e]
            for i in range(av.size):
                union[i] |= cand[e, i] & av[i]
    if not has_best:
        return pick
    extra = max(extra, disjoint)
    total = -1.0
    if depth + extra + tie <= best_key[0]:
        total = _dual_bound(cand, sup, res, av, k_order, reach, slack)
        extra = max(extra, int(np.ceil(total - EPS)))
    count = max(depth + extra, min_count)
    if count > best_key[0] or (count == best_key[0] and tie):
        return -1
    if count == best_key[0] and not _terms_below(sup, cand, by_size, n_by, hours, cost,
                                                 worth, demand, terms, res, av, chm,
                                                 best_key[0] - depth, costs, best_key):
        return -1
    if total >= 0.0 and _fix_by_slack(total, slack, best_key[0] - depth - tie, av):
        return _scarcest(sup, cand, by_size, n_by, k_order, res, av, mcs, work)
    return pick


@nb.njit(cache=True)
def _scarcest(sup: np.ndarray, cand: np.ndarray, by_size: np.ndarray, n_by: np.ndarray,
              k_order: np.ndarray, res: np.ndarray, av: np.ndarray, mcs: np.ndarray,
              work: np.ndarray) -> int:
    """The element left with the fewest available candidates (ties: the one needing more
    warehouses), or -1 when one can no longer be covered; ``mcs[e]``: the fewest
    available warehouses that cover each element left."""
    pick = -1
    fewest = 1 << 60
    pick_mc = 0
    for idx in range(k_order.size):
        e = k_order[idx]
        r = res[e]
        if r <= 0:
            continue
        n = n_available(cand, e, av)
        if n == 0:
            return -1
        mc = _min_cover(sup, by_size, n_by, e, r, av)
        work[0] += n_by[e] + av.size
        if mc < 0:
            return -1
        mcs[e] = mc
        if n < fewest or (n == fewest and mc > pick_mc):
            pick = e
            fewest = n
            pick_mc = mc
    return pick


@nb.njit(cache=True)
def _finish(sup: np.ndarray, cand: np.ndarray, hours: np.ndarray, cost: np.ndarray,
            worth: np.ndarray, demand: np.ndarray, k_order: np.ndarray, terms: np.ndarray, res: np.ndarray,
            av: np.ndarray, chm: np.ndarray, tie: int, best_key: np.ndarray,
            best_used: np.ndarray, state: np.ndarray, used: np.ndarray, key: np.ndarray,
            chosen: np.ndarray) -> int:
    """A node with one warehouse left to add, without child nodes: every available
    warehouse that covers all remaining units alone is a leaf, fastest first (with only
    the count to beat, the first one ends it). Returns the work done."""
    e0 = -1
    for idx in range(k_order.size):
        if res[k_order[idx]] > 0:
            e0 = k_order[idx]
            break
    work = 0
    for i in range(av.size):
        x = cand[e0, i] & av[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            ok = True
            for e in range(res.size):
                if res[e] > sup[w, e]:
                    ok = False
                    break
            work += res.size
            if not ok:
                continue
            chosen[:] = chm
            chosen[i] |= _ONE << np.uint64(w & 63)
            _offer(sup, cand, hours, cost, worth, demand, terms, chosen, best_key, best_used, state,
                   used, key)
            if tie:
                return work
    return work


@nb.njit(cache=True, nogil=True)
def search(sup: np.ndarray, cand: np.ndarray, by_size: np.ndarray, n_by: np.ndarray,
           welem: np.ndarray, wdeg: np.ndarray, dom: np.ndarray, hours: np.ndarray,
           cost: np.ndarray, worth: np.ndarray, demand: np.ndarray, k_order: np.ndarray,
           terms: np.ndarray,
           avail0: np.ndarray, chosen0: np.ndarray, best_key: np.ndarray,
           best_used: np.ndarray, state: np.ndarray, deadline: float, min_count: int) -> None:
    """Depth-first branch and bound for the lexicographically smallest cover.

    The interface is the binary kernel's :func:`~ordersplit.solver.cover_kernel.search`
    (``best_key``, ``best_used`` and ``state`` in and out; ``state[1]`` nodes,
    ``state[2]`` 1 when the deadline stopped it; ``state[3]``, when present and
    positive, a node limit that stops it as the deadline does); ``dom[v]`` is the mask of warehouses
    that ``v`` dominates for the terms searched; ``min_count`` is a proven lower bound
    on the warehouses of any cover (the count stage's), which lets the later terms be
    bounded at every node.
    """
    n_e = sup.shape[1]
    n_w = sup.shape[0]
    nw = avail0.size
    if _now() >= deadline:
        state[2] = 1
        return
    node_limit = state[3] if state.size > 3 else 0  # a work budget (0: none)
    depth_cap = n_w
    if state[0] != 0:
        depth_cap = min(n_w, max(0, best_key[0]))
    levels = depth_cap + 2
    res = np.zeros((levels, n_e), dtype=np.int64)
    av = np.zeros((levels, nw), dtype=np.uint64)
    chm = np.zeros((levels, nw), dtype=np.uint64)
    clist = np.zeros((levels, max(n_w, 1)), dtype=np.int64)
    creach = np.zeros((levels, max(n_w, 1)), dtype=np.float64)
    n_c = np.zeros(levels, dtype=np.int64)
    pos = np.zeros(levels, dtype=np.int64)
    need = np.zeros(levels, dtype=np.float64)
    reach = np.zeros(max(n_w, 1), dtype=np.float64)
    slack = np.zeros(max(n_w, 1), dtype=np.float64)
    mcs = np.zeros(max(n_e, 1), dtype=np.int64)
    best_r = np.zeros(max(n_w, 1), dtype=np.float64)
    costs = np.zeros(max(n_w, 1), dtype=np.int64)
    union = np.zeros(nw, dtype=np.uint64)
    used = np.zeros(nw, dtype=np.uint64)
    key = np.zeros(best_key.size, dtype=np.int64)
    work = np.zeros(1, dtype=np.int64)
    scratch = np.zeros(nw, dtype=np.uint64)
    left = np.zeros(max(n_e, 1), dtype=np.int64)
    cnt = np.zeros(max(n_e, 1), dtype=np.int64)
    shorts = np.zeros(max(n_e, 1), dtype=np.int64)
    pool = np.zeros(nw, dtype=np.uint64)
    others = np.zeros(nw, dtype=np.uint64)
    tc = np.zeros(max(n_w, 1), dtype=np.int64)
    lbits = np.zeros(max(1, (n_e + 63) // 64), dtype=np.uint64)
    touch = np.zeros((0, 1), dtype=np.uint64)  # built at the first node that needs it
    f_order = np.zeros(max(n_w, 1), dtype=np.int64)  # :func:`_few_cover`'s scratch
    f_held = np.zeros(max(n_w, 1), dtype=np.int64)
    f_slot = np.zeros((2, max(n_w, 1)), dtype=np.int64)
    f_bucket = np.zeros(n_e + 2, dtype=np.int64)
    f_bits = np.zeros((FEW_ROOM + 2, max(1, (n_e + 63) // 64)), dtype=np.uint64)
    f_av = np.zeros((FEW_ROOM + 1, nw), dtype=np.uint64)
    f_list = np.zeros((FEW_ROOM + 1, max(n_w, 1)), dtype=np.int64)
    f_undo = np.zeros((FEW_ROOM + 1, max(1, welem.shape[1])), dtype=np.int64)
    f_calls = np.zeros(2, dtype=np.int64)
    tie = 0 if terms.size else 1  # a leaf must beat the count unless later terms decide
    res[0, :] = demand
    base = _count(chosen0)
    for i in range(chosen0.size):
        x = chosen0[i]
        while x:
            w = 64 * i + _low(x)
            x &= x - _ONE
            for j in range(wdeg[w]):
                e = welem[w, j]
                res[0, e] = max(0, res[0, e] - sup[w, e])
    av[0, :] = avail0
    chm[0, :] = chosen0
    nodes = 0
    aborted = 0
    next_check = WORK_PER_CHECK
    d = 0
    enter = True
    while True:
        if enter:
            nodes += 1
            work[0] += 1
            if work[0] >= next_check:
                next_check = work[0] + WORK_PER_CHECK
                if _now() >= deadline or 0 < node_limit <= nodes:
                    aborted = 1
                    break
            n_c[d] = 0
            pos[d] = 0
            covered = True
            n_unc = 0
            for e in range(n_e):
                if res[d, e] > 0:
                    covered = False
                    n_unc += 1
            if covered:
                _offer(sup, cand, hours, cost, worth, demand, terms, chm[d], best_key, best_used,
                       state, used, key)
            elif state[0] != 0 and best_key[0] - d - base - tie == 1:
                work[0] += _finish(sup, cand, hours, cost, worth, demand, k_order, terms, res[d],
                                   av[d], chm[d], tie, best_key, best_used, state, used, key,
                                   scratch)
            else:
                has_best = state[0] != 0
                pick = -1
                room = best_key[0] - d - base - tie
                if has_best and 3 <= room <= FEW_ROOM and touch.shape[0] == 0:
                    touch = touch_bits(welem, wdeg, n_e)
                if has_best and room == 2 and not _two_cover(sup, cand, res[d], av[d], left,
                                                             scratch, work):
                    pass  # no two warehouses finish it: no leaf below
                elif has_best and room == 3 and not _three_cover(
                        sup, cand, welem, wdeg, touch, res[d], av[d], left, cnt, shorts, tc,
                        lbits, pool, others, scratch, THREE_PAIRS, work):
                    pass  # nor three
                elif has_best and room == FEW_ROOM and not _few_cover(
                        sup, cand, welem, wdeg, touch, res[d], av[d], room, f_order, f_held,
                        f_slot, f_bucket, f_bits, f_av, f_list, f_undo, scratch, f_calls,
                        FEW_CALLS, work):
                    pass  # nor four
                else:
                    if has_best:
                        work[0] += _reach(sup, welem, wdeg, res[d], av[d], reach)
                    if not (has_best and _too_few(reach, av[d], room, n_unc, best_r)):
                        pick = _branch_element(sup, cand, by_size, n_by, hours, cost, worth,
                                               demand, k_order, terms, res[d], av[d], chm[d],
                                               d + base, min_count, best_key, has_best, tie,
                                               union, reach, costs, work, slack, mcs)
                if pick >= 0:
                    n = 0
                    for i in range(nw):
                        x = cand[pick, i] & av[d, i]
                        while x:
                            clist[d, n] = 64 * i + _low(x)
                            x &= x - _ONE
                            n += 1
                    need[d] = 0.0
                    if has_best:
                        slots = best_key[0] - d - base - tie
                        need[d] = n_unc - _top_sum(reach, av[d], slots - 1, best_r) - EPS
                        for t in range(n):
                            creach[d, t] = reach[clist[d, t]]
                        if tie:  # count only: the widest candidates first
                            order = np.argsort(-creach[d, :n], kind="mergesort")
                            tmp = clist[d, :n][order]
                            clist[d, :n] = tmp
                            tmpr = creach[d, :n][order]
                            creach[d, :n] = tmpr
                    n_c[d] = n
        advanced = False
        while pos[d] < n_c[d]:
            if pos[d] > 0:  # the previous sibling is done: drop what it dominates
                prev = clist[d, pos[d] - 1]
                for i in range(nw):
                    av[d, i] &= ~dom[prev, i]
            if state[0] != 0 and d + base + 1 > best_key[0]:
                break  # every child would open more warehouses than the incumbent
            w = clist[d, pos[d]]
            short = state[0] != 0 and creach[d, pos[d]] < need[d]
            if short and tie:
                break  # this and every later sibling reach too little
            pos[d] += 1
            if not _has(av[d], w):
                continue  # dominated by an earlier sibling
            bit = _ONE << np.uint64(w & 63)
            av[d, w >> 6] &= ~bit
            if short:
                continue  # no completion through w has few enough warehouses
            res[d + 1, :] = res[d]
            empty = True
            for j in range(wdeg[w]):
                e = welem[w, j]
                res[d + 1, e] = max(0, res[d, e] - sup[w, e])
            for e in range(n_e):
                if res[d + 1, e] > 0:
                    empty = False
                    break
            if not empty and state[0] != 0 and d + base + 1 >= best_key[0]:
                continue  # would need yet another warehouse
            if d + 1 >= levels - 1:
                continue  # deeper than any cover can be (never with an incumbent)
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
def greedy_cover(sup: np.ndarray, welem: np.ndarray, wdeg: np.ndarray, demand: np.ndarray,
                 chosen: np.ndarray) -> int:
    """A quick cover: repeatedly the warehouse supplying the largest share of what is
    left (the fastest on ties); its warehouses into ``chosen``, their number returned,
    or -1 when the warehouses cannot cover the demand."""
    n_w = sup.shape[0]
    res = demand.copy()
    taken = np.zeros(n_w, dtype=np.bool_)
    size = 0
    left = 0
    for e in range(res.size):
        if res[e] > 0:
            left += 1
    while left > 0:
        best_w = -1
        best_s = 0.0
        for w in range(n_w):
            if taken[w]:
                continue
            s = 0.0
            for j in range(wdeg[w]):
                e = welem[w, j]
                if res[e] > 0:
                    s += min(sup[w, e], res[e]) / res[e]
            if s > best_s:
                best_w = w
                best_s = s
        if best_w < 0:
            return -1
        taken[best_w] = True
        chosen[size] = best_w
        size += 1
        for j in range(wdeg[best_w]):
            e = welem[best_w, j]
            if res[e] > 0:
                res[e] = max(0, res[e] - sup[best_w, e])
                if res[e] == 0:
                    left -= 1
    return size


@nb.njit(cache=True, nogil=True)
def dominance(sup: np.ndarray, welem: np.ndarray, wdeg: np.ndarray, hours: np.ndarray,
              cost: np.ndarray, use_hours: bool, use_cost: bool, dom: np.ndarray,
              deadline: float) -> bool:
    """``dom[v]`` := the warehouses ``w`` that ``v`` dominates: at least ``w``'s supply of
    every element, and (when asked) no slower and no dearer. False when the deadline
    stopped it (``dom`` is then only partly filled, which is still valid)."""
    n_w = sup.shape[0]
    total = np.zeros(n_w, dtype=np.int64)
    for w in range(n_w):
        for j in range(wdeg[w]):
            total[w] += sup[w, welem[w, j]]
    dom[:] = 0
    for v in range(n_w):
        if (v & 63) == 0 and _now() >= deadline:
            return False
        for w in range(n_w):
            if w == v or total[v] < total[w]:
                continue
            if use_hours and hours[v] > hours[w]:
                continue
            if use_cost and cost[v] > cost[w]:
                continue
            ok = True
            for j in range(wdeg[w]):
                e = welem[w, j]
                if sup[v, e] < sup[w, e]:
                    ok = False
                    break
            if ok:
                dom[v, w >> 6] |= _ONE << np.uint64(w & 63)
    return True


@nb.njit(cache=True, nogil=True)
def full_dominated(sup: np.ndarray, welem: np.ndarray, wdeg: np.ndarray, demand: np.ndarray,
                   hours: np.ndarray, cost: np.ndarray, out: np.ndarray,
                   deadline: float) -> bool:
    """``out[b]`` := some other warehouse covers the whole demand of every element ``b``
    supplies and is no slower and no dearer (of two alike, the later one is marked).
    Warehouses are in (hours, cost, id) order. False when the deadline stopped it."""
    n_w = sup.shape[0]
    out[:] = False
    for b in range(n_w):
        if (b & 63) == 0 and _now() >= deadline:
            return False
        for a in range(n_w):
            if a == b or out[a] or hours[a] > hours[b] or cost[a] > cost[b]:
                continue
            ok = True
            for j in range(wdeg[b]):
                e = welem[b, j]
                if sup[a, e] < demand[e]:
                    ok = False
                    break
            if not ok:
                continue
            if a > b:  # a later warehouse no worse: b is dominated unless they are alike
                alike = hours[a] == hours[b] and cost[a] == cost[b]
                for j in range(wdeg[a]):
                    e = welem[a, j]
                    if sup[b, e] < demand[e]:
                        alike = False
                        break
                if alike:
                    continue
            out[b] = True
            break
    return True


def _warm_up() -> None:
    """Compile (or load from numba's cache) every kernel with the run-time types."""
    from ordersplit.solver.cover_kernel import mask_words, pack

    sup = np.array([[2, 0], [1, 1], [0, 2]], dtype=np.int64)
    demand = np.array([2, 2], dtype=np.int64)
    cand = pack((sup > 0).T.copy())
    hours = np.array([1, 2, 3], dtype=np.int64)
    welem = np.array([[0, 0], [0, 1], [1, 0]], dtype=np.int64)
    wdeg = np.array([1, 2, 1], dtype=np.int64)
    by_size = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.int64)
    n_by = np.array([2, 2], dtype=np.int64)
    dom = np.zeros((3, 1), dtype=np.uint64)
    far = time.perf_counter() + 60
    dominance(sup, welem, wdeg, hours, hours, True, True, dom, far)
    full_dominated(sup, welem, wdeg, demand, hours, hours, np.zeros(3, dtype=np.bool_), far)
    key = np.array([3, 3], dtype=np.int64)
    worth = np.zeros((0, 3), dtype=np.int64)
    search(sup, cand, by_size, n_by, welem, wdeg, dom, hours, hours, worth, demand,
           np.arange(2, dtype=np.int64), np.array([MAKESPAN], dtype=np.int64),
           mask_words(7, 3), mask_words(0, 3), key, np.zeros(1, dtype=np.uint64),
           np.zeros(3, dtype=np.int64), far, 0)
    greedy_cover(sup, welem, wdeg, demand, np.zeros(3, dtype=np.int64))
    leaf_key(sup, cand, hours, hours, worth, demand, np.array([COST], dtype=np.int64),
             mask_words(7, 3), np.zeros(1, dtype=np.uint64), np.zeros(2, dtype=np.int64))
    frag = np.array([UNIT_HOURS, FRAGMENTS_LEVELS], dtype=np.int64)
    search(sup, cand, by_size, n_by, welem, wdeg, dom, hours, hours, worth, demand,
           np.arange(2, dtype=np.int64), frag, mask_words(7, 3), mask_words(0, 3),
           np.array([3, 99, 9], dtype=np.int64), np.zeros(1, dtype=np.uint64),
           np.zeros(4, dtype=np.int64), far, 2)


drop_if_changed(search, (clock, cover_kernel))  # its code is compiled into these entries
COMPILED_ON_IMPORT = load_kernels(
    "partial-stock kernel", (search, greedy_cover, leaf_key, dominance, full_dominated),
    _warm_up)
"""Whether importing this module compiled the kernels (a cold cache) rather than loaded them."""
