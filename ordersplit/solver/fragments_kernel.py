"""The fragments stages of a small order of lone lines in one compiled call.

After the one-call search (:func:`~ordersplit.solver.group_kernel.small_order`) proved
every term before ``fragments``, the portfolio (:mod:`ordersplit.solver.portfolio`)
runs two fragments stages on its plan: the post-stage that keeps lines whole inside
the plan's own children (:func:`~ordersplit.solver.fragments.keep_lines_whole_scored`,
its closed form for lone lines) and the exact settlement
(:func:`~ordersplit.solver.fragments.settle_fragments`): per group, its fragments
bound (:func:`~ordersplit.solver.group_prep.plain_pieces_bound`), else every minimum
cover tried (:func:`~ordersplit.solver.fragments_covers.settle_by_covers`, when there
are at most :data:`~ordersplit.solver.fragments_covers.FEW_SETS` candidate sets). On a
10 x 30 order whose plan splits a line (thin stock: two orders in three) their Python
and numpy cost more than the search. :func:`settle_lone_lines` runs both on the same
arrays in one call, for an order of lone lines (:attr:`SplitProblem.lone_lines`:
every item a whole splittable line of one SKU no other item uses) with ``fragments``
the last term and no stock value to rank. A group that needs more (the compiled search
again, :func:`~ordersplit.solver.fragments_covers.settle_by_search`, or CP-SAT) is
left to the Python path, which then settles the whole order from the kept plan. The
Python path is the definition (``tests/test_fragments_kernel.py`` compares them).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock, cover_kernel, group_prep, partial_kernel
from ordersplit.solver.evaluate import Objective, of_terms
from ordersplit.solver.fragments import TERM
from ordersplit.solver.fragments_covers import FEW_SETS, MAX_COVERS
from ordersplit.solver.group_prep import (
    fewest_pieces_fill,
    group_order,
    plain_pieces_bound,
    plan_terms,
    readonly,
)
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

CHILDREN, MAKESPAN, UNIT_HOURS, COST, FRAGMENTS, STOCK_VALUE = range(6)
"""Term codes of :func:`settle_lone_lines`'s ``codes`` (the problem's objective)."""
_CODES = {"children": CHILDREN, "makespan": MAKESPAN, "unit_hours": UNIT_HOURS,
          "cost": COST, "fragments": FRAGMENTS, "stock_value": STOCK_VALUE}
SETTLED, LEFT = 0, 1
"""``info[0]`` of :func:`settle_lone_lines`: every group settled (the plan in ``out``),
or a group left to the Python path (the kept plan in ``kept``)."""
KEPT_WORSE, SETTLED_WORSE = 1, 2
"""``info[1]``'s bits: a safeguard fired (the kept rows, the settled rows were worse;
cannot happen, logged by the caller as the Python path logs it)."""


@nb.njit(cache=True, inline="always")
def _term(code: int, t: np.ndarray, fixed_makespan: int) -> int:
    """One objective term from :func:`~ordersplit.solver.group_prep.plan_terms`'s
    ``t`` (as :func:`~ordersplit.solver.evaluate.of_terms` forms it; unpriced)."""
    if code == CHILDREN:
        return t[0]
    if code == MAKESPAN:
        slowest = t[2] if t[0] else 0
        return max(slowest, fixed_makespan)
    if code == UNIT_HOURS:
        return t[3]
    if code == COST:
        return t[4]
    if code == FRAGMENTS:
        return t[5]
    return 0


@nb.njit(cache=True)
def _compare(a: np.ndarray, b: np.ndarray, codes: np.ndarray, fixed_makespan: int) -> int:
    """-1, 0 or 1 as plan terms ``a`` come before, tie with or come after ``b``."""
    for c in codes:
        va = _term(c, a, fixed_makespan)
        vb = _term(c, b, fixed_makespan)
        if va != vb:
            return -1 if va < vb else 1
    return 0


@nb.njit(cache=True)
def _terms_of(x: np.ndarray, group: np.ndarray, n_groups: int, hours: np.ndarray,
              cost: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """:func:`~ordersplit.solver.group_prep.plan_terms` of ``x`` (lines of their own) as
    an array."""
    p, g, s, u, c, f = plan_terms(x, group, n_groups, hours, cost, lines, 0, True)
    out = np.empty(6, dtype=np.int64)
    out[0], out[1], out[2], out[3], out[4], out[5] = p, g, s, u, c, f
    return out


@nb.njit(cache=True)
def _one_line(i: int, opened: np.ndarray, group: np.ndarray, skus: np.ndarray,
              quantity: np.ndarray, stock: np.ndarray, allowed: np.ndarray,
              hours: np.ndarray, uh: bool, row: np.ndarray) -> None:
    """``fragments._one_line`` into ``row``: the line's units from the opened warehouses
    that hold its SKU, in ``_fill_order`` (hours when unit hours rank, then largest
    capacity, fastest, first)."""
    k = skus[i]
    need = quantity[i]
    n_w = hours.size
    cand = np.empty(n_w, dtype=np.int64)
    cap = np.empty(n_w, dtype=np.int64)
    n = 0
    for w in range(n_w):
        if opened[group[i], w] and allowed[i, w] and stock[w, k] > 0:
            cand[n] = w
            cap[n] = min(stock[w, k], need)
            n += 1
    order = np.empty(n, dtype=np.int64)
    for j in range(n):  # insertion sort by (level, -capacity, hours, warehouse)
        a = j
        while a > 0 and _line_before(j, order[a - 1], cand, cap, hours, uh):
            order[a] = order[a - 1]
            a -= 1
        order[a] = j
    row[:] = 0
    for t in range(n):
        if need == 0:
            break
        j = order[t]
        take = min(need, cap[j])
        row[cand[j]] = take
        need -= take


@nb.njit(cache=True, inline="always")
def _line_before(a: int, b: int, cand: np.ndarray, cap: np.ndarray, hours: np.ndarray,
                 uh: bool) -> bool:
    """Whether candidate ``a`` comes before ``b`` in ``fragments._fill_order``."""
    ha = hours[cand[a]]
    hb = hours[cand[b]]
    if uh and ha != hb:
        return ha < hb
    if cap[a] != cap[b]:
        return cap[a] > cap[b]
    if ha != hb:
        return ha < hb
    return cand[a] < cand[b]


@nb.njit(cache=True)
def _n_sets(n: int, c: int, most: int) -> int:
    """``math.comb(n, c)``, or ``most + 1`` once it exceeds ``most``."""
    if c < 0 or c > n:
        return 0
    c = min(c, n - c)
    out = 1
    for j in range(c):
        out = out * (n - j) // (j + 1)  # exact: a product of j + 1 consecutive ints
        if out > most:
            return most + 1
    return out


@nb.njit(cache=True)
def _by_covers(items: np.ndarray, rows: np.ndarray, reach: np.ndarray, skus: np.ndarray,
               quantity: np.ndarray, stock: np.ndarray, hours: np.ndarray, cost: np.ndarray,
               uh: bool, dear: bool, few_sets: int, max_covers: int,
               out: np.ndarray) -> bool:
    """``settle_by_covers(..., (0, few_sets))`` of a group of lone lines: every set of
    as many warehouses as ``rows`` opens (lexicographic, among those that can give a
    line some units within ``reach``) that covers every line, its fewest-pieces fill
    kept when it ships from all of them with the unit hours (``uh``) and cost
    (``dear``) of ``rows``; the first with the fewest pieces into ``out`` (rows of
    ``items``, zero elsewhere). False when it does not apply or no set keeps them."""
    n = items.size
    n_w = hours.size
    c_star = 0
    target_uh = 0
    target_cost = 0
    for w in range(n_w):
        any_w = False
        for r in range(n):
            if rows[r, w] != 0:
                any_w = True
                target_uh += rows[r, w] * hours[w]
        if any_w:
            c_star += 1
            target_cost += cost[w]
    q = np.empty(n, dtype=np.int64)
    cap = np.zeros((n, n_w), dtype=np.int64)
    is_cand = np.zeros(n_w, dtype=np.bool_)
    for r in range(n):
        i = items[r]
        q[r] = quantity[i]
        for w in range(n_w):
            if reach[i, w]:
                c = min(stock[w, skus[i]], q[r])
                cap[r, w] = c
                if c != 0:
                    is_cand[w] = True
    cand = np.flatnonzero(is_cand)
    n_sets = _n_sets(cand.size, c_star, few_sets)
    if c_star == 0 or cand.size < c_star or not (0 < n_sets <= few_sets):
        return False
    # every set, in itertools.combinations order; the covering ones kept
    covers = np.empty((n_sets, c_star), dtype=np.int64)
    n_cov = 0
    pick = np.arange(c_star)
    while True:
        ok = True
        for r in range(n):
            got = 0
            for j in range(c_star):
                got += cap[r, cand[pick[j]]]
            if got < q[r]:
                ok = False
                break
        if ok:
            for j in range(c_star):
                covers[n_cov, j] = cand[pick[j]]
            n_cov += 1
        j = c_star - 1  # the next combination
        while j >= 0 and pick[j] == cand.size - c_star + j:
            j -= 1
        if j < 0:
            break
        pick[j] += 1
        for t in range(j + 1, c_star):
            pick[t] = pick[t - 1] + 1
    if n_cov > max_covers:
        return False
    linear = np.zeros(1 if uh else 0, dtype=np.int64)  # unit hours (code 0) when they rank
    price = np.zeros((n, c_star), dtype=np.int64)
    sub = np.empty((n, c_star), dtype=np.int64)
    hrs = np.empty(c_star, dtype=np.int64)
    best = -1
    best_frag = 0
    best_part = np.zeros((n, c_star), dtype=np.int64)
    for s in range(n_cov):
        set_cost = 0
        for j in range(c_star):
            w = covers[s, j]
            hrs[j] = hours[w]
            set_cost += cost[w]
            for r in range(n):
                sub[r, j] = cap[r, w]
        part, unit, fits = fewest_pieces_fill(sub, q, hrs, price, linear)
        if not fits or (uh and unit != target_uh) or (dear and set_cost != target_cost):
            continue
        pieces = 0
        every = True
        for j in range(c_star):
            col = 0
            for r in range(n):
                if part[r, j] != 0:
                    col += 1
            pieces += col
            every &= col > 0
        if not every:
            continue
        frag = pieces - n
        if best < 0 or frag < best_frag:
            best, best_frag = s, frag
            best_part[:, :] = part
    if best < 0:
        return False
    out[:, :] = 0
    for j in range(c_star):
        for r in range(n):
            out[r, covers[best, j]] = best_part[r, j]
    return True


@nb.njit(cache=True, nogil=True)
def settle_lone_lines(x: np.ndarray, group: np.ndarray, n_groups: int, skus: np.ndarray,
                      splittable: np.ndarray, quantity: np.ndarray, stock: np.ndarray,
                      allowed: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                      lines: np.ndarray, fixed_makespan: int, codes: np.ndarray,
                      few_sets: int, max_covers: int, kept: np.ndarray, out: np.ndarray,
                      info: np.ndarray) -> None:
    """The portfolio's two fragments stages on the plan ``x`` (every term before
    fragments proven) of an order of lone lines, ``codes`` its objective (fragments
    last): ``keep_lines_whole_scored`` into ``kept``, then ``settle_fragments`` into
    ``out``. ``info``: :data:`SETTLED` or :data:`LEFT`, the safeguard bits, then the
    plan terms of ``kept`` (6) and of ``out`` (6, when settled)."""
    info[:] = 0
    n, n_w = x.shape
    uh = False
    dear = False
    timed = False
    for c in codes:
        uh |= c == UNIT_HOURS
        dear |= c == COST
        timed |= c == MAKESPAN
    t_x = _terms_of(x, group, n_groups, hours, cost, lines)
    # keep_lines_whole_scored: each split line by its closed form in the opened children
    kept[:, :] = x
    t_kept = t_x
    fragmentable = False
    for i in range(n):
        fragmentable |= quantity[i] > 1
    every = np.arange(n)
    if fragmentable and t_x[5] != 0 and t_x[5] > plain_pieces_bound(
            every, skus, splittable, quantity, stock, allowed, allowed):
        opened = np.zeros((n_groups, n_w), dtype=np.bool_)
        for i in range(n):
            for w in range(n_w):
                if x[i, w] != 0:
                    opened[group[i], w] = True
        changed = False
        for i in range(n):
            cells = 0
            for w in range(n_w):
                if x[i, w] != 0:
                    cells += 1
            if cells > 1:
                _one_line(i, opened, group, skus, quantity, stock, allowed, hours, uh, kept[i])
                for w in range(n_w):
                    changed |= kept[i, w] != x[i, w]
        if changed:
            t_new = _terms_of(kept, group, n_groups, hours, cost, lines)
            if _compare(t_new, t_x, codes, fixed_makespan) <= 0:
                t_kept = t_new
            else:
                kept[:, :] = x
                info[1] |= KEPT_WORSE
    info[2:8] = t_kept
    # settle_fragments: each group with more fragments than its bound, by its covers
    out[:, :] = kept
    if t_kept[5] == 0:
        info[0] = SETTLED
        info[8:14] = t_kept
        return
    reach = allowed.copy()
    if timed:
        m_star = _term(MAKESPAN, t_kept, fixed_makespan)
        for w in range(n_w):
            if hours[w] > m_star:
                reach[:, w] = False
    order, bounds, _ = group_order(group, n_groups)
    for g in range(n_groups):
        items = order[bounds[g]:bounds[g + 1]]
        if items.size == 0:
            continue
        cut = 0
        for i in items:
            cells = 0
            for w in range(n_w):
                if kept[i, w] != 0:
                    cells += 1
            if cells:
                cut += cells - 1
        if cut == 0 or cut <= plain_pieces_bound(items, skus, splittable, quantity, stock,
                                                 allowed, reach):
            continue
        rows = np.empty((items.size, n_w), dtype=np.int64)
        for r in range(items.size):
            rows[r] = kept[items[r]]
        settled = np.empty_like(rows)
        if not _by_covers(items, rows, reach, skus, quantity, stock, hours, cost, uh, dear,
                          few_sets, max_covers, settled):
            info[0] = LEFT
            return
        for r in range(items.size):
            out[items[r]] = settled[r]
    t_out = _terms_of(out, group, n_groups, hours, cost, lines)
    if _compare(t_out, t_kept, codes, fixed_makespan) > 0:
        out[:, :] = kept
        t_out = t_kept
        info[1] |= SETTLED_WORSE
    info[0] = SETTLED
    info[8:14] = t_out


@functools.lru_cache(maxsize=16)
def _codes(objective: tuple[str, ...]) -> np.ndarray:
    """:func:`settle_lone_lines`'s codes of an objective (read-only, shared)."""
    return readonly(np.array([_CODES[t] for t in objective], dtype=np.int64))


