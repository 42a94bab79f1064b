"""MILP backends over the shared integer model: HiGHS (highspy) and CBC (through PuLP).

``milp`` passes the model to HiGHS in one call (CSR arrays, no per-variable Python
objects) and keeps it across the lexicographic stages, changing only the costs and
adding one row per proven stage. ``milp_cbc`` states the same model in PuLP, the way a
user would write it directly; it is also the benchmark baseline.
"""

from __future__ import annotations

import functools
import logging
import os
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
from ordersplit.solver.stop import HIGHS_NODE_UNITS, UNIT_SECONDS, Deadline

log = logging.getLogger(__name__)

HIGHS_STATUS_MAP: dict[str, Status] = {
    "kOptimal": Status.OPTIMAL,
    "kTimeLimit": Status.FEASIBLE,
    "kInterrupt": Status.FEASIBLE,
    "kHighsInterrupt": Status.FEASIBLE,
    "kIterationLimit": Status.FEASIBLE,
    "kSolutionLimit": Status.FEASIBLE,
    "kObjectiveBound": Status.FEASIBLE,
    "kObjectiveTarget": Status.FEASIBLE,
    "kUnknown": Status.FEASIBLE,
    "kInfeasible": Status.NO_SOLUTION,
    "kUnboundedOrInfeasible": Status.NO_SOLUTION,
    "kUnbounded": Status.ERROR,
    "kNotset": Status.ERROR,
    "kLoadError": Status.ERROR,
    "kModelError": Status.ERROR,
    "kPresolveError": Status.ERROR,
    "kSolveError": Status.ERROR,
    "kPostsolveError": Status.ERROR,
    "kModelEmpty": Status.ERROR,
    "kMemoryLimit": Status.ERROR,
}
"""HiGHS model statuses onto ours; FEASIBLE ones still need a primal solution to count."""

CHECK_ROWS = 512
"""Rows written into PuLP between two looks at the deadline."""

_HIGHS_FEASIBLE = 2  # kSolutionStatusFeasible
_HIGHS_INFEASIBLE = ("kInfeasible", "kUnboundedOrInfeasible")

PRESOLVE_SECONDS_PER_NONZERO = 4e-5
"""What HiGHS's MIP presolve may take per nonzero of the model, as measured at its worst:
on a 100 x 300 order with every rule (36,000 rows and columns, 135,000 nonzeros) it
ran 5.7 s on a loaded 2-core machine and never looked at its 1.4 s time limit."""
PRESOLVE_MIN_NONZEROS = 50_000
"""Models smaller than this always keep presolve (it takes milliseconds there)."""


def presolve_fits(nonzeros: int, time_limit: float) -> bool:
    """Whether HiGHS's presolve of a model with ``nonzeros`` can run within ``time_limit``
    seconds with room to spare. HiGHS does not check its time limit inside presolve, so
    a stage that cannot afford it runs without: the split keeps its deadline."""
    return nonzeros < PRESOLVE_MIN_NONZEROS or \
        nonzeros * PRESOLVE_SECONDS_PER_NONZERO <= 0.5 * time_limit


def new_highs() -> Any:
    """A silent, single-threaded Highs instance.

    Every HiGHS instance in ordersplit must come from here: HiGHS fixes its process-wide
    thread scheduler at the first run, and an instance that later asks for another
    thread count fails to run. The core class is used when present: the Python wrapper
    installs a callback on every solver event and prints a banner on first use, neither
    of which a service wants.
    """
    import highspy

    core = getattr(highspy, "_core", None)
    cls = getattr(core, "_Highs", None) or highspy.Highs
    highs = cls()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    return highs


