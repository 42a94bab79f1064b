"""The simulator: stock never goes negative, every order ends as a plan or a reported error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ordersplit
from ordersplit.bench.scenario import ScenarioConfig, generate_orders, scenario_network
from ordersplit.lookahead import fit_forecast, network_from_scenario, price_stock
from ordersplit.lookahead.arrivals import arrival_hours, olist_hour_profile
from ordersplit.lookahead.commands import main
from ordersplit.lookahead.simulate import (
    ROW_COLUMNS,
    MyopicPolicy,
    SimulationConfig,
    SimulationState,
    simulate,
)
from ordersplit.models.plan import Plan


def _config(n: int = 40, **kw: Any) -> SimulationConfig:
    return SimulationConfig(ScenarioConfig.preset("scarce", n_orders=n, seed=5), **kw)


def test_a_scarce_day_depletes_stock_and_never_below_zero() -> None:
    cfg = _config()
    net = scenario_network(cfg.scenario)
    res = simulate(cfg, MyopicPolicy())
    rows = res.orders
    assert list(rows.columns) == ROW_COLUMNS and len(rows) == 40
    assert rows["arrival_h"].is_monotonic_increasing
    assert res.min_stock >= 0 and (res.final_stock >= 0).all()
    ok = rows["status"] != "error"
    assert set(rows.loc[ok, "status"]) <= {"optimal", "feasible", "fallback"}
    assert rows["status"].notna().all()
    assert all(isinstance(m, str) and m for m in rows.loc[~ok, "error_message"])
    # What left the shelves is what the plans shipped (bundles as their components).
    assert int(net.stock.sum() - res.final_stock.sum()) >= rows.loc[ok, "units_shipped"].sum() > 0
    assert res.totals["children"] == rows.loc[ok, "children"].sum()
    assert res.totals["orders"] == 40


class _Greedy:
    """Splits with ten times the stock it has: its plans may take more than is on hand."""

    name = "greedy"

    def prepare(self, state: SimulationState) -> None:
        return None

    def split(self, request: dict[str, Any], state: SimulationState) -> Plan:
        for wh in request["warehouses"]:
            wh["stock"] = {s: 10 * q for s, q in wh["stock"].items()}
        return ordersplit.split(request)


def test_a_plan_taking_more_than_is_on_hand_is_reported_and_not_applied() -> None:
    res = simulate(_config(60), _Greedy())
    errors = res.orders[res.orders["status"] == "error"]
    assert len(errors) > 0 and errors["error_message"].str.contains("which holds").all()
    assert res.min_stock >= 0 and (res.final_stock >= 0).all()


def test_replenishment_restores_the_starting_stock() -> None:
    cfg = _config(30, horizon_hours=24.0, replenish_every_hours=0.001)
    net = scenario_network(cfg.scenario)
    res = simulate(cfg, MyopicPolicy())
    # Refilled before every order, so each order sees the full stock and only the last
    # order's units are missing at the end.
    last = res.orders.iloc[-1]
    removed = int(net.stock.sum() - res.final_stock.sum())
    assert last["units_shipped"] <= removed <= 6 * max(1, last["units_shipped"])
    plain = simulate(_config(30), MyopicPolicy())
    assert removed < int(net.stock.sum() - plain.final_stock.sum())
    assert (res.final_stock >= 0).all()


def test_arrivals_follow_the_olist_day() -> None:
    prof = olist_hour_profile()
    assert len(prof) == 24 and sum(prof) == pytest.approx(1.0)
    assert prof[4] < prof[14]  # Brazilians buy at 2 pm more than at 4 am
    t = arrival_hours(5000, 36.0, np.random.default_rng(1))
    assert t.min() >= 0 and t.max() < 36.0 and (np.diff(t) >= 0).all()


def test_main_prints_totals_and_writes_rows(tmp_path: Any, capsys: Any) -> None:
    out = tmp_path / "rows.csv"
    assert main(["simulate", "--preset", "scarce", "--orders", "5", "--out", str(out)]) == 0
    assert '"policies": {"myopic": {' in capsys.readouterr().out
    assert out.read_text().startswith("order_id,arrival_h")
    assert main(["simulate", "--preset", "nope", "--orders", "5"]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_a_scenario_day_prices_from_its_own_orders() -> None:
    """The look-ahead loop's inputs fit together: the scenario's orders give a forecast, its
    network (with the stock the simulator leaves) gives the pricing network."""
    cfg = _config(80)
    net = scenario_network(cfg.scenario)
    reqs = [ordersplit.parse_request(r) for r in generate_orders(cfg.scenario)]
    fc = fit_forecast(reqs, history_hours=24.0)
    res = simulate(cfg, MyopicPolicy(), net)
    prices = price_stock(fc, network_from_scenario(net, res.final_stock))
    assert prices.objective == pytest.approx(prices.dual_objective, rel=1e-6, abs=1e-6)
    stores = {loc["id"] for loc in net.locations if loc.get("kind") == "store"}
    assert not stores & set(prices.warehouse_ids)
