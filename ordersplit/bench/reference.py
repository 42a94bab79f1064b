"""Reference models written for the benchmarks, independent of ``ordersplit.solver``.

- :func:`cpsat_optimum`: a CP-SAT model of a compiled :class:`SplitProblem`, solved
  lexicographically term by term with a long limit. It shares no code with the
  engine's backends (only the problem's arrays), so that it can check the engine's
  ``optimal`` plans on sizes where no brute force reaches.
- :func:`highs_set_cover`: a plain weighted set-cover model in highspy (binary column
  variables, one covering row per element), the baseline the OR-Library benchmark
  times ``auto`` against.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ordersplit.io.orlib import ScpInstance
from ordersplit.solver.problem import SplitProblem


@dataclass(frozen=True)
class ReferenceResult:
    """The lexicographic optimum (``None`` when a stage was not proven in time)."""

    key: tuple[int, ...] | None
    terms: tuple[str, ...]
    seconds: float
    message: str = ""


def cpsat_optimum(problem: SplitProblem, time_limit_s: float = 60.0,
                  workers: int = 1) -> ReferenceResult:
    """Proven optimum of ``problem.objective`` (each term in turn, the earlier ones fixed).

    Variables: ``x[i, w]`` units of item ``i`` from ``w``; ``y[g, w]`` the child of group
    ``g`` at ``w``; ``o[w]`` warehouse ``w`` ships at all. Children are ``sum y`` (or the
    groups used, when a child may span warehouses), makespan ``max(hours[w] o[w],
    fixed_makespan)``, unit hours ``sum hours[w] x[i, w]``, cost ``sum cost[w] y[g, w]``.
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    p = problem
    n, m = p.n_items, p.n_warehouses
    cap = np.minimum(p.capacity, p.quantity[:, None])
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    opened = [model.new_bool_var(f"o{w}") for w in range(m)]
    for i in range(n):
        g = int(p.group[i])
        whole = not bool(p.splittable[i])
        q = int(p.quantity[i])
        picks = []
        for w in range(m):
            c = int(cap[i, w])
            if c <= 0 or (whole and c < q):
                continue
            if (g, w) not in y:
                y[g, w] = model.new_bool_var(f"y{g}_{w}")
                model.add_implication(y[g, w], opened[w])
            if whole:
                b = model.new_bool_var(f"b{i}_{w}")
                x[i, w] = model.new_int_var(0, q, f"x{i}_{w}")
                model.add(x[i, w] == q * b)
                model.add_implication(b, y[g, w])
                picks.append(b)
            else:
                x[i, w] = model.new_int_var(0, c, f"x{i}_{w}")
                model.add(x[i, w] <= c * y[g, w])
        model.add(sum(x[i, w] for w in range(m) if (i, w) in x) == q)
        # Implied by the above; stated so that the covering bound is there from the start.
        model.add(sum(min(int(cap[i, w]), q) * y[g, w] for w in range(m) if (i, w) in x) >= q)
        if whole:
            model.add(sum(picks) == 1)
    for k in range(p.n_skus):
        users = np.flatnonzero(p.usage[:, k])
        if users.size == 0:
            continue
        need = int((p.usage[users, k] * p.quantity[users]).sum())
        for w in range(m):
            if int(p.stock[w, k]) >= need:
                continue
            parts = [int(p.usage[i, k]) * x[i, w] for i in users.tolist() if (i, w) in x]
            if parts:
                model.add(sum(parts) <= int(p.stock[w, k]))
    if p.per_warehouse:
        children = sum(y.values())
    else:
        used: dict[int, cp_model.IntVar] = {}
        for (g, _w), v in y.items():
            used.setdefault(g, model.new_bool_var(f"z{g}"))
            model.add_implication(v, used[g])
        children = sum(used.values())
    top = int(max(int(p.hours.max(initial=0)), p.fixed_makespan))
    makespan = model.new_int_var(int(p.fixed_makespan), top, "makespan")
    for w in range(m):
        model.add(makespan >= int(p.hours[w])).only_enforce_if(opened[w])
    expr = {
        "children": children,
        "makespan": makespan,
        "unit_hours": sum(int(p.hours[w]) * v for (_, w), v in x.items()),
        "cost": sum(int(p.cost[w]) * v for (_, w), v in y.items()),
    }
    key: list[int] = []
    # Terms this model does not know (added to the engine later) end the comparison there.
    terms = tuple(itertools.takewhile(lambda t: t in expr, p.objective))
    for term in terms:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            return ReferenceResult(None, terms, time.perf_counter() - t0, f"no time for {term}")
        if term == "makespan":
            value, message = _least_makespan(model, opened, p, left, workers)
            if value is None:
                return ReferenceResult(None, terms, time.perf_counter() - t0, message)
        else:
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = left
            solver.parameters.num_workers = workers
            model.minimize(expr[term])
            status = solver.solve(model)
            if status != cp_model.OPTIMAL:
                return ReferenceResult(None, terms, time.perf_counter() - t0,
                                       f"{term}: {solver.status_name(status)}")
            value = round(solver.objective_value)
        key.append(value)
        model.add(expr[term] == value)
    return ReferenceResult(tuple(key), terms, time.perf_counter() - t0)


