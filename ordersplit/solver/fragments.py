"""Line fragments: the last objective term, and a post-stage that keeps lines whole.

A line's *fragments* are its (line, child) pieces beyond the first. The term is the
default last tie-break, so a line ships whole whenever that costs nothing earlier.

The exact MIP backends model it directly (:mod:`ordersplit.solver.backends._lexico`).
Any other plan - the combination search's, a heuristic's - goes through
:func:`keep_lines_whole`: with the plan's children held (no (group, warehouse) pair is
opened that the plan does not open), it re-assigns units among those warehouses to
minimize ``unit_hours`` and ``fragments`` in the problem's order. Children, makespan
and cost cannot get worse (no new pair opens; a pair left empty only lowers them), so
the result is never worse than the input on any term before ``fragments``.

The re-assignment is exact:

* a line of one splittable item whose SKU no other item in its group uses and which
  has no stock contention (the usual case) is solved in closed form: with
  ``unit_hours`` first, every strictly faster hours level is taken in full and the
  remainder of the slowest level needed comes from the fewest warehouses, largest
  stock first (a minimum-count subset of a level reaching the remainder is its largest
  stocks); without ``unit_hours``, the fewest warehouses, largest stock first;
* everything else (several lines of one SKU, bundles, lines split into components,
  SKUs shared between groups) is one small integer model per connected part, solved
  by CP-SAT with ``unit_hours`` and ``fragments`` as one weighted objective in the
  problem's order.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from ordersplit.solver.evaluate import Objective, evaluate, fragments, used_pairs
from ordersplit.solver.fragments_covers import (
    FEW_SETS,
    MAX_SETS,
    settle_by_covers,
    settle_by_search,
)
from ordersplit.solver.group_prep import plain_pieces_bound, readonly
from ordersplit.solver.problem import ELEMENTS_MEMO, IntArray, SplitProblem
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

TERM = "fragments"
SETTLE_BACKEND = "cpsat"
"""The exact backend of :func:`settle_fragments` (on 10 x 30 thin orders CP-SAT took
30 ms a call under load 10, HiGHS 54 ms)."""


FRAGMENTABLE_MEMO = "_fragmentable"
BOUND_MEMO = "_fragments_lower_bound"
"""Where :func:`fragmentable` and :func:`fragments_lower_bound` keep their answers (in the
instance's ``__dict__``: they read only the problem's frozen arrays)."""
DERIVED = ("capacity", "single_sku", "simple", "coverable", "own_lines", "lone_lines",
           "priced", "one_reach", "_groups", FRAGMENTABLE_MEMO, BOUND_MEMO)
"""Cached properties of a :class:`SplitProblem` that do not depend on its objective."""


def share_derived(src: SplitProblem, dst: SplitProblem) -> None:
    """Give ``dst`` (the same data under another objective) what ``src`` has already
    derived, so that no small order computes its capacities twice."""
    known = src.__dict__
    for name in DERIVED:
        if name in known and name not in dst.__dict__:
            dst.__dict__[name] = known[name]
    # the groups' cover elements (:func:`~ordersplit.solver.group_search.elements`): one
    # memo for both, so the stages on either problem build a group's elements once
    dst.__dict__.setdefault(ELEMENTS_MEMO, known.setdefault(ELEMENTS_MEMO, {}))


def without_fragments(problem: SplitProblem) -> SplitProblem:
    """``problem`` with the fragments term dropped (for searches that do not know it)."""
    if TERM not in problem.objective:
        return problem
    core = problem.with_objective(tuple(t for t in problem.objective if t != TERM))
    share_derived(problem, core)
    return core


def head_terms(problem: SplitProblem) -> tuple[str, ...]:
    """The terms before ``fragments`` (all of them when it is absent)."""
    terms = problem.objective
    return terms[:terms.index(TERM)] if TERM in terms else terms


def fragmentable(problem: SplitProblem) -> np.ndarray:
    """Boolean per item: whether its line can ship in more than one piece.

    A line of one unsplittable item, or of one single unit, never splits. Worked out
    once per problem (read-only).
    """
    known = problem.__dict__.get(FRAGMENTABLE_MEMO)
    if known is None:
        lines = problem.lines
        counts = np.bincount(lines, minlength=int(lines.max()) + 1 if lines.size else 0)
        multi = counts[lines] > 1 if lines.size else np.zeros(0, dtype=bool)
        known = readonly(
            (problem.quantity > 0) & (multi | (problem.splittable & (problem.quantity > 1))))
        problem.__dict__[FRAGMENTABLE_MEMO] = known
    return known


def min_pieces(capacity: IntArray, quantity: IntArray) -> IntArray:
    """Per row: the fewest columns whose capacities reach the quantity (largest first).

    Rows that cannot be covered get the number of columns with capacity.
    """
    if capacity.size == 0:
        return np.zeros(quantity.shape, dtype=np.int64)
    ranked = -np.sort(-capacity, axis=1)
    reach = np.cumsum(ranked, axis=1)
    short = (reach < quantity[:, None]).sum(axis=1)
    return np.minimum(short + 1, (capacity > 0).sum(axis=1)).astype(np.int64)


def fragments_lower_bound(problem: SplitProblem) -> int:
    """A lower bound on the fragments of any plan: per line, its hardest item's fewest
    warehouses (by capacity, largest first) less one. Worked out once per problem."""
    if not problem.per_warehouse or problem.n_items == 0:
        return 0
    known = problem.__dict__.get(BOUND_MEMO)
    if known is None:
        known = problem.__dict__[BOUND_MEMO] = _group_bound(
            problem, np.arange(problem.n_items), problem.allowed)
    return int(known)


def _takes_unit_hours_first(problem: SplitProblem) -> bool | None:
    """True when unit_hours comes before fragments, False after, None when absent."""
    terms = problem.objective
    if "unit_hours" not in terms:
        return None
    if TERM not in terms:
        return True
    return terms.index("unit_hours") < terms.index(TERM)


def keep_lines_whole(problem: SplitProblem, x: IntArray, stop: Deadline | None = None
                     ) -> IntArray:
    """``x`` re-assigned within its own children to minimize fragments (see the module
    docstring); returns ``x`` itself when nothing improves or time is short."""
    return keep_lines_whole_scored(problem, x, None, stop)[0]


def keep_lines_whole_scored(problem: SplitProblem, x: IntArray, known: Objective | None,
                            stop: Deadline | None = None
                            ) -> tuple[IntArray, Objective | None]:
    """:func:`keep_lines_whole` given ``known``, ``x``'s objective when the caller has
    it (so ``x`` is not scored again), and the objective of the rows returned (``None``
    only when ``known`` was and ``x`` itself is returned)."""
    if TERM not in problem.objective or not problem.per_warehouse:
        return x, known
    if stop is not None and stop.expired():
        return x, known
    if problem.stock_value_varies and problem.objective.index("stock_value") < \
            problem.objective.index(TERM):
        return x, known  # the re-assignment does not know prices (the exact stages settle it)
    frag = fragmentable(problem)
    if not frag.any():
        return x, known
    now = fragments(problem, x) if known is None else known.fragments
    if now == 0 or now <= fragments_lower_bound(problem):  # 0: no bound needed
        return x, known
    out = x.copy()
    opened = used_pairs(problem, x)
    if problem.lone_lines and _takes_unit_hours_first(problem) is not False:
        # each line alone on its SKU: its closed form from the whole stock (the usual case)
        for i in np.flatnonzero((x > 0).sum(axis=1) > 1).tolist():
            out[i] = _one_line(problem, i, opened, problem.stock)[0]
        return _no_worse_rows(problem, out, x, known)
    stock = problem.stock - consumed(problem, x)  # what the plan leaves unused
    for part in _parts(problem, np.flatnonzero(problem.quantity > 0)):
        if stop is not None and stop.expired():
            break
        if not frag[part].any() or _rows_fragments(problem, part, x[part]) == 0:
            continue
        ks = np.flatnonzero(problem.usage[part].any(axis=0))
        use = problem.usage[np.ix_(part, ks)]
        stock[:, ks] += x[part].T @ use  # the part's own units back
        rows = _solve_part(problem, part, opened, stock, x[part], stop)
        if rows is None:
            rows = x[part]
        out[part] = rows
        stock[:, ks] -= rows.T @ use
    return _no_worse_rows(problem, out, x, known)


def _no_worse_rows(problem: SplitProblem, out: IntArray, x: IntArray, known: Objective | None
                   ) -> tuple[IntArray, Objective | None]:
    """``out`` unless it is worse than ``x`` (a safeguard: it cannot be), with its
    objective; ``known`` is ``x``'s when the caller has it."""
    if np.array_equal(out, x):
        return out, known
    new = evaluate(problem, out)
    old = evaluate(problem, x) if known is None else known
    if new.key(problem.objective) <= old.key(problem.objective):
        return out, new
    log.warning("fragments post-stage made the plan worse; kept the original")
    return x, old


