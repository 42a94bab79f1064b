"""The numeric network the stock-pricing LP reads: warehouses, SKUs, stock, lanes.

Built from a batch :class:`~ordersplit.batch.model.World` (or directly from arrays), then
frozen. ``hours[w, r]`` is NaN where warehouse ``w`` does not deliver to region ``r``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ordersplit.batch.model import World
from ordersplit.bench.network import Network


@dataclass(frozen=True)
class PricingNetwork:
    """Warehouses x SKUs stock and warehouses x regions delivery hours (immutable:
    the arrays given are made read-only in place, not copied)."""

    warehouse_ids: tuple[str, ...]
    sku_ids: tuple[str, ...]
    regions: tuple[str, ...]
    stock: np.ndarray
    """int64 [warehouse, sku] units on hand (>= 0)."""
    hours: np.ndarray
    """float64 [warehouse, region] delivery hours (NaN: no delivery)."""
    child_cost: np.ndarray
    """float64 [warehouse] cost of one child shipped from it."""

    def __post_init__(self) -> None:
        w, s, r = len(self.warehouse_ids), len(self.sku_ids), len(self.regions)
        if self.stock.shape != (w, s) or self.hours.shape != (w, r) or self.child_cost.shape != (w,):
            raise ValueError("stock must be warehouses x skus, hours warehouses x regions")
        if (self.stock < 0).any():
            raise ValueError("stock must be >= 0")
        for a in (self.stock, self.hours, self.child_cost):
            a.setflags(write=False)


def network_from_world(world: World, regions: Sequence[str], stock: np.ndarray | None = None
                       ) -> PricingNetwork:
    """The pricing network of a batch world for ``regions`` (stores left out: they ship only
    offline-store lines); ``stock`` overrides the world's (e.g. what is left mid-day)."""
    keep = np.flatnonzero(world.is_store() == 0)
    minutes = np.stack([world.minutes(r) for r in regions], axis=1).astype(np.float64) \
        if regions else np.zeros((world.n_locations, 0))
    hours = np.where(minutes >= 0, minutes / 60.0, np.nan)
    cost = np.array([float(loc.child_cost) for loc in world.locations], dtype=np.float64)
    units = world.stock if stock is None else np.asarray(stock)
    return PricingNetwork(tuple(world.locations[w].id for w in keep), tuple(world.sku_ids),
                          tuple(regions), np.ascontiguousarray(units[keep], dtype=np.int64),
                          np.ascontiguousarray(hours[keep]), cost[keep])


def network_from_scenario(net: Network, stock: np.ndarray | None = None) -> PricingNetwork:
    """The pricing network of a scenario generator network (the simulator's world) over
    its regions, stores left out; ``stock`` [location, sku] overrides the network's."""
    units = net.stock if stock is None else np.asarray(stock)
    keep = [w for w, loc in enumerate(net.locations) if loc.get("kind", "warehouse") != "store"]
    hours = np.full((len(keep), len(net.regions)), np.nan)
    for i, w in enumerate(keep):
        lanes = net.locations[w]["delivery_hours"]
        for r, region in enumerate(net.regions):
            h = lanes.get(region, lanes.get("*"))
            if h is not None:
                hours[i, r] = float(h)
    cost = np.array([float(net.locations[w].get("child_cost", 0)) for w in keep])
    return PricingNetwork(tuple(str(net.locations[w]["id"]) for w in keep), tuple(net.sku_ids),
                          tuple(net.regions), np.ascontiguousarray(units[keep], dtype=np.int64),
                          hours, cost)
