"""Ladder (step down): forced warehouses first, then merge the rest into as few as possible."""

from __future__ import annotations

import numpy as np

from ordersplit.solver.heuristics.state import Work, polish
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline


def ladder(problem: SplitProblem, stop: Deadline | None = None) -> IntArray | None:
    """Per group: a warehouse is forced when some item cannot be completed without it;
    forced warehouses ship what they can, the order steps down to the remainder, and
    when nothing is forced the warehouse that ships most of the remainder is opened."""
    work = Work(problem)
    for items in problem.groups():
        while not work.done(items):
            if stop is not None and stop.expired():
                return None  # out of time: no partial plan
            live = items[work.rem[items] > 0]
            caps = work.caps(live)
            total = caps.sum(axis=1, keepdims=True)
            forced = ((total - caps) < work.rem[live, None]) & (caps > 0)
            if (total[:, 0] < work.rem[live]).any():
                return None
            chosen = np.flatnonzero(forced.any(axis=0))
            if chosen.size == 0:
                chosen = np.array([work.best_warehouse(work.coverable(live))])
            for w in chosen[np.lexsort((chosen, problem.hours[chosen]))]:
                work.take_from(items, int(w))
    return polish(problem, work.x)
