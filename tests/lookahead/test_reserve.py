"""Back-order reservation: which SKUs are contested, which lines an order leaves to wait,
and that leaving them never costs the order a child (exact splits, real scenario orders)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ordersplit
from ordersplit.bench.network import location_dicts
from ordersplit.bench.scenario import ScenarioConfig, scenario_network
from ordersplit.lookahead.forecast import Forecast
from ordersplit.lookahead.reserve import contested_skus, reserve_request
from ordersplit.lookahead.stream import scenario_stream


def _forecast(units: list[list[float]], skus: tuple[str, ...] = ("A", "B", "C")) -> Forecast:
    return Forecast(("N", "S"), skus, np.array(units, dtype=np.float64), 24.0)


def test_a_sku_is_contested_when_its_forecast_reaches_the_units_left() -> None:
    fc = _forecast([[3.0, 1.0, 0.0], [2.0, 0.5, 0.0]])
    left = np.array([[2, 4, 0], [3, 0, 0]])  # A: 5 left, B: 4, C: 0
    assert contested_skus(fc, ("A", "B", "C"), left) == {"A"}
    assert contested_skus(fc, ("A", "B", "C"), left, ratio=0.3) == {"A", "B"}
    # C has no demand, and nothing left: never contested; B with nothing left neither
    assert "C" not in contested_skus(fc, ("A", "B", "C"), left, ratio=0.01)
    assert contested_skus(fc, ("A", "B", "C"), np.array([[2, 0, 0], [3, 0, 0]]), ratio=0.3) == {"A"}
    # a forecast SKU the stock does not list is left out
    assert contested_skus(_forecast([[9, 9], [9, 9]], ("A", "Z")), ("A", "B", "C"), left) == {"A"}
    # only the takers' share of the demand counts: half of A's 5 units do not reach 5
    assert contested_skus(fc, ("A", "B", "C"), left, taker_share=0.5) == set()
    with pytest.raises(ValueError, match="ratio"):
        contested_skus(fc, ("A", "B", "C"), left, ratio=0)
    with pytest.raises(ValueError, match="taker share"):
        contested_skus(fc, ("A", "B", "C"), left, taker_share=1.5)


def _request(**order: Any) -> dict[str, Any]:
    lines = [{"id": "l1", "sku": "GONE", "quantity": 1, "unit_price": "5.00"},
             {"id": "l2", "sku": "HOT", "quantity": 1, "unit_price": "5.00"},
             {"id": "l3", "sku": "OTHER", "quantity": 1, "unit_price": "5.00"}]
    return {"order": {"id": "o1", "currency": "EUR", "destination": "N", "lines": lines,
                      "payments": [{"method": "card", "amount": "15.00"}], **order},
            "catalog": {"GONE": {}, "HOT": {}, "OTHER": {"merchant": "m2"}},
            "warehouses": [{"id": "W1", "stock": {"HOT": 2, "OTHER": 1},
                            "delivery_hours": {"N": 10}},
                           {"id": "W2", "stock": {"GONE": 5}, "delivery_hours": {"S": 5}}]}


def test_a_short_order_hides_its_contested_lines_of_the_short_group_only() -> None:
    req = _request()
    before = copy.deepcopy(req)
    held = reserve_request(req, frozenset({"HOT", "OTHER"}))
    assert held.hidden == ["HOT"]  # GONE is short (W2 does not deliver to N); OTHER: merchant m2
    assert held.short
    assert held.request["warehouses"][0]["stock"] == {"OTHER": 1}
    assert held.request["warehouses"][1]["stock"] == {"GONE": 5}
    assert req == before  # the request given is not changed


@pytest.mark.parametrize("change", [
    {"order": {"backorder": "wait"}},          # the order waits whole anyway
    {"rules": {"stock": False}},               # no back-orders at all
    {"contested": frozenset()},                # nothing is contested
    {"stocked": True},                         # nothing is short
])
def test_orders_that_are_not_surely_short_are_sent_as_they_are(change: dict[str, Any]) -> None:
    req = _request(**change.get("order", {}))
    if "rules" in change:
        req["rules"] = change["rules"]
    if change.get("stocked"):
        req["warehouses"][0]["stock"]["GONE"] = 1
    held = reserve_request(req, change.get("contested", frozenset({"HOT"})))
    assert held.hidden == [] and held.request == req
    assert held.short == ("contested" in change)  # short, but nothing to leave


def _scarce_day(n: int, seed: int) -> tuple[Any, Any]:
    cfg = ScenarioConfig.preset("scarce", n_orders=n, seed=seed)
    net = scenario_network(cfg)
    return net, scenario_stream(cfg, net, 24.0, seed)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), drain=st.floats(0.0, 0.9))
def test_leaving_contested_lines_to_wait_never_costs_the_order_a_child(seed: int, drain: float
                                                                       ) -> None:
    """Every order of a scarce day against drained stock, every SKU contested: the plan
    with the hidden lines has no more children than the plan with all the stock, the
    hidden lines wait, and their stock is untouched."""
    net, stream = _scarce_day(12, seed)
    rng = np.random.default_rng(seed)
    stock = np.where(rng.random(net.stock.shape) < drain, 0, net.stock)
    everything = frozenset(net.sku_ids)
    for req in stream.requests:
        full = {**req, "warehouses": location_dicts(net.locations, net.sku_ids, stock)}
        held = reserve_request(full, everything)
        shown, hidden = held.request, held.hidden
        if not hidden:
            continue
        a, b = ordersplit.split(full), ordersplit.split(shown)
        if b.status != "optimal":  # a proven plan is no worse than any plan it could be
            continue
        assert b.objective.children <= a.objective.children, req["order"]["id"]
        shipped = {ln.sku for c in b.children if c.kind != "backorder" for ln in c.lines}
        assert not shipped & set(hidden)
        waiting = {ln.sku for c in b.children if c.kind == "backorder" for ln in c.lines}
        assert set(hidden) <= waiting