class _HighsRunner:
    """One HiGHS model kept across the stages of a lexicographic solve."""

    def __init__(self, model: LinearModel, seed: int, stop: Deadline | None = None) -> None:
        import highspy

        self.n = model.n_cols
        highs = new_highs()
        for opt, val in (("random_seed", seed), ("mip_rel_gap", 0.0),
                         ("log_to_console", False)):
            highs.setOptionValue(opt, val)
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = model.n_rows
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = model.upper.astype(np.float64)
        lp.row_lower_ = model.row_lower
        lp.row_upper_ = model.row_upper
        mat = lp.a_matrix_
        mat.format_ = highspy.MatrixFormat.kRowwise
        mat.num_col_ = self.n
        mat.num_row_ = model.n_rows
        mat.start_ = model.row_start.astype(np.int32)
        mat.index_ = model.row_cols.astype(np.int32)
        mat.value_ = model.row_coefs.astype(np.float64)
        lp.integrality_ = [highspy.HighsVarType.kInteger] * self.n
        self._check(highs.passModel(lp), "passModel")
        self.highs = highs
        self.stop = stop
        self.all_cols = np.arange(self.n, dtype=np.int32)
        self.nonzeros = int(model.row_coefs.size)
        self._stages_run = 0

    @staticmethod
    def _check(status: Any, what: str) -> None:
        if getattr(status, "name", str(status)) == "kError":
            raise RuntimeError(f"HiGHS {what} failed")

    def optimize(self, objective: Expr, hint: IntArray | None, time_limit: float) -> StageOutcome:
        highs = self.highs
        cost = np.zeros(self.n)
        cost[objective.cols] = objective.coefs
        self._check(highs.changeColsCost(self.n, self.all_cols, cost), "changeColsCost")
        if self._stages_run:
            # HiGHS's presolve, on a model changed since the last run (new costs and a
            # fixing row), was seen to return a worse plan as optimal (warehouse rule
            # off, makespan then unit hours). Later stages are warm-started and small.
            highs.setOptionValue("presolve", "off")
        elif not presolve_fits(self.nonzeros, time_limit):
            log.debug("HiGHS presolve of %d nonzeros skipped: %.2f s left", self.nonzeros,
                      time_limit)
            highs.setOptionValue("presolve", "off")
        self._stages_run += 1
        if self.stop is not None and self.stop.work_limited:  # nodes, not seconds
            highs.setOptionValue("mip_max_nodes", max(1, round(
                time_limit / UNIT_SECONDS / HIGHS_NODE_UNITS)))
        else:
            highs.setOptionValue("time_limit", max(time_limit, 1e-3))
        if hint is not None:
            highs.setSolution(self.n, self.all_cols, hint.astype(np.float64))
        self._check(highs.run(), "run")
        name = highs.getModelStatus().name
        status = HIGHS_STATUS_MAP.get(name, Status.ERROR)
        info = highs.getInfo()
        if self.stop is not None:
            self.stop.charge(HIGHS_NODE_UNITS * max(1, int(info.mip_node_count)))
        values = None
        if int(info.primal_solution_status) == _HIGHS_FEASIBLE and status is not Status.ERROR:
            values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        if values is None and status is Status.FEASIBLE:
            status = Status.NO_SOLUTION
        bound = None
        if status in (Status.OPTIMAL, Status.FEASIBLE) and objective.cols.size:
            bound = float(info.mip_dual_bound) + objective.constant
        message = f"highs: {name}" if status is Status.ERROR else ""
        return StageOutcome(status, values, bound, infeasible=name in _HIGHS_INFEASIBLE,
                            message=message)

    def restrict(self, objective: Expr, value: int) -> None:
        self._check(self.highs.addRow(
            -np.inf, float(value - objective.constant), int(objective.cols.size),
            objective.cols.astype(np.int32), objective.coefs.astype(np.float64),
        ), "addRow")


@register
class HighsBackend(LexicographicBackend):
    """HiGHS branch-and-cut through highspy's low-level API; single thread, seeded."""

    name = "milp"
    library = "highspy"
    runner = _HighsRunner


CBC_STATUS_MAP: dict[int, Status] = {
    1: Status.OPTIMAL,  # LpSolutionOptimal
    2: Status.FEASIBLE,  # LpSolutionIntegerFeasible (stopped on time with a solution)
    0: Status.NO_SOLUTION,  # LpSolutionNoSolutionFound
    -1: Status.NO_SOLUTION,  # LpSolutionInfeasible
    -2: Status.ERROR,  # LpSolutionUnbounded: cannot happen with bounded columns
}
"""PuLP solution statuses (``LpProblem.sol_status``) onto ours."""

_PULP_INFEASIBLE = -1  # LpStatusInfeasible


@functools.cache
def _cbc_path() -> str | None:
    """The CBC executable: one on PATH (``pulp[cbc]``) or else the one bundled with PuLP.

    Calling the bundled binary through ``COIN_CMD`` avoids ``PULP_CBC_CMD``, which is
    deprecated in PuLP 3.3.
    """
    import pulp

    if pulp.COIN_CMD(msg=False).available():
        return None
    bundled = getattr(pulp.PULP_CBC_CMD, "pulp_cbc_path", None)
    if bundled and os.access(bundled, os.X_OK):
        return str(bundled)
    raise RuntimeError("no CBC executable found (install pulp[cbc])")