SMALL_PRODUCT = 100_000
"""Items x warehouses x SKUs up to which :func:`consumed` multiplies densely."""


def consumed(problem: SplitProblem, x: IntArray) -> IntArray:
    """``x.T @ usage`` (stock taken per warehouse and SKU) from ``x``'s nonzeros only:
    a dense integer product is slow on large orders."""
    if x.size * problem.n_skus <= SMALL_PRODUCT:  # small: the dense product is quicker
        return x.T @ problem.usage
    used = np.zeros_like(problem.stock)
    r, c = np.nonzero(x)
    ui, uk = np.nonzero(problem.usage)
    starts = np.searchsorted(ui, np.arange(problem.n_items + 1))
    counts = starts[r + 1] - starts[r]
    rep_r, rep_c = np.repeat(r, counts), np.repeat(c, counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    k = uk[starts[rep_r] + offset]
    np.add.at(used, (rep_c, k), x[rep_r, rep_c] * problem.usage[rep_r, k])
    return used


def _rows_fragments(problem: SplitProblem, part: IntArray, rows: IntArray) -> int:
    """Fragments of the lines of ``part`` given their rows."""
    if problem.own_lines:  # a row per line: its nonzero cells less one
        nonzero = rows != 0
        return int(nonzero.sum() - nonzero.any(axis=1).sum())
    r, c = np.nonzero(rows)
    if r.size == 0:
        return 0
    line = problem.lines[part[r]]
    return int(np.unique(line * problem.n_warehouses + c).size - np.unique(line).size)


def _parts(problem: SplitProblem, items: IntArray) -> list[IntArray]:
    """Items connected by a shared SKU or a shared line (independent re-assignments)."""
    parent = list(range(problem.n_items))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first_of: dict[tuple[str, int], int] = {}
    lines, single = problem.lines.tolist(), problem.single_sku.tolist()
    for i in items.tolist():
        skus = [single[i]] if single[i] >= 0 else np.flatnonzero(problem.usage[i]).tolist()
        keys = [("line", lines[i])] + [("sku", k) for k in skus]
        for key in keys:
            j = first_of.setdefault(key, i)
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in items.tolist():
        groups.setdefault(find(i), []).append(i)
    return [np.array(v, dtype=np.int64) for v in groups.values()]


def _solve_part(problem: SplitProblem, part: IntArray, opened: np.ndarray, stock: IntArray,
                current: IntArray, stop: Deadline | None) -> IntArray | None:
    """The best rows for ``part`` inside the opened children, or ``None`` to keep them."""
    if part.size == 1 and problem.splittable[part[0]] and problem.single_sku[part[0]] >= 0 \
            and _takes_unit_hours_first(problem) is not False:
        return _one_line(problem, int(part[0]), opened, stock)
    return _small_model(problem, part, opened, stock, current, stop)


def _one_line(problem: SplitProblem, i: int, opened: np.ndarray, stock: IntArray) -> IntArray:
    """Closed form for one splittable single-SKU line alone on its SKU (module docstring)."""
    k = int(problem.single_sku[i])
    need = int(problem.quantity[i])
    cand = np.flatnonzero(opened[problem.group[i]] & problem.allowed[i] & (stock[:, k] > 0))
    cap = np.minimum(stock[cand, k], need)
    hours = problem.hours[cand]
    row = np.zeros(problem.n_warehouses, dtype=np.int64)
    for j in _fill_order(cand, cap, hours, bool(_takes_unit_hours_first(problem))):
        if need == 0:
            break
        take = min(need, int(cap[j]))
        row[cand[j]] = take
        need -= take
    return row[None, :]


SMALL_SORT = 32
"""Candidates up to which :func:`_fill_order` sorts Python tuples instead of lexsort."""


def _fill_order(cand: IntArray, cap: IntArray, hours: IntArray, uh: bool) -> list[int]:
    """Positions of ``cand`` in :func:`_one_line`'s order: by hours when unit_hours comes
    first (else one level for all: fewest pieces; the caller sends a line whose
    unit_hours come after its fragments to the model), then largest capacity, fastest,
    first warehouse. A line has few candidates: a Python sort beats numpy's set-up."""
    if cand.size > SMALL_SORT:
        level = hours if uh else np.zeros_like(hours)
        return np.lexsort((cand, hours, -cap, level)).tolist()
    c, h, w = cap.tolist(), hours.tolist(), cand.tolist()
    return sorted(range(len(w)), key=lambda j: (h[j] if uh else 0, -c[j], h[j], w[j]))


def _small_model(problem: SplitProblem, part: IntArray, opened: np.ndarray, stock: IntArray,
                 current: IntArray, stop: Deadline | None) -> IntArray | None:
    """CP-SAT on one part: units per (item, opened warehouse), a piece flag per (line,
    warehouse); minimize unit_hours and fragments in the problem's order."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    uh = _takes_unit_hours_first(problem)
    n_w = problem.n_warehouses
    xs: dict[tuple[int, int], cp_model.IntVar] = {}
    pieces: dict[tuple[int, int], cp_model.IntVar] = {}
    for r, i in enumerate(part.tolist()):
        reach = np.flatnonzero(opened[problem.group[i]] & problem.allowed[i])
        q = int(problem.quantity[i])
        cells = []
        for w in reach.tolist():
            used = np.flatnonzero(problem.usage[i])
            cap = min(q, int((stock[w, used] // problem.usage[i, used]).min()))
            if cap <= 0:
                continue
            piece = pieces.get((int(problem.lines[i]), w))
            if piece is None:
                piece = model.new_bool_var(f"p{i}_{w}")
                pieces[(int(problem.lines[i]), w)] = piece
            if problem.splittable[i]:
                v = model.new_int_var(0, cap, f"x{i}_{w}")
                model.add(v <= cap * piece)
            else:
                if cap < q:
                    continue
                z = model.new_bool_var(f"z{i}_{w}")
                v = model.new_int_var(0, q, f"x{i}_{w}")
                model.add(v == q * z)
                model.add(z <= piece)
            xs[(r, w)] = v
            cells.append(v)
            model.add_hint(v, int(current[r, w]))
        model.add(sum(cells) == q)
    for k in np.flatnonzero(problem.usage[part].any(axis=0)).tolist():
        for w in range(n_w):
            terms = [int(problem.usage[i, k]) * xs[(r, w)] for r, i in enumerate(part.tolist())
                     if (r, w) in xs and problem.usage[i, k]]
            if terms:
                model.add(sum(terms) <= int(stock[w, k]))
    frag = sum(pieces.values())
    hours = sum(int(problem.hours[w]) * v for (_, w), v in xs.items())
    if uh is None:
        model.minimize(frag)
    elif uh:
        model.minimize(hours * (len(pieces) + 1) + frag)
    else:
        total = int(problem.hours.max()) * int(problem.quantity[part].sum()) + 1
        model.minimize(frag * total + hours)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(problem.seed) % (1 << 31)
    if stop is not None:
        _limit(solver, stop)
    code = solver.solve(model)
    if stop is not None:
        from ordersplit.solver.backends.cpsat import charge_deterministic

        charge_deterministic(stop, solver)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    rows = np.zeros((part.size, n_w), dtype=np.int64)
    for (r, w), v in xs.items():
        rows[r, w] = int(solver.value(v))
    return rows


def _limit(solver: Any, stop: Deadline) -> None:
    """Map ``stop`` onto CP-SAT's limits (deterministic time under a work budget)."""
    from ordersplit.solver.backends.cpsat import set_limits

    set_limits(solver.parameters, stop, stop.remaining())


def settle_fragments(problem: SplitProblem, x: IntArray, head: dict[str, int],
                     stop: Deadline, known: int | None = None) -> tuple[IntArray, bool]:
    """Fewest fragments among the plans whose leading terms equal ``head`` (proven
    optima, children first); returns the plan and whether that is proven.

    Exact by decomposition when the groups are independent (:attr:`coverable`): then
    the proven children, unit hours and cost are each group's own optimum under the
    makespan ``M*``, so a plan keeps ``head`` exactly when every group keeps its own
    values with no warehouse slower than ``M*``. A group whose fragments meet its bound
    (its lines' fewest pieces among those warehouses) is settled; so is a group of plain
    lines whose minimum covers are few enough to try them all
    (:mod:`ordersplit.solver.fragments_covers`), or else whose compiled search, run again
    with fragments as its last term, finishes in time; the others go to one exact model
    (CP-SAT) of those groups alone, their sums fixed, fragments minimized.
    Otherwise, or when fragments is not the last term, nothing is proven here.
    ``known``: ``x``'s fragments, when the caller knows them.
    """
    if problem.objective[-1] != TERM or not problem.coverable or not problem.per_warehouse:
        return x, False
    if (fragments(problem, x) if known is None else known) == 0:  # nothing to settle (most orders)
        return x.copy(), True
    reach = problem.allowed.copy()
    if "makespan" in head:
        reach &= (problem.hours <= head["makespan"])[None, :]
    todo = [items for items in problem.groups() if items.size
            and (cut := _rows_fragments(problem, items, x[items]))  # none: nothing to settle
            and cut > _group_bound(problem, items, reach)]
    orig, x = x, x.copy()
    head_only = tuple(t for t in problem.objective if t != TERM)
    left = []
    for items in todo:  # groups of whole lines: every minimum cover tried, or the kernel
        rows = settle_by_covers(problem, items, x[items], reach, head_only, (0, FEW_SETS))
        if rows is None:
            rows = settle_by_search(problem, items, x[items], reach, head_only,
                                    head.get("makespan"), stop)
        if rows is None:
            rows = settle_by_covers(problem, items, x[items], reach, head_only,
                                    (FEW_SETS, MAX_SETS))
        if rows is None:
            left.append(items)
        else:
            x[items] = rows
    todo = left
    if not todo:
        return _no_worse(problem, x, orig, True)
    from ordersplit.solver.backends.base import get_backend  # backends import this module

    items = np.concatenate(todo)
    _, group = np.unique(problem.group[items], return_inverse=True)
    sub = SplitProblem(
        quantity=problem.quantity[items], usage=problem.usage[items],
        splittable=problem.splittable[items], group=group.astype(np.int64),
        stock=problem.stock, allowed=reach[items], hours=problem.hours, cost=problem.cost,
        objective=tuple(t for t in problem.objective if t != "makespan"),
        per_warehouse=True, seed=problem.seed, line=problem.lines[items],
        price=problem.prices, price_scale=problem.price_scale)
    now = evaluate(sub, x[items])
    fixed = {t: int(getattr(now, t)) for t in sub.objective if t != TERM}
    res = get_backend(SETTLE_BACKEND).solve(sub, stop, x[items], now.children, fixed)
    if res.status.value != "optimal" or res.assignment is None:
        return _no_worse(problem, x, orig, False)
    x[items] = res.assignment
    return _no_worse(problem, x, orig, True)


def settle_cases(problem: SplitProblem, ties: tuple[tuple[SplitProblem, IntArray], ...],
                 head: dict[str, int], stop: Deadline) -> IntArray | None:
    """:func:`settle_fragments` for an order of contended stock that the search solved by
    placement cases (:mod:`ordersplit.solver.contention`): every plan of the proven
    ``head`` lies in one of the cases ``ties`` reach it in, and each case is coverable,
    so the fewest fragments is the best over those cases of each one settled alone.
    Returns that plan, or ``None`` when a case was not settled (or there are none)."""
    best: tuple[tuple[int, ...], IntArray] | None = None
    for case, x in ties:
        full = dataclasses.replace(case, objective=problem.objective)
        share_derived(case, full)
        y, settled = settle_fragments(full, x, head, stop)
        if not settled:
            return None
        key = evaluate(problem, y).key(problem.objective)
        if best is None or key < best[0]:
            best = (key, y)
    return None if best is None else best[1]


def _no_worse(problem: SplitProblem, y: IntArray, x: IntArray, proven: bool
              ) -> tuple[IntArray, bool]:
    """``(y, proven)``, or ``(x, False)`` when ``y`` is worse than ``x`` (a safeguard)."""
    if np.array_equal(y, x):  # nothing was re-assigned: nothing to compare
        return y, proven
    if evaluate(problem, y).key(problem.objective) > evaluate(problem, x).key(problem.objective):
        log.warning("fragments settlement made the plan worse; kept the original")
        return x, False
    return y, proven


def _group_bound(problem: SplitProblem, items: IntArray, reach: np.ndarray) -> int:
    """Fragments lower bound of one group's lines over the warehouses in ``reach``."""
    if problem.own_lines:  # a line per item: one compiled pass when they are plain lines
        ro = readonly
        bound = plain_pieces_bound(ro(items), problem.single_sku, problem.splittable,
                                   problem.quantity, problem.stock, problem.allowed, ro(reach))
        if bound >= 0:
            return int(bound)
    return group_bound_numpy(problem, items, reach)


def group_bound_numpy(problem: SplitProblem, items: IntArray, reach: np.ndarray) -> int:
    """:func:`_group_bound` in numpy, for any lines (its definition)."""
    frag = items[fragmentable(problem)[items] & problem.splittable[items]]
    if frag.size == 0:
        return 0
    pieces = min_pieces(problem.capacity_of(frag) * reach[frag], problem.quantity[frag])
    if problem.own_lines:  # a line per item: its pieces less one (none without stock)
        return int(np.maximum(pieces, 1).sum()) - int(pieces.size)
    per_line: dict[int, int] = {}
    for line, k in zip(problem.lines[frag].tolist(), pieces.tolist(), strict=True):
        per_line[line] = max(per_line.get(line, 1), int(k))
    return sum(k - 1 for k in per_line.values())
