"""The offline reference: the batch re-optimization over the simulated day's orders.

The batch (:func:`ordersplit.batch.reoptimize`) sees every order of the stream at once
against the starting stock: what a planner who knew the whole day could do with the
engine's joint search. Its ``children`` are the reference the look-ahead policy's gain is
measured against, and its joint lower bound (:mod:`ordersplit.batch.bound`, a bound on
every joint plan) is the clairvoyant bound of Acimovic and Graves's measure.

With replenishment every ``R`` hours the simulator refills every location up to its
starting stock at the first order of each period ``[kR, (k+1)R)``; stock only falls in
between, so each period starts from the full starting stock and is a batch of its own.
The periods' children and bounds add up (a bound per independent period bounds their
sum).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ordersplit.batch import BatchInput, reoptimize
from ordersplit.batch.inputs import templates_from_requests, world_from_warehouses
from ordersplit.bench.network import Network, location_dicts
from ordersplit.lookahead.stream import OrderStream

log = logging.getLogger(__name__)


@dataclass
class BatchReference:
    """The batch over the stream (summed over replenishment periods)."""

    orders: int
    planned: int
    errors: int
    children: int
    """The batch's children (never more than ``sequential_children``)."""
    sequential_children: int
    """The batch's own warm start: sequential splitting in arrival order."""
    joint_bound: int | None
    """A lower bound on the children of any plan of the planned orders (``None`` when a
    period's bound was not computed)."""
    mean_delivery_hours: float
    sequential_mean_delivery_hours: float
    runtime_s: float
    periods: list[dict[str, Any]] = field(default_factory=list)
    """Each period's batch summary figures."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


PERIOD_KEYS = ("orders_input", "orders_planned", "orders_failed", "children_sequential",
               "children_batch", "children_joint_bound", "joint_bound_status",
               "mean_delivery_hours_sequential", "mean_delivery_hours_batch", "runtime_s")


def periods(times: np.ndarray, replenish_every_hours: float | None) -> list[np.ndarray]:
    """Order positions of each stock period (one period without replenishment)."""
    if replenish_every_hours is None or not len(times):
        return [np.arange(len(times))]
    label = np.floor(times / replenish_every_hours).astype(np.int64)
    return [np.flatnonzero(label == k) for k in np.unique(label)]


def batch_reference(stream: OrderStream, net: Network, *, replenish_every_hours: float | None = None,
                    time_limit_s: float = 120.0, workers: int = 1,
                    bound_time_limit_s: float = 60.0, deterministic: bool = False,
                    max_rounds: int | None = None) -> BatchReference:
    """Re-optimize the stream's orders as one batch per stock period (module doc);
    ``time_limit_s`` is shared among the periods by their orders. ``deterministic``
    (work limits instead of the clock, ``max_rounds`` search rounds) gives the same
    reference on any machine and under any load."""
    world = world_from_warehouses(location_dicts(net.locations, net.sku_ids, net.stock))
    parts = [p for p in periods(stream.times, replenish_every_hours) if p.size]
    total = max(1, len(stream))
    out: list[dict[str, Any]] = []
    for part in parts:
        templates, errors, n = templates_from_requests(
            world, (stream.requests[int(k)] for k in part))
        limit = max(1.0, time_limit_s * part.size / total)
        res = reoptimize(BatchInput(world, templates, errors, n), time_limit_s=limit,
                         workers=workers, bound_time_limit_s=bound_time_limit_s,
                         deterministic=deterministic, max_rounds=max_rounds)
        out.append({k: res.summary.get(k) for k in PERIOD_KEYS})
        log.info("batch period of %d orders: %s -> %s children (bound %s)", part.size,
                 out[-1]["children_sequential"], out[-1]["children_batch"],
                 out[-1]["children_joint_bound"])
    return _combine(out)


def _combine(parts: Sequence[dict[str, Any]]) -> BatchReference:
    planned = sum(int(p["orders_planned"] or 0) for p in parts)
    bounds = [p["children_joint_bound"] for p in parts]

    def mean(key: str) -> float:
        w = [(float(p[key] or 0.0), int(p["orders_planned"] or 0)) for p in parts]
        return sum(v * n for v, n in w) / planned if planned else 0.0

    return BatchReference(
        orders=sum(int(p["orders_input"] or 0) for p in parts), planned=planned,
        errors=sum(int(p["orders_failed"] or 0) for p in parts),
        children=sum(int(p["children_batch"] or 0) for p in parts),
        sequential_children=sum(int(p["children_sequential"] or 0) for p in parts),
        joint_bound=None if any(b is None for b in bounds) else sum(int(b) for b in bounds),
        mean_delivery_hours=mean("mean_delivery_hours_batch"),
        sequential_mean_delivery_hours=mean("mean_delivery_hours_sequential"),
        runtime_s=sum(float(p["runtime_s"] or 0.0) for p in parts), periods=list(parts))
