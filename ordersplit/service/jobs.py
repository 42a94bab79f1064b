"""Work done in the solver pool: raw request bytes in, a finished HTTP answer out.

These functions run in a worker process (or thread). They parse the body once
(``parse_request``, the same validation as the CLI's), apply the service's time budget,
solve, and serialize, so the event loop only moves bytes. Nothing here raises: every
outcome is a :class:`JobResult` with a status code and a body.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from ordersplit.api import split
from ordersplit.errors import OrderSplitError, RequestError, echo, json_error_text
from ordersplit.models.request import Options
from ordersplit.service.allocate import allocate
from ordersplit.service.promise import make_promise
from ordersplit.solver.stop import UNIT_SECONDS

log = logging.getLogger(__name__)

CONTRACT_TIME_LIMIT_MS: int = Options.model_fields["time_limit_ms"].default
MAX_CONTRACT_TIME_LIMIT_MS = 3_600_000

deadline_hook: Callable[[float, str | None], None] | None = None
"""Set by a worker process: told the end of each request's budget (and its order id) as
soon as they are known, so that the pool can replace the worker at that time plus its
grace, and name the order in the 503."""


def announce_deadline(end: float, order_id: str | None = None) -> None:
    """Tell the pool (if any is listening) that this job's budget ends at ``end``."""
    if deadline_hook is not None:
        deadline_hook(end, order_id)


class Budget(NamedTuple):
    """The end-to-end time budget of one request."""

    arrival: float
    """``time.monotonic()`` when the request arrived (one clock for every process)."""
    default_ms: int | None
    """The budget when the request names none (``None``: the contract's default)."""
    max_ms: int
    """The service's ceiling."""


class JobResult(NamedTuple):
    """A finished answer and what the metrics need to know about it."""

    status: int
    body: bytes
    order_id: str | None = None
    plan_status: str | None = None
    solver: str | None = None
    work_ms: float = 0.0
    """Time spent in the worker (parse, solve, plan, money, serialize)."""
    time_limit_ms: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers."""


def error_body(message: str, field: str = "", order_id: str | None = None) -> bytes:
    """The contract's error object as JSON bytes."""
    return orjson.dumps({"error": {"order_id": order_id, "field": field, "message": message}})


ORJSON_MAX_BRACKETS = 1000
"""Bodies with more opening brackets than this are decoded by the stdlib, whose depth
limit raises; orjson before 3.10 has none and crashes on very deep nesting."""


def load_json(raw: bytes) -> Any:
    """Decode a body; raises :class:`RequestError` on malformed JSON."""
    if raw.count(b"[") + raw.count(b"{") <= ORJSON_MAX_BRACKETS:  # cannot be too deep
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # orjson refuses some valid JSON (integers beyond 64 bits): ask the stdlib
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RequestError(json_error_text(exc), field="") from None


