"""Stopping criteria: small objects that say how much budget is left.

:class:`Deadline` is a wall-clock budget. :class:`WorkBudget` is a budget of
deterministic *work units*, for plans that must not depend on the machine or its load
(``options.work_limit``): every stage charges what it did, counted so that the same
request does the same work everywhere. What one unit is, per stage:

* the compiled combination search: one branch-and-bound node of its kernel;
* the Python searches and the heuristics: one look at the budget (:meth:`expired`), which
  they make every few nodes or once per step;
* CP-SAT (the exact stages and the fragments post-stage): ``UNIT_SECONDS`` of its
  deterministic time (``max_deterministic_time``);
* HiGHS: ``HIGHS_NODE_UNITS`` per branch-and-bound node (``mip_max_nodes``); CBC the same
  through ``maxNodes``.

Code that reasons in seconds (shares of the budget, whether a model fits) sees a work
budget as ``units * UNIT_SECONDS`` pseudo-seconds, which is deterministic too.
"""

from __future__ import annotations

import math
import time
from contextvars import ContextVar

UNIT_SECONDS = 1e-6
"""Pseudo-seconds per work unit: about a kernel node's time on one core."""

HIGHS_NODE_UNITS = 1000
"""Work units charged per HiGHS or CBC branch-and-bound node."""

_SINGLE_THREAD: ContextVar[bool] = ContextVar("ordersplit_single_thread", default=False)


def parallel_allowed() -> bool:
    """False while a work-limited solve runs in this context: searches must then stay on
    one thread, since two threads charging one budget would make the work order-dependent."""
    return not _SINGLE_THREAD.get()


class OutOfTimeError(Exception):
    """Raised by :meth:`Deadline.check` inside long preparatory work (a model build)."""


class Deadline:
    """A wall-clock budget, started on creation.

    ``Deadline(0.2)`` allows 200 ms; ``remaining()`` never goes below zero and
    ``expired()`` is cheap enough to call in a search loop.
    """

    work_limited = False
    """True for a :class:`WorkBudget`: stop by counted work, never by the clock."""

    def __init__(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"seconds < 0 not understood: {seconds!r}")
        self.seconds = float(seconds)
        self.start = time.perf_counter()
        self.end = self.start + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.perf_counter())

    def expired(self) -> bool:
        return time.perf_counter() >= self.end

    def check(self) -> None:
        """Raise :class:`OutOfTimeError` once the budget is spent."""
        if self.expired():
            raise OutOfTimeError

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fraction(self, share: float) -> Deadline:
        """A new deadline with ``share`` of the time remaining here (never past this one)."""
        return Deadline(self.remaining() * max(0.0, min(1.0, share)))

    def within(self, seconds: float) -> Deadline:
        """A new budget of at most ``seconds`` (never past this one)."""
        return Deadline(min(seconds, self.remaining()))

    def node_limit(self) -> int:
        """Nodes a search may visit (0: no limit, the clock decides)."""
        return 0

    def charge(self, units: int) -> None:
        """Count ``units`` of work done (only a work budget keeps the count)."""


class WorkBudget(Deadline):
    """A budget of deterministic work units (see the module docstring).

    ``end`` is infinite: code that watches the clock never stops on it. A share
    (:meth:`fraction`) charges its parent as it is spent.
    """

    work_limited = True

    def __init__(self, units: int, parent: WorkBudget | None = None) -> None:
        if units < 0:
            raise ValueError(f"units < 0 not understood: {units!r}")
        super().__init__(0.0)
        self.units = int(units)
        self.used = 0
        self.parent = parent
        self.seconds = self.units * UNIT_SECONDS
        self.end = math.inf

    def left(self) -> int:
        own = self.units - self.used
        return own if self.parent is None else min(own, self.parent.left())

    def charge(self, units: int) -> None:
        self.used += int(units)
        if self.parent is not None:
            self.parent.charge(units)

    def remaining(self) -> float:
        return max(0, self.left()) * UNIT_SECONDS

    def expired(self) -> bool:
        self.charge(1)  # every look at the budget is a unit of work
        return self.left() <= 0

    def fraction(self, share: float) -> WorkBudget:
        return WorkBudget(int(max(0, self.left()) * max(0.0, min(1.0, share))), parent=self)

    def within(self, seconds: float) -> WorkBudget:
        return WorkBudget(min(int(seconds / UNIT_SECONDS), max(0, self.left())), parent=self)

    def node_limit(self) -> int:
        return max(1, self.left())

    def single_thread(self) -> object:
        """Context token: searches stay on one thread until :meth:`release` (see
        :func:`parallel_allowed`)."""
        return _SINGLE_THREAD.set(True)

    @staticmethod
    def release(token: object) -> None:
        _SINGLE_THREAD.reset(token)  # type: ignore[arg-type]
