"""The ``auto`` solver: bounds, heuristics, exact search, fallback - within one budget.

0. A pure cover (:mod:`ordersplit.solver.set_cover`) with ``cost`` first is solved by the
   compact set-cover model at once; with ``children`` first and huge, the local search
   (:mod:`ordersplit.solver.cover_local_search`, from its own compiled greedy cover; a
   plan meeting the covering dual bound is optimal there) replaces steps 1-2, and the
   set-cover model is the MIP of step 4.
1. Where the exact combination search applies (children first, plain lines: most
   orders), it runs first: its first dive is the scarce-item heuristic and its dual
   set-covering bound the cheap lower bound, so it usually proves the optimum at once.
   On large problems the heuristics run before it and hand it their best plan. The usual
   small order (children first, no contended stock) goes straight to its one-call form,
   and a proven plan of no fragments is returned from there (:func:`_usual`).
2. Otherwise (or if it ran out of its share of the time): a cheap lower bound on every
   objective term and the constructive heuristics; if the best plan meets the bound,
   it is optimal as it stands.
3. Every plan goes through the fragments post-stage
   (:func:`~ordersplit.solver.fragments.keep_lines_whole`) and the best by the full
   lexicographic key, fragments included, is kept: ``auto`` is never worse than a
   heuristic it ran. When the search proved every term before fragments, the fragments
   are settled exactly group by group
   (:func:`~ordersplit.solver.fragments.settle_fragments`). For a small order of lone
   lines both stages run in one compiled call after the one-call search
   (:mod:`ordersplit.solver.fragments_kernel`; the Python path is its definition).
4. Otherwise, or if that search ran out of time, an exact MIP backend (CP-SAT; HiGHS
   when cost comes first or the problem is large) warm-started from the best plan so
   far, with the time left and the proven terms fixed.
5. If the MIP fails, the best heuristic plan is returned as ``fallback``; if time ran
   out, the best plan found as ``feasible``, with the proven bound. Once the budget is
   spent, nothing more starts: the first plan found is returned.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from ordersplit.solver import fragments_kernel, problem_facts
from ordersplit.solver.backends.base import get_backend
from ordersplit.solver.bounds import (
    children_lower_bound,
    fastest_fill_bounds,
    stock_value_lower_bound,
)
from ordersplit.solver.combination import (
    CombinationOutcome,
    applicable,
    combination_search,
    search_usual,
)
from ordersplit.solver.evaluate import Objective, evaluate
from ordersplit.solver.fragments import (
    fragments_lower_bound,
    head_terms,
    keep_lines_whole_scored,
    settle_cases,
    settle_fragments,
    share_derived,
    without_fragments,
)
from ordersplit.solver.fragments_kernel import Settled
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.set_cover import (
    cover_entries,
    pure_cover,
    smallest_cover,
    solve_set_cover,
)
from ordersplit.solver.stop import Deadline, WorkBudget

log = logging.getLogger(__name__)

EXACT_SHARE = 0.5
"""Share of the remaining budget the combination search may use before a MIP is tried."""
EXACT_SHARE_LARGE = 0.9
"""The same on large problems: there the MIPs prove nothing within typical budgets (none of
the 100 x 300 benchmark orders in 2 s, and the build alone rarely fits what is left) and
the compiled search is the one that can."""
MIP_SHARE = 0.9
"""Share of the time left that the MIP gets (HiGHS and CP-SAT overrun limits by ~10%)."""


def lower_bound(problem: SplitProblem) -> Objective:
    """A lower bound on every objective term at once."""
    makespan, unit = fastest_fill_bounds(problem)
    return Objective(children_lower_bound(problem), makespan, unit, 0,
                     fragments_lower_bound(problem), stock_value_lower_bound(problem))


class _Best:
    """The best plan so far by the full lexicographic key (fragments included)."""

    def __init__(self, problem: SplitProblem) -> None:
        self.problem = problem
        self.x: IntArray | None = None
        self.obj: Objective | None = None
        self.name = ""

    def offer(self, name: str, x: IntArray, stop: Deadline | None,
              obj: Objective | None = None) -> bool:
        """Keep ``x`` (after the fragments post-stage) if it beats the best; ties keep
        the earlier plan, so the outcome depends on the order of offers only. ``obj``:
        ``x``'s objective, when the caller has it."""
        if obj is None:
            obj = evaluate(self.problem, x)
        if obj.fragments:  # a plan of none is returned as it is: no need to look
            kept, scored = keep_lines_whole_scored(self.problem, x, obj, stop)
            x, obj = kept, obj if scored is None else scored  # given obj, never None
        terms = self.problem.objective
        if self.obj is None or obj.key(terms) < self.obj.key(terms):
            self.x, self.obj, self.name = x, obj, name
            return True
        return False


