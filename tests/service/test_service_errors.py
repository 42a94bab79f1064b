"""Bad input answers 422 with the contract's error object naming the order and the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_auth import AUTH, config


def _error(r: Any, status: int = 422) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"order_id", "field", "message"}
    return dict(body["error"])


@pytest.mark.parametrize("path", ["/v1/split", "/v1/presplit", "/v1/allocate"])
@pytest.mark.parametrize("raw", [b"{", b"", b"[1, 2]", b"null", b"\xff\xfe", b'"text"'])
def test_malformed_bodies(client: TestClient, path: str, raw: bytes) -> None:
    err = _error(client.post(path, content=raw, headers={"Content-Type": "application/json"}))
    assert err["field"] == "" and err["message"]


def test_names_field_and_order(client: TestClient, request_body: dict[str, Any]) -> None:
    request_body["order"]["lines"][2]["quantity"] = 0
    err = _error(client.post("/v1/split", json=request_body))
    assert err["order_id"] == "P-1001" and err["field"] == "order.lines[2].quantity"


def test_cross_field_check(client: TestClient, request_body: dict[str, Any]) -> None:
    request_body["order"]["payments"][0]["amount"] = "21.00"
    err = _error(client.post("/v1/presplit", json=request_body))
    assert (err["order_id"], err["field"]) == ("P-1001", "order.payments")


def test_same_error_as_the_cli(client: TestClient, request_body: dict[str, Any]) -> None:
    from ordersplit.errors import RequestError
    from ordersplit.models.validate import parse_request

    request_body["options"]["solver"] = "magic"
    with pytest.raises(RequestError) as exc:
        parse_request(request_body)
    assert client.post("/v1/split", json=request_body).json() == exc.value.to_dict()


def test_time_limit_out_of_range_is_rejected_not_clamped(client: TestClient,
                                                         request_body: dict[str, Any]) -> None:
    request_body["options"]["time_limit_ms"] = -5
    assert _error(client.post("/v1/split", json=request_body))["field"] == \
        "options.time_limit_ms"


def test_allocate_errors(client: TestClient, request_body: dict[str, Any]) -> None:
    body = {"request": request_body, "children": [{"lines": [{"line_id": "L9", "quantity": 1}]}]}
    err = _error(client.post("/v1/allocate", json=body))
    assert (err["order_id"], err["field"]) == ("P-1001", "children[0].lines[0].line_id")
    body["children"] = [{"lines": [{"line_id": "L1", "quantity": 1}]}]
    assert _error(client.post("/v1/allocate", json=body))["field"] == "children"
    request_body["order"]["currency"] = "XXQ"
    body["children"] = [{"lines": [{"line_id": "L1", "quantity": 2}]}]
    assert _error(client.post("/v1/allocate", json=body))["field"] == "request.order.currency"
    assert _error(client.post("/v1/allocate", json={"children": []}))["field"] in (
        "request", "children")


def test_body_too_large(request_body: dict[str, Any]) -> None:
    from ordersplit.service.app import create_app
    app = create_app(config(workers=1, max_body_bytes=100))
    with TestClient(app, headers=AUTH) as c:
        _error(c.post("/v1/split", json=request_body), 413)
