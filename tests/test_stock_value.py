"""The ``stock_value`` objective term (issue #17): the priced stock a plan uses.

It comes after ``children``, so pricing stock never costs a child; the exact solvers
(the combination search's kernels, CP-SAT, HiGHS, CBC, ``auto``) agree with brute force
on the lexicographic (children, stock_value, ...) objective; bad prices are named.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from problem_shapes import random_shape_problem
from strategies import brute_force, check_plan, requests

from ordersplit.api import split
from ordersplit.errors import RequestError
from ordersplit.models.validate import parse_request
from ordersplit.solver.backends.base import get_backend
from ordersplit.solver.compile import STOCK_VALUE_LIMIT, compile_request
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline

PRICED = (("children", "stock_value", "makespan", "unit_hours", "fragments"),
          ("children", "makespan", "unit_hours", "stock_value", "fragments"),
          ("children", "makespan", "stock_value", "unit_hours", "fragments"))
"""Stock value right after the count, after delivery, and between its two levels."""
EXACT = ("combination", "cpsat", "milp", "milp_cbc", "auto")


def priced(problem: SplitProblem, rng: np.random.Generator,
           objective: tuple[str, ...]) -> SplitProblem:
    """``problem`` with random unit prices (a third of the cells 0) and ``objective``."""
    price = rng.integers(0, 20, problem.stock.shape) * (rng.random(problem.stock.shape) > 0.3)
    return dataclasses.replace(problem, price=price.astype(np.int64), objective=objective)


def solve(problem: SplitProblem, solver: str) -> tuple[int, ...] | None:
    """The key the solver's plan reaches (checked feasible); the exact ones must prove
    it. ``None`` from the combination search where it does not claim an optimum (it is
    exact only where it applies: one child per warehouse, one reach set per group)."""
    res = solve_problem(problem, solver, Deadline(60))
    if solver == "combination" and res.status is not Status.OPTIMAL:
        return None
    assert res.assignment is not None, (solver, res.summary())
    assert violations(problem, res.assignment) == [], (solver, res.summary())
    assert res.status is Status.OPTIMAL, (solver, res.summary())
    return evaluate(problem, res.assignment).key(problem.objective)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["binary", "partial", "thin"]),
       rules=st.booleans(), objective=st.sampled_from(PRICED))
def test_exact_solvers_agree_with_brute_force(seed: int, shape: str, rules: bool,
                                              objective: tuple[str, ...]) -> None:
    rng = np.random.default_rng(seed)
    base = random_shape_problem(rng, shape, rules, max_items=3, max_wh=4)
    if int(base.quantity.sum()) > 8:  # brute force enumerates every assignment
        base = dataclasses.replace(base, quantity=np.minimum(base.quantity, 2))
    problem = priced(base, rng, objective)
    expected = brute_force(problem)
    assert expected is not None  # the shapes are feasible by construction
    for solver in EXACT:
        got = solve(problem, solver)
        if got is not None:
            assert got == expected, (solver, seed, shape, rules, objective)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1),
       shape=st.sampled_from(["binary", "partial", "thin", "multi"]), rules=st.booleans(),
       objective=st.sampled_from(PRICED))
def test_pricing_never_costs_a_child(seed: int, shape: str, rules: bool,
                                     objective: tuple[str, ...]) -> None:
    """Larger problems than brute force can check: the priced optimum has the unpriced
    optimum's children, and with stock value right after the count no priced plan with
    those children uses less priced stock than it (CP-SAT's and HiGHS's proofs agree)."""
    rng = np.random.default_rng(seed)
    base = random_shape_problem(rng, shape, rules, max_items=6, max_wh=8)
    problem = priced(base, rng, objective)
    plain = solve(base, "auto")
    keys = {solver: solve(problem, solver) for solver in ("auto", "cpsat", "milp")}
    assert plain is not None and len(set(keys.values())) == 1, keys
    key = keys["auto"]
    assert key is not None and key[0] == plain[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(req=requests(), prices=st.lists(st.integers(0, 400), min_size=30, max_size=30),
       order=st.sampled_from([["children", "stock_value", "delivery"],
                              ["children", "delivery", "stock_value"]]))
def test_split_with_stock_value_keeps_children_rules_and_stock(
        req: dict[str, Any], prices: list[int], order: list[str]) -> None:
    """Through the whole pipeline (rules, bundles, back-orders, stores): the priced plan
    keeps every rule and the stock, reports its stock value and the prices' version, and
    has as few children as the plan that ignores prices."""
    cells = iter(prices)
    table = {wh["id"]: {sku: next(cells) / 8 for sku in ("A", "B", "C", "D", "E")}
             for wh in req["warehouses"]}
    plain = copy.deepcopy(req)
    plain["options"]["objective"] = [t for t in order if t != "stock_value"]
    req["options"]["objective"] = order
    req["options"]["stock_prices"] = {"version": "v-test", "prices": table}
    base, plan = split(plain), split(req)
    check_plan(parse_request(req), plan)
    assert plan.stock_prices_version == "v-test" and plan.objective.stock_value is not None
    if base.status == plan.status == "optimal":
        assert plan.objective.children == base.objective.children
    assert plan.objective.children <= base.objective.children or plan.status != "optimal"


def _two_warehouse_request(objective: list[str], prices: dict[str, Any] | None,
                           bundle: bool = False) -> dict[str, Any]:
    """One line of 2 units; both warehouses hold it all (W1 faster): the prices decide."""
    catalog: dict[str, Any] = {"A": {}, "B": {}}
    sku = "A"
    if bundle:
        catalog["KIT"] = {"components": [{"sku": "A", "quantity": 1},
                                         {"sku": "B", "quantity": 2}]}
        sku = "KIT"
    req: dict[str, Any] = {
        "order": {"id": "O-1", "currency": "USD", "destination": "d",
                  "lines": [{"id": "L1", "sku": sku, "quantity": 2, "unit_price": "1.00"}],
                  "payments": [{"method": "cash", "amount": "2.00"}]},
        "catalog": catalog,
        "warehouses": [{"id": "W1", "stock": {"A": 5, "B": 5}, "delivery_hours": {"d": 12}},
                       {"id": "W2", "stock": {"A": 5, "B": 5}, "delivery_hours": {"d": 24}}],
        "options": {"objective": objective, "time_limit_ms": 30_000},
    }
    if prices is not None:
        req["options"]["stock_prices"] = prices
    return req


@pytest.mark.parametrize("solver", EXACT)
def test_priced_stock_moves_the_plan_and_is_reported(solver: str) -> None:
    prices = {"version": "2026-12-07T00:00:00Z-abc", "prices": {"W1": {"A": 2.5}}}
    req = _two_warehouse_request(["children", "stock_value", "delivery"], prices)
    req["options"]["solver"] = solver
    plan = split(req)
    assert plan.status == "optimal"
    assert [c.warehouse for c in plan.children] == ["W2"]  # slower, but its stock is free
    assert plan.objective.stock_value == 0.0
    assert plan.stock_prices_version == "2026-12-07T00:00:00Z-abc"
    req["options"]["objective"] = ["children", "delivery", "stock_value"]
    plan = split(req)
    assert [c.warehouse for c in plan.children] == ["W1"]  # delivery first: the fast one
    assert plan.objective.stock_value == 5.0  # 2 units at 2.5, reported all the same


def test_a_bundle_is_priced_by_its_components() -> None:
    prices = {"version": "v", "prices": {"W1": {"A": 1.25, "B": 0.5}, "W2": {"A": 3}}}
    req = _two_warehouse_request(["children", "stock_value", "delivery"], prices, bundle=True)
    plan = split(req)
    # W1: 2 x (1.25 + 2 x 0.5) = 4.5; W2: 2 x 3 = 6
    assert [c.warehouse for c in plan.children] == ["W1"]
    assert plan.objective.stock_value == 4.5


def test_without_prices_nothing_is_added_to_the_plan() -> None:
    plan = split(_two_warehouse_request(["children", "delivery"], None))
    text = plan.model_dump_json()
    assert "stock_value" not in text and "stock_prices_version" not in text


def test_price_scale_keeps_the_stock_value_exact_in_int64() -> None:
    """A dear price on a large order scales down to fit (deterministically)."""
    prices = {"version": "v", "prices": {"W1": {"A": 9_999_999.123456}}}
    req = _two_warehouse_request(["children", "stock_value"], prices)
    req["order"]["lines"][0]["quantity"] = 1_000_000
    req["order"]["payments"][0]["amount"] = "1000000.00"
    req["warehouses"][0]["stock"]["A"] = 2_000_000
    problem = compile_request(parse_request(req)).problem
    assert int(problem.prices.max()) * 1_000_000 <= STOCK_VALUE_LIMIT
    again = compile_request(parse_request(req)).problem
    assert np.array_equal(problem.prices, again.prices)
    assert problem.price_scale == again.price_scale < 10**6


@pytest.mark.parametrize(("prices", "field"), [
    ({"version": "v", "prices": {"W1": {"A": -1}}}, "options.stock_prices.prices.W1.A"),
    ({"version": "v", "prices": {"W1": {"A": "1.5"}}}, "options.stock_prices.prices.W1.A"),
    ({"version": "v", "prices": {"W1": {"A": True}}}, "options.stock_prices.prices.W1.A"),
    ({"version": "v", "prices": {"W1": {"A": 1e12}}}, "options.stock_prices.prices.W1.A"),
    ({"version": "v", "prices": {"W1": {"A": float("nan")}}}, "options.stock_prices.prices.W1.A"),
    ({"version": "v", "prices": {"W1": {"A": float("inf")}}}, "options.stock_prices.prices.W1.A"),
    ({"version": "v", "prices": {"W 1": {"A": 1}}}, "options.stock_prices.prices.W 1"),
    ({"version": "v", "prices": {"W1": {"A B": 1}}}, "options.stock_prices.prices.W1.A B"),
    ({"version": "v", "prices": {"W1": [1]}}, "options.stock_prices.prices.W1"),
    ({"version": "", "prices": {}}, "options.stock_prices.version"),
    ({"version": "x" * 65, "prices": {}}, "options.stock_prices.version"),
    ({"version": "bad\nversion", "prices": {}}, "options.stock_prices.version"),
    ({"prices": {}}, "options.stock_prices.version"),
    ({"version": "v"}, "options.stock_prices.prices"),
    ({"version": "v", "prices": {}, "extra": 1}, "options.stock_prices.extra"),
    (None, "options.stock_prices"),
])
def test_bad_prices_are_named(prices: dict[str, Any] | None, field: str) -> None:
    req = _two_warehouse_request(["children", "stock_value", "delivery"], prices)
    with pytest.raises(RequestError) as err:
        parse_request(req)
    assert err.value.field == field
    assert err.value.order_id == "O-1"


def test_stock_value_must_come_after_children() -> None:
    req = _two_warehouse_request(["stock_value", "children"], {"version": "v", "prices": {}})
    with pytest.raises(RequestError) as err:
        parse_request(req)
    assert err.value.field == "options.objective" and "after children" in str(err.value)
    req["options"]["objective"] = ["delivery", "stock_value"]
    with pytest.raises(RequestError):
        parse_request(req)


def test_cli_exits_2_on_stock_value_without_prices(tmp_path: Any) -> None:
    import json

    from ordersplit.cli import main

    path = tmp_path / "order.json"
    path.write_text(json.dumps(_two_warehouse_request(["children", "stock_value"], None)))
    assert main(["split", str(path)]) == 2


def test_backend_registry_has_the_exact_backends() -> None:
    for name in ("cpsat", "milp", "milp_cbc", "combination"):
        assert get_backend(name).exact
