"""One interface for every way of solving a :class:`SplitProblem`.

A backend declares its name and whether it proves optimality, imports its library
lazily, maps its own status codes onto :class:`~ordersplit.solver.result.Status`, and
turns the :class:`~ordersplit.solver.stop.Deadline` into its own time limit. A warm
start is a feasible assignment the backend may use as a hint and must never do worse
than.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import SolveResult
from ordersplit.solver.stop import Deadline


class Backend(ABC):
    """Base class of exact solvers and heuristics alike."""

    name: str = ""
    exact: bool = False
    """True when an ``optimal`` status from this backend is a proof."""

    def available(self) -> bool:
        """Whether the library this backend needs can be imported."""
        return True

    @abstractmethod
    def solve(
        self, problem: SplitProblem, stop: Deadline, warm_start: IntArray | None = None,
        children_bound: int = 0, proven: Mapping[str, int] | None = None,
    ) -> SolveResult:
        """Solve ``problem`` before ``stop`` expires.

        ``children_bound`` is a lower bound on the children already proven by the caller
        (the combination search's count); a backend may use it to skip proving it again.
        ``proven`` holds the optimal values of leading objective terms the caller has
        proven; an exact backend may fix them instead of solving those stages.
        """


_REGISTRY: dict[str, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a backend reachable by its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def get_backend(name: str) -> Backend:
    """A fresh backend by name (importing the built-in ones on first use)."""
    from ordersplit.solver import backends as _builtin  # noqa: F401  (registers)

    try:
        return _REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown solver {name!r}; known: {sorted(_REGISTRY)}") from None


def backend_names() -> list[str]:
    from ordersplit.solver import backends as _builtin  # noqa: F401

    return sorted(_REGISTRY)
