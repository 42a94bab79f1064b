"""Forecast tables: read back what is written, bad cells named by row and column, fitting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ordersplit.batch.tables import batch_from_tables, read_tables
from ordersplit.lookahead import Forecast, ForecastError, fit_forecast, load_forecast, price_stock
from ordersplit.lookahead.commands import main
from ordersplit.lookahead.forecast import fit_forecast_from_folder, forecast_from_frame
from ordersplit.lookahead.network import network_from_world

ROOT = Path(__file__).resolve().parents[2]
BATCH = ROOT / "examples" / "batch"


def _table(**override: list[str]) -> pd.DataFrame:
    cols = {"destination": ["R1", "R1", "R2"], "sku": ["A", "B", "A"], "units": ["2", "0.5", "3"]}
    cols.update(override)
    return pd.DataFrame(cols)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_forecast_file_reads_back(tmp_path: Path, fmt: str) -> None:
    fc = forecast_from_frame(_table(), horizon_hours=12)
    path = tmp_path / f"forecast.{fmt}"
    frame = fc.to_frame()
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    back = load_forecast(path, horizon_hours=12)
    assert back.regions == ("R1", "R2") and back.sku_ids == ("A", "B")
    assert back.units.tolist() == [[2.0, 0.5], [3.0, 0.0]]
    assert back.horizon_hours == 12


@pytest.mark.parametrize(("override", "field", "words"), [
    ({"units": ["2", "-1", "3"]}, "forecast[1].units", "finite number >= 0"),
    ({"units": ["2", "x", "3"]}, "forecast[1].units", "'x'"),
    ({"units": ["2", "1", "inf"]}, "forecast[2].units", "finite"),
    ({"units": ["", "1", "1"]}, "forecast[0].units", "finite"),
    ({"sku": ["A", " ", "A"]}, "forecast[1].sku", "empty"),
    ({"destination": ["R1", "R1", ""]}, "forecast[2].destination", "empty"),
    ({"sku": ["A", "B", "B"], "destination": ["R1", "R1", "R1"]}, "forecast[2].sku", "repeat row 1"),
])
def test_a_bad_cell_is_named_by_row_and_column(override: dict[str, list[str]], field: str,
                                               words: str) -> None:
    with pytest.raises(ForecastError) as err:
        forecast_from_frame(_table(**override))
    assert err.value.field == field
    assert words in err.value.message


def test_a_missing_column_or_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ForecastError) as err:
        forecast_from_frame(_table().drop(columns=["units"]))
    assert err.value.field == "forecast.units" and "lacks columns ['units']" in err.value.message
    with pytest.raises(ForecastError) as err:
        load_forecast(tmp_path / "nope.csv")
    assert err.value.field == "forecast"
    with pytest.raises(ForecastError):
        forecast_from_frame(_table(), horizon_hours=0)


def test_fitted_forecast_counts_every_unit_of_past_orders_scaled_to_the_horizon() -> None:
    batch = batch_from_tables(read_tables(BATCH))
    reqs = [t.request for t in batch.templates]
    fc = fit_forecast(reqs, history_hours=48, horizon_hours=24)
    expected = 0.0
    for req in reqs:
        for line in req.order.lines:
            comps = req.catalog[line.sku].components
            expected += line.quantity * (sum(c.quantity for c in comps) if comps else 1)
    assert fc.units.sum() == pytest.approx(expected / 2)
    assert set(fc.regions) == {r.order.destination for r in reqs}
    folder = fit_forecast_from_folder(BATCH, history_hours=48, horizon_hours=24)
    assert np.array_equal(folder.units, fc.units) and folder.sku_ids == fc.sku_ids


def test_prices_of_the_example_batch_from_its_own_history() -> None:
    """End to end on the batch example: fit, build the network from its world, price."""
    batch = batch_from_tables(read_tables(BATCH))
    fc = fit_forecast([t.request for t in batch.templates], history_hours=24)
    net = network_from_world(batch.world, fc.regions)
    prices = price_stock(fc, net)
    assert prices.objective == pytest.approx(prices.dual_objective, rel=1e-6)
    assert prices.prices.nnz > 0
    assert set(net.warehouse_ids) <= {loc.id for loc in batch.world.locations}
    with pytest.raises(ForecastError) as err:
        price_stock(Forecast(("Atlantis",), fc.sku_ids[:1], np.ones((1, 1)), 24.0), net)
    assert err.value.field == "forecast.destination"


def test_prices_command_on_the_batch_folder(tmp_path: Path, capsys: Any) -> None:
    """Fitted from the folder's orders, then from a forecast table put in the folder."""
    out = tmp_path / "prices.csv"
    assert main(["prices", str(BATCH), "--history-hours", "24", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["objective"] == pytest.approx(summary["dual_objective"], rel=1e-6)
    table = pd.read_csv(out)
    assert list(table.columns) == ["warehouse_id", "sku", "price"] and (table["price"] > 0).all()
    folder = tmp_path / "batch"
    shutil.copytree(BATCH, folder)
    pd.DataFrame({"destination": ["Region001", "Region001"], "sku": ["SKU00002", "SKU00002"],
                  "units": [1, 2]}).to_csv(folder / "forecast.csv", index=False)
    assert main(["prices", str(folder)]) == 2
    err = json.loads(capsys.readouterr().err)["error"]
    assert err["field"] == "forecast[1].sku" and "repeat row 0" in err["message"]
