"""Pigeonhole / primary warehouse: the warehouse that ships most goes first."""

from __future__ import annotations

from ordersplit.solver.heuristics.state import Work, polish
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline


def pigeonhole(problem: SplitProblem, stop: Deadline | None = None) -> IntArray | None:
    """Per group: open the warehouse that can ship the most remaining units, ship all it
    can, repeat on what remains."""
    work = Work(problem)
    for items in problem.groups():
        while not work.done(items):
            if stop is not None and stop.expired():
                return None  # out of time: no partial plan
            score = work.coverable(items)
            if not score.any():
                return None
            work.take_from(items, work.best_warehouse(score))
    return polish(problem, work.x)
