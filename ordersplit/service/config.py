"""Service settings: pool size, admission limits and time budgets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

PoolKind = Literal["process", "thread"]
QUEUE_PER_WORKER = 64
"""Default admission limit per worker (running plus queued); the queue wait bound, not
this count, is what normally sheds load."""


def default_workers() -> int:
    """One solver worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ServiceConfig:
    """How the HTTP service runs its solver pool and guards its budgets.

    ``max_inflight`` bounds the requests admitted at once (running plus queued in the
    pool); one more is answered 503 with ``Retry-After`` at once. ``0`` means
    ``QUEUE_PER_WORKER x workers``. Within that bound a request waits in the queue only
    while its expected wait is at most ``max_queue_wait_ms`` (else 503 at once), and is
    answered 503 if it still has not started by then.
    """

    workers: int = 0
    """Solver workers (processes or threads); ``0`` means one per core."""
    pool: PoolKind = "process"
    max_inflight: int = 0
    max_time_limit_ms: int = 1000
    """Ceiling on a request's ``options.time_limit_ms`` (the budget of the whole split)."""
    presplit_time_limit_ms: int = 50
    """Default budget of ``/v1/presplit`` when the request names none."""
    grace_ms: int = 500
    """How long past its budget a job may hold its worker before the worker is replaced and
    the request answered 503 (parse and serialize time beyond the solver's own limit)."""
    max_queue_wait_ms: int = 200
    """Longest time a request may wait for a worker before it is answered 503 (the
    contract's default budget: a request that waited that long gets a heuristic plan
    within its budget, or a 503, instead of queueing on)."""
    diagnostics: bool = False
    """Serve ``POST /v1/_echo`` and ``/v1/_echo/pool`` (the load test's baselines); off
    by default."""
    retry_after_s: int = 1
    idempotency_entries: int = 10_000
    idempotency_bytes: int = 64 * 1024 * 1024
    """Bytes the idempotency cache may hold (keys and answers); older answers are evicted."""
    max_body_bytes: int = 4 * 1024 * 1024
    store_url: str | None = None
    """The lifecycle store (SQLAlchemy URL): split stores plans once; re-split, cancel and
    show work. ``None``: nothing is stored, those endpoints answer 501."""
    api_key_hashes: tuple[str, ...] = ()
    """SHA-256 hex digests of the valid API keys (plus ``$ORDERSPLIT_API_KEY_HASHES``)."""
    api_keys_file: str | None = None
    """A file of SHA-256 digests, re-read when it changes (``$ORDERSPLIT_API_KEYS_FILE``)."""
    no_auth: bool = False
    """Serve without authentication (local use only; logged as a warning)."""
    public_metrics: bool = False
    """``/metrics`` without a key."""
    public_docs: bool = False
    """``/docs`` and ``/openapi.json`` without a key."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call from a browser; none: no CORS headers at all."""
    max_header_bytes: int = 16 * 1024
    """Request line and headers; more is answered 431 (``ordersplit serve`` only)."""
    header_timeout_s: float = 10.0
    """Time a client has to send a request's line and headers (408 after)."""
    body_timeout_s: float = 30.0
    """Time a client has to send a request's body once its headers are in (408 after)."""

    def __post_init__(self) -> None:
        if self.workers < 0 or self.max_inflight < 0:
            raise ValueError("workers and max_inflight must not be negative")
        if self.grace_ms < 0 or self.max_queue_wait_ms < 0:
            raise ValueError("grace_ms and max_queue_wait_ms must not be negative")
        if self.max_time_limit_ms <= 0 or self.presplit_time_limit_ms <= 0:
            raise ValueError("time limits must be positive")
        if min(self.max_body_bytes, self.max_header_bytes, self.idempotency_bytes) <= 0:
            raise ValueError("size limits must be positive")
        if self.header_timeout_s <= 0 or self.body_timeout_s <= 0:
            raise ValueError("read timeouts must be positive")
        if self.pool not in ("process", "thread"):
            raise ValueError(f"pool must be 'process' or 'thread', got {self.pool!r}")

    @property
    def n_workers(self) -> int:
        """The pool size in force."""
        return self.workers or default_workers()

    @property
    def inflight_limit(self) -> int:
        """The admission limit in force."""
        return self.max_inflight or QUEUE_PER_WORKER * self.n_workers