def _run_heuristics(problem: SplitProblem, best: _Best, stop: Deadline,
                    names: tuple[str, ...] = tuple(HEURISTICS)) -> None:
    """Offer the plan of every heuristic of ``names``; greedy always runs (a plan never
    worse than greedy's), the others while time is left (one cut short by the deadline
    offers nothing)."""
    for name in names:
        if name != "greedy" and stop.expired():
            break
        x = HEURISTICS[name](problem, None if name == "greedy" else stop)
        if x is not None:
            best.offer(name, x, stop)


def solve_auto(problem: SplitProblem, stop: Deadline) -> SolveResult:
    """Best plan for ``problem`` within ``stop``; see the module docstring."""
    t0 = time.perf_counter()
    cells = problem.n_items * problem.n_warehouses
    terms = problem.objective
    best = _Best(problem)
    children_lb = 0
    proven: dict[str, int] | None = None  # proven optima of the terms before fragments
    out: CombinationOutcome | None = None
    large = False
    if cells <= LARGE_COLUMNS:
        problem_facts.derive(problem)  # what the stages below ask first, in one call
        if USUAL_PATH and _usual(problem, stop):  # the usual small order: straight on
            out = search_usual(problem, stop.fraction(EXACT_SHARE))  # to the search
            if out.proven and out.objective is not None and out.assignment is not None \
                    and not out.objective.fragments and (
                        "fragments" not in terms or _settles_as_it_is(problem)):
                best.x, best.obj, best.name = out.assignment, out.objective, "combination"
                return _result(best, Status.OPTIMAL, out.objective.children, t0)
            core = without_fragments(problem)  # what the stages below compare with
    if out is None:
        cover = pure_cover(problem)
        if cover and terms[0] == "cost":  # the compact model is the whole problem
            whole = solve_set_cover(problem, stop.fraction(MIP_SHARE))
            if whole.assignment is not None and whole.objective is not None:
                best.x, best.obj, best.name = whole.assignment, whole.objective, whole.backend
                return _result(best, whole.status, whole.children_lower_bound, t0, whole.message)
        huge = cover and cells > HUGE_COVER_CELLS
        # an order of fewer cells than that cannot have more columns: no capacities needed
        large = huge or (cells > LARGE_COLUMNS and _columns(problem) > LARGE_COLUMNS)
        core = without_fragments(problem)  # the search does not know fragments
        if large and not huge:  # the search rarely proves these at once: heuristics first
            _run_heuristics(problem, best, stop)
        if huge:  # no proof in sight: the local search (from its own compiled greedy cover,
            # even with no time left; the heuristics take seconds there), then HiGHS
            mip_after = cover_entries(problem) * BUILD_SECONDS_PER_COLUMN < \
                0.5 * (1 - LOCAL_SEARCH_SHARE) * stop.remaining()  # as _mip_fits will ask
            x, floor = smallest_cover(problem, stop.fraction(
                LOCAL_SEARCH_SHARE if mip_after else LOCAL_SEARCH_ALONE), best.x)
            if x is not None:
                best.offer("local search", x, stop)
            children_lb = floor
            if best.obj is not None and _meets(best.obj, Objective(floor, 0, 0, 0), terms):
                return _result(best, Status.OPTIMAL, floor, t0)  # as few as the dual bound
        elif not stop.expired() and applicable(core):
            # The search's first dive is the scarce-item heuristic, its dual bound the
            # cheap lower bound; on most orders it proves the optimum at once.
            share = EXACT_SHARE_LARGE if large else EXACT_SHARE
            out = combination_search(core, stop.fraction(share), best.x)
    if out is not None:
        share_derived(core, problem)
        if out.proven and out.ties and core is not problem and _settled_by_cases(
                problem, out.ties, best, stop):
            return _result(best, Status.OPTIMAL, 0 if best.obj is None else best.obj.children, t0)
        kernel = _settle_in_kernel(problem, core, out, best, stop)
        if kernel is not None:  # the one-call fragments stages (lone lines)
            best.x, best.obj, best.name = kernel.kept, kernel.kept_objective, "combination"
            if kernel.settled is not None and kernel.objective is not None:
                best.x, best.obj = kernel.settled, kernel.objective
                return _result(best, Status.OPTIMAL, best.obj.children, t0)
        elif out.assignment is not None:
            best.offer("combination", out.assignment, stop, out.objective)
        if out.proven and best.x is not None and best.obj is not None:
            if core is problem or (best.obj.fragments == 0 and _settles_as_it_is(problem)):
                return _result(best, Status.OPTIMAL, best.obj.children, t0)
            proven = {t: int(getattr(best.obj, t)) for t in head_terms(problem)}
            x, settled = settle_fragments(problem, best.x, proven, stop, best.obj.fragments)
            if settled:  # the usual case: no heuristic or MIP needed
                if not np.array_equal(x, best.x):
                    best.obj = evaluate(problem, x)
                best.x = x
                return _result(best, Status.OPTIMAL, best.obj.children, t0)
        children_lb = out.children_bound

    groups = int(np.unique(problem.group[problem.quantity > 0]).size)  # a child each
    if stop.expired():  # no time for the bounds or a MIP: the first plan there is
        if best.x is None:
            _run_heuristics(problem, best, stop)
        if best.x is not None:
            return _result(best, Status.FEASIBLE, max(children_lb, groups), t0,
                           "time ran out")
    if best.x is not None and not _bound_fits(problem, stop):
        return _result(best, Status.FEASIBLE, max(children_lb, groups), t0,
                       "time ran out before the lower bounds could run")
    bound = lower_bound(problem)
    children_lb = max(children_lb, bound.children)
    bound = dataclasses.replace(bound, children=children_lb)
    if not large:
        _run_heuristics(problem, best, stop)
    if best.obj is not None and _meets(best.obj, bound, terms):
        return _result(best, Status.OPTIMAL, best.obj.children, t0)

    if best.x is None:
        log.debug("no heuristic plan; the exact backend starts cold")

    # HiGHS's LP bound is far stronger on large covering problems; CP-SAT starts faster.
    backend = get_backend("milp" if large or (terms and terms[0] == "cost") else "cpsat")
    if best.obj is not None and not _mip_fits(problem, stop):
        return _result(best, Status.FEASIBLE, children_lb, t0,
                       "time ran out before an exact backend could run")
    given = proven if best.obj is not None and proven is not None and all(
        getattr(best.obj, t) == v for t, v in proven.items()) else None
    res: SolveResult | None = None
    try:  # the libraries overshoot their own limits a little: leave them a margin
        if pure_cover(problem):  # (kept on the problem: worked out once)
            res = solve_set_cover(problem, stop.fraction(MIP_SHARE), best.x)
        else:
            res = backend.solve(problem, stop.fraction(MIP_SHARE), best.x, children_lb, given)
    except Exception as exc:  # a backend must not take the split down
        log.warning("backend %s raised: %s", backend.name, exc)
    if res is not None and res.assignment is not None and res.status.has_solution:
        children_lb = max(children_lb, res.children_lower_bound)
        obj = evaluate(problem, res.assignment)
        if best.obj is None or obj.key(terms) <= best.obj.key(terms):
            status: Status = res.status if res.status == Status.OPTIMAL else Status.FEASIBLE
            best.x, best.obj, best.name = res.assignment, obj, backend.name
            return _result(best, status, children_lb, t0, res.message)
    if best.x is None or best.obj is None:
        return SolveResult("auto", Status.NO_SOLUTION, None, None, children_lb,
                           time.perf_counter() - t0, "no plan found")
    failed = res is None or res.status in (Status.ERROR, Status.NO_SOLUTION)
    final = Status.FALLBACK if failed else Status.FEASIBLE
    message = "exact backend failed" if failed else "time ran out"
    return _result(best, final, children_lb, t0, message)


