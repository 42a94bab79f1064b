"""One clock for a whole batch run: the budget from input to output, and time per stage.

``--time-limit-s`` bounds the whole run. The stages that must complete (reading the
input, the lower bound with sequential splitting, the tables, the store) are timed as
they go; the search gets what is left after :meth:`Clock.reserve` keeps time for the
stages still to come (the joint bound's LP, the tables, the write-back), estimated
from a sample of the run's own orders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

STAGES = ("input", "store_read", "bound_and_sequential", "search", "joint_bound", "tables",
          "store_write", "output")
"""The stages of a run, in order (a stage that did not run is absent)."""
MARGIN = 1.25
"""Safety factor on the estimated time of the stages after the search."""


@dataclass
class Clock:
    """Started at the run's beginning; ``lap(stage)`` books the time since the last lap."""

    limit_s: float
    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)
    last: float = 0.0
    reserved_s: float = 0.0
    """Time the search left for the later stages (set by :meth:`reserve`)."""
    cpu_started: float = field(default_factory=time.process_time)
    cpu_stages: dict[str, float] = field(default_factory=dict)
    """CPU seconds of this process per stage (worker processes not included)."""
    cpu_last: float = 0.0

    def __post_init__(self) -> None:
        if not self.limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0, not {self.limit_s!r}")
        self.last = self.started
        self.cpu_last = self.cpu_started

    def lap(self, stage: str) -> float:
        """Book the time since the last lap on ``stage``; the seconds booked."""
        t = time.perf_counter()
        spent = t - self.last
        self.stages[stage] = self.stages.get(stage, 0.0) + spent
        self.last = t
        cpu = time.process_time()
        self.cpu_stages[stage] = self.cpu_stages.get(stage, 0.0) + cpu - self.cpu_last
        self.cpu_last = cpu
        return spent

    def move(self, source: str, target: str, seconds: float) -> None:
        """Re-book ``seconds`` of ``source`` on ``target`` (a lap that held two stages)."""
        seconds = min(seconds, self.stages.get(source, 0.0))
        self.stages[source] = self.stages.get(source, 0.0) - seconds
        self.stages[target] = self.stages.get(target, 0.0) + seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def remaining(self) -> float:
        """Seconds left of the whole budget (negative when over)."""
        return self.limit_s - self.elapsed()

    def reserve(self, later_s: float) -> float:
        """Keep ``later_s`` (times :data:`MARGIN`) for the stages after the search; the
        seconds the search may still use from now."""
        self.reserved_s = MARGIN * max(0.0, later_s)
        return max(0.0, self.remaining() - self.reserved_s)

    def summary(self) -> dict[str, object]:
        """Stage times (rounded), their sum and the total, for the run's summary."""
        stages = {s: round(self.stages[s], 3) for s in STAGES if s in self.stages}
        stages.update({s: round(v, 3) for s, v in self.stages.items() if s not in STAGES})
        return {"time_limit_s": self.limit_s, "stages_s": stages,
                "cpu_stages_s": {s: round(v, 3) for s, v in self.cpu_stages.items()},
                "reserved_for_output_s": round(self.reserved_s, 3),
                "runtime_s": round(self.elapsed(), 3)}
