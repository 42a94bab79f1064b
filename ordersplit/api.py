"""The public Python API: ``split(request) -> Plan``.

The CLI and the HTTP service call exactly these functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ordersplit.errors import SolverError
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import parse_request
from ordersplit.plan.build import build_plan
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import Deadline, WorkBudget

log = logging.getLogger(__name__)


def split(request: SplitRequest | Mapping[str, Any] | str | bytes) -> Plan:
    """Split one paid order into child orders.

    ``request`` is the contract's JSON (text, a decoded mapping, or a validated
    :class:`SplitRequest`). Raises :class:`~ordersplit.errors.RequestError` naming the
    order and the field when the request is invalid.
    """
    t0 = time.perf_counter()
    req = parse_request(request)
    budget = req.options.time_limit_ms / 1000
    # The budget holds end to end: parsing and compiling count, and a little is kept
    # back for building the plan and sharing the money out.
    reserve = min(0.2 * budget, 0.002 + 0.0002 * len(req.order.lines))
    compiled = compile_request(req)
    stop: Deadline = Deadline(max(0.0, budget - reserve - (time.perf_counter() - t0)))
    if req.options.work_limit is not None:  # reproducible: counted work, not the clock
        stop = WorkBudget(req.options.work_limit)
    result = solve_problem(compiled.problem, req.options.solver, stop)
    if not result.is_feasible():
        result = _fallback(compiled.problem, result)
    return build_plan(req, compiled, result, started=t0)


def _fallback(problem: Any, failed: SolveResult) -> SolveResult:
    """The first heuristic that finds a plan, when the chosen solver found none."""
    log.warning("solver %s found no plan (%s); falling back", failed.backend, failed.message)
    for name, method in HEURISTICS.items():
        x = method(problem)
        if x is not None:
            return SolveResult(name, Status.FALLBACK, x, evaluate(problem, x),
                               failed.children_lower_bound, failed.runtime_s,
                               f"{failed.backend} found no plan")
    raise SolverError(f"no plan found for the order ({failed.message})")
