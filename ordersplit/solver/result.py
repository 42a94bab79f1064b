"""What a backend returns: an assignment with its status, bound and objective."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ordersplit.solver.evaluate import Objective
from ordersplit.solver.problem import IntArray


class Status(StrEnum):
    """One status set for every backend (the contract's plan statuses plus failures)."""

    OPTIMAL = "optimal"
    """Proven best for the whole lexicographic objective."""
    FEASIBLE = "feasible"
    """A valid plan, not proven best (time ran out, or the method is a heuristic)."""
    FALLBACK = "fallback"
    """The exact backend failed or timed out; a heuristic's plan is returned."""
    NO_SOLUTION = "no_solution"
    """Nothing found within the budget (only ever internal; the portfolio falls back)."""
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE, Status.FALLBACK)


@dataclass
class SolveResult:
    """A backend's answer on one :class:`~ordersplit.solver.problem.SplitProblem`."""

    backend: str
    status: Status
    assignment: IntArray | None
    objective: Objective | None
    children_lower_bound: int
    runtime_s: float
    message: str = ""
    stats: dict[str, float] = field(default_factory=dict)

    def is_feasible(self) -> bool:
        return self.assignment is not None and self.status.has_solution

    def summary(self) -> str:
        obj = self.objective
        what = "no plan" if obj is None else (
            f"{obj.children} children, makespan {obj.makespan} min, unit-minutes {obj.unit_hours}, "
            f"cost {obj.cost}"
        )
        return (f"{self.backend}: {self.status.value}, {what}, bound {self.children_lower_bound}, "
                f"{self.runtime_s * 1000:.2f} ms{' - ' + self.message if self.message else ''}")
