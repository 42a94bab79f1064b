"""Fixtures of the HTTP service tests: an app on a thread pool, the contract's example."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from fastapi.testclient import TestClient
from service_auth import AUTH
from service_harness import fresh_store_url, make_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contract_order.json"


@pytest.fixture
def request_body() -> dict[str, Any]:
    """A fresh copy of the contract's example request."""
    return copy.deepcopy(json.loads(EXAMPLE.read_text()))


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The service on a two-thread solver pool (the process pool has its own test), with
    real authentication: every request carries the test API key."""
    app = make_app()
    with TestClient(app, raise_server_exceptions=False, headers=AUTH) as c:
        yield c


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each backend (PostgreSQL: ``$ORDERSPLIT_TEST_PG_URL``)."""
    url = fresh_store_url(request.param, tmp_path)
    if url is None:
        pytest.skip("no PostgreSQL: set ORDERSPLIT_TEST_PG_URL or run .ci/services")
    return url
