"""The solving endpoints' direct route: ``POST`` bodies to the pool without FastAPI's router.

A split costs the event loop well under a millisecond, and a good part of it was the
framework around the handler: the router trying each route, dependency solving, a
``Request`` and a ``Response`` object. :class:`SolveRoutes` is a pure ASGI middleware
placed *inside* the guard (authentication, content type, body and key limits) and the
observing middleware (metrics, the last guard against a 500): a ``POST`` to one of its
exact paths has its body read and answered with ready bytes and precomputed headers;
everything else (other methods and paths, a trailing slash) goes on to the router. The
FastAPI routes of the same paths stay, for the OpenAPI document, and call the same
handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from ordersplit.service.handlers import HttpAnswer

Handler = Callable[[Scope, bytes], Awaitable[HttpAnswer]]
"""Answers one request from its scope and its whole body."""


async def read_body(receive: Receive) -> bytes:
    """The whole request body (bounded while it streams by the guard's ``receive``)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), decoded as Latin-1."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SolveRoutes:
    """``POST`` to the paths of ``handlers`` answered directly; anything else passed on."""

    def __init__(self, app: ASGIApp, handlers: Mapping[str, Handler],
                 routes: Mapping[str, Any]) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.routes = dict(routes)
        """The router's route of each path (``scope["route"]``: the metrics' label)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handlers.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["route"] = self.routes.get(scope["path"])
        status, body, headers = await handler(scope, await read_body(receive))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
