"""Pure ASGI middleware: latency metrics per route, and a last guard against any 500."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordersplit.service.jobs import error_body
from ordersplit.service.metrics import Metrics

log = logging.getLogger(__name__)

ARRIVAL = "ordersplit.arrival"
"""Scope key: ``time.monotonic()`` when the request reached the service."""


class ObserveMiddleware:
    """Times every HTTP request; turns an escaped exception into a 503 error object."""

    def __init__(self, app: ASGIApp, metrics: Metrics, retry_after_s: int = 1) -> None:
        self.app = app
        self.metrics = metrics
        self.retry_after = str(retry_after_s).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.monotonic()
        scope[ARRIVAL] = t0
        state: dict[str, Any] = {"status": 0}

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        self.metrics.http_inflight.inc()
        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not state["status"]:
                state["status"] = 503
                await self._internal_error(send)
        finally:
            self.metrics.http_inflight.dec()
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.child(self.metrics.latency, scope.get("method", ""), route,
                               str(state["status"])).observe(time.monotonic() - t0)

    async def _internal_error(self, send: Send) -> None:
        body = error_body("internal error; the request was not processed")
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", self.retry_after)]})
        await send({"type": "http.response.body", "body": body})
