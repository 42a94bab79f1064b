"""Exact shortcuts before the portfolio: bundles as single SKUs, and the fastest fill.

Most orders of a batch are proven optimal by the combination search, which needs each
group to be a covering problem of independent elements
(:attr:`~ordersplit.solver.problem.SplitProblem.coverable`); an order with a bundle
whose components other lines also use goes to CP-SAT, about ten times slower, and so
does every order that puts delivery first. Both shortcuts
read and build only :class:`~ordersplit.solver.problem.SplitProblem` arrays (encode and
decode are pure functions; the original problem is never changed), and every answer is
checked against the original problem (:func:`~ordersplit.solver.evaluate.violations`)
before it is used; otherwise the portfolio solves the original.

**Bundles as single SKUs** (:func:`merge_bundles`). Every unsplittable item ``i``
(quantity ``q``) gets a SKU of its own, used once per unit, of which location ``w``
holds ``q`` if it holds ``q * usage[i, c]`` of each of ``i``'s components ``c``, else 0;
the item becomes splittable; the component columns keep the other items' usage and
their stock. *Claim:* this is a relaxation with the same objective, so an optimum of it
that is feasible for the original problem is an original optimum, and its children
bound is an original one. *Proof.* An original-feasible ``x`` ships ``i`` whole from
one ``w`` that holds every component for ``q`` units, so ``i``'s own SKU suffices; the
other items take no more of a component than the original stock; the objective reads
only ``x``, groups, hours and costs, which are unchanged. When no other item uses
``i``'s components the two problems have the same optima: the relaxation only adds
splitting ``i`` over locations that each hold all ``q`` units, and moving them all to
the fastest of those opens no child and worsens no term; the fastest-first fills used
here never split such an item. With shared components an optimum may overdraw a
component; the check rejects it.

**Fastest fill** (:func:`fastest_fill`), for objectives that start with makespan, then
unit minutes (``preference: fastest``), on problems whose items are splittable single
SKUs with no SKU in two groups. SKUs are then independent: the units of SKU ``k`` cost
``sum_w y[w] * hours[w]`` over ``0 <= y[w] <= stock[w, k]`` (allowed locations),
``sum_w y[w] = demand[k]``, which filling the fastest locations first minimizes; no
filling is slower at its slowest location, so it minimizes makespan too. The minimizers
are exactly the fills that take all the stock faster than ``k``'s slowest level ``L``
and the rest, ``r``, from any locations at level ``L``. So every optimal plan opens the
locations faster than ``L`` (and a lone location at ``L``), and chooses, per group,
which locations tied at ``L`` to open. Children (and then cost) are minimized by
enumerating the smallest sets of tied locations, not already open, that let every tied
SKU of the group take its ``r`` (groups are independent: a child is one group at one
location). Other terms after makespan and unit minutes, too many tied locations, or
split by warehouse off with ties: the portfolio is used.

``fragments`` last (the compiler appends it to every objective that does not place
it): with ties, only when every item is a line of its own and the only item of its
SKU (:attr:`~ordersplit.solver.problem.SplitProblem.lone_lines`). A line's pieces are
then the locations its SKU ships from: the faster ones (fixed) and the tied ones it
takes ``r`` from. Within the locations a group may use (every smallest, then cheapest,
set of tied locations to open is tried), the fewest tied locations that hold ``r``
are the largest first; every location of a smallest set is then used (else a smaller
set would do), so the children stay at their minimum. Without ties, a SKU that several
lines share is handed out line by line; when that leaves a line in pieces, a different
hand-out might keep every line whole (which one is a packing problem), so the fill
gives way to the portfolio; so it does when such lines have other items too (a line's
pieces then also depend on where its other items ship from).
"""

from __future__ import annotations

import logging
from itertools import combinations

import numpy as np

from ordersplit.solver.combination import applicable
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

FASTEST = ("makespan", "unit_hours")
FRAGMENTS = "fragments"
"""Objectives starting with these two terms may take :func:`fastest_fill`."""
TIE_TERMS = ((), ("children",), ("children", "cost"))
"""Terms after :data:`FASTEST` under which ties at the slowest level are resolved."""
MAX_TIED = 12
"""Most tied locations per group that :func:`fastest_fill` enumerates subsets of."""


