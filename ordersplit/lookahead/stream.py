"""One simulated day's order stream: arrival times, requests, and the demand they carry.

The stream is drawn once (the scenario's orders, Olist-shaped arrival times) and shared
by every policy of a run, by the forecasts that read the realised demand, and by the
offline batch reference, so that all of them see the same orders in the same order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ordersplit.bench.network import Network
from ordersplit.bench.scenario import ScenarioConfig, iter_orders
from ordersplit.lookahead.arrivals import arrival_hours

ARRIVAL_STREAM = 17
"""Second seed word of the arrival times (the scenario uses 0 and 1)."""


@dataclass(frozen=True)
class OrderStream:
    """Orders in arrival order: ``times[k]`` hours from the start, ``requests[k]`` the
    contract request without warehouses (the simulator adds the stock left)."""

    times: np.ndarray
    requests: tuple[dict[str, Any], ...]

    def __post_init__(self) -> None:
        if self.times.shape != (len(self.requests),):
            raise ValueError("one arrival time per request")
        self.times.setflags(write=False)

    def __len__(self) -> int:
        return len(self.requests)


def scenario_stream(config: ScenarioConfig, net: Network, horizon_hours: float,
                    seed: int) -> OrderStream:
    """The scenario's orders on ``net`` with arrival times over ``horizon_hours``
    (seeded by ``seed``; the orders by ``config.seed``)."""
    bare = dataclasses.replace(net, locations=[], stock=net.stock[:0])
    requests = []
    for req in iter_orders(config, bare):
        req["warehouses"] = []
        requests.append(req)
    times = arrival_hours(len(requests), horizon_hours, np.random.default_rng([seed, ARRIVAL_STREAM]))
    return OrderStream(times, tuple(requests))


@dataclass(frozen=True)
class StreamDemand:
    """The units each order asks for, by region and stock SKU (bundles as components):
    order ``k`` asks ``units[ptr[k]:ptr[k+1]]`` of SKU columns ``cols[...]`` in region
    ``region[k]`` (-1: a region the network does not know)."""

    times: np.ndarray
    region: np.ndarray
    ptr: np.ndarray
    cols: np.ndarray
    units: np.ndarray
    regions: tuple[str, ...]
    sku_ids: tuple[str, ...]

    def between(self, start_h: float, end_h: float) -> np.ndarray:
        """float64 [region, sku] units of the orders arriving in ``(start_h, end_h)``."""
        lo = int(np.searchsorted(self.times, start_h, side="right"))
        hi = int(np.searchsorted(self.times, end_h, side="left"))
        out = np.zeros((len(self.regions), len(self.sku_ids)))
        if hi <= lo:
            return out
        a, b = int(self.ptr[lo]), int(self.ptr[hi])
        owner = np.repeat(np.arange(lo, hi), np.diff(self.ptr[lo:hi + 1]))
        rows = self.region[owner]
        keep = rows >= 0
        np.add.at(out, (rows[keep], self.cols[a:b][keep]), self.units[a:b][keep])
        return out


def stream_demand(stream: OrderStream, regions: Sequence[str], sku_ids: Sequence[str]
                  ) -> StreamDemand:
    """The demand of every order of ``stream`` over the network's regions and SKUs."""
    r_index = {r: i for i, r in enumerate(regions)}
    s_index = {s: i for i, s in enumerate(sku_ids)}
    region = np.full(len(stream), -1, dtype=np.int64)
    ptr = np.zeros(len(stream) + 1, dtype=np.int64)
    cols: list[int] = []
    units: list[float] = []
    for k, req in enumerate(stream.requests):
        region[k] = r_index.get(str(req["order"].get("destination", "")), -1)
        for sku, q in order_units(req).items():
            if sku in s_index:
                cols.append(s_index[sku])
                units.append(float(q))
        ptr[k + 1] = len(cols)
    return StreamDemand(stream.times, region, ptr, np.array(cols, dtype=np.int64),
                        np.array(units, dtype=np.float64), tuple(regions), tuple(sku_ids))


def order_units(req: Mapping[str, Any]) -> dict[str, int]:
    """Units of each stock SKU an order asks for (a bundle line as its components)."""
    out: dict[str, int] = {}
    catalog = req.get("catalog", {})
    for line in req["order"]["lines"]:
        comps = catalog.get(line["sku"], {}).get("components")
        for sku, per in ([(c["sku"], c["quantity"]) for c in comps] if comps
                         else [(line["sku"], 1)]):
            out[sku] = out.get(sku, 0) + int(line["quantity"]) * int(per)
    return out
