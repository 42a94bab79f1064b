"""The combination search behind the backend interface.

Exact where :func:`~ordersplit.solver.combination.applicable` holds; elsewhere it is a
heuristic (the best of the constructive heuristics), and says so in its status. The
search knows every term but ``fragments``; its plan then goes through the fragments
post-stage, and stays ``optimal`` only when that meets the fragments lower bound.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from ordersplit.solver.backends.base import Backend, get_backend, register
from ordersplit.solver.bounds import children_lower_bound
from ordersplit.solver.combination import applicable, combination_search
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.fragments import (
    TERM,
    fragments_lower_bound,
    head_terms,
    keep_lines_whole,
    settle_fragments,
    without_fragments,
)
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import Deadline


def best_heuristic(problem: SplitProblem) -> tuple[str, IntArray] | None:
    """The best plan of the constructive heuristics (first one wins ties)."""
    best: tuple[tuple[int, ...], str, IntArray] | None = None
    for name, method in HEURISTICS.items():
        x = method(problem)
        if x is None:
            continue
        key = evaluate(problem, x).key(problem.objective)
        if best is None or key < best[0]:
            best = (key, name, x)
    return None if best is None else (best[1], best[2])


@register
class CombinationBackend(Backend):
    name = "combination"
    exact = True

    def solve(self, problem: SplitProblem, stop: Deadline,
              warm_start: IntArray | None = None, children_bound: int = 0,
              proven: Mapping[str, int] | None = None) -> SolveResult:
        t0 = time.perf_counter()
        result = self._solve(without_fragments(problem), stop, warm_start, children_bound)
        if result.assignment is None or TERM not in problem.objective:
            return result
        x = keep_lines_whole(problem, result.assignment, stop)
        obj = evaluate(problem, x)
        status = result.status
        if status is Status.OPTIMAL and (problem.objective[-1] != TERM
                                         or obj.fragments > fragments_lower_bound(problem)):
            # the post-stage is exact only within the chosen children: the exact model
            # settles the remaining stages with the proven terms fixed
            head = {t: int(getattr(obj, t)) for t in head_terms(problem)}
            x, settled = settle_fragments(problem, x, head, stop)
            status = Status.OPTIMAL if settled else Status.FEASIBLE
            if not settled:
                exact = get_backend("cpsat").solve(problem, stop, x, obj.children, head)
                if exact.status is Status.OPTIMAL and exact.assignment is not None:
                    x, status = exact.assignment, Status.OPTIMAL
            obj = evaluate(problem, x)
        return dataclasses.replace(result, status=status, assignment=x, objective=obj,
                                   runtime_s=time.perf_counter() - t0)

    def _solve(self, problem: SplitProblem, stop: Deadline, warm_start: IntArray | None,
               children_bound: int) -> SolveResult:
        """The search on the terms it knows (every one but fragments)."""
        t0 = time.perf_counter()
        bound = max(children_lower_bound(problem), children_bound)
        start = warm_start
        if start is None:
            found = best_heuristic(problem)
            start = found[1] if found else None
        if not applicable(problem):
            if start is None:
                return SolveResult(self.name, Status.NO_SOLUTION, None, None, bound,
                                   time.perf_counter() - t0, "no plan found")
            return SolveResult(self.name, Status.FEASIBLE, start, evaluate(problem, start), bound,
                               time.perf_counter() - t0,
                               "not exact here (contended SKUs, per-item reach or objective order)")
        out = combination_search(problem, stop, start)
        x = out.assignment if out.assignment is not None else start
        if x is None:
            return SolveResult(self.name, Status.NO_SOLUTION, None, None, bound,
                               time.perf_counter() - t0, "no plan found")
        if start is not None and evaluate(problem, start).key(problem.objective) < evaluate(
                problem, x).key(problem.objective):
            x = start
        status = Status.OPTIMAL if out.proven else Status.FEASIBLE
        obj = evaluate(problem, x)
        lb = obj.children if out.proven else max(bound, out.children_bound)
        return SolveResult(self.name, status, x, obj, lb, time.perf_counter() - t0,
                           _why_unproven(out.proven, stop), {"nodes": float(out.nodes)})


def _why_unproven(proven: bool, stop: Deadline) -> str:
    if proven:
        return ""
    if stop.expired():
        return "time ran out"
    return "contended stock: the plan does not reach the relaxation's bound"
