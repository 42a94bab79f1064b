"""Peers: valid plans on generated scenarios, and their documented behaviour on tiny problems."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ordersplit.bench.peers import (
    PEERS,
    location_sets,
    most_stock_fill,
    nearest_fill,
    priority_fill,
    shopify_rules,
)
from ordersplit.bench.scenario import ScenarioConfig, generate_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver.backends.base import backend_names, get_backend
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline


def tiny(stock: list[list[int]], quantity: list[int], hours: list[int], *,
         group: list[int] | None = None, splittable: list[bool] | None = None,
         allowed: list[list[bool]] | None = None) -> SplitProblem:
    """Items of one SKU each (item ``i`` uses SKU ``i``); ``stock[w][i]`` per warehouse."""
    n, m = len(quantity), len(hours)
    return SplitProblem(
        quantity=np.array(quantity, dtype=np.int64),
        usage=np.eye(n, dtype=np.int64),
        splittable=np.array(splittable or [True] * n, dtype=bool),
        group=np.array(group or [0] * n, dtype=np.int64),
        stock=np.array(stock, dtype=np.int64).reshape(m, n),
        allowed=np.array(allowed, dtype=bool) if allowed else np.ones((n, m), dtype=bool),
        hours=np.array(hours, dtype=np.int64),
        cost=np.ones(m, dtype=np.int64),
    )


def plan(peer: Callable[..., IntArray | None], p: SplitProblem, **options: int) -> IntArray:
    """The peer's assignment, which must exist."""
    x = peer(p, **options)
    assert x is not None
    return x


def _problems(cfg: ScenarioConfig) -> list[SplitProblem]:
    return [compile_request(parse_request(r)).problem for r in generate_orders(cfg)]


SCENARIOS = {
    "default": ScenarioConfig.preset("default", n_orders=120, seed=5),
    "scarce": ScenarioConfig.preset("scarce", n_orders=80, seed=5),
    "uniform_10x30": ScenarioConfig.uniform(10, 30, n_orders=20, seed=5),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_peer_plan_is_valid(scenario: str) -> None:
    for p in _problems(SCENARIOS[scenario]):
        for name, peer in PEERS.items():
            x = peer(p)
            assert x is not None, name
            assert violations(p, x) == [], name


def test_peers_are_registered_backends() -> None:
    assert set(PEERS) <= set(backend_names())
    p = tiny([[3], [3]], [2], [10, 5])
    for name in PEERS:
        res = get_backend(name).solve(p, Deadline(60))
        assert res.status == Status.FEASIBLE and res.assignment is not None
        assert res.objective == evaluate(p, res.assignment)


def test_priority_fill_follows_listing_order() -> None:
    # W0 is slow and short, W1 fast and deep: priority still drains W0 first
    p = tiny([[2], [10]], [5], [50, 10])
    assert plan(priority_fill, p).tolist() == [[2, 3]]


def test_priority_fill_goes_line_by_line_without_look_ahead() -> None:
    # W0 has A only, W1 has A and B: per-line fill takes A from W0, B from W1 (2 children)
    p = tiny([[1, 0], [1, 1]], [1, 1], [10, 10])
    x = plan(priority_fill, p)
    assert x.tolist() == [[1, 0], [0, 1]]
    assert evaluate(p, x).children == 2


def test_nearest_fill_takes_the_nearest_first() -> None:
    p = tiny([[2], [10], [10]], [5], [50, 10, 5])
    assert plan(nearest_fill, p).tolist() == [[0, 0, 5]]
    p = tiny([[2], [10], [3]], [5], [50, 10, 5])
    assert plan(nearest_fill, p).tolist() == [[0, 2, 3]]


def test_most_stock_takes_the_deepest_warehouse_first() -> None:
    p = tiny([[4], [6], [5]], [5], [1, 2, 3])
    assert plan(most_stock_fill, p).tolist() == [[0, 5, 0]]
    p = tiny([[4], [6], [5]], [8], [1, 2, 3])
    assert plan(most_stock_fill, p).tolist() == [[0, 6, 2]]


def test_fill_respects_reach_and_unsplittable_items() -> None:
    # W0 may not ship the item; the bundle-like item ships whole from W2 (W1 has too few)
    p = tiny([[9], [2], [5]], [4], [1, 2, 3], splittable=[False],
             allowed=[[False, True, True]])
    for peer in (priority_fill, nearest_fill, most_stock_fill, shopify_rules, location_sets):
        assert plan(peer, p).tolist() == [[0, 0, 4]], peer.__name__


def test_location_sets_finds_the_smallest_set() -> None:
    # A: W0, W1; B: W1, W2 -> the single location W1, although it is the slowest
    p = tiny([[1, 0], [1, 1], [0, 1]], [1, 1], [5, 50, 5])
    assert plan(location_sets, p).tolist() == [[0, 1, 0], [0, 1, 0]]


def test_location_sets_ranks_by_mean_distance() -> None:
    # A at W0, W2; B at W1, W3: no single location covers; {W2, W3} has the best mean (15)
    p = tiny([[1, 0], [0, 1], [1, 0], [0, 1]], [1, 1], [30, 40, 20, 10])
    assert plan(location_sets, p).tolist() == [[0, 0, 1, 0], [0, 0, 0, 1]]


def test_location_sets_beyond_the_cap_falls_back_to_priority_fill() -> None:
    # three items, each in one warehouse only: needs 3 locations, cap allows 2
    stock = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
    p = tiny(stock[:3], [1, 1, 1], [10, 10, 10])
    x = plan(location_sets, p, max_splits=1)
    assert violations(p, x) == [] and x.tolist() == plan(priority_fill, p).tolist()
    p = tiny(stock, [1, 1, 1], [10, 10, 10, 90])
    assert plan(location_sets, p, max_splits=0).tolist() == [[0, 0, 0, 1]] * 3


def test_shopify_prefers_a_location_with_everything_then_the_closest() -> None:
    # W0 (first in priority) lacks B; W1 and W2 have everything; W2 is closer
    p = tiny([[5, 0], [5, 5], [5, 5]], [1, 1], [1, 30, 20])
    assert plan(shopify_rules, p).tolist() == [[0, 0, 1], [0, 0, 1]]


def test_shopify_without_a_full_location_minimizes_packages() -> None:
    # nobody has A, B and C; W1 has two of them, so it goes first; C then from W2
    p = tiny([[1, 0, 0], [1, 1, 0], [0, 0, 1]], [1, 1, 1], [1, 9, 9])
    x = plan(shopify_rules, p)
    assert x.tolist() == [[0, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert evaluate(p, x).children == 2


def test_peers_ignore_groups_but_groups_still_count() -> None:
    # two groups (e.g. chilled, frozen) both at W0: one location, two children
    p = tiny([[1, 1]], [1, 1], [10], group=[0, 1])
    for peer in PEERS.values():
        assert evaluate(p, plan(peer, p)).children == 2
