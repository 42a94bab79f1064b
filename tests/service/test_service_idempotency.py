"""Idempotency-Key (or the same body): the same answer, computed once."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from service_auth import JSON_AUTH, config

from ordersplit.service import app as app_module
from ordersplit.service.app import create_app
from ordersplit.service.jobs import Budget, JobResult


def test_same_key_same_plan(client: TestClient, request_body: dict[str, Any]) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.post("/v1/split", json=request_body, headers=headers)
    again = client.post("/v1/split", json=request_body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content  # byte for byte, runtime_ms included
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_same_body_without_key_is_replayed(client: TestClient,
                                           request_body: dict[str, Any]) -> None:
    raw = orjson.dumps(request_body)
    first = client.post("/v1/split", content=raw, headers=JSON_AUTH)
    again = client.post("/v1/split", content=raw, headers=JSON_AUTH)
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/v1/presplit", content=raw, headers=JSON_AUTH)  # another endpoint, another answer
    assert "Idempotent-Replayed" not in other.headers


def test_key_reused_with_another_body(client: TestClient, request_body: dict[str, Any]) -> None:
    headers = {"Idempotency-Key": "k-2"}
    assert client.post("/v1/split", json=request_body, headers=headers).status_code == 200
    request_body["order"]["destination"] = "beijing"
    r = client.post("/v1/split", json=request_body, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "headers.Idempotency-Key"


def test_concurrent_duplicates_solve_once(monkeypatch: pytest.MonkeyPatch,
                                          request_body: dict[str, Any]) -> None:
    calls: list[float] = []
    lock = threading.Lock()

    def slow(raw: bytes, budget: Budget) -> JobResult:
        with lock:
            calls.append(time.monotonic())
        time.sleep(0.2)
        return JobResult(200, b'{"ok": true}', "P-1001", "optimal", "stub")

    monkeypatch.setattr(app_module, "run_split", slow)
    app = create_app(config(workers=2, max_inflight=8))

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     headers=JSON_AUTH) as c:
            return list(await asyncio.gather(*(
                c.post("/v1/split", json=request_body, headers={"Idempotency-Key": "dup"})
                for _ in range(5))))

    responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [200] * 5
    assert len(calls) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 4
    app.state.service.pool.shutdown()