def _usual(problem: SplitProblem, stop: Deadline) -> bool:
    """Whether ``problem`` (a small order, its facts derived) takes the usual path: the
    general path's first steps would decide as much and call the combination search
    on it (children first, no stock-value term, one child per warehouse, one reach
    set per group, no contended stock), so :func:`solve_auto` goes straight there
    (:func:`~ordersplit.solver.combination.search_usual`); ``tests/test_usual_path.py``
    compares the two ways."""
    terms = problem.objective
    return (problem.n_items > 0 and bool(terms) and terms[0] == "children" and "stock_value" not in terms
            and problem.per_warehouse and problem.one_reach and problem.coverable
            and not stop.expired())


USUAL_PATH = True
"""Whether :func:`solve_auto` takes the usual small order straight to the one-call
search (:func:`_usual`; off: the general path, its definition)."""


def _settles_as_it_is(problem: SplitProblem) -> bool:
    """Whether :func:`~ordersplit.solver.fragments.settle_fragments` proves a plan of no
    fragments as it is (fragments last, independent groups, a child per warehouse): then
    it need not be called for such a plan (it would return a copy)."""
    return problem.objective[-1] == "fragments" and problem.per_warehouse and problem.coverable


def _settle_in_kernel(problem: SplitProblem, core: SplitProblem, out: CombinationOutcome,
                      best: _Best, stop: Deadline) -> Settled | None:
    """The fragments post-stage and settlement of the one-call search's proven plan in
    one compiled call (:mod:`ordersplit.solver.fragments_kernel`), when it applies: a
    plan that splits a line, of an order of lone lines, nothing offered before it.
    ``None`` otherwise (``best.offer`` and ``settle_fragments`` then, their definition)."""
    if (USE_FRAGMENTS_KERNEL and out.proven and out.objective is not None
            and out.objective.fragments and out.assignment is not None and core is not problem
            and best.x is None and not out.ties and fragments_kernel.applies(problem)):
        return fragments_kernel.settle_order(problem, out.assignment, stop)
    return None


