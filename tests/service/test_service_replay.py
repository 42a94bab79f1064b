"""Durable replays: with a store, a restarted service answers a replay as the first time."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from service_auth import AUTH
from service_harness import make_app


def test_replays_survive_a_restart(store_url: str, request_body: dict[str, Any]) -> None:
    split_key = {"Idempotency-Key": "split-1"}
    cancel_key = {"Idempotency-Key": "cancel-1"}
    with TestClient(make_app(store_url=store_url), headers=AUTH) as c:
        first = c.post("/v1/split", json=request_body, headers=split_key)
        assert first.status_code == 200, first.text
        plan = first.json()
        shipments = [ch["id"] for ch in plan["children"] if ch["kind"] == "shipment"]
        cancel = {"order_id": shipments[0], "note": "customer"}
        cancelled = c.post("/v1/cancel", json=cancel, headers=cancel_key)
        assert cancelled.status_code == 200, cancelled.text
        sku = next(ch for ch in plan["children"] if ch["id"] == shipments[1])["lines"][0]["sku"]
        resplit = {"order_id": shipments[1], "shortage": {sku: 1}}
        resplit_body = c.post("/v1/resplit", json=resplit)  # no key: the body is the key
        assert resplit_body.status_code in (200, 409), resplit_body.text

    with TestClient(make_app(store_url=store_url), headers=AUTH) as c:  # a new service, nothing in memory
        again = c.post("/v1/split", json=request_body, headers=split_key)
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["Ordersplit-Stored"] == "created"  # as the first answer said
        twice = c.post("/v1/cancel", json=cancel, headers=cancel_key)
        assert twice.status_code == 200 and twice.content == cancelled.content
        assert twice.headers["Idempotent-Replayed"] == "true"
        other = c.post("/v1/cancel", json={**cancel, "note": "changed"}, headers=cancel_key)
        assert other.status_code == 422
        assert other.json()["error"]["field"] == "headers.Idempotency-Key"
        fresh = c.post("/v1/cancel", json=cancel, headers={"Idempotency-Key": "cancel-2"})
        assert fresh.status_code == 409  # a new request meets the cancelled order
        if resplit_body.status_code == 200:
            replayed = c.post("/v1/resplit", json=resplit)
            assert replayed.status_code == 200 and replayed.content == resplit_body.content
        tree = c.get(f"/v1/orders/{shipments[0]}").json()
        assert [o["status"] for o in tree["orders"]] == ["cancelled"]  # cancelled once
        assert len(tree["orders"][0]["history"]) == 2  # created, cancelled: nothing more
