"""Stopping criteria: small objects that say how much time is left."""

from __future__ import annotations

import time


class OutOfTimeError(Exception):
    """Raised by :meth:`Deadline.check` inside long preparatory work (a model build)."""


class Deadline:
    """A wall-clock budget, started on creation.

    ``Deadline(0.2)`` allows 200 ms; ``remaining()`` never goes below zero and
    ``expired()`` is cheap enough to call in a search loop.
    """

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
