"""Scarce item first: the item stocked in the fewest warehouses decides first."""

from __future__ import annotations

import numpy as np

from ordersplit.solver.heuristics.state import Work, polish
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline


def scarce(problem: SplitProblem, stop: Deadline | None = None) -> IntArray | None:
    """Per group: take the remaining item with the fewest candidate warehouses; among
    those candidates open the one that ships the most of the group; repeat."""
    work = Work(problem)
    for items in problem.groups():
        while not work.done(items):
            if stop is not None and stop.expired():
                return None  # out of time: no partial plan
            live = items[work.rem[items] > 0]
            caps = work.caps(live)
            counts = (caps > 0).sum(axis=1)
            if (counts == 0).any():
                return None
            pick = int(np.argmin(counts))  # first scarcest item in line order
            score = np.where(caps[pick] > 0, work.coverable(live), -1)
            work.take_from(items, work.best_warehouse(score))
    return polish(problem, work.x)
