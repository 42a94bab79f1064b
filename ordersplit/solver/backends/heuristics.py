"""The heuristics behind the common backend interface (they never prove anything).

Each plan goes through the fragments post-stage
(:func:`~ordersplit.solver.fragments.keep_lines_whole`): the same children, lines kept
whole where that costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ordersplit.solver.backends.base import Backend, register
from ordersplit.solver.bounds import children_lower_bound
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.fragments import keep_lines_whole
from ordersplit.solver.heuristics import greedy, ladder, pigeonhole, scarce
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import Deadline


class HeuristicBackend(Backend):
    """Runs one constructive heuristic; ``optimal`` only for an empty problem."""

    method: Callable[..., IntArray | None]
    """``method(problem)`` or ``method(problem, stop)`` (set ``takes_stop``)."""
    takes_stop: bool = False

    def solve(self, problem: SplitProblem, stop: Deadline,
              warm_start: IntArray | None = None, children_bound: int = 0,
              proven: Mapping[str, int] | None = None) -> SolveResult:
        t0 = time.perf_counter()
        method = type(self).method
        x = method(problem, stop) if self.takes_stop else method(problem)
        if x is not None:
            x = keep_lines_whole(problem, x, stop)
        bound = max(children_lower_bound(problem), children_bound)
        if x is None:
            return SolveResult(self.name, Status.NO_SOLUTION, None, None, bound,
                               time.perf_counter() - t0, "heuristic found no plan")
        status = Status.OPTIMAL if problem.n_items == 0 else Status.FEASIBLE
        return SolveResult(self.name, status, x, evaluate(problem, x), bound,
                           time.perf_counter() - t0)


@register
class GreedyBackend(HeuristicBackend):
    name = "greedy"
    method = staticmethod(greedy)


@register
class ScarceBackend(HeuristicBackend):
    name = "scarce"
    takes_stop = True
    method = staticmethod(scarce)


@register
class LadderBackend(HeuristicBackend):
    name = "ladder"
    takes_stop = True
    method = staticmethod(ladder)


@register
class PigeonholeBackend(HeuristicBackend):
    name = "pigeonhole"
    takes_stop = True
    method = staticmethod(pigeonhole)
