"""Every endpoint answers the contract: split, presplit, allocate, lifecycle, ops."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from service_auth import AUTH
from service_harness import make_app

from ordersplit import split
from ordersplit.cli import build_parser
from ordersplit.service.config import QUEUE_PER_WORKER
from ordersplit.service.fastpath import SolveRoutes


def _without_runtime(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in plan.items() if k != "runtime_ms"}


_CLOCK = ("runtime_ms", "promised_at", "eta")


def _without_clock(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what depends on when it was computed: its runtime and, for a
    checkout promise, the moment it was promised and the arrival times counted from it
    (two calls may fall either side of a second)."""
    kept = {k: v for k, v in answer.items() if k not in _CLOCK}
    if "children" in kept:
        kept["children"] = [{k: v for k, v in c.items() if k not in _CLOCK}
                            for c in kept["children"]]
    return kept


def test_split_is_exactly_the_python_api(client: TestClient, request_body: dict[str, Any]) -> None:
    r = client.post("/v1/split", json=request_body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    expected = split(request_body).model_dump(mode="json")
    assert _without_runtime(r.json()) == _without_runtime(expected)


def test_the_router_answers_as_the_direct_route(client: TestClient,
                                                request_body: dict[str, Any]) -> None:
    """The solving endpoints are answered by a direct route in front of FastAPI's
    router; the router's own routes of the same paths (what the OpenAPI document
    describes) give the same answers, headers and metrics labels."""
    bad = {**request_body, "options": {"time_limit_ms": 0}}
    app = make_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not SolveRoutes]
    with TestClient(app, headers=AUTH) as router:
        _compare(client, router, request_body, bad)
    metrics = client.get("/metrics").text
    assert 'route="/v1/split",status="200"' in metrics and 'route="unmatched"' not in metrics


def _compare(client: TestClient, router: TestClient, request_body: dict[str, Any],
             bad: dict[str, Any]) -> None:
    for path, body, key in (("/v1/split", request_body, "k-1"), ("/v1/split", bad, None),
                            ("/v1/presplit", request_body, None),
                            ("/v1/cancel", {"order_id": "C-1"}, None)):
        headers = {"Idempotency-Key": key} if key else {}
        direct = client.post(path, json=body, headers=headers)
        routed = router.post(path, json=body, headers=headers)
        assert direct.status_code == routed.status_code
        for r in (direct, routed):
            assert int(r.headers["content-length"]) == len(r.content)
        assert ({**direct.headers, "content-length": ""}
                == {**routed.headers, "content-length": ""})  # the plans' runtimes differ
        if direct.status_code == 200:
            assert _without_clock(direct.json()) == _without_clock(routed.json())
        else:
            assert direct.content == routed.content
    assert routed.status_code == 501 and routed.json()["error"]["field"] == ""


def test_presplit_promises_delivery_per_child(client: TestClient,
                                              request_body: dict[str, Any]) -> None:
    r = client.post("/v1/presplit", json=request_body)
    assert r.status_code == 200
    promise = r.json()
    plan = split(request_body)
    assert promise["order_id"] == "P-1001"
    assert promise["children_count"] == len(plan.children)
    assert promise["delivery_hours"] == plan.objective.delivery_hours
    assert promise["promised_at"].endswith("Z")
    for child, planned in zip(promise["children"], plan.children, strict=True):
        assert child["warehouse"] == planned.warehouse
        assert child["delivery_hours"] == planned.delivery_hours
        assert child["eta"] is not None
    assert "amounts" not in r.text  # the checkout promise carries no money


def test_presplit_backorder_has_no_eta(client: TestClient, request_body: dict[str, Any]) -> None:
    request_body["warehouses"][1]["stock"]["FRIDGE-X"] = 0
    promise = client.post("/v1/presplit", json=request_body).json()
    waiting = [c for c in promise["children"] if c["kind"] == "backorder"]
    assert waiting and all(c["eta"] is None for c in waiting)
    assert promise["all_in_stock"] is False


def test_allocate_adds_up(client: TestClient, request_body: dict[str, Any]) -> None:
    body = {"request": request_body, "children": [
        {"id": "A", "lines": [{"line_id": "L1", "quantity": 1}, {"line_id": "L2", "quantity": 1}]},
        {"lines": [{"line_id": "L1", "quantity": 1}, {"line_id": "L3", "quantity": 1},
                   {"line_id": "L4", "quantity": 1}]},
    ]}
    r = client.post("/v1/allocate", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [c["id"] for c in out["children"]] == ["A", "P-1001-2"]
    for key, total in out["parent"].items():
        assert sum(Decimal(c["amounts"][key]) for c in out["children"]) == Decimal(total)
        for child in out["children"]:
            assert sum(Decimal(x["amounts"][key]) for x in child["lines"]) == Decimal(
                child["amounts"][key])
    assert out["parent"]["cash"] == "2930.00"


def test_lifecycle_endpoints_answer_501_without_a_store(client: TestClient) -> None:
    for r in (client.post("/v1/resplit", json={"order_id": "P-1"}),
              client.post("/v1/cancel", json={"order_id": "P-1"}),
              client.get("/v1/orders/P-1")):
        assert r.status_code == 501
        assert set(r.json()["error"]) == {"order_id", "field", "message"}
    assert client.get("/v1/orders/P-1").json()["error"]["order_id"] == "P-1"


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["workers"] == 2 and body["max_inflight"] == 2 * QUEUE_PER_WORKER


def test_metrics_exposed(client: TestClient, request_body: dict[str, Any]) -> None:
    client.post("/v1/split", json=request_body)
    client.post("/v1/split", content=b"{", headers={"Content-Type": "application/json"})
    text = client.get("/metrics").text
    assert 'ordersplit_http_request_duration_seconds_bucket{le="0.005",method="POST",' \
           'route="/v1/split",status="200"}' in text
    assert 'ordersplit_plans_total{endpoint="split",solver=' in text
    assert 'ordersplit_invalid_requests_total{endpoint="split"} 1.0' in text
    for name in ("ordersplit_inflight_requests", "ordersplit_rejected_total",
                 "ordersplit_fallbacks_total", "ordersplit_solve_duration_seconds",
                 "ordersplit_pool_wait_seconds"):
        assert f"# TYPE {name}" in text


def test_openapi_documents_the_contract(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in ("/v1/split", "/v1/presplit", "/v1/allocate", "/v1/resplit", "/v1/cancel",
                 "/v1/orders/{order_id}", "/healthz", "/metrics"):
        assert path in doc["paths"]
    body = doc["paths"]["/v1/split"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/SplitRequest"
    schemas = doc["components"]["schemas"]
    assert {"SplitRequest", "Order", "Plan", "Promise", "ErrorResponse"} <= set(schemas)


def test_unknown_route_and_method_are_error_objects(client: TestClient) -> None:
    assert client.get("/nowhere").json()["error"]["message"] == "Not Found"
    r = client.get("/v1/split")
    assert r.status_code == 405 and "error" in r.json()


def test_serve_command_is_registered() -> None:
    args = build_parser().parse_args(["serve", "--port", "9000", "--workers", "3",
                                      "--max-inflight", "5", "--max-time-limit-ms", "300"])
    assert (args.host, args.port, args.workers, args.max_inflight, args.max_time_limit_ms) == (
        "127.0.0.1", 9000, 3, 5, 300)
    assert callable(args.func)
