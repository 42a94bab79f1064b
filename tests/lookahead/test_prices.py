"""The stock prices are the duals of the full pricing LP (every arc), and they price stock.

Checked on small random instances against an independently built LP (scipy's linprog):
same optimum, strong duality, dual feasibility on every arc, complementary slackness,
and the subgradient property of a shadow price (one unit more or less of stock changes
the optimal cost by at least/most the price).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from ordersplit.lookahead import Forecast, PricingNetwork, PricingParams, price_stock
from ordersplit.lookahead.prices import align_demand, arc_costs
from ordersplit.lookahead.scale import synthetic_instance

TOL = 1e-6


def _network(stock: np.ndarray, hours: np.ndarray, child_cost: np.ndarray) -> PricingNetwork:
    n_w, n_s = stock.shape
    return PricingNetwork(tuple(f"W{i}" for i in range(n_w)), tuple(f"S{i}" for i in range(n_s)),
                          tuple(f"R{i}" for i in range(hours.shape[1])), stock.astype(np.int64),
                          hours.astype(np.float64), child_cost.astype(np.float64))


@st.composite
def instances(draw: st.DrawFn) -> tuple[Forecast, PricingNetwork, PricingParams]:
    """A small network and forecast, some lanes missing, arcs generated from few seeds."""
    n_w, n_r, n_s = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    stock = np.array(draw(st.lists(st.integers(0, 5), min_size=n_w * n_s, max_size=n_w * n_s))
                     ).reshape(n_w, n_s)
    hours = np.array(draw(st.lists(st.one_of(st.integers(1, 60), st.just(-1)),
                                   min_size=n_w * n_r, max_size=n_w * n_r)), dtype=float
                     ).reshape(n_w, n_r)
    hours[hours < 0] = np.nan
    demand = np.array(draw(st.lists(st.integers(0, 8), min_size=n_r * n_s, max_size=n_r * n_s)),
                      dtype=float).reshape(n_r, n_s)
    cost = np.array(draw(st.lists(st.integers(0, 20), min_size=n_w, max_size=n_w)))
    net = _network(stock, hours, cost)
    params = PricingParams(split_weight=draw(st.sampled_from([0.0, 1.0])),
                           chunk_skus=draw(st.integers(1, n_s)),
                           initial_cover=draw(st.sampled_from([0.01, 1.5])))
    return Forecast(net.regions, net.sku_ids, demand, 24.0), net, params


def _full_lp(forecast: Forecast, net: PricingNetwork, params: PricingParams, penalty: float
             ) -> float:
    """The optimum of the LP with every arc, built cell by cell (tiny instances only)."""
    demand = align_demand(forecast, net)
    c = arc_costs(net, demand.sum(axis=0), params)
    n_w, n_s = net.stock.shape
    n_r = demand.shape[0]
    cols, cost = [], []
    for s in range(n_s):
        for w in range(n_w):
            for r in range(n_r):
                if np.isfinite(c[w, r]):
                    cols.append(("x", w, r, s))
                    cost.append(c[w, r])
        for r in range(n_r):
            cols.append(("u", -1, r, s))
            cost.append(penalty)
    a_ub = np.zeros((n_w * n_s, len(cols)))
    a_eq = np.zeros((n_r * n_s, len(cols)))
    for k, (kind, w, r, s) in enumerate(cols):
        if kind == "x":
            a_ub[w * n_s + s, k] = 1
        a_eq[r * n_s + s, k] = 1
    res = linprog(cost, A_ub=a_ub, b_ub=net.stock.reshape(-1), A_eq=a_eq,
                  b_eq=demand.reshape(-1), method="highs")
    assert res.status == 0
    return float(res.fun)


@settings(max_examples=60, deadline=None)
@given(instances())
def test_prices_are_duals_of_the_full_lp(inst: tuple[Forecast, PricingNetwork, PricingParams]
                                         ) -> None:
    forecast, net, params = inst
    sp = price_stock(forecast, net, params)
    penalty = sp.stats["unmet_penalty"]
    # Same optimum as the LP with every arc: lazy arc generation lost nothing.
    assert sp.objective == pytest.approx(_full_lp(forecast, net, params, penalty), abs=TOL)
    # Strong duality, recomputed from the published duals.
    price = sp.prices.toarray()
    value = sp.demand_values.toarray()
    demand = align_demand(forecast, net)
    dual = float((demand * value).sum() - (net.stock * price).sum())
    assert dual == pytest.approx(sp.objective, abs=1e-5 * max(1.0, abs(sp.objective)))
    assert sp.dual_objective == pytest.approx(sp.objective, abs=1e-5 * max(1.0, sp.objective))
    # Dual feasibility on every arc: value[r, s] <= cost[w, r] + price[w, s]; value <= P.
    c = arc_costs(net, demand.sum(axis=0), params)
    stocked = net.stock > 0
    for r in range(demand.shape[0]):
        rc = c[:, r, None] + price - value[r][None, :]
        mask = stocked & np.isfinite(c[:, r])[:, None] & (demand[r] > 0)[None, :]
        assert (rc[mask] >= -1e-6).all()
    assert (value <= penalty + TOL).all()
    # Complementary slackness on the stock rows.
    shipped = sp.shipped.toarray()
    assert (price >= 0).all()
    assert (shipped <= net.stock + TOL).all()
    slack = stocked & (shipped < net.stock - TOL)
    assert (price[slack] == 0).all()
    assert np.allclose(shipped[price > TOL], net.stock[price > TOL])


def test_known_prices_of_a_two_warehouse_lane() -> None:
    """One near unit (10 h) and ten far units (30 h) for a demand of 2: the near unit saves
    20 h; the far stock is slack (price 0). Short of stock, a unit is worth P - cost."""
    net = _network(np.array([[1], [10]]), np.array([[10.0], [30.0]]), np.zeros(2))
    forecast = Forecast(("R0",), ("S0",), np.array([[2.0]]), 24.0)
    sp = price_stock(forecast, net, PricingParams(split_weight=0.0))
    assert sp.price("W0", "S0") == pytest.approx(20.0)
    assert sp.price("W1", "S0") == 0.0
    assert sp.objective == pytest.approx(40.0)
    short = Forecast(("R0",), ("S0",), np.array([[20.0]]), 24.0)
    sp = price_stock(short, net, PricingParams(split_weight=0.0, unmet_penalty=100.0))
    assert sp.price("W0", "S0") == pytest.approx(90.0)
    assert sp.price("W1", "S0") == pytest.approx(70.0)


@settings(max_examples=25, deadline=None)
@given(instances())
def test_one_more_unit_lowers_the_cost_by_about_the_price(
        inst: tuple[Forecast, PricingNetwork, PricingParams]) -> None:
    """f(b + 1) >= f(b) - price and f(b - 1) >= f(b) + price (the dual is a subgradient);
    where both one-sided changes agree, the price is exactly that change."""
    forecast, net, params = inst
    base = price_stock(forecast, net, params)
    for w, s in zip(*np.nonzero(net.stock > 0), strict=True):
        p = base.price(net.warehouse_ids[w], net.sku_ids[s])
        more = net.stock.copy()
        more[w, s] += 1
        f_up = price_stock(forecast, _network(more, net.hours, net.child_cost), params).objective
        assert f_up >= base.objective - p - 1e-6
        if net.stock[w, s] >= 2:  # staying positive keeps every lane cost the same
            less = net.stock.copy()
            less[w, s] -= 1
            f_down = price_stock(forecast, _network(less, net.hours, net.child_cost),
                                 params).objective
            assert f_down >= base.objective + p - 1e-6
            if f_down - base.objective == pytest.approx(base.objective - f_up, abs=1e-9):
                assert p == pytest.approx(base.objective - f_up, abs=1e-6)


def test_prices_are_versioned_immutable_and_looked_up_by_id() -> None:
    forecast, net = synthetic_instance(300, 12, 5, seed=3)
    a = price_stock(forecast, net, PricingParams(chunk_skus=100))
    b = price_stock(forecast, net, PricingParams(chunk_skus=300))
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    assert a.inputs_hash != b.inputs_hash  # the parameters are inputs
    assert a.version.endswith(a.inputs_hash[:12]) and a.version != b.version
    with pytest.raises(ValueError):
        a.prices.data[:] = 0
    with pytest.raises(AttributeError):
        a.objective = 0.0  # type: ignore[misc]
    w, s = a.prices.nonzero()
    table = a.lookup([net.warehouse_ids[w[0]], "nowhere"], [net.sku_ids[s[0]], "nothing"])
    assert table[0, 0] == a.price(net.warehouse_ids[w[0]], net.sku_ids[s[0]]) > 0
    assert table[1].tolist() == [0.0, 0.0] and table[0, 1] == 0.0
    frame = a.to_frame()
    assert len(frame) == a.prices.nnz and (frame["price"] > 0).all()
    with pytest.raises(TypeError):
        a.stats["seconds"] = 0.0  # type: ignore[index]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_lookup_reads_every_asked_pair(data: st.DataObject) -> None:
    """Any warehouses and SKUs, known or not, repeated or not, in any order: each cell is
    the price of its pair (0 for an unknown one)."""
    forecast, net = synthetic_instance(40, 6, 3, seed=data.draw(st.integers(0, 5)))
    prices = price_stock(forecast, net, PricingParams(chunk_skus=20))
    wids = data.draw(st.lists(st.sampled_from([*net.warehouse_ids, "nowhere"]), max_size=9))
    skus = data.draw(st.lists(st.sampled_from([*net.sku_ids, "nothing"]), max_size=9))
    dense = prices.prices.toarray()
    want = np.array([[dense[net.warehouse_ids.index(w), net.sku_ids.index(s)]
                      if w in net.warehouse_ids and s in net.sku_ids else 0.0 for s in skus]
                     for w in wids]).reshape(len(wids), len(skus))
    assert np.array_equal(prices.lookup(wids, skus), want)
