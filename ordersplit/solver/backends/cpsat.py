"""CP-SAT backend: the shared integer model written straight into a ``CpModelProto``.

Writing the proto fields directly is faster than building expression objects, and the
model is kept between lexicographic stages: each stage swaps the objective and the hint
and the previous optimum becomes one more linear row.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ordersplit.solver.backends._lexico import (
    Expr,
    LexicographicBackend,
    LinearModel,
    StageOutcome,
)
from ordersplit.solver.backends.base import register
from ordersplit.solver.problem import IntArray
from ordersplit.solver.result import Status
from ordersplit.solver.stop import UNIT_SECONDS, Deadline

log = logging.getLogger(__name__)

STATUS_MAP: dict[str, Status] = {
    "OPTIMAL": Status.OPTIMAL,
    "FEASIBLE": Status.FEASIBLE,
    "INFEASIBLE": Status.NO_SOLUTION,
    "UNKNOWN": Status.NO_SOLUTION,
    "MODEL_INVALID": Status.ERROR,
}
"""CP-SAT status names onto ours (time-outs are FEASIBLE or UNKNOWN)."""

_INT_INF = (1 << 62) - 1
CHECK_ROWS = 2048
"""Rows loaded between two looks at the deadline."""


def _bound(value: float) -> int:
    """A row bound as a CP-SAT integer (infinities become the int64 domain limits)."""
    if value == np.inf:
        return _INT_INF
    if value == -np.inf:
        return -_INT_INF
    return int(value)


def set_limits(params: Any, stop: Deadline | None, time_limit: float) -> None:
    """CP-SAT's limit for a stage: wall time, or under a work budget its deterministic
    time (``time_limit`` is then the budget's pseudo-seconds) and no wall limit."""
    if stop is not None and stop.work_limited:
        params.max_deterministic_time = max(time_limit, UNIT_SECONDS)
    else:
        params.max_time_in_seconds = max(time_limit, 1e-3)


def charge_deterministic(stop: Deadline | None, solver: Any) -> None:
    """Charge a work budget with the deterministic time CP-SAT spent."""
    if stop is not None and stop.work_limited:
        stop.charge(int(solver.response_proto.deterministic_time / UNIT_SECONDS))


class _CpSatRunner:
    """One CP-SAT model kept across the stages of a lexicographic solve."""

    def __init__(self, model: LinearModel, seed: int, stop: Deadline | None = None) -> None:
        from ortools.sat.python import cp_model

        self._cp_model = cp_model
        self.model = cp_model.CpModel()
        self.seed = seed
        self.stop = stop
        proto = self.model.proto
        for ub in model.upper.tolist():
            proto.variables.add().domain.extend([0, ub])
        starts = model.row_start.tolist()
        cols = model.row_cols.tolist()
        coefs = model.row_coefs.tolist()
        for r, (lo, hi) in enumerate(zip(model.row_lower.tolist(), model.row_upper.tolist(),
                                         strict=True)):
            if stop is not None and r % CHECK_ROWS == CHECK_ROWS - 1:
                stop.check()
            a, b = starts[r], starts[r + 1]
            lin = proto.constraints.add().linear
            lin.vars.extend(cols[a:b])
            lin.coeffs.extend(coefs[a:b])
            lin.domain.extend([_bound(lo), _bound(hi)])

    def optimize(self, objective: Expr, hint: IntArray | None, time_limit: float) -> StageOutcome:
        cp_model = self._cp_model
        proto = self.model.proto
        self.model.clear_objective()
        obj: Any = proto.objective
        obj.vars.extend(objective.cols.tolist())
        obj.coeffs.extend(objective.coefs.tolist())
        self.model.clear_hints()
        if hint is not None:
            proto.solution_hint.vars.extend(range(hint.size))
            proto.solution_hint.values.extend(hint.tolist())
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.random_seed = self.seed
        set_limits(params, self.stop, time_limit)
        params.log_search_progress = False
        # Measured on 10 x 30 orders: the full LP relaxation (level 2) cuts the tail
        # several-fold; symmetry detection costs more than it saves at these sizes.
        params.linearization_level = 2
        params.symmetry_level = 0
        code = solver.solve(self.model)
        charge_deterministic(self.stop, solver)
        name = solver.status_name(code)
        status = STATUS_MAP.get(name, Status.ERROR)
        values = None
        if status in (Status.OPTIMAL, Status.FEASIBLE):
            values = np.asarray(solver.response_proto.solution, dtype=np.float64)
        bound = None
        if status is not Status.ERROR and name != "INFEASIBLE" and objective.cols.size:
            bound = float(solver.best_objective_bound) + objective.constant
        message = "" if status is not Status.ERROR else f"cp-sat: {name}"
        return StageOutcome(status, values, bound, infeasible=name == "INFEASIBLE",
                            message=message)

    def restrict(self, objective: Expr, value: int) -> None:
        lin = self.model.proto.constraints.add().linear
        lin.vars.extend(objective.cols.tolist())
        lin.coeffs.extend(objective.coefs.tolist())
        lin.domain.extend([-_INT_INF, value - objective.constant])


@register
class CpSatBackend(LexicographicBackend):
    """OR-Tools CP-SAT, single worker, seeded: exact and deterministic."""

    name = "cpsat"
    library = "ortools.sat.python.cp_model"
    runner = _CpSatRunner