def _least_makespan(model: Any, opened: list[Any], p: SplitProblem, limit_s: float,
                    workers: int) -> tuple[int | None, str]:
    """The least arrival time any plan (under the constraints so far) can have.

    Binary search over the distinct arrival times: is there a plan that opens no
    warehouse arriving later than ``h``? Each probe is a feasibility question, which
    CP-SAT settles far faster than minimizing a max.
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    values = sorted({int(h) for h in p.hours.tolist() if h >= p.fixed_makespan} | {int(p.fixed_makespan)})
    lo, hi = 0, len(values) - 1  # values[hi] is feasible: every plan arrives by then
    while lo < hi:
        mid = (lo + hi) // 2
        probe = model.clone()
        probe.clear_objective()
        for w in np.flatnonzero(p.hours > values[mid]).tolist():
            probe.add(probe.get_bool_var_from_proto_index(opened[w].index) == 0)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, limit_s - (time.perf_counter() - t0))
        solver.parameters.num_workers = workers
        status = solver.solve(probe)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            hi = mid
        elif status == cp_model.INFEASIBLE:
            lo = mid + 1
        else:
            return None, f"makespan probe {values[mid]}: {solver.status_name(status)}"
    return values[lo], ""


def highs_set_cover(inst: ScpInstance, time_limit_s: float = 60.0,
                    unicost: bool = False) -> tuple[float, bool, float]:
    """(value, proven, seconds) of a plain HiGHS model: min c x, every row covered, x binary.

    The time includes building the model from the parsed instance.
    """
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    costs = np.ones(inst.cols) if unicost else np.asarray(inst.costs, dtype=float)
    inf = highspy.kHighsInf
    h.addVars(inst.cols, np.zeros(inst.cols), np.ones(inst.cols))
    h.changeColsCost(inst.cols, np.arange(inst.cols, dtype=np.int32), costs)
    h.changeColsIntegrality(inst.cols, np.arange(inst.cols, dtype=np.int32),
                            np.full(inst.cols, highspy.HighsVarType.kInteger))
    starts: list[int] = []
    index: list[int] = []
    for cover in inst.covers:
        starts.append(len(index))
        index.extend(int(c) for c in cover)
    rows = len(inst.covers)
    h.addRows(rows, np.ones(rows), np.full(rows, inf), len(index),
              np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
              np.ones(len(index)))
    h.run()
    took = time.perf_counter() - t0
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    info = h.getInfo()
    value = float(info.objective_function_value) if info.primal_solution_status == 2 else float("nan")
    return value, proven, took