def merge_bundles(problem: SplitProblem) -> SplitProblem | None:
    """The relaxation of the module docstring, or ``None`` when it does not apply (no
    unsplittable item, or the result still has an item that is not a single SKU, or a
    SKU in two groups)."""
    unsplit = np.flatnonzero(~problem.splittable)
    if unsplit.size == 0:
        return None
    used = problem.usage > 0
    if not used[unsplit].any(axis=1).all():
        return None
    n, m, u = problem.n_items, problem.n_warehouses, unsplit.size
    pseudo = np.zeros((m, u), dtype=np.int64)
    for j, i in enumerate(unsplit.tolist()):
        cols = np.flatnonzero(used[i])
        cap = (problem.stock[:, cols] // problem.usage[i, cols][None, :]).min(axis=1)
        q = int(problem.quantity[i])
        pseudo[:, j] = np.where(cap >= q, q, 0)
    usage = np.zeros((n, problem.n_skus + u), dtype=np.int64)
    usage[:, :problem.n_skus] = problem.usage
    usage[unsplit, :problem.n_skus] = 0
    usage[unsplit, problem.n_skus + np.arange(u)] = 1
    keep = np.flatnonzero(usage.any(axis=0))  # components no other item uses go
    reduced = SplitProblem(
        quantity=problem.quantity.copy(), usage=usage[:, keep],
        splittable=np.ones(n, dtype=bool), group=problem.group.copy(),
        stock=np.hstack([problem.stock, pseudo])[:, keep], allowed=problem.allowed.copy(),
        hours=problem.hours.copy(), cost=problem.cost.copy(), objective=problem.objective,
        per_warehouse=problem.per_warehouse, fixed_makespan=problem.fixed_makespan,
        seed=problem.seed, n_groups=problem.n_groups)
    return reduced if reduced.simple else None


def fastest_fill(problem: SplitProblem, own_lines: bool = True) -> IntArray | None:
    """An optimal plan of the module docstring's fastest fill, or ``None`` when it does
    not apply. ``own_lines``: whether every item of the problem the caller evaluates
    the plan on is a line of its own (a merged-bundle relaxation numbers its items'
    lines afresh)."""
    rest = problem.objective[2:]
    if problem.objective[:2] != FASTEST or not problem.simple:
        return None
    frag = bool(rest) and rest[-1] == FRAGMENTS
    if frag:
        rest = rest[:-1]
    hours = problem.hours
    skus = problem.single_sku
    # per SKU: locations fastest first, units taken, the tied level's locations and rest
    fills: dict[int, tuple[IntArray, IntArray, IntArray, int]] = {}
    for k in np.unique(skus).tolist():
        items = np.flatnonzero(skus == k)
        allowed = problem.allowed[items]
        if not (allowed == allowed[0]).all():
            return None  # items of one SKU with different reach (not from compile_request)
        cand = np.flatnonzero(allowed[0] & (problem.stock[:, k] > 0))
        cand = cand[np.argsort(hours[cand], kind="stable")]
        supply = problem.stock[cand, k]
        need = int(problem.quantity[items].sum())
        take = np.clip(need - (np.cumsum(supply) - supply), 0, supply)
        if int(take.sum()) != need:
            return None
        if need == 0:
            fills[k] = (cand[:0], take[:0], cand[:0], 0)
            continue
        level = hours[cand[int(np.flatnonzero(take)[-1])]]
        below = hours[cand] < level
        tied = cand[hours[cand] == level]
        fills[k] = (cand[below], take[below], tied, need - int(take[below].sum()))
    choice: dict[int, IntArray] = {}  # SKU -> the locations at its level it may use
    for g in range(problem.n_groups):
        ks = sorted({int(k) for k in skus[problem.group == g]})
        opened = set()
        for k in ks:
            fast, _, tied, _ = fills[k]
            opened.update(fast.tolist())
            if tied.size == 1:
                opened.add(int(tied[0]))
        multi = [k for k in ks if fills[k][2].size > 1]
        if not multi:
            continue
        if rest not in TIE_TERMS or not problem.per_warehouse:
            return None
        if frag and not (own_lines and problem.lone_lines):
            return None
        if not rest:  # makespan and unit minutes only: every fill is optimal
            for k in multi:
                tied = fills[k][2]
                choice[k] = _fewest(problem, k, tied, fills[k][3]) if frag else tied
            continue
        extra = sorted({int(w) for k in multi for w in fills[k][2].tolist()} - opened)
        if len(extra) > MAX_TIED:
            return None
        best = _open_fewest(problem, fills, multi, opened, extra, "cost" in rest, frag)
        if best is None:
            return None
        allowed_set = opened | set(best)
        for k in multi:
            tied = fills[k][2]
            mine = tied[[int(w) in allowed_set for w in tied.tolist()]]
            choice[k] = _fewest(problem, k, mine, fills[k][3]) if frag else mine
    x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
    for k, (fast, took, tied, rest_units) in fills.items():
        locs, units = fast.tolist(), took.tolist()
        left = rest_units
        for w in choice.get(k, tied).tolist():
            if left <= 0:
                break
            give = min(left, int(problem.stock[w, k]))
            locs.append(w)
            units.append(give)
            left -= give
        if left > 0:
            return None
        items = np.flatnonzero(skus == k)
        _hand_out(problem, x, items, locs, units)
        if frag and items.size > 1 and (
                not own_lines or bool(((x[items] > 0).sum(axis=1) > 1).any())):
            return None  # a shared SKU's line in pieces (or lines of several items, whose
            # pieces depend on their other items): another hand-out may have fewer
    return x


def _open_fewest(problem: SplitProblem, fills: dict[int, tuple[IntArray, IntArray, IntArray, int]],
                 multi: list[int], opened: set[int], extra: list[int], by_cost: bool,
                 frag: bool = False) -> tuple[int, ...] | None:
    """The fewest ``extra`` locations (then the cheapest, with ``by_cost``; then, with
    ``frag``, those leaving the fewest line pieces: :func:`_fewest`) with which every
    SKU of ``multi`` can take its rest at its level."""
    for size in range(len(extra) + 1):
        found: list[tuple[int, int, tuple[int, ...]]] = []
        for subset in combinations(extra, size):
            can = opened.union(subset)
            if all(sum(int(problem.stock[w, k]) for w in fills[k][2].tolist() if w in can)
                   >= fills[k][3] for k in multi):
                pieces = 0
                if frag:
                    for k in multi:
                        tied = fills[k][2]
                        mine = tied[[int(w) in can for w in tied.tolist()]]
                        pieces += len(_fewest(problem, k, mine, fills[k][3]))
                found.append((int(problem.cost[list(subset)].sum()) if by_cost else 0,
                              pieces, subset))
                if not by_cost and not frag:
                    break
        if found:
            return min(found)[2]
    return None


def _fewest(problem: SplitProblem, k: int, locs: IntArray, need: int) -> IntArray:
    """The fewest of ``locs`` whose stock of SKU ``k`` holds ``need`` units: the largest
    first (ties by their order in ``locs``), in the order they are taken; all of
    ``locs`` when even they fall short (the caller's fill then fails)."""
    order = np.argsort(-problem.stock[locs, k], kind="stable")
    held = np.cumsum(problem.stock[locs[order], k])
    count = int(np.searchsorted(held, need)) + 1
    return locs[order[:count]]


def _hand_out(problem: SplitProblem, x: IntArray, items: IntArray, locs: list[int],
              units: list[int]) -> None:
    """Give one SKU's ``units`` from ``locs`` to its ``items`` in order."""
    left = problem.quantity[items].copy()
    r = 0
    for w, u in zip(locs, units, strict=True):
        todo = u
        while todo > 0 and r < items.size:
            give = min(todo, int(left[r]))
            x[items[r], w] += give
            left[r] -= give
            todo -= give
            if left[r] == 0:
                r += 1


def solve_exact(problem: SplitProblem, solver: str, stop: Deadline) -> SolveResult:
    """:func:`~ordersplit.solver.portfolio.solve_problem`, after the shortcuts of the
    module docstring (``auto`` only): the fastest fill, or the merged-bundle problem
    when the combination search cannot take the original as it is; each answer is used
    only if it is feasible for ``problem``. A proven optimum reports
    its own children as the bound, as the portfolio does."""
    if solver != "auto" or problem.n_items == 0:
        return solve_problem(problem, solver, stop)
    reduced = merge_bundles(problem)
    target = reduced if reduced is not None else problem
    x = fastest_fill(target, own_lines=problem.own_lines)
    if x is not None and not violations(problem, x):
        obj = evaluate(problem, x)
        return SolveResult("fill", Status.OPTIMAL, x, obj, obj.children, stop.elapsed())
    if reduced is not None and applicable(reduced) and not problem.coverable:
        res = solve_problem(reduced, solver, stop)
        x = res.assignment
        if res.is_feasible() and x is not None and not violations(problem, x):
            return SolveResult(res.backend, res.status, x, evaluate(problem, x),
                               res.children_lower_bound, res.runtime_s, res.message, res.stats)
        log.debug("merged bundles: the answer does not decode (%s); solving the original",
                  res.status)
    return solve_problem(problem, solver, stop)
