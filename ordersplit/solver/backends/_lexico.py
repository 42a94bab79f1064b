"""Shared machinery of the exact backends: one integer model, solved lexicographically.

:class:`LinearModel` encodes a :class:`SplitProblem` once, as plain numpy arrays (columns
with bounds, rows in CSR form), so that CP-SAT, HiGHS and CBC read the same model and
only translate it. :func:`solve_lexicographic` runs one stage per objective term, fixes
each proven optimum as a row before the next stage, keeps the lexicographically best
feasible assignment seen (the warm start included) and turns the outcome into a
:class:`SolveResult`.

Columns
    ``v[i, w]`` for each item/warehouse pair that can ship: the units (splittable items,
    ``0 <= v <= capacity``) or a 0/1 choice of the one warehouse (unsplittable items,
    ``x = quantity * v``); ``y[g, w]`` opens the child (group ``g``, warehouse ``w``);
    ``u[l]`` says the makespan reaches the ``l``-th distinct arrival time; ``f[l, w]``
    (only when ``fragments`` is an objective term) says line ``l`` has a piece in the
    child at ``w`` (``v[i, w] <= upper * f[l, w]`` for each item of the line), so the
    fragments are ``sum f`` less the lines that can split.

Items that no stock row can bind are *free* when neither ``unit_hours`` nor a priced
``stock_value`` (``sum unit_value[i, w] * x[i, w]``) is optimized: their
``v`` columns are left out, the cover row ``sum_w capacity * y >= quantity`` is exact for
them, and their units are filled into the opened children afterwards (fastest first).
This turns weighted set covering into the textbook model, which MILP solvers handle best.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from ordersplit.solver.backends.base import Backend
from ordersplit.solver.bounds import children_lower_bound, stock_value_lower_bound
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.fragments import fragmentable, fragments_lower_bound
from ordersplit.solver.problem import BoolArray, IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import Deadline, OutOfTimeError

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

MIN_STAGE_SECONDS = 1e-3
"""A stage with less time than this left is not started."""

BUILD_SECONDS_PER_COLUMN = 4e-6
"""Least time building a model takes per assignment variable (numpy and the solver's
load; measured with CP-SAT and HiGHS at 4-40 us). A model that cannot be built in the
time left is not started."""


def build_seconds(problem: SplitProblem) -> float:
    """The least time building ``problem``'s model takes (see ``BUILD_SECONDS_PER_COLUMN``)."""
    return float(np.count_nonzero(problem.allowed)) * BUILD_SECONDS_PER_COLUMN


@dataclass(frozen=True)
class Expr:
    """A linear expression ``constant + sum coefs * v[cols]`` over the model's columns."""

    cols: IntArray
    coefs: IntArray
    constant: int = 0

    @property
    def is_constant(self) -> bool:
        return not bool(np.any(self.coefs))


@dataclass
class StageOutcome:
    """What one solver call reports: a status, column values if any, the objective bound."""

    status: Status
    values: FloatArray | None = None
    bound: float | None = None
    infeasible: bool = False
    message: str = ""


class StageRunner(Protocol):
    """A solver holding the model: optimizes an expression and accepts new bound rows."""

    def optimize(self, objective: Expr, hint: IntArray | None, time_limit: float) -> StageOutcome:
        """Minimize ``objective`` for at most ``time_limit`` seconds, hinted by ``hint``."""
        ...

    def restrict(self, objective: Expr, value: int) -> None:
        """Add the row ``objective <= value``."""
        ...


