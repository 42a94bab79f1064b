"""Forecasts of the rest of a simulated day, of three qualities, for the look-ahead study.

A :class:`Forecaster` answers "how many units of each SKU will each region order between
now and the end of the pricing window" (:meth:`Forecaster.forecast`); the look-ahead
policy prices the stock left against that answer. Three kinds measure how the gain
depends on forecast error:

``perfect``
    the realised demand of the orders still to come in the window (the stream itself).
``noisy``
    the perfect forecast times a fixed multiplicative error per (region, SKU),
    log-normal with mean 1 and ``sigma`` (seeded): right on average, wrong per cell.
``stale``
    the realised demand of an earlier day on the same network (another order stream,
    its own arrival times), over the same window, with a share ``shift`` of the SKUs'
    demand moved to other SKUs (a shifted mix: some products fell out of favour).

Each is a pure function of its seed: the same seed gives the same forecasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ordersplit.bench.network import Network
from ordersplit.bench.scenario import ScenarioConfig
from ordersplit.lookahead.forecast import Forecast
from ordersplit.lookahead.stream import OrderStream, StreamDemand, scenario_stream, stream_demand

FORECAST_KINDS = ("perfect", "noisy", "stale")
NOISE_STREAM = 23
"""Second seed word of the noisy forecast's errors."""
STALE_STREAM = 29
"""Second seed word of the stale forecast's mix shift."""
STALE_DAY_OFFSET = 1_000_003
"""Added to the scenario seed for the earlier day's orders (any other seed would do)."""
MIN_WINDOW_H = 1e-6


class Forecaster(Protocol):
    """Expected units per (region, SKU) arriving in ``(start_h, end_h)``."""

    @property
    def kind(self) -> str: ...

    def forecast(self, start_h: float, end_h: float) -> Forecast: ...


@dataclass(frozen=True)
class StreamForecaster:
    """A forecast read off a realised stream's demand, scaled per cell by ``factor``
    and with SKU columns moved by ``perm`` (both optional)."""

    kind: str
    demand: StreamDemand
    factor: np.ndarray | None = None
    """float64 [region, sku] multiplicative error (``None``: exact)."""
    perm: np.ndarray | None = None
    """int64 [sku]: the demand of column ``perm[s]`` is forecast for SKU ``s``."""

    def forecast(self, start_h: float, end_h: float) -> Forecast:
        units = self.demand.between(start_h, end_h)
        if self.perm is not None:
            units = units[:, self.perm]
        if self.factor is not None:
            units = units * self.factor
        return Forecast(self.demand.regions, self.demand.sku_ids, units,
                        max(MIN_WINDOW_H, end_h - start_h))


def make_forecaster(kind: str, stream: OrderStream, net: Network, scenario: ScenarioConfig,
                    horizon_hours: float, seed: int, sigma: float = 0.5, shift: float = 0.25
                    ) -> StreamForecaster:
    """A forecaster of ``kind`` (:data:`FORECAST_KINDS`) for ``stream`` on ``net``."""
    regions, skus = tuple(net.regions), tuple(net.sku_ids)
    if kind == "perfect":
        return StreamForecaster(kind, stream_demand(stream, regions, skus))
    if kind == "noisy":
        if sigma < 0:
            raise ValueError("the noise sigma must be >= 0")
        rng = np.random.default_rng([seed, NOISE_STREAM])
        factor = np.exp(rng.normal(-sigma * sigma / 2, sigma, (len(regions), len(skus))))
        return StreamForecaster(kind, stream_demand(stream, regions, skus), factor=factor)
    if kind == "stale":
        if not 0.0 <= shift <= 1.0:
            raise ValueError("the stale mix shift must be in [0, 1]")
        earlier = scenario_stream(scenario.replace(seed=scenario.seed + STALE_DAY_OFFSET), net,
                                  horizon_hours, seed + STALE_DAY_OFFSET)
        return StreamForecaster(kind, stream_demand(earlier, regions, skus),
                                perm=shifted_mix(len(skus), shift, seed))
    raise ValueError(f"unknown forecast kind {kind!r}; known: {list(FORECAST_KINDS)}")


def shifted_mix(n_skus: int, shift: float, seed: int) -> np.ndarray:
    """A permutation of ``n_skus`` columns that moves a share ``shift`` of them among
    themselves (a derangement of the chosen ones when there are two or more)."""
    rng = np.random.default_rng([seed, STALE_STREAM])
    perm = np.arange(n_skus, dtype=np.int64)
    moved = rng.choice(n_skus, size=round(shift * n_skus), replace=False)
    if moved.size >= 2:
        perm[moved] = np.roll(moved, 1)
    return perm


def parse_kinds(text: str | Sequence[str]) -> tuple[str, ...]:
    """Forecast kinds from ``"perfect,noisy"`` (or a list), checked and deduplicated."""
    kinds = [k.strip() for k in (text.split(",") if isinstance(text, str) else text) if k.strip()]
    bad = [k for k in kinds if k not in FORECAST_KINDS]
    if bad or not kinds:
        raise ValueError(f"unknown forecast kind {bad[0] if bad else ''!r}; "
                         f"known: {list(FORECAST_KINDS)}")
    return tuple(dict.fromkeys(kinds))
