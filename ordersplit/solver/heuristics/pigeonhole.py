"""Pigeonhole / primary warehouse: the warehouse that ships most goes first."""

from __future__ import annotations

from ordersplit.solver.heuristics.state import Work, polish
from ordersplit.solver.problem import IntArray, SplitProblem


def pigeonhole(problem: SplitProblem) -> IntArray | None:
    """Per group: open the warehouse that can ship the most remaining units, ship all it
    can, repeat on what remains."""
    work = Work(problem)
    for items in problem.groups():
        while not work.done(items):
            score = work.coverable(items)
            if not score.any():
                return None
            work.take_from(items, work.best_warehouse(score))
    return polish(problem, work.x)