@dataclass
class LinearModel:
    """The integer model of a split problem in solver-neutral arrays."""

    problem: SplitProblem
    upper: IntArray
    """Upper bound of each column (lower bounds are all 0)."""
    row_start: IntArray
    row_cols: IntArray
    row_coefs: IntArray
    row_lower: FloatArray
    row_upper: FloatArray
    """Row ``r`` spans ``row_cols[row_start[r]:row_start[r + 1]]``; bounds may be infinite."""
    x_item: IntArray
    x_wh: IntArray
    x_mult: IntArray
    y_group: IntArray
    y_wh: IntArray
    y_index: IntArray
    """Column of ``y[g, w]`` or -1, shape groups x warehouses."""
    u_levels: IntArray
    """Distinct arrival times above the makespan floor, ascending; one ``u`` column each."""
    f_line: IntArray
    f_wh: IntArray
    """Line and warehouse of each ``f`` column (after the ``u`` columns)."""
    ecap: IntArray
    free_items: IntArray
    active_groups: int
    objectives: dict[str, Expr] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return int(self.upper.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.row_start.shape[0] - 1)

    @property
    def n_x(self) -> int:
        return int(self.x_item.shape[0])

    @property
    def y_offset(self) -> int:
        return self.n_x

    @property
    def u_offset(self) -> int:
        return self.n_x + int(self.y_group.shape[0])

    @property
    def f_offset(self) -> int:
        return self.u_offset + int(self.u_levels.shape[0])

    def rows(self) -> list[tuple[IntArray, IntArray, float, float]]:
        """Each row as (columns, coefficients, lower, upper); for the per-row APIs."""
        out = []
        for r in range(self.n_rows):
            a, b = int(self.row_start[r]), int(self.row_start[r + 1])
            out.append((self.row_cols[a:b], self.row_coefs[a:b],
                        float(self.row_lower[r]), float(self.row_upper[r])))
        return out

    def to_columns(self, x: IntArray) -> IntArray:
        """Column values of a feasible assignment (used as a solver hint)."""
        p = self.problem
        vals = np.zeros(self.n_cols, dtype=np.int64)
        xv = x[self.x_item, self.x_wh]
        vals[: self.n_x] = xv // self.x_mult
        used = np.zeros((p.n_groups, p.n_warehouses), dtype=bool)
        rows, cols = np.nonzero(x)
        used[p.group[rows], cols] = True
        vals[self.n_x:self.u_offset] = used[self.y_group, self.y_wh]
        if self.u_levels.size:
            open_wh = used.any(axis=0)
            top = int(p.hours[open_wh].max()) if open_wh.any() else None
            if top is not None:
                vals[self.u_offset:self.f_offset] = self.u_levels <= top
        if self.f_line.size:
            piece = np.zeros((int(p.lines.max()) + 1, p.n_warehouses), dtype=bool)
            rows, cols = np.nonzero(x)
            piece[p.lines[rows], cols] = True
            vals[self.f_offset:] = piece[self.f_line, self.f_wh]
        return vals

    def to_assignment(self, values: FloatArray) -> IntArray | None:
        """The assignment ``x`` encoded by solver column values (None if it does not fit)."""
        p = self.problem
        vals = np.rint(values).astype(np.int64)
        x = np.zeros((p.n_items, p.n_warehouses), dtype=np.int64)
        x[self.x_item, self.x_wh] = vals[: self.n_x] * self.x_mult
        if self.free_items.size:
            opened = np.zeros((p.n_groups, p.n_warehouses), dtype=bool)
            opened[self.y_group, self.y_wh] = vals[self.n_x:self.u_offset] > 0
            order = np.lexsort((np.arange(p.n_warehouses), p.hours))  # fastest first
            for i in self.free_items:
                need = int(p.quantity[i])
                cand = order[opened[p.group[i], order] & (self.ecap[i, order] > 0)]
                if not p.splittable[i]:
                    if cand.size == 0:
                        return None
                    x[i, cand[0]] = need
                    continue
                for w in cand:
                    take = min(need, int(self.ecap[i, w]))
                    x[i, w] = take
                    need -= take
                    if need == 0:
                        break
                if need:
                    return None
        return x


def _effective_capacity(problem: SplitProblem) -> IntArray:
    """Capacity, with unsplittable items limited to warehouses that can ship them whole."""
    q = problem.quantity
    ecap = problem.capacity.copy()
    whole = ~problem.splittable
    if whole.any():
        ecap[whole] = np.where(ecap[whole] == q[whole, None], ecap[whole], 0)
    ecap[q <= 0] = 0
    return ecap


