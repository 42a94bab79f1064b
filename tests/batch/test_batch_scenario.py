"""Batches from the scenario generator: the same orders as the generator's requests."""

from __future__ import annotations

import numpy as np

from ordersplit.batch.scenario import scenario_batch, scenario_requests, scenario_world
from ordersplit.bench.scenario import ScenarioConfig, generate_orders, scenario_network

CONFIG = ScenarioConfig.preset("default", n_orders=60, n_warehouses=6, n_skus=80, seed=2)


def test_scenario_requests_are_the_generators_orders_without_warehouses() -> None:
    full = generate_orders(CONFIG, scenario_network(CONFIG))
    assert all(r["warehouses"] for r in full)
    expected = [{**r, "warehouses": []} for r in full]
    assert list(scenario_requests(CONFIG)) == expected


def test_scenario_batch_holds_every_order_and_the_networks_stock() -> None:
    batch = scenario_batch(CONFIG)
    assert batch.n_input == CONFIG.n_orders == len(batch.templates) + len(batch.errors)
    net = scenario_network(CONFIG)
    world = scenario_world(CONFIG)
    assert int(world.stock.sum()) == int(net.stock.sum())
    assert np.array_equal(batch.world.stock, world.stock)


def test_generating_in_a_child_process_gives_the_same_batch() -> None:
    here, there = scenario_batch(CONFIG), scenario_batch(CONFIG, workers=2)
    assert [t.request for t in here.templates] == [t.request for t in there.templates]
    assert here.errors == there.errors and here.n_input == there.n_input
