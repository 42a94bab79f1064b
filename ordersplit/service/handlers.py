"""The service's request handling, independent of routing: admission, budgets, replays."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable

from starlette.responses import Response

from ordersplit.lifecycle.replay import Answer, Attempt
from ordersplit.lifecycle.store import Store, open_store
from ordersplit.service.config import ServiceConfig
from ordersplit.service.idempotency import IdempotencyCache, KeyReusedError, body_digest
from ordersplit.service.jobs import Budget, JobResult, error_body, order_id_in
from ordersplit.service.metrics import Metrics
from ordersplit.service.pool import PoolTimeoutError, SaturatedError, SolverPool, WorkerLostError

log = logging.getLogger(__name__)

JSON = "application/json"
JSON_HEADER = (b"content-type", b"application/json")
REPLAYED_HEADER = (b"idempotent-replayed", b"true")
HttpAnswer = tuple[int, bytes, list[tuple[bytes, bytes]]]
"""A finished HTTP answer as ASGI parts: status, body, raw headers."""
ORDER_ID_PARSE_MAX = 256 * 1024
"""Largest body the event loop parses only to name the order in a 503 (parsing megabytes
there would stall every other request)."""
DURABLE = frozenset({"split", "resplit", "cancel"})
"""Endpoints whose effect (with a store) is recorded with its answer for durable replays."""


class Service:
    """Everything a request handler needs: config, pool, cache, metrics, lifecycle store."""

    def __init__(self, config: ServiceConfig, pool: SolverPool, metrics: Metrics,
                 store_url: str | None) -> None:
        self.config = config
        self.pool = pool
        self.metrics = metrics
        self.cache = IdempotencyCache(config.idempotency_entries, config.idempotency_bytes)
        self.store_url = store_url
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        metrics.inflight.set_function(lambda: pool.inflight)
        metrics.replaced.set_function(lambda: pool.replaced)
        metrics.limit.set(pool.limit)
        self._retry_after = (b"retry-after", str(config.retry_after_s).encode())

    def respond(self, result: JobResult, *, replayed: bool = False) -> Response:
        """The HTTP response of a job's result."""
        status, body, headers = self.answer(result, replayed)
        response = Response(body, status)
        response.raw_headers = headers
        return response

    def answer(self, result: JobResult, replayed: bool = False) -> HttpAnswer:
        """A job's result as raw ASGI parts: status, body, headers (content type and
        length, ``Retry-After`` on a 503, ``Idempotent-Replayed`` on a replay)."""
        headers = [JSON_HEADER, (b"content-length", str(len(result.body)).encode())]
        if result.status == 503:
            headers.append(self._retry_after)
        if replayed:
            headers.append(REPLAYED_HEADER)
        for name, value in result.headers:
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        return result.status, result.body, headers

    def error(self, status: int, message: str, field: str = "",
              order_id: str | None = None) -> Response:
        """A contract error object with ``status``."""
        return self.respond(self.error_result(status, message, field, order_id))

    @staticmethod
    def error_result(status: int, message: str, field: str = "",
                     order_id: str | None = None) -> JobResult:
        """A contract error object with ``status``, as a job's result."""
        return JobResult(status, error_body(message, field, order_id), order_id)

    async def solve(self, endpoint: str, arrival: float, body: bytes, idempotency_key: str | None,
                    fn: Callable[..., JobResult], default_ms: int | None = None,
                    variant: bytes = b"") -> HttpAnswer:
        """Run one solving endpoint on a body already read: replay or admit, solve off
        the loop, answer.

        ``variant`` is what else the answer depends on (the held stock prices' version):
        a body sent again without an ``Idempotency-Key`` is replayed only under the same
        variant; a key's replay does not look at it."""
        digest = body_digest(body)
        key = self.cache.key(endpoint, idempotency_key,
                             body_digest(digest + variant) if variant else digest)
        try:
            answer, mine = self.cache.claim(key, digest)
        except KeyReusedError:
            self.metrics.invalid.labels(endpoint).inc()
            return self.answer(self.error_result(
                422, "Idempotency-Key reused with a different request body",
                "headers.Idempotency-Key", order_id_in(body)))
        if not mine:
            result = await asyncio.shield(answer)
            self.metrics.replays.labels(endpoint).inc()
            return self.answer(result, replayed=True)
        result = JobResult(503, error_body("the request was not processed"))
        attempt = None
        if self.store_url and endpoint in DURABLE:
            attempt = Attempt(key, digest.hex(), uuid.uuid4().hex, endpoint)
        try:
            budget = Budget(arrival, default_ms, self.config.max_time_limit_ms)
            result = await self.run(endpoint, fn, body, budget, attempt)
        finally:
            answer.set_result(result)
            if result.status >= 500:
                self.cache.forget(key)
        return self.answer(result)

    async def call(self, endpoint: str, fn: Callable[..., JobResult], subject: str,
                   budget: Budget) -> Response:
        """Run a job without idempotent replay (reads)."""
        return self.respond(await self.run(endpoint, fn, subject, budget))

    async def run(self, endpoint: str, fn: Callable[..., JobResult], subject: bytes | str,
                  budget: Budget, attempt: Attempt | None = None) -> JobResult:
        """Run ``fn(subject, budget[, attempt])`` in the pool and record what happened.

        Never raises for load. A job given up on (past its budget plus the grace, or its
        worker died) has its ``attempt`` revoked, so that it can never commit later; if
        it committed first, its answer is delivered instead of a 503.
        """
        config = self.config
        arrival = budget.arrival or time.monotonic()
        args = (subject, budget) if attempt is None else (subject, budget, attempt)
        body = subject if isinstance(subject, bytes) else b""
        t0 = time.monotonic()
        try:
            result = await self.pool.run(fn, *args, arrival=arrival,
                                         budget_s=config.max_time_limit_ms / 1000,
                                         size=len(body))
        except SaturatedError:
            self.metrics.rejected.labels(endpoint, "saturated").inc()
            return JobResult(503, error_body(
                f"the solver is saturated ({self.pool.limit} requests in flight); retry later",
                "", _order_id(body)))
        except (PoolTimeoutError, WorkerLostError) as exc:
            committed = await self.revoke(attempt) if attempt is not None else None
            if committed is not None:
                log.warning("%s: a job given up on had committed; delivering its answer",
                            endpoint)
                return JobResult(committed.status, committed.body, headers=committed.headers)
            reason = "timeout" if isinstance(exc, PoolTimeoutError) else "internal"
            self.metrics.rejected.labels(endpoint, reason).inc()
            log.error("%s: a job was given up on after %.2f s (%s)", endpoint,
                      time.monotonic() - arrival, reason)
            order_id = getattr(exc, "order_id", None) or _order_id(body)
            return JobResult(503, error_body("the solve did not finish in time; retry later"
                                             if reason == "timeout" else
                                             "internal error; the request was not processed",
                                             "", order_id), order_id)
        except Exception:  # a job that could not even run (a bug): answer, never 500
            log.exception("%s: the job failed outside its guard", endpoint)
            self.metrics.rejected.labels(endpoint, "internal").inc()
            return JobResult(503, error_body("internal error; the request was not processed"))
        elapsed_ms = (time.monotonic() - t0) * 1000
        metrics = self.metrics
        metrics.child(metrics.work, endpoint).observe(result.work_ms / 1000)
        metrics.child(metrics.wait, endpoint).observe(
            max(0.0, elapsed_ms - result.work_ms) / 1000)
        if result.status == 200 and result.plan_status is not None:
            metrics.child(metrics.plans, endpoint, result.plan_status,
                          result.solver or "").inc()
            if result.plan_status == "fallback":
                self.metrics.fallbacks.labels(endpoint).inc()
        elif result.status == 422:
            self.metrics.invalid.labels(endpoint).inc()
        elif result.status >= 500:
            self.metrics.rejected.labels(endpoint, "internal").inc()
        return result

    def store(self) -> Store:
        """This process's own connection to the store (opened, tables created, on first use).

        Opened at start-up, before the workers open theirs, so that the tables are created
        once; used to revoke attempts.
        """
        with self._store_lock:
            if self._store is None:
                assert self.store_url is not None
                self._store = open_store(self.store_url)
            return self._store

    async def revoke(self, attempt: Attempt) -> Answer | None:
        """Revoke ``attempt`` in the store (off the event loop); its answer if it committed."""
        try:
            return await asyncio.to_thread(lambda: self.store().revoke(attempt))
        except Exception:  # the store is down; a process worker is dead already, but a
            # thread worker's late commit is not prevented then: say so
            log.exception("could not revoke an attempt of %s; a thread worker may still "
                          "commit it", attempt.endpoint)
            return None

    def close(self) -> None:
        """Release the store connections this process opened."""
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def _order_id(body: bytes) -> str | None:
    """The order id of a body for an error object, unless the body is too big to parse here."""
    return order_id_in(body) if len(body) <= ORDER_ID_PARSE_MAX else None