def build_model(problem: SplitProblem, stop: Deadline | None = None) -> LinearModel:
    """Encode ``problem`` (vectorized; see the module docstring for the formulation).

    Raises :class:`~ordersplit.solver.stop.OutOfTimeError` between blocks once ``stop`` has
    expired (a large order's model takes long to build).
    """

    def tick() -> None:
        if stop is not None:
            stop.check()

    n, m = problem.n_items, problem.n_warehouses
    q = problem.quantity
    ecap = _effective_capacity(problem)
    active = q > 0

    # Stock rows that can bind: the most every item could draw exceeds the stock.
    # Float products use BLAS; every value here is far below 2**53, so they are exact.
    load = ecap.T.astype(np.float64) @ problem.usage.astype(np.float64)  # [w, sku]
    binding = load > problem.stock
    bw, bk = np.nonzero(binding)
    tight = ((problem.usage > 0).astype(np.float64) @ binding.T.astype(np.float64)) > 0  # [i, w]
    keep_x: BoolArray = np.any(tight & (ecap > 0), axis=1)
    if "unit_hours" in problem.objective or problem.stock_value_varies:
        keep_x = np.ones(n, dtype=bool)  # x prices every unit: keep all of them
    with_f = "fragments" in problem.objective and problem.per_warehouse
    splits = fragmentable(problem) if with_f else np.zeros(n, dtype=bool)
    keep_x = keep_x | splits  # a line that can split needs its units priced by piece
    free_items = np.flatnonzero(active & ~keep_x)

    # Columns: v (x), then y, then u.
    xi, xw = np.nonzero((ecap > 0) & keep_x[:, None])
    x_mult = np.where(problem.splittable[xi], 1, q[xi]).astype(np.int64)
    x_upper = np.where(problem.splittable[xi], ecap[xi, xw], 1).astype(np.int64)
    n_x = xi.size
    col_x = np.full((n, m), -1, dtype=np.int64)
    col_x[xi, xw] = np.arange(n_x)

    reach = np.zeros((problem.n_groups, m), dtype=bool)
    ri, rw = np.nonzero(ecap > 0)
    reach[problem.group[ri], rw] = True
    yg, yw = np.nonzero(reach)
    n_y = yg.size
    y_index = np.full((problem.n_groups, m), -1, dtype=np.int64)
    y_index[yg, yw] = n_x + np.arange(n_y)

    floor = int(problem.fixed_makespan)
    wh_hours = problem.hours[np.unique(yw)] if n_y else problem.hours[:0]
    levels = np.unique(wh_hours[wh_hours > floor]).astype(np.int64)
    n_u = levels.size
    u_off = n_x + n_y
    # Pieces: one f per (line, warehouse) that an item of a splitting line can use.
    f_off = u_off + n_u
    on_split = splits[xi]
    line_of = problem.lines[xi]
    piece_key = line_of * m + xw
    f_keys, f_of_x = np.unique(piece_key[on_split], return_inverse=True)
    f_line, f_wh = f_keys // max(m, 1), f_keys % max(m, 1)
    n_f = f_keys.size
    upper = np.concatenate([x_upper, np.ones(n_y + n_u + n_f, dtype=np.int64)])

    r_rows: list[IntArray] = []
    r_cols: list[IntArray] = []
    r_coefs: list[IntArray] = []
    lowers: list[FloatArray] = []
    uppers: list[FloatArray] = []
    n_rows = 0

    def add(rows: IntArray, cols: IntArray, coefs: IntArray,
            lo: FloatArray, hi: FloatArray) -> None:
        """Append rows ``0..lo.size-1`` (numbered locally) in COO form."""
        nonlocal n_rows
        count = int(lo.size)
        r_rows.append(rows + n_rows)
        r_cols.append(cols)
        r_coefs.append(coefs)
        lowers.append(lo)
        uppers.append(hi)
        n_rows += count

    inf = np.inf
    tick()
    # Demand: sum_w v = quantity (splittable) or sum_w z = 1 (unsplittable).
    dem_items = np.flatnonzero(active & keep_x)
    dem_row = np.full(n, -1, dtype=np.int64)
    dem_row[dem_items] = np.arange(dem_items.size)
    rhs = np.where(problem.splittable[dem_items], q[dem_items], 1).astype(np.float64)
    add(dem_row[xi], np.arange(n_x), np.ones(n_x, dtype=np.int64), rhs, rhs)

    tick()
    # Stock: sum_i usage[i, k] * x[i, w] <= stock[w, k] where it can bind.
    if bw.size:
        hit = (problem.usage[:, bk] > 0) & (col_x[:, bw] >= 0)  # [i, b]
        si, sb = np.nonzero(hit)
        cols = col_x[si, bw[sb]]
        coefs = problem.usage[si, bk[sb]] * x_mult[cols]
        order = np.argsort(sb, kind="stable")
        add(sb[order], cols[order], coefs[order],
            np.full(bw.size, -inf), problem.stock[bw, bk].astype(np.float64))

    tick()
    # Linking: x[i, w] <= cap * y[g, w] (v - y <= 0 for unsplittable items).
    link_y = y_index[problem.group[xi], xw]
    rows = np.repeat(np.arange(n_x), 2)
    cols = np.column_stack([np.arange(n_x), link_y]).ravel()
    coefs = np.column_stack([np.ones(n_x, dtype=np.int64), -x_upper]).ravel()
    add(rows, cols, coefs, np.full(n_x, -inf), np.zeros(n_x))

    tick()
    # Cover: sum_w ecap[i, w] * y[g, w] >= quantity (unsplittable: some whole warehouse).
    cover = np.where(problem.splittable[:, None], ecap, (ecap > 0).astype(np.int64))
    cover_rhs = np.where(problem.splittable, q, 1)
    act = np.flatnonzero(active)
    if act.size:
        key = np.column_stack([problem.group[act], cover_rhs[act], cover[act]])
        _, first = np.unique(key, axis=0, return_index=True)
        items = act[np.sort(first)]
        ci, cw = np.nonzero(cover[items] > 0)
        add(ci, y_index[problem.group[items[ci]], cw], cover[items[ci], cw],
            cover_rhs[items].astype(np.float64), np.full(items.size, inf))

    tick()
    # Makespan levels: u[l + 1] <= u[l]; y[g, w] <= u[level(w)] above the floor.
    if n_u:
        k = n_u - 1
        rows = np.repeat(np.arange(k), 2)
        cols = (u_off + np.column_stack([np.arange(1, n_u), np.arange(k)])).ravel()
        coefs = np.tile(np.array([1, -1], dtype=np.int64), k)
        add(rows, cols, coefs, np.full(k, -inf), np.zeros(k))
        slow = np.flatnonzero(problem.hours[yw] > floor)
        lvl = np.searchsorted(levels, problem.hours[yw[slow]])
        rows = np.repeat(np.arange(slow.size), 2)
        cols = np.column_stack([n_x + slow, u_off + lvl]).ravel()
        coefs = np.tile(np.array([1, -1], dtype=np.int64), slow.size)
        add(rows, cols, coefs, np.full(slow.size, -inf), np.zeros(slow.size))

    tick()
    if n_f:  # v[i, w] <= upper * f[line(i), w]
        xs = np.flatnonzero(on_split)
        rows = np.repeat(np.arange(xs.size), 2)
        cols = np.column_stack([xs, f_off + f_of_x]).ravel()
        coefs = np.column_stack([np.ones(xs.size, dtype=np.int64), -x_upper[xs]]).ravel()
        add(rows, cols, coefs, np.full(xs.size, -inf), np.zeros(xs.size))

    all_rows = np.concatenate(r_rows) if r_rows else np.zeros(0, dtype=np.int64)
    order = np.argsort(all_rows, kind="stable")
    row_cols = np.concatenate(r_cols)[order].astype(np.int64)
    row_coefs = np.concatenate(r_coefs)[order].astype(np.int64)
    row_start = np.searchsorted(all_rows[order], np.arange(n_rows + 1)).astype(np.int64)

    active_groups = int(np.unique(problem.group[act]).size) if act.size else 0
    y_cols = np.arange(n_x, u_off, dtype=np.int64)
    objectives = {
        "children": (Expr(y_cols, np.ones(n_y, dtype=np.int64)) if problem.per_warehouse
                     else Expr(y_cols[:0], y_cols[:0], active_groups)),
        "cost": Expr(y_cols, problem.cost[yw].astype(np.int64)),
        "makespan": Expr(np.arange(u_off, u_off + n_u, dtype=np.int64),
                         np.diff(np.concatenate([[floor], levels])).astype(np.int64), floor),
        "unit_hours": Expr(np.arange(n_x, dtype=np.int64),
                           (problem.hours[xw] * x_mult).astype(np.int64)),
        "stock_value": Expr(np.arange(n_x, dtype=np.int64),
                            (problem.unit_value[xi, xw] * x_mult).astype(np.int64),
                            _free_value(problem, free_items)),
        # every line that ships has one piece at least: the rest are fragments
        "fragments": Expr(np.arange(f_off, f_off + n_f, dtype=np.int64),
                          np.ones(n_f, dtype=np.int64),
                          -int(np.unique(problem.lines[splits]).size)),
    }
    return LinearModel(
        problem=problem, upper=upper, row_start=row_start, row_cols=row_cols,
        row_coefs=row_coefs, row_lower=np.concatenate(lowers), row_upper=np.concatenate(uppers),
        x_item=xi.astype(np.int64), x_wh=xw.astype(np.int64), x_mult=x_mult,
        y_group=yg.astype(np.int64), y_wh=yw.astype(np.int64), y_index=y_index,
        u_levels=levels, f_line=f_line.astype(np.int64), f_wh=f_wh.astype(np.int64),
        ecap=ecap, free_items=free_items.astype(np.int64),
        active_groups=active_groups, objectives=objectives,
    )


