"""What every request must pass before a handler sees it: key, content type, sizes.

A pure ASGI middleware, in this order:

1. **401** without a valid API key on a protected path (``/v1/*`` always; ``/metrics``
   and the OpenAPI document and ``/docs`` unless configured public);
2. **415** a request with a body (POST) that is not ``application/json``: a browser's
   form or ``text/plain`` post from another origin is refused before it is read;
3. **422** an ``Idempotency-Key`` over 255 bytes;
4. **413** a ``Content-Length`` over the body limit, answered before reading; a chunked
   body is counted while it streams and answered 413 as soon as it passes the limit, so
   at most the limit plus one network chunk is ever held.

Error answers to a request whose body was not read close the connection.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordersplit.service.auth import KeyRing, presented_key
from ordersplit.service.jobs import error_body

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_BYTES = 255
DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_protected(path: str, public_metrics: bool = False, public_docs: bool = False) -> bool:
    """Whether ``path`` needs an API key."""
    if path.startswith("/v1/"):
        return True
    if path == "/metrics":
        return not public_metrics
    if path in DOC_PATHS:
        return not public_docs
    return False


class BodyTooLargeError(Exception):
    """A request body passed the limit while it was being read."""


class GuardMiddleware:
    """Authentication, content type and size limits for every HTTP request."""

    def __init__(self, app: ASGIApp, keys: KeyRing | None, max_body_bytes: int,
                 public_metrics: bool = False, public_docs: bool = False) -> None:
        self.app = app
        self.keys = keys
        """``None``: authentication is off (``--no-auth``)."""
        self.max_body = max_body_bytes
        self.public_metrics = public_metrics
        self.public_docs = public_docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        rejection = self._check(scope, headers)
        if rejection is not None:
            status, message, field, extra = rejection
            await _answer(send, status, message, field, _has_body(headers), extra)
            return
        received = 0
        limit = self.max_body

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLargeError:
            if not started:
                await _answer(send, 413, f"request body over {limit} bytes", "", True)
        except ClientDisconnect:
            log.info("client went away while sending %s %s", scope.get("method"),
                     scope.get("path"))

    def _check(self, scope: Scope, headers: list[tuple[bytes, bytes]]
               ) -> tuple[int, str, str, list[tuple[bytes, bytes]]] | None:
        if self.keys is not None and is_protected(scope["path"], self.public_metrics,
                                                  self.public_docs):
            self.keys.reload_if_changed()
            if not self.keys.verify(presented_key(headers)):
                return (401, "a valid API key is required (Authorization: Bearer <key> or "
                        "X-API-Key)", "headers.Authorization",
                        [(b"www-authenticate", b'Bearer realm="ordersplit"')])
        content_type = b""
        length = b""
        idem = b""
        for name, value in headers:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == b"idempotency-key":
                idem = value
        if scope["method"] in BODY_METHODS and not _is_json(content_type):
            return (415, "the body must be JSON, sent as Content-Type: application/json",
                    "headers.Content-Type", [])
        if len(idem) > MAX_IDEMPOTENCY_KEY_BYTES:
            return (422, f"Idempotency-Key is over {MAX_IDEMPOTENCY_KEY_BYTES} bytes",
                    "headers.Idempotency-Key", [])
        if length:
            if not length.strip().isdigit():
                return 400, "Content-Length is not a number", "headers.Content-Length", []
            if int(length) > self.max_body:
                return 413, f"request body over {self.max_body} bytes", "", []
        return None


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length" and value.strip() not in (b"", b"0"):
            return True
    return False


async def _answer(send: Send, status: int, message: str, field: str, close: bool,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_body(message, field)
    headers: list[Any] = [(b"content-type", b"application/json"),
                          (b"content-length", str(len(body)).encode()), *(extra or [])]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
