"""Plain greedy: line by line, as most order systems fill an order."""

from __future__ import annotations

import numpy as np

from ordersplit.solver.heuristics.state import Work
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline


def greedy(problem: SplitProblem, stop: Deadline | None = None) -> IntArray | None:
    """Each item in line order: first from warehouses its group already uses (fastest
    first), then from the warehouse that can ship most of what is left.

    When delivery comes before children in the objective, each item simply ships from
    the fastest warehouses that have it. Greedy is cheap and always runs to the end
    (``stop`` is accepted for a common signature and ignored).
    """
    del stop
    work = Work(problem)
    fastest_first = bool(problem.objective) and problem.objective[0] in ("makespan", "unit_hours")
    opened: dict[int, list[int]] = {}
    for i in range(problem.n_items):
        g = int(problem.group[i])
        one = np.array([i])
        # The item's own gives change no other warehouse's stock, and what it can take
        # at one is capped by its remainder: one look at its capacities serves the loop.
        base = work.caps(one)[0]
        if fastest_first:
            for w in work.fast:
                if work.rem[i] == 0:
                    break
                work.give(i, int(w), min(int(base[w]), int(work.rem[i])))
        else:
            has = [w for w in opened.get(g, []) if base[w] > 0]
            for w in sorted(has, key=lambda w: (problem.hours[w], w)):
                if work.rem[i] == 0:
                    break
                work.give(i, w, min(int(base[w]), int(work.rem[i])))
            while work.rem[i]:
                cap = work.caps(one)[0]
                if not cap.any():
                    return None
                w = work.best_warehouse(cap)
                work.give(i, w, int(cap[w]))
                opened.setdefault(g, []).append(w)
        if work.rem[i]:
            return None
    return work.x