def applies(problem: SplitProblem) -> bool:
    """Whether :func:`settle_order` serves ``problem``: lone lines, one child per
    warehouse, fragments the last term and no stock value that ranks."""
    return (problem.per_warehouse and bool(problem.objective)
            and problem.objective[-1] == TERM and problem.objective[0] == "children"
            and not ("stock_value" in problem.objective and problem.priced)
            and problem.n_items > 0 and problem.lone_lines and problem.coverable)


@dataclass
class Settled:
    """:func:`settle_order`'s answer: the plan kept whole (and its objective), and when
    every group settled, the settled plan and its objective (else ``None``: the
    Python path settles the order from ``kept``)."""

    kept: IntArray
    kept_objective: Objective
    settled: IntArray | None
    objective: Objective | None


def settle_order(problem: SplitProblem, x: IntArray, stop: Deadline) -> Settled | None:
    """:func:`settle_lone_lines` of ``problem`` (:func:`applies`) and its proven plan
    ``x``; ``None`` when the arrays are not of the types it was compiled for, or the
    deadline has passed (the Python path decides then)."""
    if stop.expired():
        return None
    kept = np.empty_like(x)
    out = np.empty_like(x)
    info = np.zeros(14, dtype=np.int64)
    try:
        settle_lone_lines(x, problem.group, problem.n_groups, problem.single_sku,
                          problem.splittable, problem.quantity, problem.stock,
                          problem.allowed, problem.hours, problem.cost, problem.lines,
                          int(problem.fixed_makespan), _codes(problem.objective),
                          FEW_SETS, MAX_COVERS, kept, out, info)
    except TypeError:  # other array types: not compiled for them
        return None
    got = info.tolist()  # Python ints: no numpy scalars or slices below
    flags = got[1]
    if flags & KEPT_WORSE:
        log.warning("fragments post-stage made the plan worse; kept the original")
    kept_obj = of_terms(problem, kept, tuple(got[2:8]))
    if flags & SETTLED_WORSE or got[0] != SETTLED:  # SETTLED_WORSE: the Python path gives
        return Settled(kept, kept_obj, None, None)  # up the proof then: let it decide
    return Settled(kept, kept_obj, out, of_terms(problem, out, tuple(got[8:14])))


