"""The real paths: a process pool, and the lifecycle store behind split/resplit/cancel/show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from service_auth import AUTH, config

from ordersplit.service.app import create_app


def test_process_pool_and_store(tmp_path: Path, request_body: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    # a generous grace: the worker process's first job loads ordersplit on a loaded machine
    app = create_app(config(workers=1, pool="process", store_url=url, grace_ms=600_000))
    with TestClient(app, headers=AUTH) as c:
        assert c.get("/healthz").json()["lifecycle"] is True
        first = c.post("/v1/split", json=request_body)
        assert first.status_code == 200, first.text
        assert first.headers["Ordersplit-Stored"] == "created"
        plan = first.json()
        # the same order and body with another key: computed again, stored once
        again = c.post("/v1/split", json=request_body, headers={"Idempotency-Key": "x"})
        assert again.headers["Ordersplit-Stored"] == "existing"
        assert again.json()["children"] == plan["children"]
        request_body["order"]["destination"] = "elsewhere"
        conflict = c.post("/v1/split", json=request_body)
        assert conflict.status_code == 409 and conflict.json()["error"]["order_id"] == "P-1001"

        tree = c.get("/v1/orders/P-1001")
        assert tree.status_code == 200
        assert {o["id"] for o in tree.json()["orders"]} >= {ch["id"] for ch in plan["children"]}
        assert c.get("/v1/orders/NOPE").status_code == 404

        shipment = next(ch for ch in plan["children"] if ch["kind"] == "shipment")
        cancel = c.post("/v1/cancel", json={"order_id": shipment["id"], "note": "test"})
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["order_id"] == shipment["id"]
        twice = c.post("/v1/cancel", json={"order_id": shipment["id"], "note": "again"})
        assert twice.status_code == 409
        assert c.post("/v1/cancel", json={"id": "x"}).status_code == 422

        other = next(ch for ch in plan["children"]
                     if ch["kind"] == "shipment" and ch["id"] != shipment["id"])
        sku = other["lines"][0]["sku"]
        r = c.post("/v1/resplit", json={"order_id": other["id"], "shortage": {sku: 1}})
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            assert all(ch["level"] == 3 for ch in r.json()["children"])
        assert c.post("/v1/resplit", json={"order_id": "NOPE"}).status_code == 404


def test_resplit_bad_shortage_is_422_and_release_path(tmp_path: Path,
                                                      request_body: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    app = create_app(config(workers=1, pool="thread", store_url=url))
    with TestClient(app, headers=AUTH) as c:
        assert c.post("/v1/split", json=request_body).status_code == 200
        r = c.post("/v1/resplit", json={"order_id": "P-1001-1", "shortage": {"MILK-1L": -1}})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert (error["order_id"], error["field"]) == ("P-1001-1", "shortage.MILK-1L")
        assert "1" in error["message"]  # the bound the shortage breaks
        # the fridge triggers the gift bag: cancelling it holds the gift until released
        r = c.post("/v1/cancel", json={"order_id": "P-1001-3"})
        assert r.status_code == 200, r.text
        assert [(a["order_id"], a["action"]) for a in r.json()["linked"]] == [
            ("P-1001-4", "hold")]
        r = c.post("/v1/resplit", json={"order_id": "P-1001-4", "shortage": {"GIFT-BAG": 1}})
        assert r.status_code == 409
        r = c.post("/v1/release", json={"order_id": "P-1001-4"})
        assert r.status_code == 200 and r.json() == {"order_id": "P-1001-4",
                                                     "status": "pending_shipment"}
        again = c.post("/v1/release", json={"order_id": "P-1001-4", "note": "again"})
        assert again.status_code == 409  # (the same body would be an idempotent replay)
        assert c.post("/v1/release", json={"order_id": "NOPE"}).status_code == 404
        assert c.post("/v1/release", json={"id": "x"}).status_code == 422
