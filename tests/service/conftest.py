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
from service_harness import make_app

from tests.lifecycle.conftest import store_url  # noqa: F401 - a fixture: both backends

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
