"""The API key the service tests use, and a real ``ordersplit serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ordersplit.service.auth import key_digest
from ordersplit.service.config import ServiceConfig

API_KEY = "test-key-3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"
"""A key valid in every service test (its digest is configured, never the key)."""
AUTH = {"Authorization": f"Bearer {API_KEY}"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PATH = ROOT / "examples" / "contract_order.json"


def config(**kwargs: Any) -> ServiceConfig:
    """A service config with :data:`API_KEY` valid (and a thread pool, a long queue wait
    and a long grace unless told)."""
    kwargs.setdefault("pool", "thread")
    kwargs.setdefault("api_key_hashes", (key_digest(API_KEY),))
    # a loaded test machine must not turn a slow pick-up or solve into a 503: the tests
    # of the queue wait and the grace set them explicitly
    kwargs.setdefault("max_queue_wait_ms", 60_000)
    kwargs.setdefault("grace_ms", 60_000)
    return ServiceConfig(**kwargs)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running ``ordersplit serve``: its base URL and process."""

    url: str
    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def serve(*flags: str, keys_file: Path | None = None, start_timeout_s: float = 120.0,
          env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run ``ordersplit serve`` on a free loopback port until the block ends.

    Without ``keys_file`` the key given by ``$ORDERSPLIT_API_KEY_HASHES`` is
    :data:`API_KEY`.
    """
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    extra: list[str] = []
    if keys_file is not None:
        extra = ["--api-keys", str(keys_file)]
    elif "--no-auth" not in flags:
        environ.setdefault("ORDERSPLIT_API_KEY_HASHES", key_digest(API_KEY))
    # the server's log goes to a file, not a pipe: a long run must never block on it
    with tempfile.TemporaryFile() as log:
        for attempt in range(PORT_TRIES):
            # a port free a moment ago can be taken before the server binds it: try another
            port = free_port()
            cmd = [sys.executable, "-c",
                   "import sys; from ordersplit.cli import main; sys.exit(main())",
                   "serve", "--host", "127.0.0.1", "--port", str(port), *flags, *extra]
            log.seek(0)
            log.truncate()
            process = subprocess.Popen(cmd, env=environ, stdout=subprocess.DEVNULL, stderr=log)
            url = f"http://127.0.0.1:{port}"
            try:
                if _started(process, url, log, start_timeout_s, attempt + 1 < PORT_TRIES):
                    yield Served(url, port, process)
                    return
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


PORT_TRIES = 3


def _started(process: subprocess.Popen[bytes], url: str, log: Any, timeout_s: float,
             may_retry: bool) -> bool:
    """Wait until the server at ``url`` answers ``/healthz``: True; False when it exited
    because its port was taken meanwhile and ``may_retry``; else raise why it did not."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            if may_retry and "address already in use" in err.lower():
                return False
            raise RuntimeError(f"ordersplit serve exited {process.returncode}: {err}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("ordersplit serve did not start in time")
        time.sleep(0.2)
