"""How the service tests build the service in process: one place to adapt.

``make_app`` builds the app (for TestClient or httpx's ASGI transport);
:func:`service_auth.serve` runs ``ordersplit serve`` as its own process.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi import FastAPI
from service_auth import config as auth_config

from ordersplit.service.app import create_app


def make_app(**config: Any) -> FastAPI:
    """The service app with ``config`` (``ServiceConfig`` fields; thread pool by default),
    with :data:`service_auth.API_KEY` valid: clients send :data:`service_auth.AUTH`."""
    return create_app(auth_config(**{"workers": 2, **config}))


def settle(url: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """``/healthz`` once nothing is in flight any more (or after ``timeout_s``)."""
    end = time.monotonic() + timeout_s
    while True:
        health: dict[str, Any] = httpx.get(url + "/healthz", timeout=5).json()
        if health["inflight"] == 0 or time.monotonic() > end:
            return health
        time.sleep(0.05)