def _free_value(problem: SplitProblem, free_items: IntArray) -> int:
    """The stock value of the free items: the same from every warehouse that may ship
    them (they are free only when it does not vary), else they would have columns."""
    if free_items.size == 0 or not problem.priced:
        return 0
    rows = problem.unit_value[free_items]
    allowed = problem.allowed[free_items]
    one = np.where(allowed, rows, 0).max(axis=1, initial=0)
    return int((one * problem.quantity[free_items]).sum())


def _key(problem: SplitProblem, x: IntArray) -> tuple[int, ...]:
    return evaluate(problem, x).key(problem.objective)


def _checked_warm_start(problem: SplitProblem, warm_start: IntArray | None) -> IntArray | None:
    """The warm start as int64 if it is feasible; otherwise None (and a warning)."""
    if warm_start is None:
        return None
    x = np.asarray(warm_start, dtype=np.int64)
    bad = violations(problem, x)
    if bad:
        log.warning("ignoring infeasible warm start: %s", "; ".join(bad[:3]))
        return None
    return x


def _cover_infeasible(problem: SplitProblem) -> bool:
    """True when some item cannot be covered even by all its warehouses together."""
    ecap = _effective_capacity(problem)
    short = np.where(problem.splittable, ecap.sum(axis=1), ecap.max(axis=1, initial=0))
    return bool(((problem.quantity > 0) & (short < problem.quantity)).any())


