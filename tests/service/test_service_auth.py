"""Authentication, content type and CORS: what a browser page or a stranger can do."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_auth import API_KEY, AUTH, config

from ordersplit.service.app import create_app
from ordersplit.service.auth import KeyFileError, KeyRing, key_digest, parse_digests

ENDPOINTS = [("POST", "/v1/split"), ("POST", "/v1/presplit"), ("POST", "/v1/allocate"),
             ("POST", "/v1/resplit"), ("POST", "/v1/cancel"), ("GET", "/v1/orders/P-1")]


@pytest.fixture
def anonymous() -> Any:
    """The service with the test key configured, and a client that sends no key."""
    with TestClient(create_app(config(workers=1)), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_endpoint_needs_a_key(anonymous: TestClient, method: str, path: str,
                                    request_body: dict[str, Any]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": API_KEY[:-1]},
                    {"Authorization": f"Basic {API_KEY}"}):
        r = anonymous.request(method, path, json=request_body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.json()["error"]["field"] == "headers.Authorization"


def test_either_header_carries_the_key(anonymous: TestClient,
                                       request_body: dict[str, Any]) -> None:
    for headers in (AUTH, {"X-API-Key": API_KEY}, {"authorization": f"bearer {API_KEY}"}):
        assert anonymous.post("/v1/presplit", json=request_body, headers=headers).status_code \
            == 200


@pytest.mark.parametrize("content_type, body", [
    ("text/plain", '{"order_id": "P-1001-1"}'),
    ("application/x-www-form-urlencoded", "order_id=P-1001-1"),
    ("multipart/form-data; boundary=x", "--x\r\n\r\nP-1001-1\r\n--x--"),
    (None, '{"order_id": "P-1001-1"}'),
])
def test_a_cross_site_cancel_is_refused(tmp_path: Path, content_type: str | None,
                                        body: str) -> None:
    """What a web page can send to another origin without a preflight: 401, then 415."""
    store = f"sqlite:///{tmp_path / 'orders.db'}"
    headers = {"Content-Type": content_type} if content_type else {}
    with TestClient(create_app(config(workers=1, store_url=store))) as c:
        r = c.post("/v1/cancel", content=body, headers={**headers, "Origin": "https://evil.example"})
        assert r.status_code == 401
        assert "access-control-allow-origin" not in r.headers
        r = c.post("/v1/cancel", content=body, headers={**headers, **AUTH})
        assert r.status_code == 415 and r.json()["error"]["field"] == "headers.Content-Type"
        r = c.post("/v1/cancel", json={"order_id": "P-1001-1"}, headers=AUTH)
        assert r.status_code == 404  # JSON with a key reaches the store


def test_metrics_and_docs_need_a_key_unless_public(anonymous: TestClient) -> None:
    for path in ("/metrics", "/openapi.json", "/docs"):
        assert anonymous.get(path).status_code == 401
        assert anonymous.get(path, headers=AUTH).status_code == 200
    assert anonymous.get("/healthz").status_code == 200  # liveness probes carry no key
    app = create_app(config(workers=1, public_metrics=True, public_docs=True))
    with TestClient(app) as c:
        for path in ("/metrics", "/openapi.json", "/docs"):
            assert c.get(path).status_code == 200
        assert c.post("/v1/split", json={}).status_code == 401


def test_openapi_documents_the_keys(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    split = doc["paths"]["/v1/split"]["post"]
    assert split["security"] and {"401", "413", "415", "422"} <= set(split["responses"])
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_no_auth_is_open_and_warns(caplog: pytest.LogCaptureFixture,
                                   request_body: dict[str, Any]) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(config(workers=1, no_auth=True))
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)
    with TestClient(app) as c:
        assert c.post("/v1/presplit", json=request_body).status_code == 200
        assert c.get("/metrics").status_code == 200
        assert "securitySchemes" not in c.get("/openapi.json").json()["components"]


def test_no_keys_configured_refuses_everything(caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERSPLIT_API_KEY_HASHES", raising=False)
    monkeypatch.delenv("ORDERSPLIT_API_KEYS_FILE", raising=False)
    with caplog.at_level(logging.ERROR):
        app = create_app(config(workers=1, api_key_hashes=()))
    assert any("no API keys" in r.getMessage() for r in caplog.records)
    with TestClient(app) as c:
        assert c.post("/v1/split", json={}, headers=AUTH).status_code == 401


def test_keys_rotate_through_the_file(tmp_path: Path, request_body: dict[str, Any]) -> None:
    old, new = "old-key-8b1e0c2f7d9a4e6b", "new-key-5c3a9e1d7f2b4a6c"
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# ops team\n{key_digest(old)}  -\n")
    app = create_app(config(workers=1, api_key_hashes=(), api_keys_file=str(keys)))
    with TestClient(app) as c:
        def status(key: str) -> int:
            return c.post("/v1/presplit", json=request_body,
                          headers={"Authorization": f"Bearer {key}"}).status_code

        assert (status(old), status(new)) == (200, 401)
        keys.write_text(f"sha256:{key_digest(old)}\nsha256:{key_digest(new)}\n")
        time.sleep(1.1)  # the file is looked at no more than once a second
        assert (status(old), status(new)) == (200, 200)  # both valid while clients move
        keys.write_text(f"{key_digest(new)}\n")
        os.utime(keys, ns=(time.time_ns(), time.time_ns() + 10**9))
        time.sleep(1.1)
        assert (status(old), status(new)) == (401, 200)
        keys.write_text(API_KEY)  # a plain key by mistake: refused, the old keys stay
        time.sleep(1.1)
        assert (status(old), status(new), status(API_KEY)) == (401, 200, 401)


def test_key_files_hold_digests_only(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="line 2"):
        parse_digests(f"{key_digest('a')}\nmy-secret-key\n", "keys.txt")
    bad = tmp_path / "keys.txt"
    bad.write_text("my-secret-key\n")
    with pytest.raises(ValueError):
        create_app(config(workers=1, api_keys_file=str(bad)))
    ring = KeyRing(parse_digests(f"{key_digest('k1')},{key_digest('k2')}", "env"))
    assert ring.verify(b"k1") and ring.verify(b"k2") and not ring.verify(b"k3")
    assert not ring.verify(b"") and not ring.verify(b"k1" * 1000)


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                   request_body: dict[str, Any]) -> None:
    monkeypatch.setenv("ORDERSPLIT_API_KEY_HASHES", f"{key_digest('env-key-1')} "
                                                    f"{key_digest('env-key-2')}")
    with TestClient(create_app(config(workers=1, api_key_hashes=()))) as c:
        for key in ("env-key-1", "env-key-2"):
            r = c.post("/v1/presplit", json=request_body, headers={"X-API-Key": key})
            assert r.status_code == 200


def test_cors_is_off_unless_configured(anonymous: TestClient) -> None:
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    r = anonymous.options("/v1/split", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    app = create_app(config(workers=1, cors_origins=("https://shop.example",)))
    with TestClient(app) as c:
        r = c.options("/v1/split", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://shop.example"
        other = c.options("/v1/split", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        r = c.get("/healthz", headers={"Origin": "https://shop.example"})
        assert r.headers["access-control-allow-origin"] == "https://shop.example"
