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
proven; the model then starts from its cover.

The plan ships each line from its fastest open warehouse
(:func:`~ordersplit.solver.group_search.fill_group`); any plan's warehouses are a
feasible cover of the model, so the model's optimum is the plan's.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from ordersplit.solver.backends.milp import HIGHS_STATUS_MAP, new_highs
from ordersplit.solver.cover_local_search import fewest_cover
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.group_search import fill_group
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import HIGHS_NODE_UNITS, UNIT_SECONDS, Deadline

log = logging.getLogger(__name__)

TERMS = ("children", "cost")
"""The first terms a pure cover may have (``fragments`` may follow)."""
_HIGHS_FEASIBLE = 2  # kSolutionStatusFeasible


def pure_cover(problem: SplitProblem) -> bool:
    """Whether ``problem`` is a pure covering order (see the module docstring)."""
    terms = problem.objective
    if not terms or terms[0] not in TERMS or any(t != "fragments" for t in terms[1:]):
        return False
    if not problem.per_warehouse or problem.n_items == 0:
        return False
    items = np.flatnonzero(problem.quantity > 0)
    if items.size == 0 or np.unique(problem.group[items]).size != 1:
        return False
    skus = problem.single_sku[items]
    if (skus < 0).any() or not problem.splittable[items].all() \
            or np.unique(skus).size != items.size \
            or np.unique(problem.lines[items]).size != items.size:
        return False
    allowed = problem.allowed[items]
    if not (allowed == allowed[0]).all():
        return False
    stock = problem.stock[:, skus]
    q = problem.quantity[items]
    return bool(((stock == 0) | (stock >= q[None, :]))[allowed[0]].all())


def _lines_and_cover(problem: SplitProblem) -> tuple[IntArray, np.ndarray]:
    """The lines of a pure cover and ``cover[w, line]``: warehouse ``w`` may ship it whole."""
    items = np.flatnonzero(problem.quantity > 0)
    reach = problem.allowed[items[0]]
    return items, (problem.stock[:, problem.single_sku[items]] > 0) & reach[:, None]


def _plan(problem: SplitProblem, items: IntArray, opened: IntArray) -> IntArray | None:
    """Each line from its fastest warehouse in ``opened``; ``None`` if one has none."""
    x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
    rows = fill_group(problem, items, opened, problem.stock.copy())
    if rows is None:
        return None
    x[items] = rows
    return x


def smallest_cover(problem: SplitProblem, stop: Deadline, start: IntArray | None,
                   ) -> IntArray | None:
    """A plan of the pure cover ``problem`` on the fewest warehouses the local search
    finds within ``stop``, from the warehouses of the plan ``start`` (all of them when
    there is none); ``None`` when a line has no stock. Under a work budget the steps are
    counted, one unit each, so the plan is reproducible."""
    items, cover = _lines_and_cover(problem)
    begin = np.asarray(start.sum(axis=0) > 0 if start is not None else cover.any(axis=1))
    steps = int(stop.remaining() / UNIT_SECONDS) if stop.work_limited else 0
    opened = fewest_cover(cover, begin, stop.end, max(steps, 1) if stop.work_limited else 0,
                          int(problem.seed) % (1 << 31))
    stop.charge(steps)
    if opened is None:
        return None
    return _plan(problem, items, np.flatnonzero(opened))


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
    if lines.size == 0:
        return np.zeros(cover.shape[0], dtype=bool)
    price = prices[cols]
    order = np.lexsort((price, lines))
    by_line, by_price = lines[order], price[order]
    starts = np.searchsorted(by_line, np.arange(cover.shape[1]))
    counts = np.diff(np.append(starts, by_line.size))
    last = by_line.size - 1
    cheapest = by_price[np.minimum(starts, last)]
    second = np.where(counts > 1, by_price[np.minimum(starts + 1, last)], -1)  # -1: none
    other = np.where(price == cheapest[lines], second[lines], cheapest[lines])
    sole = np.zeros(cover.shape[0], dtype=bool)
    sole[cols[other < 0]] = True  # the only column of a line stays
    total = np.zeros(cover.shape[0], dtype=np.int64)
    np.add.at(total, cols, np.maximum(other, 0))
    return np.asarray(~sole & (prices > total))


def solve_set_cover(problem: SplitProblem, stop: Deadline, start: IntArray | None = None,
                    ) -> SolveResult:
    """The pure cover ``problem`` (:func:`pure_cover`) by HiGHS within ``stop``, warm
    started from the plan ``start``; ``optimal`` when HiGHS proves it."""
    import highspy

    t0 = time.perf_counter()
    items, cover = _lines_and_cover(problem)
    cols = np.flatnonzero(cover.any(axis=1))
    n = cols.size
    if not cover.any(axis=0).all():
        return SolveResult("milp", Status.NO_SOLUTION, None, None, 0, 0.0, "a line has no stock")
    units = np.ones(n, dtype=np.int64) if problem.objective[0] == "children" else \
        problem.cost[cols]
    keep = ~dominated_columns(cover[cols], units)  # a smaller model, the same optima
    cols, prices = cols[keep], units[keep].astype(np.float64)
    n = cols.size
    highs = new_highs()
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("random_seed", int(problem.seed) % (1 << 31))
    if stop.work_limited:  # nodes, not seconds
        highs.setOptionValue("mip_max_nodes", max(1, round(
            stop.remaining() / UNIT_SECONDS / HIGHS_NODE_UNITS)))
    else:
        highs.setOptionValue("time_limit", max(stop.remaining(), 1e-3))
    highs.addVars(n, np.zeros(n), np.ones(n))
    idx = np.arange(n, dtype=np.int32)
    highs.changeColsCost(n, idx, prices)
    highs.changeColsIntegrality(n, idx, np.full(n, highspy.HighsVarType.kInteger))
    rows_w, rows_l = np.nonzero(cover[cols].T)  # line-major: the columns of each line
    starts = np.searchsorted(rows_w, np.arange(items.size)).astype(np.int32)
    highs.addRows(items.size, np.ones(items.size), np.full(items.size, highspy.kHighsInf),
                  rows_l.size, starts, rows_l.astype(np.int32), np.ones(rows_l.size))
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
    x = _plan(problem, items, opened)
    if x is None:  # cannot happen: every line has stock in an opened warehouse
        log.warning("set-cover plan does not cover the order; ignored")
        return SolveResult("milp", Status.ERROR, None, None, bound, time.perf_counter() - t0,
                           "set-cover plan incomplete")
    obj = evaluate(problem, x)
    return SolveResult("milp", status, x, obj, min(bound, obj.children) if bound else bound,
                       time.perf_counter() - t0, "" if status is Status.OPTIMAL else
                       "time ran out")
