"""Batches from the benchmark's scenario generator: one shared network, many orders.

The generator makes every order a self-contained request (its own catalogue and stock
restricted to its SKUs). A batch needs one network: the world is built from
:func:`~ordersplit.bench.scenario.scenario_network` and the orders from
:func:`~ordersplit.bench.scenario.iter_orders` with their warehouses dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ordersplit.batch.inputs import BatchInput, templates_from_requests, world_from_warehouses
from ordersplit.batch.model import World
from ordersplit.bench.network import location_dicts
from ordersplit.bench.scenario import ScenarioConfig, iter_orders, scenario_network


def scenario_world(config: ScenarioConfig) -> World:
    """The shared network of ``config`` as a batch world (every location, all stock)."""
    net = scenario_network(config)
    return world_from_warehouses(location_dicts(net.locations, net.sku_ids, net.stock))


def scenario_requests(config: ScenarioConfig) -> Iterator[dict[str, Any]]:
    """The scenario's orders as contract requests without warehouses."""
    net = scenario_network(config)
    for req in iter_orders(config, net):
        req["warehouses"] = []
        yield req


def scenario_batch(config: ScenarioConfig) -> BatchInput:
    """A validated batch of the scenario's orders against its shared network."""
    world = scenario_world(config)
    templates, errors, n = templates_from_requests(world, scenario_requests(config))
    return BatchInput(world, templates, errors, n)
