"""Sizes and ids: bodies limited while they stream, bounded replay cache, ids every store holds."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from service_auth import AUTH, JSON_AUTH, config

from ordersplit.service.app import create_app
from ordersplit.service.idempotency import ENTRY_OVERHEAD, IdempotencyCache
from ordersplit.service.jobs import JobResult

CHUNK = 64 * 1024


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    """The 413 comes while the client is still sending: the rest is never read."""
    limit = 1024 * 1024
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(400 * 1024 * 1024 // CHUNK):  # 400 MB if nobody stops it
            sent += CHUNK
            yield b" " * CHUNK

    app = create_app(config(workers=1, max_body_bytes=limit))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     headers=JSON_AUTH) as c:
            return await c.post("/v1/split", content=chunks())

    try:
        r = asyncio.run(go())
    finally:
        app.state.service.pool.shutdown()
    assert r.status_code == 413 and r.headers["connection"] == "close"
    assert r.json()["error"]["message"] == f"request body over {limit} bytes"
    assert sent <= limit + 2 * CHUNK


def test_a_declared_length_over_the_limit_is_refused_before_reading(
        request_body: dict[str, Any]) -> None:
    with TestClient(create_app(config(workers=1, max_body_bytes=100)), headers=AUTH) as c:
        r = c.post("/v1/split", json=request_body)
        assert r.status_code == 413 and r.headers["connection"] == "close"
        bad = c.post("/v1/split", content=b"{}", headers={"Content-Length": "x1",
                                                          "Content-Type": "application/json"})
        assert bad.status_code in (400, 413)


def test_idempotency_keys_are_at_most_255_bytes(client: TestClient,
                                                request_body: dict[str, Any]) -> None:
    ok = client.post("/v1/presplit", json=request_body, headers={"Idempotency-Key": "k" * 255})
    assert ok.status_code == 200
    r = client.post("/v1/presplit", json=request_body, headers={"Idempotency-Key": "k" * 256})
    assert r.status_code == 422 and r.json()["error"]["field"] == "headers.Idempotency-Key"


def test_the_replay_cache_is_bounded_in_bytes() -> None:
    async def go() -> IdempotencyCache:
        cache = IdempotencyCache(capacity=10_000, max_bytes=200_000)
        for i in range(100):
            key = cache.key("split", f"{i:0255d}", b"d" * 16)
            answer, mine = cache.claim(key, b"d" * 16)
            assert mine
            answer.set_result(JobResult(200, b"x" * 10_000))
            await asyncio.sleep(0)  # the answer's size is counted when it is set
            assert cache.nbytes <= cache.max_bytes
        return cache

    cache = asyncio.run(go())
    per_entry = 10_000 + 255 + 16 + ENTRY_OVERHEAD
    assert len(cache) == 200_000 // per_entry
    assert cache.key("split", f"{99:0255d}", b"") in cache._entries  # the newest are kept


@pytest.mark.parametrize("raw, words", [
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b'{"order": "\xff\xfe"}', "not UTF-8"),
    (b'{"order": {"id": 1' + b"0" * 5000 + b"}}", "out of range"),
    (b'{"order": ', "malformed JSON at line 1"),
], ids=["deep", "latin-1", "5000 digits", "cut short"])
@pytest.mark.parametrize("path", ["/v1/split", "/v1/allocate"])
def test_error_texts_are_ours(client: TestClient, raw: bytes, words: str, path: str) -> None:
    r = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert words in message
    for python_text in ("Error", "Exception", "codec", "recursion", "Expecting"):
        assert python_text not in message


def test_allocate_needs_a_whole_request(client: TestClient) -> None:
    r = client.post("/v1/allocate", json={"request": {}, "children": [
        {"lines": [{"line_id": "L1", "quantity": 1}]}]})
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("request.")


def _stores() -> list[str]:
    pg = os.environ.get("ORDERSPLIT_TEST_PG_URL")
    return ["sqlite", *(["postgresql"] if pg else [])]


@pytest.mark.parametrize("backend", _stores())
def test_ids_are_bounded_on_every_store(backend: str, tmp_path: Path,
                                        request_body: dict[str, Any]) -> None:
    """What PostgreSQL cannot hold (NUL, over 160 characters) or a URL cannot carry back
    (``/``) is a 422 naming the field on every backend; the longest valid id round-trips."""
    url = (f"sqlite:///{tmp_path / 'orders.db'}" if backend == "sqlite"
           else os.environ["ORDERSPLIT_TEST_PG_URL"])
    long_id = "P" + os.urandom(8).hex() + "x" * 111  # 128 characters, new on every run
    with TestClient(create_app(config(workers=1, store_url=url)), headers=AUTH,
                    raise_server_exceptions=False) as c:
        for bad in ("P\x001", "P/1", "P" * 161, " P", "P 1"):
            request_body["order"]["id"] = bad
            r = c.post("/v1/split", json=request_body)
            assert r.status_code == 422 and r.json()["error"]["field"] == "order.id", r.text
            r = c.post("/v1/cancel", json={"order_id": bad})
            assert r.status_code == 422 and r.json()["error"]["field"] == "order_id"
            r = c.post("/v1/resplit", json={"order_id": bad})
            assert r.status_code == 422 and r.json()["error"]["field"] == "order_id"
        request_body["order"]["id"] = "P-1001"
        raw = orjson.dumps(request_body).replace(b'"shanghai"', b'"sh\\ud800"', 1)
        r = c.post("/v1/split", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "order.destination"
        for path_id in ("P" * 161, "P%001", "P%2F1"):
            r = c.get(f"/v1/orders/{path_id}")
            assert r.status_code in (404, 422), r.text  # %2F: no route, never a 5xx
        assert c.get(f"/v1/orders/{'P' * 161}").json()["error"]["field"] == "path.order_id"
        request_body["order"]["id"] = long_id
        assert c.post("/v1/split", json=request_body).status_code == 200
        tree = c.get(f"/v1/orders/{long_id}")
        assert tree.status_code == 200
        children = [o["id"] for o in tree.json()["orders"] if o["id"] != long_id]
        assert children and all(c.get(f"/v1/orders/{cid}").status_code == 200
                                for cid in children)