def _cheap_children_bound(problem: SplitProblem) -> int:
    """:func:`children_lower_bound`, less the 1 it counts for groups with nothing to ship."""
    groups = np.unique(problem.group)
    active = np.unique(problem.group[problem.quantity > 0])
    return max(0, children_lower_bound(problem) - (groups.size - active.size))


def term_lower_bounds(problem: SplitProblem, children: int) -> dict[str, int]:
    """Cheap global lower bounds per objective term; a stage whose incumbent meets its
    bound is proven without calling the solver.
    """
    ecap = _effective_capacity(problem)
    act = np.flatnonzero(problem.quantity > 0)
    if act.size == 0:
        return {"children": 0, "makespan": problem.fixed_makespan, "unit_hours": 0, "cost": 0,
                "fragments": 0, "stock_value": 0}
    big = np.iinfo(np.int64).max
    reach = ecap[act] > 0
    fastest = np.where(reach, problem.hours[None, :], big).min(axis=1)
    cheapest = np.where(reach, problem.cost[None, :], big).min(axis=1)
    group_cost = np.zeros(problem.n_groups, dtype=np.int64)
    np.maximum.at(group_cost, problem.group[act], cheapest)
    # Units fastest first, each item alone (exact per item; stock coupling only adds).
    order = np.argsort(problem.hours, kind="stable")
    caps = ecap[act][:, order]
    before = np.cumsum(caps, axis=1) - caps
    take = np.clip(problem.quantity[act, None] - before, 0, caps)
    split_units = (take * problem.hours[order][None, :]).sum(axis=1)
    whole_units = problem.quantity[act] * fastest
    units = np.where(problem.splittable[act], split_units, whole_units)
    return {
        "children": children,
        "makespan": max(int(problem.fixed_makespan), int(fastest.max())),
        "unit_hours": int(units.sum()),
        "cost": int(group_cost.sum()),
        "fragments": fragments_lower_bound(problem),
        "stock_value": stock_value_lower_bound(problem),
    }


