"""How the service tests build the service: one place to adapt (e.g. to authentication).

``make_app`` builds the app in process (for TestClient or httpx's ASGI transport);
``serve`` runs ``ordersplit serve`` as its own process on a free loopback port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from service_auth import API_KEY
from service_auth import config as auth_config

from ordersplit.lifecycle import open_store
from ordersplit.lifecycle import schema as t
from ordersplit.service.app import create_app
from ordersplit.service.auth import key_digest

ROOT = Path(__file__).resolve().parents[2]


def make_app(**config: Any) -> FastAPI:
    """The service app with ``config`` (``ServiceConfig`` fields; thread pool by default),
    with :data:`service_auth.API_KEY` valid: clients send :data:`service_auth.AUTH`."""
    return create_app(auth_config(**{"workers": 2, **config}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(*args: str, startup_s: float = 180.0) -> Iterator[str]:
    """``ordersplit serve *args`` on a free loopback port; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "ORDERSPLIT_API_KEY_HASHES": key_digest(API_KEY)}
    proc = subprocess.Popen([sys.executable, "-m", "ordersplit.cli", "serve", "--port", str(port),
                             *args], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + startup_s
        while True:
            assert proc.poll() is None, "the server exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < end, "the server did not come up"
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def settle(url: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """``/healthz`` once nothing is in flight any more (or after ``timeout_s``)."""
    end = time.monotonic() + timeout_s
    while True:
        health: dict[str, Any] = httpx.get(url + "/healthz", timeout=5).json()
        if health["inflight"] == 0 or time.monotonic() > end:
            return health
        time.sleep(0.05)


def pg_url() -> str | None:
    """The test PostgreSQL URL (``$ORDERSPLIT_TEST_PG_URL`` or ``.ci/pg_url``), or ``None``."""
    url = os.environ.get("ORDERSPLIT_TEST_PG_URL")
    if not url and (ROOT / ".ci" / "pg_url").is_file():
        url = (ROOT / ".ci" / "pg_url").read_text().strip()
    return url or None


def fresh_store_url(backend: str, tmp_path: Path) -> str | None:
    """An empty store of ``backend`` ("sqlite" or "postgresql"), ``None`` if unavailable."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'orders.db'}"
    url = pg_url()
    if url is not None:
        store = open_store(url, create=False)
        t.metadata.drop_all(store.engine)
        store.close()
    return url
