"""Scenario generator: validity, determinism, money, presets and the data fallback."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from ordersplit.bench import shapes as shapes_mod
from ordersplit.bench.scenario import (
    PRESETS,
    ScenarioConfig,
    generate_orders,
    iter_orders,
    scenario_network,
)
from ordersplit.models.validate import parse_request


def _payable(order: dict) -> Decimal:
    goods = sum(
        Decimal(line["unit_price"]) * line["quantity"] - Decimal(line.get("discount", "0"))
        for line in order["lines"]
    )
    promo = sum(
        Decimal(a["amount"]) for a in order.get("activities", []) if a["kind"] == "discount"
    )
    return goods - promo + Decimal(order["shipping_fee"])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_request_of_each_preset_validates(name: str) -> None:
    reqs = generate_orders(ScenarioConfig.preset(name, n_orders=300, seed=11))
    assert len(reqs) == 300
    for req in reqs:
        parsed = parse_request(req)
        assert parsed.options.solver == "auto"
        assert len({line.sku for line in parsed.order.lines}) == len(parsed.order.lines)


@pytest.mark.parametrize(("lines", "warehouses"), [(10, 30), (30, 100), (100, 300)])
def test_uniform_sizes_and_single_group(lines: int, warehouses: int) -> None:
    reqs = generate_orders(ScenarioConfig.uniform(lines, warehouses, n_orders=20, seed=3))
    for req in reqs:
        parse_request(req)
        assert len(req["order"]["lines"]) == lines
        assert len(req["warehouses"]) == warehouses
        assert all(w["kind"] == "warehouse" for w in req["warehouses"])
        assert all(line["quantity"] == 1 for line in req["order"]["lines"])
        items = req["catalog"].values()
        assert {i["merchant"] for i in items} == {"self"}
        assert {i["temperature"] for i in items} == {"ambient"}
        assert not any(
            k in i for i in items for k in ("bulky", "handling", "cross_border", "components")
        )


def test_uniform_without_single_group_keeps_sizes() -> None:
    cfg = ScenarioConfig.uniform(10, 30, n_orders=100, single_group=False, seed=5)
    for req in generate_orders(cfg):
        parse_request(req)
        assert len(req["order"]["lines"]) == 10
        assert len(req["warehouses"]) == 30


def test_same_seed_same_requests_different_seed_differs() -> None:
    cfg = ScenarioConfig.preset("default", n_orders=200, seed=42)
    first = generate_orders(cfg)
    assert first == generate_orders(cfg)
    assert first == list(iter_orders(cfg))
    assert first != generate_orders(cfg.replace(seed=43))
    assert generate_orders("uniform")[:5] == generate_orders(PRESETS["uniform"])[:5]


@pytest.mark.parametrize("currency", ["CNY", "JPY", "KWD", "EUR"])
def test_payments_add_up_exactly(currency: str) -> None:
    exponent = {"CNY": 2, "JPY": 0, "KWD": 3, "EUR": 2}[currency]
    cfg = ScenarioConfig.preset(
        "default", n_orders=300, currency=currency, seed=9, points_share=0.3, gift_card_share=0.3
    )
    methods: set[str] = set()
    for req in generate_orders(cfg):
        order = req["order"]
        parse_request(req)
        paid = sum(Decimal(p["amount"]) for p in order["payments"])
        assert paid == _payable(order)
        for p in order["payments"]:
            places = Decimal(p["amount"]).as_tuple().exponent
            assert isinstance(places, int) and -places == exponent
            assert Decimal(p["amount"]) >= 0
        methods |= {p["method"] for p in order["payments"]}
    assert {"cash", "coupon", "boleto", "points", "gift_card"} <= methods


def test_scarce_has_less_stock_than_default() -> None:
    default = ScenarioConfig.preset("default", n_orders=200, seed=1)
    scarce = ScenarioConfig.preset("scarce", n_orders=200, seed=1)
    assert scenario_network(scarce).stock.sum() < scenario_network(default).stock.sum() / 5

    def units(reqs: list[dict]) -> float:
        return float(
            np.mean([sum(sum(w["stock"].values()) for w in r["warehouses"]) for r in reqs])
        )

    assert units(generate_orders(scarce)) < units(generate_orders(default))


def test_default_exercises_the_rules() -> None:
    reqs = generate_orders(ScenarioConfig.preset("default", n_orders=1000, seed=2))
    items = [i for r in reqs for i in r["catalog"].values()]
    assert {i["temperature"] for i in items} == {"ambient", "chilled", "frozen"}
    assert any(i.get("components") for i in items)
    assert any(i.get("cross_border") for i in items)
    assert any(i.get("handling") == "luxury" for i in items)
    assert any(len({i["merchant"] for i in r["catalog"].values()}) > 1 for r in reqs)
    kinds = {w["kind"] for w in reqs[0]["warehouses"]}
    assert kinds == {"warehouse", "supplier", "store"}
    acts = {a["kind"] for r in reqs for a in r["order"].get("activities", [])}
    assert acts == {"discount", "gift"}
    assert max(len(r["order"]["lines"]) for r in reqs) >= 20  # Instacart-sized baskets
    for req in reqs:
        for sku, item in req["catalog"].items():
            for comp in item.get("components", []):
                assert comp["sku"] in req["catalog"]
            if item.get("components"):
                assert all(sku not in w["stock"] for w in req["warehouses"])


def test_disabled_rules_and_options() -> None:
    cfg = ScenarioConfig.preset(
        "default",
        n_orders=5,
        disabled_rules=frozenset({"temperature", "bulky"}),
        options={"solver": "greedy", "time_limit_ms": 50},
    )
    for req in generate_orders(cfg):
        parsed = parse_request(req)
        assert not parsed.rules.temperature and not parsed.rules.bulky
        assert parsed.rules.merchant
        assert parsed.options.solver == "greedy"


def test_generation_makes_the_orders_asked_for() -> None:
    """Its speed is a benchmark (``benchmarks/bench_hot_paths.py::test_generate``)."""
    reqs = generate_orders(ScenarioConfig.uniform(10, 30, n_orders=300))
    assert len(reqs) == 300 and len({r["order"]["id"] for r in reqs}) == 300


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="stock_density"):
        ScenarioConfig(stock_density=1.5)
    with pytest.raises(ValueError, match="unknown preset"):
        ScenarioConfig.preset("nope")
    with pytest.raises(ValueError, match="unknown rules"):
        ScenarioConfig(disabled_rules=frozenset({"colour"}))
    with pytest.raises(KeyError):
        ScenarioConfig(currency="XXY")


def test_missing_data_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ORDERSPLIT_DATA", str(tmp_path / "absent"))
    shapes_mod.load_shapes.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="ordersplit.bench.shapes"):
            reqs = generate_orders(ScenarioConfig.preset("default", n_orders=100, seed=4))
        assert "data directory not found" in caplog.text
        assert not shapes_mod.load_shapes().from_data
        for req in reqs:
            parse_request(req)
    finally:
        shapes_mod.load_shapes.cache_clear()