class _CbcRunner:
    """A PuLP problem over the shared model, re-solved by CBC once per stage."""

    def __init__(self, model: LinearModel, seed: int, stop: Deadline | None = None) -> None:
        import pulp

        self._pulp = pulp
        self.seed = seed
        self.stop = stop
        self.prob = pulp.LpProblem("ordersplit", pulp.LpMinimize)
        # PuLP >= 3.3 attaches variables to the problem; older versions construct them.
        new_var = getattr(self.prob, "add_variable", None) or pulp.LpVariable
        self.vars = [
            new_var(f"v{j}", 0, ub, cat=pulp.LpBinary if ub == 1 else pulp.LpInteger)
            for j, ub in enumerate(model.upper.tolist())
        ]
        starts = model.row_start.tolist()
        cols = model.row_cols.tolist()
        coefs = model.row_coefs.tolist()
        for r, (lo, hi) in enumerate(zip(model.row_lower.tolist(), model.row_upper.tolist(),
                                         strict=True)):
            if stop is not None and r % CHECK_ROWS == CHECK_ROWS - 1:
                stop.check()
            a, b = starts[r], starts[r + 1]
            expr = pulp.LpAffineExpression([(self.vars[c], k) for c, k in
                                            zip(cols[a:b], coefs[a:b], strict=True)])
            if lo == hi:
                sense, rhs = pulp.LpConstraintEQ, lo
            elif hi != np.inf:
                sense, rhs = pulp.LpConstraintLE, hi
            else:
                sense, rhs = pulp.LpConstraintGE, lo
            self.prob.addConstraint(pulp.LpConstraint(expr, sense, f"r{r}", rhs))
        self.n_restrict = 0

    def _expr(self, objective: Expr) -> Any:
        return self._pulp.LpAffineExpression(
            [(self.vars[c], k) for c, k in
             zip(objective.cols.tolist(), objective.coefs.tolist(), strict=True)])

    def optimize(self, objective: Expr, hint: IntArray | None, time_limit: float) -> StageOutcome:
        pulp = self._pulp
        self.prob.setObjective(self._expr(objective))
        if hint is not None:
            for var, val in zip(self.vars, hint.tolist(), strict=True):
                var.setInitialValue(val)
        options = [f"randomCbcSeed {self.seed}"]
        limit: float | None = max(time_limit, 1e-2)
        if self.stop is not None and self.stop.work_limited:  # nodes, not seconds
            nodes = max(1, round(time_limit / UNIT_SECONDS / HIGHS_NODE_UNITS))
            options.append(f"maxNodes {nodes}")
            self.stop.charge(nodes * HIGHS_NODE_UNITS)
            limit = None
        solver = pulp.COIN_CMD(
            path=_cbc_path(), msg=False, threads=1, gapRel=0, timeLimit=limit,
            warmStart=hint is not None, options=options,
        )
        self.prob.solve(solver)
        sol = int(self.prob.sol_status)
        status = CBC_STATUS_MAP.get(sol, Status.ERROR)
        values = None
        if status in (Status.OPTIMAL, Status.FEASIBLE):
            values = np.array([v.varValue or 0.0 for v in self.vars], dtype=np.float64)
        infeasible = int(self.prob.status) == _PULP_INFEASIBLE
        message = f"cbc: {pulp.LpStatus.get(self.prob.status, '?')}" \
            if status is Status.ERROR else ""
        return StageOutcome(status, values, None, infeasible=infeasible, message=message)

    def restrict(self, objective: Expr, value: int) -> None:
        pulp = self._pulp
        self.n_restrict += 1
        self.prob.addConstraint(pulp.LpConstraint(
            self._expr(objective), pulp.LpConstraintLE, f"stage{self.n_restrict}",
            value - objective.constant))


@register
class PulpCbcBackend(LexicographicBackend):
    """The same model written in PuLP and solved by its bundled CBC (single thread)."""

    name = "milp_cbc"
    runner = _CbcRunner

    def available(self) -> bool:
        try:
            _cbc_path()
        except (ImportError, RuntimeError):
            return False
        return True
