"""Fixtures for the batch tests: a tiny instance with a known optimum and a small scenario."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ordersplit.bench.network import location_dicts
from ordersplit.bench.scenario import ScenarioConfig, generate_orders, scenario_network
from tests.lifecycle.conftest import store_url  # noqa: F401 - a fixture: the stores, both backends

SMALL = ScenarioConfig.preset("default", n_orders=120, n_warehouses=8, n_suppliers=1,
                              n_stores=1, n_skus=150, seed=5)
"""Contention on purpose: 120 orders against 8 warehouses of 150 SKUs."""
SMALL_SCARCE = ScenarioConfig.preset("scarce", n_orders=400, n_warehouses=10, n_suppliers=2,
                                     n_stores=1, n_skus=200, seed=3)
"""Scarce stock: many orders wait, several for the same SKU."""


def order(oid: str, lines: list[tuple[str, str, int]]) -> dict[str, Any]:
    """A request without warehouses; every unit costs 1.00, paid in cash."""
    total = sum(q for _, _, q in lines)
    return {
        "order": {"id": oid, "currency": "USD", "destination": "city",
                  "lines": [{"id": i, "sku": s, "quantity": q, "unit_price": "1.00"}
                            for i, s, q in lines],
                  "payments": [{"method": "cash", "amount": f"{total}.00"}]},
        "catalog": {s: {"merchant": "m"} for _, s, _ in lines},
        "warehouses": [],
    }


@pytest.fixture
def make_order() -> Callable[[str, list[tuple[str, str, int]]], dict[str, Any]]:
    """:func:`order`, for tests that build their own batch."""
    return order


@pytest.fixture
def tiny() -> dict[str, Any]:
    """Two orders, two warehouses. A wants X; B wants X and Y. W1 (fast) has X:1, Y:1;
    W2 (slow) has X:1. Sequentially A takes W1's X and B needs two children (3 in all);
    jointly A ships from W2 and B from W1 alone: 2 children, the lower bound."""
    whs = [{"id": "W1", "stock": {"X": 1, "Y": 1}, "delivery_hours": {"*": 10}},
           {"id": "W2", "stock": {"X": 1}, "delivery_hours": {"*": 20}}]
    return {"requests": [order("A", [("L1", "X", 1)]),
                         order("B", [("L1", "X", 1), ("L2", "Y", 1)])],
            "warehouses": whs}


def scenario_json(config: ScenarioConfig) -> dict[str, Any]:
    """A scenario as the batch JSON form: requests sharing one list of warehouses."""
    net = scenario_network(config)
    reqs = generate_orders(config, net)
    for r in reqs:
        r["warehouses"] = []
    return {"requests": reqs, "warehouses": location_dicts(net.locations, net.sku_ids, net.stock)}


@pytest.fixture(scope="session")
def small_json() -> dict[str, Any]:
    """The small scenario as the JSON form."""
    return scenario_json(SMALL)


@pytest.fixture
def small(small_json: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(small_json)


@pytest.fixture(scope="session")
def small_scarce() -> dict[str, Any]:
    """The scarce small scenario as the JSON form."""
    return scenario_json(SMALL_SCARCE)


@pytest.fixture(scope="session")
def scarce_plans(small_scarce: dict[str, Any]) -> tuple[Any, ...]:
    """Real plans of every kind, from one deterministic round of the scarce small batch
    (shared by the plan-list and plan-column tests, which only read them): solver and
    fast plans, plans with units waiting, lower plans without their view, a failed plan."""
    from ordersplit.batch import reoptimize
    from ordersplit.batch.model import failed_plan

    res = reoptimize(small_scarce, time_limit_s=600, max_rounds=1, deterministic=True)
    sol = res.solution
    assert sol is not None
    return (*sol.lower, *sol.final, failed_plan("bad order"))
