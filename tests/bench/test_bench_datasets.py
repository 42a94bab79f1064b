"""Readers of the shipped data and real Olist orders as split requests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from ordersplit.bench.olist import olist_requests
from ordersplit.io import datasets
from ordersplit.models.validate import parse_request

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def test_the_data_ships_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    assert datasets.find_data_dir() == REPO_DATA
    for name in datasets.DATA_SETS:
        assert (REPO_DATA / name).is_dir(), name
    assert "licence" in (REPO_DATA / "README.md").read_text()


def test_a_missing_data_directory_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "absent"))
    assert datasets.find_data_dir() is None
    with pytest.raises(FileNotFoundError, match="ORDERSPLIT_DATA"):
        datasets.data_dir()


def test_readers_return_frames() -> None:
    items = datasets.read_olist("order_items")
    assert isinstance(items, pd.DataFrame)
    assert {"order_id", "product_id", "seller_id", "price", "freight_value"} <= set(items)
    assert "payment_type" in datasets.read_olist("order_payments")
    assert "department" in datasets.read_instacart("departments")
    assert len(datasets.read_instacart("order_products__prior")) == 32290
    assert {"type", "from", "to", "coef", "intercept"} <= set(datasets.read_ipmof("trans_info"))
    assert len(datasets.read_ipmof("region_info", retailer=1)) == 4


def test_olist_requests_validate_and_follow_the_data() -> None:
    reqs = olist_requests(150, seed=5)
    assert reqs == olist_requests(150, seed=5)
    assert reqs != olist_requests(150, seed=6)
    items = datasets.read_olist("order_items")
    for req in reqs:
        parsed = parse_request(req)
        order = req["order"]
        assert order["currency"] == "BRL"
        rows = items[items["order_id"].str.startswith(order["id"][3:])]
        assert sum(line["quantity"] for line in order["lines"]) == len(rows)
        freight = sum(Decimal(str(f)) for f in rows["freight_value"])
        assert Decimal(order["shipping_fee"]) == freight
        sellers = {f"S-{s[:8]}" for s in rows["seller_id"]}
        assert {i.merchant for i in parsed.catalog.values()} == sellers
    assert any(len(r["order"]["payments"]) > 1 for r in olist_requests(600, seed=1))
