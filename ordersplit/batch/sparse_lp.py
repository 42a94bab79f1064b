"""A sparse linear (or integer) program in row form, solved by HiGHS: the joint bound's
programs are built row by row and solved once."""

from __future__ import annotations

import math

import numpy as np


class SparseLP:
    """A sparse LP in row form for HiGHS (minimize)."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def var(self, lb: float, ub: float, cost: float = 0.0) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.cost.append(cost)
        return len(self.lb) - 1

    def row(self, lo: float, hi: float, idx: list[int], val: list[float]) -> None:
        self.rows.append((lo, hi, idx, val))

    def solve(self, time_limit_s: float, integer: bool = False) -> tuple[str, float]:
        """``(status, value)``; ``integer``: every variable integral, and the value is
        the best proven lower bound (the optimum, or the dual bound when time ran out)."""
        import highspy

        from ordersplit.solver.backends.milp import new_highs

        h = new_highs()
        h.setOptionValue("time_limit", float(time_limit_s) if integer
                         else max(1.0, float(time_limit_s)))
        n = len(self.lb)
        inf = highspy.kHighsInf
        h.addVars(n, np.array(self.lb), np.array([inf if math.isinf(u) else u
                                                  for u in self.ub]))
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(self.cost))
        if self.rows:
            lo = np.array([-inf if math.isinf(r[0]) else r[0] for r in self.rows])
            hi = np.array([inf if math.isinf(r[1]) else r[1] for r in self.rows])
            starts = np.cumsum([0] + [len(r[2]) for r in self.rows[:-1]]).astype(np.int32)
            idx = np.array([i for r in self.rows for i in r[2]], dtype=np.int32)
            val = np.array([v for r in self.rows for v in r[3]], dtype=np.float64)
            h.addRows(len(self.rows), lo, hi, idx.size, starts, idx, val)
        if integer:
            h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                    np.full(n, highspy.HighsVarType.kInteger))
        h.run()
        status = h.modelStatusToString(h.getModelStatus()).lower()
        info = h.getInfo()
        if integer:  # "optimal" is within HiGHS's gap tolerance: its dual bound is proven
            return status, float(info.mip_dual_bound)
        return status, float(info.objective_function_value)

    def integral(self) -> bool:
        """Whether every variable bound is finite and every bound, coefficient and cost
        an integer (CP-SAT can take the program)."""
        if not all(math.isfinite(v) for v in (*self.lb, *self.ub)):
            return False
        values = [*self.cost, *self.lb, *self.ub,
                  *(v for r in self.rows for v in (*r[3], r[0], r[1]) if math.isfinite(v))]
        return all(float(v).is_integer() for v in values)

    def solve_cpsat(self, time_limit_s: float) -> tuple[str, float]:
        """The program with every variable integral, by CP-SAT (one worker): ``(status,
        proven lower bound)``; only for :meth:`integral` programs with finite bounds."""
        from ortools.sat.python import cp_model

        m = cp_model.CpModel()
        xs = [m.new_int_var(int(lb), int(ub), "") for lb, ub in zip(self.lb, self.ub,
                                                                       strict=True)]
        for lo, hi, idx, val in self.rows:
            expr = cp_model.LinearExpr.weighted_sum([xs[i] for i in idx], [int(v) for v in val])
            if math.isfinite(lo):
                m.add(expr >= int(lo))
            if math.isfinite(hi):
                m.add(expr <= int(hi))
        used = [j for j, c in enumerate(self.cost) if c]
        m.minimize(cp_model.LinearExpr.weighted_sum([xs[j] for j in used],
                                                    [int(self.cost[j]) for j in used]))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.linearization_level = 2
        solver.parameters.max_time_in_seconds = max(0.01, float(time_limit_s))
        status = solver.solve(m)
        if status == cp_model.OPTIMAL:
            return "optimal", float(solver.objective_value)
        if status in (cp_model.FEASIBLE, cp_model.UNKNOWN):
            return "time_limit", float(solver.best_objective_bound)
        return solver.status_name(status).lower(), math.nan
