"""Batches from the benchmark's scenario generator: one shared network, many orders.

The generator makes every order a self-contained request (its own catalogue and stock
restricted to its SKUs). A batch needs one network: the world is built from
:func:`~ordersplit.bench.scenario.scenario_network` and the orders from
:func:`~ordersplit.bench.scenario.iter_orders` without their warehouses. The generator
is handed the network with no locations, so it does not build the per-order warehouse
lists that a batch drops anyway (the orders are the same: locations draw no random
numbers there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ordersplit.batch.inputs import BatchInput, templates_from_requests, world_from_warehouses
from ordersplit.batch.model import World
from ordersplit.bench.network import Network, location_dicts
from ordersplit.bench.scenario import ScenarioConfig, iter_orders, scenario_network


def _world(net: Network) -> World:
    return world_from_warehouses(location_dicts(net.locations, net.sku_ids, net.stock))


def _requests(config: ScenarioConfig, net: Network) -> Iterator[dict[str, Any]]:
    bare = dataclasses.replace(net, locations=[], stock=net.stock[:0])
    for req in iter_orders(config, bare):
        req["warehouses"] = []
        yield req


def scenario_world(config: ScenarioConfig) -> World:
    """The shared network of ``config`` as a batch world (every location, all stock)."""
    return _world(scenario_network(config))


def scenario_requests(config: ScenarioConfig) -> Iterator[dict[str, Any]]:
    """The scenario's orders as contract requests without warehouses."""
    return _requests(config, scenario_network(config))


def scenario_batch(config: ScenarioConfig) -> BatchInput:
    """A validated batch of the scenario's orders against its shared network."""
    net = scenario_network(config)
    world = _world(net)
    templates, errors, n = templates_from_requests(world, _requests(config, net))
    return BatchInput(world, templates, errors, n)
