"""The service's request handling, independent of routing: admission, budgets, replays."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ordersplit.service.config import ServiceConfig
from ordersplit.service.idempotency import IdempotencyCache, KeyReusedError, body_digest
from ordersplit.service.jobs import Budget, JobResult, error_body, order_id_in
from ordersplit.service.metrics import Metrics
from ordersplit.service.middleware import ARRIVAL
from ordersplit.service.pool import PoolTimeoutError, SaturatedError, SolverPool

log = logging.getLogger(__name__)

JSON = "application/json"


class Service:
    """Everything a request handler needs: config, pool, cache, metrics, lifecycle store."""

    def __init__(self, config: ServiceConfig, pool: SolverPool, metrics: Metrics,
                 store_url: str | None) -> None:
        self.config = config
        self.pool = pool
        self.metrics = metrics
        self.cache = IdempotencyCache(config.idempotency_entries, config.idempotency_bytes)
        self.store_url = store_url
        metrics.inflight.set_function(lambda: pool.inflight)
        metrics.limit.set(pool.limit)

    def respond(self, result: JobResult, *, replayed: bool = False) -> Response:
        """The HTTP response of a job's result."""
        headers = dict(result.headers)
        if result.status == 503:
            headers["Retry-After"] = str(self.config.retry_after_s)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(result.body, result.status, headers, media_type=JSON)

    def error(self, status: int, message: str, field: str = "",
              order_id: str | None = None) -> Response:
        """A contract error object with ``status``."""
        return self.respond(JobResult(status, error_body(message, field, order_id), order_id))

    async def solve(self, endpoint: str, request: Request, fn: Callable[..., JobResult],
                    default_ms: int | None = None) -> Response:
        """Run one solving endpoint: read, replay or admit, solve off the loop, answer."""
        arrival = request.scope.get(ARRIVAL) or time.monotonic()
        body = await request.body()  # bounded while it streams (GuardMiddleware)
        digest = body_digest(body)
        key = self.cache.key(endpoint, request.headers.get("idempotency-key"), digest)
        try:
            answer, mine = self.cache.claim(key, digest)
        except KeyReusedError:
            self.metrics.invalid.labels(endpoint).inc()
            return self.error(422, "Idempotency-Key reused with a different request body",
                              "headers.Idempotency-Key", order_id_in(body))
        if not mine:
            result = await asyncio.shield(answer)
            self.metrics.replays.labels(endpoint).inc()
            return self.respond(result, replayed=True)
        result = JobResult(503, error_body("the request was not processed"))
        try:
            budget = Budget(arrival, default_ms, self.config.max_time_limit_ms)
            result = await self.run(endpoint, fn, body, budget)
        finally:
            answer.set_result(result)
            if result.status >= 500:
                self.cache.forget(key)
        return self.respond(result)

    async def call(self, endpoint: str, fn: Callable[..., JobResult], *args: Any) -> Response:
        """Run a job without idempotent replay (reads)."""
        return self.respond(await self.run(endpoint, fn, *args))

    async def run(self, endpoint: str, fn: Callable[..., JobResult], *args: Any) -> JobResult:
        """Run ``fn(*args)`` in the pool and record what happened; never raises for load."""
        config = self.config
        timeout = (config.max_time_limit_ms + config.grace_ms) / 1000
        t0 = time.monotonic()
        try:
            result = await self.pool.run(fn, *args, timeout=timeout)
        except SaturatedError:
            self.metrics.rejected.labels(endpoint, "saturated").inc()
            body = args[0] if args and isinstance(args[0], bytes) else b""
            return JobResult(503, error_body(
                f"the solver is saturated ({self.pool.limit} requests in flight); retry later",
                "", order_id_in(body)))
        except PoolTimeoutError:
            self.metrics.rejected.labels(endpoint, "timeout").inc()
            log.error("%s: a job ran %.1f s past its budget", endpoint, timeout)
            order_id = order_id_in(args[0] if args and isinstance(args[0], bytes) else None)
            return JobResult(503, error_body("the solve did not finish in time; retry later",
                                             "", order_id), order_id)
        except Exception:  # a job that could not even run (a bug): answer, never 500
            log.exception("%s: the job failed outside its guard", endpoint)
            self.metrics.rejected.labels(endpoint, "internal").inc()
            return JobResult(503, error_body("internal error; the request was not processed"))
        elapsed_ms = (time.monotonic() - t0) * 1000
        self.metrics.work.labels(endpoint).observe(result.work_ms / 1000)
        self.metrics.wait.labels(endpoint).observe(max(0.0, elapsed_ms - result.work_ms) / 1000)
        if result.status == 200 and result.plan_status is not None:
            self.metrics.plans.labels(endpoint, result.plan_status, result.solver or "").inc()
            if result.plan_status == "fallback":
                self.metrics.fallbacks.labels(endpoint).inc()
        elif result.status == 422:
            self.metrics.invalid.labels(endpoint).inc()
        elif result.status >= 500:
            self.metrics.rejected.labels(endpoint, "internal").inc()
        return result
