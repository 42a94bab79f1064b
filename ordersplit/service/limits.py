"""Connection limits for ``ordersplit serve``: header size, read timeouts, lingering close.

uvicorn's HTTP protocol (httptools) keeps whatever headers a client sends and waits for a
slow client forever. :func:`limited_protocol` returns a subclass of it that

* answers **431** once the request line and headers pass ``max_header_bytes`` without
  being complete (at most that plus one network read is ever held);
* answers **408** and closes when the request line and headers take longer than
  ``header_timeout_s`` (counted from the connection's start or the request's first byte),
  or the body longer than ``body_timeout_s`` after the headers;
* closes "lingering" when it answers before the request's body was read (401, 413, 415,
  431): it stops parsing, drops whatever still arrives for a short while, then closes, so
  the client reads the answer instead of a connection reset.

These limits live below the ASGI app (a FastAPI middleware never sees a request before
its headers are complete), so they only apply under ``ordersplit serve``; the app's own
limits (:mod:`ordersplit.service.guard`) apply everywhere.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ordersplit.service.jobs import error_body

log = logging.getLogger(__name__)

REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
LINGER_S = 2.0
"""How long a connection answered early keeps draining the client's bytes."""
LINGER_BYTES = 16 * 1024 * 1024
"""How many such bytes it drops before it closes anyway."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits one connection is held to."""

    max_header_bytes: int = 16 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0


class _LingeringTransport:
    """The connection's transport as the request cycle sees it: ``close()`` lingers."""

    def __init__(self, protocol: LimitedHttpProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport
        self.write = transport.write  # every answer: no trip through __getattr__

    def close(self) -> None:
        self._protocol.linger()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header size, read timeouts and lingering close."""

    limits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._in_body = False
        self._timer: asyncio.TimerHandle | None = None
        self.lingering = False
        self._dropped = 0
        self._raw: asyncio.Transport | None = None

    # connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._raw = transport
        self.transport = _LingeringTransport(self, transport)  # type: ignore[assignment]
        self._arm(self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._raw is not None:
            self.transport = self._raw
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            self._dropped += len(data)
            if self._dropped > LINGER_BYTES:
                self._close_now()
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._timer is None:
                self._arm(self.limits.header_timeout_s)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.limits.max_header_bytes \
                and not self.lingering:
            self._reject(431, f"request line and headers over {self.limits.max_header_bytes} "
                              "bytes")

    # parser callbacks

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        self._arm(self.limits.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._in_body = False
        self._disarm()

    # limits

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.lingering or self._raw is None or self._raw.is_closing():
            return
        what = "headers" if self._in_head else "body"
        log.info("closing a connection from %s: the request's %s took too long", self.client,
                 what)
        self._reject(408, f"the request's {what} did not arrive in time")

    def _reject(self, status: int, message: str) -> None:
        """Answer ``status`` unless a response already started, then linger and close."""
        cycle = self.cycle
        started = cycle is not None and cycle.response_started and not cycle.response_complete
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's own answer, if any, goes nowhere now
            cycle.message_event.set()
        if not started and self._raw is not None:
            body = error_body(message)
            head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n"
                    % (status, REASONS[status], len(body)))
            self._raw.write(head + body)
        self.linger()

    def linger(self) -> None:
        """Stop parsing; drop what the client still sends for a moment; then close."""
        if self.lingering or self._raw is None:
            return
        if not (self._in_head and self._head_bytes == 0) and not self._raw.is_closing():
            self.lingering = True
            self._disarm()
            self.flow.resume_reading()
            if self._raw.can_write_eof():
                self._raw.write_eof()
            self._timer = self.loop.call_later(LINGER_S, self._close_now)
        else:
            self._close_now()

    def _close_now(self) -> None:
        self._disarm()
        if self._raw is not None and not self._raw.is_closing():
            self._raw.close()


def limited_protocol(limits: ConnectionLimits) -> type[LimitedHttpProtocol]:
    """The protocol class for uvicorn's ``http=`` with ``limits``."""
    return type("LimitedHttp", (LimitedHttpProtocol,), {"limits": limits})
