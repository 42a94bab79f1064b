"""Pure covering orders solved as a compact set-cover model by HiGHS.

An order is a *pure cover* when it is one shipping group of whole lines (each line one
splittable item on a SKU of its own), one child per warehouse, every warehouse holds
none or all of each line's quantity (binary stock), and the objective is one term that
counts or prices children (``children`` or ``cost``, with at most ``fragments`` after
it). A plan is then fixed by the warehouses it opens: each line ships whole from one
of them (no fragments), and opening a set is feasible exactly when it covers every
line. The whole model is one binary per warehouse and one covering row per line,
where the exact backends' assignment model has a variable per (line, warehouse) and
a lexicographic stage per term; on OR-Library's weighted instances it is what a user
would hand HiGHS directly, and as fast.

With ``children`` first, the fewest warehouses on large covers are found by a local
search (:mod:`ordersplit.solver.cover_local_search`, :func:`smallest_cover`) rather than
proven (unless it meets the covering LP's dual bound, :func:`cover_dual_bound`: then it
stops there, proven); the model then starts from its cover.

The plan ships each line from its fastest open warehouse (as
:func:`~ordersplit.solver.group_search.fill_group` would); any plan's warehouses are a
feasible cover of the model, so the model's optimum is the plan's. The model's LP
relaxation is solved first: when its optimum is already a cover (integral), nothing
is cheaper and the MIP does not run. The model is built
from the cover's nonzero entries, found once when the order is recognized as a pure
cover: on OR-Library's 200 x 1000 files a dense pass over lines x warehouses costs
about as much as the set-up around HiGHS did.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ordersplit.solver.backends.milp import HIGHS_STATUS_MAP, new_highs
from ordersplit.solver.cover_local_search import fewest_cover
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import HIGHS_NODE_UNITS, UNIT_SECONDS, Deadline

log = logging.getLogger(__name__)

TERMS = ("children", "cost")
"""The first terms a pure cover may have (``fragments`` may follow)."""
_HIGHS_FEASIBLE = 2  # kSolutionStatusFeasible


def pure_cover(problem: SplitProblem) -> bool:
    """Whether ``problem`` is a pure covering order (see the module docstring)."""
    return _cover_of(problem) is not None


@dataclass(frozen=True)
class _Cover:
    """A pure cover's lines and its covering entries, line by line: entry ``e`` says
    warehouse ``wh[e]`` may ship line ``line[e]`` (a position in ``items``) whole."""

    items: IntArray
    line: IntArray
    wh: IntArray


def _cover_of(problem: SplitProblem) -> _Cover | None:
    """The pure cover of ``problem``, or ``None`` when it is none; kept on the problem
    (the portfolio asks first, the set-cover model then builds from it)."""
    memo = problem.__dict__
    if "_pure_cover" not in memo:
        memo["_pure_cover"] = _find_cover(problem)
    found: _Cover | None = memo["_pure_cover"]
    return found


def cover_entries(problem: SplitProblem) -> int:
    """The nonzero entries of the pure cover ``problem`` (the set-cover model's size)."""
    found = _cover_of(problem)
    assert found is not None, "cover_entries needs a pure cover"
    return int(found.line.size)


def _find_cover(problem: SplitProblem) -> _Cover | None:
    terms = problem.objective
    if not terms or terms[0] not in TERMS or any(t != "fragments" for t in terms[1:]):
        return None
    if not problem.per_warehouse or problem.n_items == 0:
        return None
    items = np.flatnonzero(problem.quantity > 0)
    if items.size == 0 or np.unique(problem.group[items]).size != 1:
        return None
    skus = problem.single_sku[items]
    if (skus < 0).any() or not problem.splittable[items].all() \
            or np.unique(skus).size != items.size \
            or np.unique(problem.lines[items]).size != items.size:
        return None
    allowed = problem.allowed if items.size == problem.n_items else problem.allowed[items]
    if not (allowed == allowed[0]).all():
        return None
    reach = np.flatnonzero(allowed[0])
    stock = problem.stock
    if skus.size != problem.n_skus or not bool((skus == np.arange(skus.size)).all()):
        stock = stock[:, skus]  # the lines' SKUs in line order (no copy in the usual case)
    if reach.size < problem.n_warehouses:
        stock = stock[reach]
    held = stock > 0
    if (held & (stock < problem.quantity[items][None, :])).any():  # part of a line held
        return None
    # line by line (flatnonzero of a contiguous mask: quicker than a 2-d nonzero)
    line, w = np.divmod(np.flatnonzero(np.ascontiguousarray(held.T)), reach.size)
    return _Cover(items, line, reach[w])


def _plan(problem: SplitProblem, cover: _Cover, opened: IntArray) -> IntArray | None:
    """Each line from its fastest warehouse in ``opened`` (ties: the lower id), all of
    it: what :func:`~ordersplit.solver.group_search.fill_group` ships inside
    ``opened`` when every warehouse holds none or all of each line; ``None`` if a
    line has none there."""
    n_w = problem.n_warehouses
    order = np.lexsort((np.arange(n_w), problem.hours))
    rank = np.empty(n_w, dtype=np.int64)
    rank[order] = np.arange(n_w)
    is_open = np.zeros(n_w, dtype=bool)
    is_open[opened] = True
    there = is_open[cover.wh]
    first = np.full(cover.items.size, n_w, dtype=np.int64)
    np.minimum.at(first, cover.line[there], rank[cover.wh[there]])
    if (first == n_w).any():
        return None
    x = np.zeros((problem.n_items, n_w), dtype=np.int64)
    x[cover.items, order[first]] = problem.quantity[cover.items]
    return x


def smallest_cover(problem: SplitProblem, stop: Deadline, start: IntArray | None,
                   ) -> tuple[IntArray | None, int]:
    """A plan of the pure cover ``problem`` on the fewest warehouses the local search
    finds within ``stop``, from the warehouses of the plan ``start`` (its own greedy
    cover when there is none; that cover even when ``stop`` has run out), and a lower
    bound on the warehouses any plan needs (:func:`cover_dual_bound`); the plan is
    ``None`` when a line has no stock. The search stops early on a cover of the bound's
    size: that plan is proven to have the fewest children. Under a work budget the steps
    taken are charged, one unit each, so the plan is reproducible."""
    found = _cover_of(problem)
    assert found is not None, "smallest_cover needs a pure cover"
    floor = cover_dual_bound(found)
    cover = np.zeros((problem.n_warehouses, found.items.size), dtype=bool)
    cover[found.wh, found.line] = True
    begin = start.sum(axis=0) > 0 if start is not None else np.zeros(cover.shape[0], dtype=bool)
    steps = max(1, int(stop.remaining() / UNIT_SECONDS)) if stop.work_limited else 0
    used = np.zeros(1, dtype=np.int64)
    opened = fewest_cover(cover, begin, stop.end, steps, int(problem.seed) % (1 << 31),
                          floor, used)
    stop.charge(int(used[0]))
    if opened is None:
        return None, floor
    return _plan(problem, found, np.flatnonzero(opened)), floor


def cover_dual_bound(found: _Cover) -> int:
    """A lower bound on the warehouses covering every line: a feasible dual of the
    covering LP gives each line ``1 / (the most lines one of its warehouses covers)``
    (as :func:`~ordersplit.solver.bounds.dual_cover_bound`, from the cover's entries:
    well under a millisecond on OR-Library's 200 x 2000 files)."""
    if found.line.size == 0:
        return 0
    reach = np.bincount(found.wh)[found.wh]  # lines of each entry's warehouse
    most = np.zeros(found.items.size, dtype=np.int64)
    np.maximum.at(most, found.line, reach)
    if not most.all():  # a line with no stock: no cover
        return 0
    return max(1, math.ceil(float((1.0 / most).sum()) - 1e-9))


def dominated_columns(cover: np.ndarray, prices: IntArray) -> np.ndarray:
    """Warehouses no optimal cover opens (Beasley's column domination), as a mask.

    ``cover[w, line]`` says that column ``w`` covers the line (integer ``prices``: exact
    sums). A column dearer than the sum, over its lines, of the cheapest *other* column
    covering each line is never in an optimal cover: swapping it for those columns
    covers the same lines for strictly less. Dropping all such columns at once keeps
    every optimal cover (and its value); on OR-Library's weighted files it drops about
    four columns in five, and HiGHS proves the smaller model faster.
    """
    lines, cols = np.nonzero(cover.T)  # line-major entries
    return _dominated(lines, cols, prices, cover.shape[1], cover.shape[0])


def _dominated(lines: IntArray, cols: IntArray, prices: IntArray, n_lines: int,
               n_cols: int) -> np.ndarray:
    """:func:`dominated_columns` from the covering entries (column ``cols[e]`` covers
    line ``lines[e]``, line by line)."""
    if lines.size == 0:
        return np.zeros(n_cols, dtype=bool)
    price = prices[cols]
    order = np.lexsort((price, lines))
    by_line, by_price = lines[order], price[order]
    starts = np.searchsorted(by_line, np.arange(n_lines))
    counts = np.diff(np.append(starts, by_line.size))
    last = by_line.size - 1
    cheapest = by_price[np.minimum(starts, last)]
    second = np.where(counts > 1, by_price[np.minimum(starts + 1, last)], -1)  # -1: none
    other = np.where(price == cheapest[lines], second[lines], cheapest[lines])
    sole = np.zeros(n_cols, dtype=bool)
    sole[cols[other < 0]] = True  # the only column of a line stays
    total = np.zeros(n_cols, dtype=np.int64)
    np.add.at(total, cols, np.maximum(other, 0))
    return np.asarray(~sole & (prices > total))


def solve_set_cover(problem: SplitProblem, stop: Deadline, start: IntArray | None = None,
                    ) -> SolveResult:
    """The pure cover ``problem`` (:func:`pure_cover`) by HiGHS within ``stop``, warm
    started from the plan ``start``; ``optimal`` when HiGHS proves it."""
    import highspy

    t0 = time.perf_counter()
    found = _cover_of(problem)
    assert found is not None, "solve_set_cover needs a pure cover"
    items = found.items
    if np.unique(found.line).size < items.size:
        return SolveResult("milp", Status.NO_SOLUTION, None, None, 0, 0.0, "a line has no stock")
    cols, local = np.unique(found.wh, return_inverse=True)  # the model's columns
    units = np.ones(cols.size, dtype=np.int64) if problem.objective[0] == "children" else \
        problem.cost[cols]
    # a smaller model, the same optima
    keep = ~_dominated(found.line, local, units, items.size, cols.size)
    entry = keep[local]
    rows_l = (np.cumsum(keep) - 1)[local[entry]]  # the kept columns renumbered
    rows_w = found.line[entry]  # still line by line
    cols, prices = cols[keep], units[keep].astype(np.float64)
    n = cols.size
    starts = np.searchsorted(rows_w, np.arange(items.size)).astype(np.int32)

    def model(integer: bool) -> Any:
        """A fresh HiGHS instance of the model (an LP instance turned into a MIP
        afterwards claimed a wrong optimum on OR-Library's scp52: never reuse one)."""
        highs = new_highs()
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.setOptionValue("random_seed", int(problem.seed) % (1 << 31))
        if stop.work_limited:  # nodes, not seconds
            highs.setOptionValue("mip_max_nodes", max(1, round(
                stop.remaining() / UNIT_SECONDS / HIGHS_NODE_UNITS)))
        else:
            highs.setOptionValue("time_limit", max(stop.remaining(), 1e-3))
        highs.addVars(n, np.zeros(n), np.ones(n))
        highs.changeColsCost(n, idx, prices)
        if integer:
            highs.changeColsIntegrality(n, idx, np.full(n, highspy.HighsVarType.kInteger))
            if problem.objective[0] == "cost":
                highs.setOptionValue("mip_allow_restart", RESTART_ON_COST)
        highs.addRows(items.size, np.ones(items.size), np.full(items.size, highspy.kHighsInf),
                      rows_l.size, starts, rows_l.astype(np.int32), np.ones(rows_l.size))
        return highs

    idx = np.arange(n, dtype=np.int32)
    chosen = _integral_lp_cover(model(False), n, items.size, rows_w, rows_l, units[keep])
    if chosen is not None:  # the relaxation's optimum is a cover: proven at once
        stop.charge(HIGHS_NODE_UNITS)
        return _cover_result(problem, found, cols[chosen], Status.OPTIMAL, int(
            chosen.sum()) if problem.objective[0] == "children" else 0, t0)
    if start is not None and stop.work_limited and problem.objective[0] == "children" \
            and items.size * cols.size > WORK_LIMITED_MIP_CELLS:
        res = _cover_result(problem, found, np.flatnonzero(start.sum(axis=0) > 0),
                            Status.FEASIBLE, 0, t0)
        res.message = "work limit: no MIP on a large unicost cover"
        return res
    highs = model(True)
    if start is not None:
        opened = start.sum(axis=0)[cols] > 0
        highs.setSolution(n, idx, opened.astype(np.float64))
    highs.run()
    name = highs.getModelStatus().name
    status = HIGHS_STATUS_MAP.get(name, Status.ERROR)
    info = highs.getInfo()
    stop.charge(HIGHS_NODE_UNITS * max(1, int(info.mip_node_count)))
    bound = 0
    if problem.objective[0] == "children" and status in (Status.OPTIMAL, Status.FEASIBLE):
        bound = max(1, math.ceil(float(info.mip_dual_bound) - 1e-6))
    if int(info.primal_solution_status) != _HIGHS_FEASIBLE or status is Status.ERROR:
        return SolveResult("milp", Status.NO_SOLUTION if status is not Status.ERROR else status,
                           None, None, bound, time.perf_counter() - t0, f"highs: {name}")
    opened = cols[np.asarray(highs.getSolution().col_value)[:n] > 0.5]
    return _cover_result(problem, found, opened, status, bound, t0)


RESTART_ON_COST = False
"""Whether HiGHS may restart its root on a ``cost``-first cover (its default: yes). After
Beasley's domination the model is small (170-620 columns on OR-Library's weighted
files), and a restart after HiGHS's own reduced-cost fixing re-runs the root's cut loop,
most of its time: without restarts HiGHS proves A-D and 6.x 2-4x faster in CPU time
(scpa1 2.8 -> 1.4 s, scpb1 2.9 -> 0.9 s, scpb3 4.6 -> 2.2 s, scp61 1.3 -> 0.3 s), with
the same optima; 4.x and 5.x (root-only, 0.01-0.08 s) are unchanged. ``children``
first keeps the default (the unicost path's measurements were made with it)."""
WORK_LIMITED_MIP_CELLS = 100_000
"""Lines x columns of a ``children``-first model above which, under a work budget, the
MIP does not run (its start plan is returned): HiGHS's root alone takes seconds there
(about 9 s on OR-Library's scp41 unicost at load 8, ending at bound 33 against 38)
whatever ``mip_max_nodes`` says, so the work limit could not bound its time (a
``work_limit`` of 5,000,000 took 100-180 s on scp41, scp51, scp64); the local search
before it is bounded by its steps."""
LP_INTEGRAL = 1e-6
"""How far from 0 or 1 an LP value may be and still count as integral."""


def _integral_lp_cover(highs: Any, n: int, n_lines: int, rows_w: IntArray, rows_l: IntArray,
                       units: IntArray) -> np.ndarray | None:
    """The columns of the covering LP's optimum when it is a cover of integer cost no
    more than the LP's value (rounded up: the costs are integers), so that no cover is
    cheaper; ``None`` otherwise (the MIP then runs). On OR-Library's weighted 4.x and
    5.x the LP optimum is integral on 9 of 20 files: 2 ms against HiGHS's 10 ms MIP."""
    highs.run()
    if highs.getModelStatus().name != "kOptimal":
        return None
    value = np.asarray(highs.getSolution().col_value)[:n]
    if ((value > LP_INTEGRAL) & (value < 1 - LP_INTEGRAL)).any():
        return None
    chosen = value > 0.5
    covered = np.zeros(n_lines, dtype=bool)
    covered[rows_w[chosen[rows_l]]] = True
    lp = float(highs.getInfo().objective_function_value)
    if not covered.all() or int(units[chosen].sum()) > math.ceil(lp - LP_INTEGRAL):
        return None
    return chosen


def _cover_result(problem: SplitProblem, found: _Cover, opened: IntArray, status: Status,
                  bound: int, t0: float) -> SolveResult:
    """The plan of the warehouses ``opened`` (each line from its fastest) as a result."""
    x = _plan(problem, found, opened)
    if x is None:  # cannot happen: every line has stock in an opened warehouse
        log.warning("set-cover plan does not cover the order; ignored")
        return SolveResult("milp", Status.ERROR, None, None, bound, time.perf_counter() - t0,
                           "set-cover plan incomplete")
    obj = evaluate(problem, x)
    return SolveResult("milp", status, x, obj, min(bound, obj.children) if bound else bound,
                       time.perf_counter() - t0, "" if status is Status.OPTIMAL else
                       "time ran out")