def _warm_up() -> None:
    """Compile (or load from numba's cache) with the run-time types: the problem's
    arrays read-only, the plan and the outputs writable."""
    def ro(a: np.ndarray) -> np.ndarray:
        a.setflags(write=False)
        return a

    group = ro(np.zeros(2, dtype=np.int64))
    skus = ro(np.arange(2, dtype=np.int64))
    split_ok = ro(np.ones(2, dtype=np.bool_))
    qty = ro(np.array([3, 2], dtype=np.int64))
    stock = ro(np.array([[2, 2], [2, 0], [1, 2]], dtype=np.int64))
    allowed = ro(np.ones((2, 3), dtype=np.bool_))
    hours = ro(np.array([1, 2, 3], dtype=np.int64))
    cost = ro(np.array([1, 1, 1], dtype=np.int64))
    x = np.array([[2, 1, 0], [2, 0, 0]], dtype=np.int64)
    for objective in (("children", "makespan", "unit_hours", "fragments"),
                      ("children", "cost", "fragments")):
        settle_lone_lines(x, group, 1, skus, split_ok, qty, stock, allowed, hours, cost, skus,
                          0, _codes(objective), FEW_SETS, MAX_COVERS, np.empty_like(x),
                          np.empty_like(x), np.zeros(14, dtype=np.int64))


drop_if_changed(settle_lone_lines, (clock, cover_kernel, partial_kernel, group_prep))
COMPILED_ON_IMPORT = load_kernels("fragments kernel", (settle_lone_lines,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
settle_lone_lines.disable_compile()  # other array types would compile it in an order's
# budget: they raise a TypeError instead, and the caller takes the Python path