def _as_limit(value: Any) -> int | None:
    """``value`` as a valid ``time_limit_ms``, or ``None`` when validation must judge it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 0 < value <= MAX_CONTRACT_TIME_LIMIT_MS:
        return value
    return None


def apply_budget(data: Any, budget: Budget) -> int | None:
    """Set ``options.time_limit_ms`` to what is left of the request's clamped budget
    (and cap ``options.work_limit`` at the work worth the service's ceiling).

    The request's own limit (or ``budget.default_ms``, or the contract default) is clamped
    to ``budget.max_ms``; the time already spent since arrival (queueing) is taken off, so
    the budget holds end to end. Returns the limit set, or ``None`` when the request is
    left for validation to reject.
    """
    if not isinstance(data, dict):
        return None
    if "options" not in data:
        data["options"] = {}
    options = data["options"]
    if not isinstance(options, dict):
        return None
    given = options.get("time_limit_ms", budget.default_ms or CONTRACT_TIME_LIMIT_MS)
    requested = _as_limit(given)
    if requested is None:
        return None
    clamped = min(requested, budget.max_ms)
    order = data.get("order")
    order_id = order.get("id") if isinstance(order, dict) else None
    announce_deadline(budget.arrival + clamped / 1000,
                      order_id if isinstance(order_id, str) else None)
    spent = (time.monotonic() - budget.arrival) * 1000
    limit = max(1, int(clamped - spent))
    options["time_limit_ms"] = limit
    work = options.get("work_limit")
    if isinstance(work, int) and not isinstance(work, bool):  # counted work: same ceiling
        options["work_limit"] = max(1, min(work, round(budget.max_ms / 1000 / UNIT_SECONDS)))
    return limit


def order_id_in(raw: bytes | None) -> str | None:
    """The order id of a body, best effort (for error objects)."""
    try:
        data = load_json(raw) if raw else None
    except RequestError:
        return None
    if isinstance(data, dict):
        inner = data.get("request")
        order = (inner if isinstance(inner, dict) else data).get("order")
        if isinstance(order, dict) and isinstance(order.get("id"), str):
            return echo(order["id"])
        if isinstance(data.get("order_id"), str):
            return echo(data["order_id"])
    return None


def guarded(work: Callable[[], JobResult], raw: bytes | None,
            order_id: str | None = None) -> JobResult:
    """``work()``, with every failure turned into an answer (422, or 503 for a bug)."""
    t0 = time.perf_counter()
    try:
        result = work()
    except RequestError as exc:
        result = JobResult(422, orjson.dumps(exc.to_dict()), exc.order_id)
    except OrderSplitError as exc:  # no plan exists for this input: retrying will not help
        who = order_id or order_id_in(raw)
        result = JobResult(422, error_body(str(exc), "", who), who)
    except Exception:  # a bug: answer, log, never 500
        log.exception("unexpected error in a service job")
        who = order_id or order_id_in(raw)
        result = JobResult(503, error_body("internal error; the request was not processed",
                                           "", who), who)
    return result._replace(work_ms=(time.perf_counter() - t0) * 1000)


def run_split(raw: bytes, budget: Budget) -> JobResult:
    """``POST /v1/split``: exactly :func:`ordersplit.split` on the body."""
    def work() -> JobResult:
        data = load_json(raw)
        limit = apply_budget(data, budget)
        plan = split(data)
        return JobResult(200, plan.model_dump_json().encode(), plan.order_id, plan.status,
                         plan.solver, time_limit_ms=limit)

    return guarded(work, raw)


def run_presplit(raw: bytes, budget: Budget) -> JobResult:
    """``POST /v1/presplit``: split with the checkout budget, answer the promise."""
    def work() -> JobResult:
        data = load_json(raw)
        limit = apply_budget(data, budget)
        plan = split(data)
        body = make_promise(plan).model_dump_json().encode()
        return JobResult(200, body, plan.order_id, plan.status, plan.solver, time_limit_ms=limit)

    return guarded(work, raw)


def run_allocate(raw: bytes, budget: Budget | None = None) -> JobResult:
    """``POST /v1/allocate``: the money of a given assignment (no solve: ``budget`` unused)."""
    def work() -> JobResult:
        out = allocate(load_json(raw))
        return JobResult(200, out.model_dump_json().encode(), out.order_id)

    return guarded(work, raw)


def run_echo(raw: bytes, budget: Budget | None = None) -> JobResult:
    """Diagnostics: the JSON body back from a worker (the pool's cost without a solve)."""
    return guarded(lambda: JobResult(200, orjson.dumps(load_json(raw))), raw)


WARM_UP_REQUEST: dict[str, Any] = {
    "order": {"id": "WARM-UP", "currency": "USD", "destination": "x",
              "lines": [{"id": "L1", "sku": "A", "quantity": 1, "unit_price": "1.00"},
                        {"id": "L2", "sku": "B", "quantity": 1, "unit_price": "1.00"}],
              "payments": [{"method": "cash", "amount": "2.00"}]},
    "catalog": {"A": {}, "B": {}},
    "warehouses": [{"id": "W1", "stock": {"A": 1}, "delivery_hours": {"x": 1}},
                   {"id": "W2", "stock": {"B": 1, "A": 1}, "delivery_hours": {"x": 2}}],
    "options": {"solver": "cpsat", "time_limit_ms": 1000},
}
"""A tiny request that loads every solver library in a fresh worker."""


def warm_up(pause_s: float = 0.0) -> int:
    """Import the solver stack in a fresh worker (and hold it a moment so each worker gets one)."""
    try:
        split(WARM_UP_REQUEST)
    except Exception:  # warming is best effort
        log.exception("warm-up split failed")
    time.sleep(pause_s)
    return os.getpid()
