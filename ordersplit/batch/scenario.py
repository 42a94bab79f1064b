"""Batches from the benchmark's scenario generator: one shared network, many orders.

The generator makes every order a self-contained request (its own catalogue and stock
restricted to its SKUs). A batch needs one network: the world is built from
:func:`~ordersplit.bench.scenario.scenario_network` and the orders from
:func:`~ordersplit.bench.scenario.iter_orders` without their warehouses. The generator
is handed the network with no locations, so it does not build the per-order warehouse
lists that a batch drops anyway (the orders are the same: locations draw no random
numbers there).

With ``workers > 1``, :func:`scenario_batch` runs the generator in a child process that
sends the orders in chunks, while this process validates them into templates (the
generator's random stream is sequential, so it cannot be split further).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing as mp
from collections.abc import Iterator
from typing import Any

from ordersplit.batch.inputs import BatchInput, templates_from_requests, world_from_warehouses
from ordersplit.batch.model import World
from ordersplit.bench.network import Network, location_dicts
from ordersplit.bench.scenario import ScenarioConfig, iter_orders, scenario_network

log = logging.getLogger(__name__)

CHUNK = 1000
"""Orders per message from the generator process."""


def _world(net: Network) -> World:
    return world_from_warehouses(location_dicts(net.locations, net.sku_ids, net.stock))


def _requests(config: ScenarioConfig, net: Network) -> Iterator[dict[str, Any]]:
    bare = dataclasses.replace(net, locations=[], stock=net.stock[:0])
    for req in iter_orders(config, bare):
        req["warehouses"] = []
        yield req


def _produce(config: ScenarioConfig, net: Network, queue: Any) -> None:
    """The generator process: the orders in chunks, then ``None`` (or the error text)."""
    try:
        chunk: list[dict[str, Any]] = []
        for req in _requests(config, net):
            chunk.append(req)
            if len(chunk) == CHUNK:
                queue.put(chunk)
                chunk = []
        if chunk:
            queue.put(chunk)
        queue.put(None)
    except Exception as exc:  # reported to the consumer, which raises it
        queue.put(f"{type(exc).__name__}: {exc}")


def _requests_from_child(config: ScenarioConfig, net: Network) -> Iterator[dict[str, Any]]:
    ctx = mp.get_context()
    queue = ctx.Queue(maxsize=8)
    child = ctx.Process(target=_produce, args=(config, net, queue), daemon=True)
    child.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"scenario generator failed: {item}")
            yield from item
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()


def scenario_world(config: ScenarioConfig) -> World:
    """The shared network of ``config`` as a batch world (every location, all stock)."""
    return _world(scenario_network(config))


def scenario_requests(config: ScenarioConfig) -> Iterator[dict[str, Any]]:
    """The scenario's orders as contract requests without warehouses."""
    return _requests(config, scenario_network(config))


def scenario_batch(config: ScenarioConfig, workers: int = 1) -> BatchInput:
    """A validated batch of the scenario's orders against its shared network
    (``workers > 1``: the orders are generated in a child process meanwhile)."""
    net = scenario_network(config)
    world = _world(net)
    requests = _requests_from_child(config, net) if workers > 1 else _requests(config, net)
    templates, errors, n = templates_from_requests(world, requests)
    return BatchInput(world, templates, errors, n)