USE_FRAGMENTS_KERNEL = True
"""Whether :func:`_settle_in_kernel` runs (off: the Python path, its definition; the
tests compare the two)."""


def _settled_by_cases(problem: SplitProblem, ties: tuple[tuple[SplitProblem, IntArray], ...],
                      best: _Best, stop: Deadline) -> bool:
    """Contended stock the search proved by placement cases: the fragments settled case
    by case (:func:`~ordersplit.solver.fragments.settle_cases`) make the plan optimal on
    every term; kept when no plan offered so far is better (none can be). True then."""
    first = evaluate(problem, ties[0][1])
    head = {t: int(getattr(first, t)) for t in head_terms(problem)}
    x = settle_cases(problem, ties, head, stop)
    if x is None:
        return False
    obj = evaluate(problem, x)
    if best.obj is not None and best.obj.key(problem.objective) < obj.key(problem.objective):
        log.warning("fragments settled by cases above a heuristic's plan; not proven")
        return False
    best.x, best.obj, best.name = x, obj, "combination"
    return True


BUILD_SECONDS_PER_COLUMN = 4e-5
"""Rough cost of building a MIP, per assignment variable (measured on CP-SAT and HiGHS)."""


HUGE_COVER_CELLS = 100_000
"""Lines x warehouses of a pure cover (:mod:`ordersplit.solver.set_cover`) from which,
with ``children`` first, the local search and the set-cover model replace the
combination search: on OR-Library's unicost 4.x-6.x (200 x 1000 and more) neither the
search nor a MIP proves the fewest warehouses within a minute, and the local search
finds the best known covers in seconds; the search's proofs come on smaller orders
(100 x 300, OR-Library's e.x at 50 x 500)."""
LOCAL_SEARCH_SHARE = 0.7
"""Share of the time left that the local search gets on a huge cover (HiGHS the rest)."""
LOCAL_SEARCH_ALONE = 0.95
"""The same when the rest would be too short for the set-cover MIP to start: the time
is the local search's then (at 1-2 s on OR-Library 5.x, 30 % of it went unused)."""
LARGE_COLUMNS = 3000
"""Assignment variables above which a problem counts as large (HiGHS, less search time)."""


BOUND_SECONDS_PER_CELL = 5e-7
"""What :func:`lower_bound` takes per line x warehouse (70-120 ms on OR-Library's 200 x
1000 unicost covers on a loaded machine, where it ran past a 200 ms or 1 s budget after
the local search had taken its share)."""


def _bound_fits(problem: SplitProblem, stop: Deadline) -> bool:
    """Whether the lower bounds can run in what is left of the budget (always on small
    orders, where they take under 5 ms)."""
    cost = problem.n_items * problem.n_warehouses * BOUND_SECONDS_PER_CELL
    return cost < 0.005 or cost <= stop.remaining()


def _columns(problem: SplitProblem) -> int:
    return int((problem.capacity > 0).sum())


def _mip_fits(problem: SplitProblem, stop: Deadline) -> bool:
    """Whether building and running a MIP can fit in what is left of the budget."""
    return _columns(problem) * BUILD_SECONDS_PER_COLUMN < 0.5 * stop.remaining()


def _meets(obj: Objective, bound: Objective, terms: tuple[str, ...]) -> bool:
    """Whether ``obj`` equals the lower bound on every term: then nothing can beat it."""
    return all(getattr(obj, t) <= getattr(bound, t) for t in terms)


def _result(best: _Best, status: Status, lb: int, t0: float, message: str = "") -> SolveResult:
    assert best.x is not None and best.obj is not None
    return SolveResult(best.name, status, best.x, best.obj, min(lb, best.obj.children),
                       time.perf_counter() - t0, message)


def solve_problem(problem: SplitProblem, solver: str, stop: Deadline) -> SolveResult:
    """Solve with ``solver`` (``auto`` or a backend name); never raises for a backend's sake."""
    if problem.n_items == 0:
        x = np.zeros((0, problem.n_warehouses), dtype=np.int64)
        return SolveResult(solver, Status.OPTIMAL, x, evaluate(problem, x), 0, 0.0)
    token = stop.single_thread() if isinstance(stop, WorkBudget) else None
    try:
        if solver == "auto":
            return solve_auto(problem, stop)
        backend = get_backend(solver)
        try:
            return backend.solve(problem, stop)
        except Exception as exc:
            log.warning("backend %s raised: %s", solver, exc)
            return SolveResult(solver, Status.ERROR, None, None, 0, stop.elapsed(), str(exc))
    finally:
        if token is not None:
            WorkBudget.release(token)
