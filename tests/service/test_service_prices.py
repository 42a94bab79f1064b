"""``PUT``/``GET /v1/prices``: the stock prices the service holds for ``stock_value``.

Authenticated like every ``/v1/`` path, validated by field; a split that asks for
``stock_value`` without prices of its own is priced with the held ones (in thread and
process workers alike) and echoes their version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_auth import AUTH
from service_harness import make_app

from ordersplit import split

PRICES = {"version": "2026-12-07T03:00:00Z-0a1b2c3d4e5f",
          "prices": {"SH-1": {"ICE-CREAM": 5.5, "MILK-1L": 0.25}, "HZ-2": {"ICE-CREAM": 0.5},
                     "FAR-9": {"ICE-CREAM": 1.0}}}


def _priced(body: dict[str, Any]) -> dict[str, Any]:
    body["options"]["objective"] = ["children", "stock_value", "delivery"]
    body["options"]["time_limit_ms"] = 30_000
    return body


def _ice_cream_from(plan: dict[str, Any]) -> str:
    return next(c["warehouse"] for c in plan["children"]
                if any(line["sku"] == "ICE-CREAM" for line in c["lines"]))


def test_prices_need_an_api_key() -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as anonymous:
        assert anonymous.put("/v1/prices", json=PRICES).status_code == 401
        assert anonymous.get("/v1/prices").status_code == 401
        bad = anonymous.put("/v1/prices", json=PRICES, headers={"X-API-Key": "wrong"})
        assert bad.status_code == 401
        assert bad.json()["error"]["field"] == "headers.Authorization"


def test_load_then_read_back(client: TestClient) -> None:
    assert client.get("/v1/prices").json()["version"] is None
    r = client.put("/v1/prices", json=PRICES)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == PRICES["version"] and r.json()["count"] == 4
    got = client.get("/v1/prices").json()
    assert got["version"] == PRICES["version"]
    assert got["count"] == 4 and got["warehouses"] == 3 and got["loaded_at"]


@pytest.mark.parametrize(("body", "field"), [
    ({"version": "v", "prices": {"SH-1": {"MILK-1L": -0.5}}}, "prices.SH-1.MILK-1L"),
    ({"version": "v", "prices": {"SH-1": {"MILK-1L": "1"}}}, "prices.SH-1.MILK-1L"),
    ({"version": "v", "prices": {"SH 1": {}}}, "prices.SH 1"),
    ({"version": "", "prices": {}}, "version"),
    ({"prices": {}}, "version"),
    ({"version": "v", "prices": {}, "more": 1}, "more"),
    ([1, 2], ""),
])
def test_bad_prices_are_named_and_not_loaded(client: TestClient, body: Any, field: str) -> None:
    r = client.put("/v1/prices", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert client.get("/v1/prices").json()["version"] is None


def test_malformed_and_oversized_bodies() -> None:
    app = make_app(max_body_bytes=2048)
    with TestClient(app, raise_server_exceptions=False, headers=AUTH) as c:
        r = c.put("/v1/prices", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        big = {"version": "v", "prices": {f"W{i}": {"A": 1.0} for i in range(500)}}
        assert c.put("/v1/prices", json=big).status_code == 413
        assert c.put("/v1/prices", content=b"{}", headers={"Content-Type": "text/plain"}
                     ).status_code == 415


def test_split_without_held_prices_is_a_named_422(client: TestClient,
                                                  request_body: dict[str, Any]) -> None:
    r = client.post("/v1/split", json=_priced(request_body))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "options.stock_prices"


def test_split_uses_the_held_prices_and_echoes_their_version(
        client: TestClient, request_body: dict[str, Any]) -> None:
    client.put("/v1/prices", json=PRICES)
    r = client.post("/v1/split", json=_priced(request_body))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["stock_prices_version"] == PRICES["version"]
    assert _ice_cream_from(plan) == "HZ-2"  # the slower warehouse, whose stock is cheaper
    direct = split({**request_body, "options": {**request_body["options"],
                                                "stock_prices": PRICES}})
    assert plan["objective"] == direct.objective.model_dump(mode="json")
    # a refresh: the next split is priced with (and echoes) the new version
    client.put("/v1/prices", json={"version": "v2", "prices": {"HZ-2": {"ICE-CREAM": 9}}})
    plan = client.post("/v1/split", json=_priced(request_body)).json()
    assert plan["stock_prices_version"] == "v2" and _ice_cream_from(plan) == "SH-1"
    promise = client.post("/v1/presplit", json=_priced(request_body))
    assert promise.status_code == 200, promise.text


def test_a_request_with_its_own_prices_keeps_them(client: TestClient,
                                                  request_body: dict[str, Any]) -> None:
    client.put("/v1/prices", json=PRICES)
    body = _priced(request_body)
    body["options"]["stock_prices"] = {"version": "mine", "prices": {}}
    plan = client.post("/v1/split", json=body).json()
    assert plan["stock_prices_version"] == "mine"
    assert plan["objective"]["stock_value"] == 0.0


def test_a_split_without_stock_value_is_untouched(client: TestClient,
                                                  request_body: dict[str, Any]) -> None:
    client.put("/v1/prices", json=PRICES)
    plan = client.post("/v1/split", json=request_body).json()
    assert "stock_prices_version" not in plan and "stock_value" not in plan["objective"]


@pytest.fixture
def process_client() -> Iterator[TestClient]:
    app = make_app(pool="process", workers=1, max_time_limit_ms=30_000)
    with TestClient(app, raise_server_exceptions=False, headers=AUTH) as c:
        yield c


def test_prices_reach_process_workers(process_client: TestClient,
                                      request_body: dict[str, Any]) -> None:
    process_client.put("/v1/prices", json=PRICES)
    assert process_client.post("/v1/split", json=request_body).status_code == 200  # warm
    r = process_client.post("/v1/split", json=_priced(request_body))
    assert r.status_code == 200, r.text
    assert r.json()["stock_prices_version"] == PRICES["version"]
    plan = r.json()
    assert _ice_cream_from(plan) == "HZ-2", (plan["status"], plan["solver"])


def test_only_the_requests_cells_are_injected(request_body: dict[str, Any]) -> None:
    """A large held table: a request gets its own warehouses' prices of its catalog SKUs
    and nothing else (the body the worker sees stays the request's size)."""
    from ordersplit.models.request import StockPriceTable
    from ordersplit.service.prices import PriceBook

    book = PriceBook()
    table = {f"W{w}": {f"S{k}": 1.0 for k in range(2000)} for w in range(50)}
    table["SH-1"] = {"MILK-1L": 0.25, **{f"S{k}": 2.0 for k in range(2000)}}
    book.load(StockPriceTable.model_validate({"version": "big", "prices": table}))
    assert book.for_request(request_body) is None  # no stock_value asked for
    cells = book.for_request(_priced(request_body))
    assert cells == {"version": "big", "prices": {"SH-1": {"MILK-1L": 0.25}}}
    request_body["options"]["stock_prices"] = {"version": "own", "prices": {}}
    assert book.for_request(request_body) is None  # its own prices win
