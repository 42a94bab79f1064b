"""The look-ahead policy: the exact request it sends to split, its refresh schedule, and
(once the solver has the ``stock_value`` term) that pricing stock never costs a child."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import ordersplit
from ordersplit.bench.network import location_dicts
from ordersplit.bench.scenario import ScenarioConfig, scenario_network
from ordersplit.errors import OrderSplitError
from ordersplit.lookahead.forecasters import make_forecaster
from ordersplit.lookahead.policy import (
    LookaheadPolicy,
    objective_with_stock_value,
    stock_value_available,
)
from ordersplit.lookahead.prices import StockPrices
from ordersplit.lookahead.reserve import reserve_request
from ordersplit.lookahead.simulate import MyopicPolicy, SimulationConfig, simulate_many
from ordersplit.lookahead.stream import order_units, scenario_stream
from ordersplit.models.plan import Plan

needs_term = pytest.mark.skipif(
    not stock_value_available(),
    reason="the solver of this build has no stock_value objective term (issue 17, h1)")


class _SentError(OrderSplitError):
    """Raised by the recorder: the request is what is under test, not a plan."""

    def __init__(self) -> None:
        super().__init__("recorded")
        self.message, self.field = "recorded", ""


def _refuse(request: dict[str, Any]) -> Plan:
    raise _SentError


def _world(preset: str = "scarce", n: int = 24, seed: int = 3) -> tuple[Any, ...]:
    cfg = SimulationConfig(ScenarioConfig.preset(preset, n_orders=n, seed=seed), seed=seed)
    net = scenario_network(cfg.scenario)
    stream = scenario_stream(cfg.scenario, net, cfg.horizon_hours, cfg.seed)
    return cfg, net, stream


def test_the_policy_sends_the_stock_value_request_with_the_prices_of_the_order() -> None:
    cfg, net, stream = _world()
    sent: list[tuple[dict[str, Any], StockPrices]] = []

    def record(request: dict[str, Any]) -> Plan:
        assert policy.prices is not None
        sent.append((copy.deepcopy(request), policy.prices))
        raise _SentError

    policy = LookaheadPolicy(net, make_forecaster("perfect", stream, net, cfg.scenario, 24.0, 3),
                             refresh_orders=5, split_fn=record)
    before = copy.deepcopy(stream.requests)
    res = simulate_many(cfg, [policy], net, stream)[policy.name]
    assert len(sent) == len(stream) == len(res.orders)
    assert (res.orders["error_message"] == "recorded").all()
    assert stream.requests == before  # the shared stream is not touched
    # every 5 orders: orders 0, 5, 10, 15, 20 are priced afresh
    assert policy.refreshes == 5
    versions = [prices.version for _, prices in sent]
    assert len(set(versions)) == 5 and versions[:5] == [versions[0]] * 5
    positive = 0
    for (req, prices), original in zip(sent, stream.requests, strict=True):
        opts = req["options"]
        assert set(opts) == set(original["options"]) | {"objective", "stock_prices"}
        fastest = original["order"].get("preference") == "fastest"
        assert opts["objective"] == (["delivery", "children", "stock_value"] if fastest
                                     else ["children", "stock_value", "delivery"])
        sp = opts["stock_prices"]
        assert set(sp) == {"version", "prices"} and sp["version"] == prices.version
        skus = set(order_units(original))
        # priced: the order's SKUs at the locations that hold them (none ships from elsewhere)
        expected = {w["id"]: {s: prices.price(w["id"], s) for s in sorted(skus)
                              if prices.price(w["id"], s) > 0 and w["stock"].get(s, 0) > 0}
                    for w in req["warehouses"]}
        assert sp["prices"] == {w: row for w, row in expected.items() if row}
        for row in sp["prices"].values():
            assert all(isinstance(v, float) and v > 0 for v in row.values())
        positive += sum(len(row) for row in sp["prices"].values())
        assert req["order"] == original["order"] and req["catalog"] == original["catalog"]
    assert positive > 0  # a scarce day prices some of the stock its orders draw on


def test_objective_terms_keep_children_first() -> None:
    req: dict[str, Any] = {"order": {}, "options": {}}
    assert objective_with_stock_value(req, "after_delivery") == ["children", "delivery",
                                                                 "stock_value"]
    req["options"]["objective"] = ["children", "cost"]
    assert objective_with_stock_value(req, "before_delivery") == ["children", "stock_value", "cost"]
    assert objective_with_stock_value(req, "after_delivery") == ["children", "stock_value", "cost"]
    req["options"]["objective"] = ["delivery", "children", "stock_value"]
    assert objective_with_stock_value(req, "after_delivery") == ["delivery", "children",
                                                                 "stock_value"]
    req["options"]["objective"] = ["delivery"]  # no children to follow: left alone
    assert objective_with_stock_value(req, "before_delivery") == ["delivery"]


def test_a_refresh_by_simulated_hours() -> None:
    cfg, net, stream = _world(n=30)
    policy = LookaheadPolicy(net, make_forecaster("perfect", stream, net, cfg.scenario, 24.0, 3),
                             refresh_orders=None, refresh_hours=6.0,
                             split_fn=_refuse)
    simulate_many(cfg, [policy], net, stream)
    hours = stream.times
    # a refresh at the first order, then at the first order 6 h or more after the last one
    expected, last = 0, None
    for t in hours:
        if last is None or t - last >= 6.0:
            expected, last = expected + 1, t
    assert policy.refreshes == expected >= 2


def test_bad_schedules_are_refused() -> None:
    cfg, net, stream = _world(n=2)
    fc = make_forecaster("perfect", stream, net, cfg.scenario, 24.0, 3)
    with pytest.raises(ValueError, match="refresh"):
        LookaheadPolicy(net, fc, refresh_orders=None)
    with pytest.raises(ValueError, match="refresh_orders"):
        LookaheadPolicy(net, fc, refresh_orders=0)
    with pytest.raises(ValueError, match="position"):
        LookaheadPolicy(net, fc, position="sideways")  # type: ignore[arg-type]


@needs_term
@pytest.mark.parametrize("preset", ["default", "scarce"])
def test_pricing_stock_never_costs_a_child(preset: str) -> None:
    """End to end through the real solver: each look-ahead plan has as few children as
    the plain split of the same request (same stock), and echoes the prices version."""
    cfg, net, stream = _world(preset, n=40)
    checked: list[bool] = []

    def both(request: dict[str, Any]) -> Plan:
        plan = ordersplit.split(request)
        plain = ordersplit.split({**request, "options": {
            k: v for k, v in request["options"].items() if k not in ("objective", "stock_prices")}})
        proven = plan.status == plain.status == "optimal"
        if proven:
            assert plan.objective.children == plain.objective.children
        assert plan.model_dump().get("stock_prices_version") == \
            request["options"]["stock_prices"]["version"]
        checked.append(proven)
        return plan

    policy = LookaheadPolicy(net, make_forecaster("perfect", stream, net, cfg.scenario, 24.0, 3),
                             refresh_orders=10, split_fn=both)
    res = simulate_many(cfg, [MyopicPolicy(), policy], net, stream)
    rows = res[policy.name].orders
    assert len(checked) == len(stream) and sum(checked) >= len(stream) // 2
    assert (rows["status"] != "error").sum() == (res["myopic"].orders["status"] != "error").sum()


def test_the_reserving_policy_hides_contested_lines_of_short_orders_only() -> None:
    """With reservation, a request differs from the plain look-ahead one only in the stock
    of the SKUs it leaves to wait: contested SKUs on plain lines of orders short for
    certain (every split here is refused, so the stock stays the starting stock)."""
    cfg, net, stream = _world(n=40)
    sent: list[tuple[dict[str, Any], frozenset[str]]] = []

    def record(request: dict[str, Any]) -> Plan:
        sent.append((copy.deepcopy(request), policy.contested))
        raise _SentError

    fc = make_forecaster("perfect", stream, net, cfg.scenario, 24.0, 3)
    policy = LookaheadPolicy(net, fc, refresh_orders=10, reserve_ratio=0.3, split_fn=record)
    simulate_many(cfg, [policy], net, stream)
    assert len(sent) == len(stream)
    hidden = 0
    for (req, contested), original in zip(sent, stream.requests, strict=True):
        skus = sorted({s for w in req["warehouses"] for s in w["stock"]} | set(order_units(original)))
        skus = [s for s in skus if s in net.sku_ids]
        cols = [net.sku_ids.index(s) for s in skus]
        full = {**original, "warehouses": location_dicts(net.locations, skus, net.stock[:, cols])}
        held = reserve_request(full, contested)
        if original["order"].get("preference") == "fastest":  # delivery first: as it is
            assert req["warehouses"] == full["warehouses"]
            continue
        assert req["warehouses"] == held.request["warehouses"]
        assert set(held.hidden) <= contested
        hidden += len(held.hidden)
    stats = policy.stats()
    assert hidden > 0 and stats["reserved_lines"] == hidden
    with pytest.raises(ValueError, match="reserve_ratio"):
        LookaheadPolicy(net, fc, reserve_ratio=0.0)
