"""Prometheus metrics of one service instance (its own registry, so apps do not share)."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase

disable_created_metrics()  # the *_created series only add noise to a scrape

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                   0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
MAX_CHILDREN = 4096
"""Labelled series :meth:`Metrics.child` remembers (the labels are bounded: methods,
routes, statuses, endpoints, solver names)."""


class Metrics:
    """Request latency, solver outcomes, admission and idempotency counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.latency = Histogram(
            "ordersplit_http_request_duration_seconds", "HTTP request latency, end to end.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=reg)
        self.work = Histogram(
            "ordersplit_solve_duration_seconds",
            "Time a request spent in a solver worker (parse, solve, plan, money, serialize).",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=reg)
        self.wait = Histogram(
            "ordersplit_pool_wait_seconds",
            "Time an admitted request spent waiting for (and travelling to) a worker.",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=reg)
        self.plans = Counter(
            "ordersplit_plans_total", "Plans answered, by solver status and winning backend.",
            ["endpoint", "status", "solver"], registry=reg)
        self.fallbacks = Counter(
            "ordersplit_fallbacks_total", "Plans whose status is fallback (a heuristic's plan).",
            ["endpoint"], registry=reg)
        self.rejected = Counter(
            "ordersplit_rejected_total",
            "Requests answered 503 without a plan (saturated, timeout, internal).",
            ["endpoint", "reason"], registry=reg)
        self.invalid = Counter(
            "ordersplit_invalid_requests_total", "Requests answered 422 with an error object.",
            ["endpoint"], registry=reg)
        self.replays = Counter(
            "ordersplit_idempotent_replays_total", "Answers replayed from the idempotency cache.",
            ["endpoint"], registry=reg)
        self.inflight = Gauge(
            "ordersplit_inflight_requests",
            "Requests admitted to the solver pool (running or queued).", registry=reg)
        self.http_inflight = Gauge(
            "ordersplit_http_inflight_requests", "HTTP requests being handled.", registry=reg)
        self.replaced = Gauge(
            "ordersplit_workers_replaced",
            "Solver workers killed and replaced since start (a job overran its budget plus "
            "the grace, or the worker died).", registry=reg)
        self.limit = Gauge(
            "ordersplit_inflight_limit", "Admission limit of the solver pool.", registry=reg)

    def child(self, metric: MetricWrapperBase, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: the per-request metrics skip the
        label validation and the lock each time (at most :data:`MAX_CHILDREN` kept)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = metric.labels(*labels)
            if len(self._children) < MAX_CHILDREN:
                self._children[key] = found
        return found

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
