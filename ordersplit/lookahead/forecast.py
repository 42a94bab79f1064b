"""The demand forecast: expected units per (destination region, SKU) over a horizon.

A forecast is what the stock-pricing LP (:mod:`ordersplit.lookahead.prices`) prices
stock against. It is loaded from a table or fitted from past orders.

Forecast table (CSV or Parquet), one row per (destination, SKU):

``destination``
    the region, as in ``order.destination`` and the warehouses' ``delivery_hours`` keys.
``sku``
    a stocked SKU (bundles are forecast as their components).
``units``
    expected units ordered over the horizon: a finite number >= 0.

A (destination, SKU) pair may appear once. Every bad cell raises :class:`ForecastError`
naming the row (0-based data row, as ``forecast[ROW].COLUMN``) and the column.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ordersplit.errors import RequestError
from ordersplit.models.request import SplitRequest

log = logging.getLogger(__name__)

COLUMNS = ("destination", "sku", "units")
"""Required columns of a forecast table."""


class ForecastError(RequestError):
    """A forecast table that cannot be used: the field names the row and the column."""


@dataclass(frozen=True)
class Forecast:
    """Expected units per region and SKU over ``horizon_hours`` (immutable:
    the arrays given are made read-only in place, not copied)."""

    regions: tuple[str, ...]
    sku_ids: tuple[str, ...]
    units: np.ndarray
    """float64 [region, sku]: expected units over the horizon (>= 0)."""
    horizon_hours: float

    def __post_init__(self) -> None:
        if self.units.shape != (len(self.regions), len(self.sku_ids)):
            raise ValueError("units must be regions x skus")
        if not (np.isfinite(self.units).all() and (self.units >= 0).all()):
            raise ValueError("units must be finite and >= 0")
        if not self.horizon_hours > 0:
            raise ValueError("horizon_hours must be positive")
        self.units.setflags(write=False)

    def to_frame(self) -> pd.DataFrame:
        """The forecast table (non-zero rows only), the inverse of :func:`forecast_from_frame`."""
        r, s = np.nonzero(self.units)
        return pd.DataFrame({"destination": np.asarray(self.regions, dtype=object)[r],
                             "sku": np.asarray(self.sku_ids, dtype=object)[s],
                             "units": self.units[r, s]})

    def scaled(self, factor: float) -> Forecast:
        """The same forecast over a horizon ``factor`` times as long (rates kept)."""
        return Forecast(self.regions, self.sku_ids, self.units * factor,
                        self.horizon_hours * factor)


def forecast_from_frame(df: pd.DataFrame, horizon_hours: float = 24.0) -> Forecast:
    """A validated forecast from a table with :data:`COLUMNS` (raises :class:`ForecastError`)."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ForecastError(f"the forecast table lacks columns {missing}", field=f"forecast.{missing[0]}")
    if not (isinstance(horizon_hours, int | float) and math.isfinite(horizon_hours) and horizon_hours > 0):
        raise ForecastError("horizon_hours must be a positive number", field="forecast.horizon_hours")
    dest = df["destination"].map(_text).to_numpy(dtype=object)
    sku = df["sku"].map(_text).to_numpy(dtype=object)
    units = pd.to_numeric(df["units"].map(_text), errors="coerce").to_numpy(dtype=np.float64)
    for name, col in (("destination", dest), ("sku", sku)):
        bad = np.flatnonzero(col == "")
        if bad.size:
            raise ForecastError(f"{name} is empty", field=f"forecast[{bad[0]}].{name}")
    bad = np.flatnonzero(~np.isfinite(units) | (units < 0))
    if bad.size:
        raw = df["units"].iloc[bad[0]]
        raise ForecastError(f"units must be a finite number >= 0, got {raw!r}",
                            field=f"forecast[{bad[0]}].units")
    regions, r_idx = np.unique(dest.astype(str), return_inverse=True)
    skus, s_idx = np.unique(sku.astype(str), return_inverse=True)
    key = r_idx.astype(np.int64) * len(skus) + s_idx
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup_key = key[first[np.argmax(counts > 1)]]
        rows = np.flatnonzero(key == dup_key)
        raise ForecastError(f"destination {dest[rows[1]]!r} and sku {sku[rows[1]]!r} repeat "
                            f"row {rows[0]}", field=f"forecast[{rows[1]}].sku")
    table = np.zeros((len(regions), len(skus)), dtype=np.float64)
    table[r_idx, s_idx] = units
    return Forecast(tuple(regions.tolist()), tuple(skus.tolist()), table, float(horizon_hours))


def load_forecast(path: str | Path, horizon_hours: float = 24.0) -> Forecast:
    """A forecast table from a ``.csv`` or ``.parquet`` file (raises :class:`ForecastError`)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ForecastError(f"cannot read {p}: {exc}", field="forecast") from None
    return forecast_from_frame(df, horizon_hours)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def fit_forecast(requests: Iterable[SplitRequest], history_hours: float,
                 horizon_hours: float = 24.0) -> Forecast:
    """The mean-rate forecast of past orders: units per (destination, stocked SKU) seen over
    ``history_hours``, scaled to ``horizon_hours``. Bundle lines count as their components
    (stock is held in components)."""
    if not history_hours > 0 or not horizon_hours > 0:
        raise ForecastError("history_hours and horizon_hours must be positive", field="forecast")
    totals: dict[tuple[str, str], float] = {}
    for req in requests:
        dest = req.order.destination
        for line in req.order.lines:
            comps = req.catalog[line.sku].components if line.sku in req.catalog else None
            for sku, per in ([(c.sku, c.quantity) for c in comps] if comps else [(line.sku, 1)]):
                totals[(dest, sku)] = totals.get((dest, sku), 0.0) + line.quantity * per
    scale = horizon_hours / history_hours
    df = pd.DataFrame([(d, s, u * scale) for (d, s), u in totals.items()], columns=list(COLUMNS))
    log.info("fitted a forecast of %d (destination, sku) pairs", len(df))
    return forecast_from_frame(df, horizon_hours)


def fit_forecast_from_folder(folder: str | Path, history_hours: float,
                             horizon_hours: float = 24.0) -> Forecast:
    """:func:`fit_forecast` over the orders of a batch-table folder (examples/batch form);
    orders the batch reader rejects are left out (and logged)."""
    from ordersplit.batch.tables import batch_from_tables, read_tables

    batch = batch_from_tables(read_tables(folder))
    if batch.errors:
        log.warning("%d orders of %s are invalid and not in the forecast", len(batch.errors), folder)
    return fit_forecast((t.request for t in batch.templates), history_hours, horizon_hours)


def forecast_for_folder(folder: str | Path, history_hours: float = 24.0,
                        horizon_hours: float = 24.0) -> Forecast:
    """The batch folder's own ``forecast.parquet`` / ``forecast.csv`` table when it has one
    (the batch input format extended with a forecast), else the forecast fitted from its
    orders over ``history_hours``."""
    root = Path(folder)
    for name in ("forecast.parquet", "forecast.csv"):
        if (root / name).exists():
            return load_forecast(root / name, horizon_hours)
    return fit_forecast_from_folder(root, history_hours, horizon_hours)
