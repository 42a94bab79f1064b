"""Shared fixtures: the contract's example and tiny named instances with known optima."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "contract_order.json"

settings.register_profile("ordersplit", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ordersplit")
"""Every property test runs without hypothesis' wall-clock checks (a ``deadline`` per
example, the ``too_slow`` health check of data generation): on a loaded CI machine they
are timing assertions. Tests that pass their own ``suppress_health_check`` list must name
``too_slow`` in it themselves (a list replaces the profile's)."""


def make_request(lines: list[tuple[str, str, int]], warehouses: list[dict[str, Any]],
                 catalog: dict[str, dict[str, Any]] | None = None, **options: Any) -> dict[str, Any]:
    """A request from ``(line id, sku, quantity)`` triples; every unit costs 1.00."""
    skus = {sku for _, sku, _ in lines}
    cat = {sku: {"merchant": "m"} for sku in skus}
    cat.update(catalog or {})
    total = sum(q for _, _, q in lines)
    req: dict[str, Any] = {
        "order": {"id": "O-1", "currency": "USD", "destination": "city",
                  "lines": [{"id": i, "sku": s, "quantity": q, "unit_price": "1.00"}
                            for i, s, q in lines],
                  "payments": [{"method": "cash", "amount": f"{total}.00"}]},
        "catalog": cat,
        "warehouses": warehouses,
        "options": {"time_limit_ms": 20000, **options},  # generous: CI machines are shared
    }
    order_keys = {"backorder", "preference"}
    for key in order_keys & set(options):
        req["order"][key] = req["options"].pop(key)
    return req


def wh(wid: str, hours: float, cost: str = "0", kind: str = "warehouse", **stock: int) -> dict[str, Any]:
    return {"id": wid, "stock": stock, "delivery_hours": {"city": hours}, "child_cost": cost,
            "kind": kind}


# Each instance: (request, expected children, expected delivery_hours)
NAMED: dict[str, tuple[dict[str, Any], int, float]] = {
    "one_warehouse_has_all":
        # W2 has everything and is fastest among those that do: one child from W2.
        (make_request([("1", "A", 1), ("2", "B", 1)],
                      [wh("W1", 6, A=5), wh("W2", 12, A=5, B=5), wh("W3", 24, A=5, B=5)]), 1, 12),
    "pair_needed":
        # No warehouse has both A and B: two children, the faster pair.
        (make_request([("1", "A", 1), ("2", "B", 1)],
                      [wh("W1", 48, A=5), wh("W2", 6, A=5), wh("W3", 12, B=5), wh("W4", 48, B=5)]),
         2, 12),
    "quantity_split":
        # 5 units of A, no warehouse has 5: the line's quantity ships from two warehouses.
        (make_request([("1", "A", 5)], [wh("W1", 12, A=3), wh("W2", 24, A=2), wh("W3", 6, A=1)]),
         2, 24),
    "fewest_beats_fastest":
        # Fast W1 has A only; slow W2 has both: one child from W2 (fewest first).
        (make_request([("1", "A", 1), ("2", "B", 1)], [wh("W1", 6, A=1), wh("W2", 48, A=1, B=1)]),
         1, 48),
    "fastest_preference":
        # Same network, delivery first: A from W1, B from W2 is not faster (W2 is needed
        # for B anyway), so the latest arrival is 48 either way; then unit hours prefer W1.
        (make_request([("1", "A", 1), ("2", "B", 1)], [wh("W1", 6, A=1), wh("W2", 48, A=1, B=1)],
                      preference="fastest"), 2, 48),
    "temperature_groups":
        # Chilled and frozen from one warehouse are still two children.
        (make_request([("1", "MILK", 1), ("2", "ICE", 1)], [wh("W1", 12, MILK=9, ICE=9)],
                      {"MILK": {"merchant": "m", "temperature": "chilled"},
                       "ICE": {"merchant": "m", "temperature": "frozen"}}), 2, 12),
    "scarce_item_forces":
        # C is only in W3; W3 also has A and B: one child.
        (make_request([("1", "A", 1), ("2", "B", 1), ("3", "C", 1)],
                      [wh("W1", 6, A=9, B=9), wh("W2", 6, A=9, B=9), wh("W3", 30, A=1, B=1, C=1)]),
         1, 30),
    "greedy_trap":
        # Greedy line by line opens W1 (most A) and then needs two more; optimum is W2+W3.
        (make_request([("1", "A", 4), ("2", "B", 1), ("3", "C", 1)],
                      [wh("W1", 6, A=4), wh("W2", 12, A=2, B=1), wh("W3", 12, A=2, C=1)]), 2, 12),
}


@pytest.fixture
def example_request() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture(params=sorted(NAMED))
def named_instance(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], int, float]:
    req, children, hours = NAMED[request.param]
    return request.param, copy.deepcopy(req), children, hours
