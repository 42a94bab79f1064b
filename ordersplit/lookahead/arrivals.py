"""Order arrival times over a horizon, shaped like Olist's purchases by hour of day.

The scenario generator (:mod:`ordersplit.bench.scenario`) draws orders but no arrival
times, so the simulator adds them here: the hour-of-day profile of Olist's
``order_purchase_timestamp`` (shared/data/olist_sample), or a flat profile (logged)
when the data is missing.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

log = logging.getLogger(__name__)


@functools.cache
def olist_hour_profile() -> tuple[float, ...]:
    """P(an order is placed in hour h of the day), h = 0..23, from Olist purchases."""
    from ordersplit.io import datasets

    try:
        orders = datasets.read_olist("orders")
    except (OSError, KeyError, ValueError) as exc:
        log.warning("Olist orders unavailable (%s): flat arrival profile", exc)
        return tuple([1 / 24] * 24)
    import pandas as pd

    stamps = pd.to_datetime(orders["order_purchase_timestamp"], errors="coerce").dropna()
    counts = np.bincount(stamps.dt.hour.to_numpy(), minlength=24).astype(np.float64)
    return tuple((counts / counts.sum()).tolist())


def arrival_hours(n: int, horizon_hours: float, rng: np.random.Generator,
                  profile: tuple[float, ...] | None = None) -> np.ndarray:
    """``n`` sorted arrival times in [0, horizon_hours) (hours from the start, hour 0 =
    midnight), drawn from the hour-of-day ``profile`` (default: Olist's)."""
    if n < 0 or not horizon_hours > 0:
        raise ValueError("n must be >= 0 and horizon_hours positive")
    prof = np.asarray(profile if profile is not None else olist_hour_profile(), dtype=np.float64)
    slots = int(np.ceil(horizon_hours))
    weight = prof[np.arange(slots) % 24].copy()
    last = horizon_hours - (slots - 1)  # the last hour may be partial
    weight[-1] *= last
    slot = rng.choice(slots, size=n, p=weight / weight.sum())
    frac = rng.random(n) * np.where(slot == slots - 1, last, 1.0)
    return np.sort(slot + frac)