@dataclass
class _Run:
    """Mutable state of one lexicographic solve."""

    problem: SplitProblem
    best: IntArray | None = None
    best_key: tuple[int, ...] | None = None
    from_solver: bool = False
    proven: int = 0
    stages: int = 0
    messages: list[str] = field(default_factory=list)
    error: bool = False
    infeasible: bool = False

    def offer(self, x: IntArray) -> bool:
        """Keep ``x`` if it is feasible and lexicographically better than the best."""
        bad = violations(self.problem, x)
        if bad:
            log.warning("solver returned an infeasible assignment: %s", "; ".join(bad[:3]))
            return False
        key = _key(self.problem, x)
        if self.best_key is None or key < self.best_key:
            self.best, self.best_key, self.from_solver = x, key, True
        return True


def solve_lexicographic(
    backend: str,
    problem: SplitProblem,
    stop: Deadline,
    warm_start: IntArray | None,
    make_runner: Callable[[LinearModel, Deadline], StageRunner],
    children_bound: int = 0,
    proven: Mapping[str, int] | None = None,
) -> SolveResult:
    """Stage by stage over ``problem.objective``; never raises, never worse than the warm start.

    ``proven`` holds optimal values of leading terms that the caller has proven (the
    combination search's): those stages are fixed as rows without a solver call.
    """
    t0 = time.perf_counter()
    run = _Run(problem)
    warm = _checked_warm_start(problem, warm_start)
    if warm is not None:
        run.best, run.best_key = warm, _key(problem, warm)
    bound = max(_cheap_children_bound(problem), children_bound)
    stats: dict[str, float] = {}

    def finish(status: Status) -> SolveResult:
        x = run.best
        if x is None and status.has_solution:
            status = Status.ERROR if run.error else Status.NO_SOLUTION
        if x is not None and not status.has_solution:
            status = Status.FEASIBLE
        stats.update(stages=run.stages, stages_proven=run.proven,
                     from_warm_start=float(x is not None and not run.from_solver))
        return SolveResult(
            backend=backend, status=status, assignment=x,
            objective=None if x is None else evaluate(problem, x),
            children_lower_bound=int(bound), runtime_s=time.perf_counter() - t0,
            message="; ".join(run.messages), stats=stats,
        )

    if not (problem.quantity > 0).any():
        run.best = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
        run.best_key, run.from_solver = _key(problem, run.best), True
        return finish(Status.OPTIMAL)
    if _cover_infeasible(problem):
        run.messages.append("infeasible: some item cannot be covered")
        return finish(Status.NO_SOLUTION)
    if stop.remaining() < max(MIN_STAGE_SECONDS, build_seconds(problem)):
        run.messages.append("no time to build and search the model")
        return finish(Status.FEASIBLE)

    try:
        tb = time.perf_counter()
        model = build_model(problem, stop)
        runner = make_runner(model, stop)
        stats.update(n_cols=model.n_cols, n_rows=model.n_rows,
                     n_free_items=int(model.free_items.size),
                     build_s=time.perf_counter() - tb)
    except OutOfTimeError:
        run.messages.append("time ran out building the model")
        return finish(Status.FEASIBLE)
    except Exception as exc:  # a library failure must not escape
        log.exception("%s: building the model failed", backend)
        run.error = True
        run.messages.append(f"error building the model: {exc!r}")
        return finish(Status.ERROR)

    stages = [(t, model.objectives[t]) for t in problem.objective]
    if all(expr.is_constant for _, expr in stages):  # still need one feasible plan
        stages.append(("feasibility", Expr(model.upper[:0], model.upper[:0])))
    lower = term_lower_bounds(problem, bound)
    all_proven = True
    restricted = False
    for term, expr in stages:
        if expr.is_constant and term != "feasibility":
            if term == "children" and not restricted:
                bound = expr.constant  # exact: every group with units is one child
            continue
        if proven is not None and term in proven:
            value = int(proven[term])
            stats["stages_given"] = stats.get("stages_given", 0) + 1
        elif run.best is not None and term in lower and \
                getattr(evaluate(problem, run.best), term) <= lower[term]:
            value = int(getattr(evaluate(problem, run.best), term))  # proven by the bound
            stats["stages_by_bound"] = stats.get("stages_by_bound", 0) + 1
        else:
            if stop.remaining() < MIN_STAGE_SECONDS:
                run.messages.append(f"time ran out before stage {term}")
                all_proven = False
                break
            run.stages += 1
            hint = None if run.best is None else model.to_columns(run.best)
            try:
                out = runner.optimize(expr, hint, stop.remaining())
            except Exception as exc:
                log.exception("%s: stage %s failed", backend, term)
                run.error = True
                run.messages.append(f"error in stage {term}: {exc!r}")
                all_proven = False
                break
            if out.message:
                run.messages.append(out.message)
            candidate = None if out.values is None else model.to_assignment(out.values)
            accepted = candidate is not None and run.offer(candidate)
            if term == "children" and not restricted and out.bound is not None:
                bound = max(bound, math.ceil(out.bound - 1e-6))
            if out.status is not Status.OPTIMAL or not accepted or candidate is None:
                run.error = run.error or out.status is Status.ERROR
                run.infeasible = out.infeasible
                if out.infeasible and run.best is None:
                    run.messages.append("infeasible")
                all_proven = False
                break
            if term == "feasibility":
                run.proven += 1
                break
            value = int(getattr(evaluate(problem, candidate), term))
        run.proven += 1
        if term == "children" and not restricted:
            bound = max(bound, value)
        try:
            runner.restrict(expr, value)
        except Exception as exc:
            log.exception("%s: fixing %s failed", backend, term)
            run.error = True
            run.messages.append(f"error fixing {term}: {exc!r}")
            all_proven = False
            break
        restricted = True

    stats["solve_s"] = time.perf_counter() - t0
    if run.best is None:
        return finish(Status.ERROR if run.error else Status.NO_SOLUTION)
    return finish(Status.OPTIMAL if all_proven else Status.FEASIBLE)


class LexicographicBackend(Backend):
    """An exact backend that runs :func:`solve_lexicographic` with its own stage runner.

    Subclasses name the library they need (``library``, imported lazily by
    :meth:`available`) and the runner class (``runner(model, seed, stop)``; it may raise
    :class:`~ordersplit.solver.stop.OutOfTimeError` while it loads the model).
    """

    exact = True
    library: str = ""
    runner: Callable[[LinearModel, int, Deadline], StageRunner]

    def available(self) -> bool:
        try:
            importlib.import_module(self.library)
        except ImportError:
            return False
        return True

    def solve(
        self, problem: SplitProblem, stop: Deadline, warm_start: IntArray | None = None,
        children_bound: int = 0, proven: Mapping[str, int] | None = None,
    ) -> SolveResult:
        """Lexicographic stages within ``stop``; see the module docstring."""
        make = type(self).runner
        return solve_lexicographic(
            self.name, problem, stop, warm_start,
            lambda model, limit: make(model, int(problem.seed) % (1 << 31), limit),
            children_bound, proven,
        )
