"""Readers of the shipped data and real Olist orders as split requests."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from ordersplit.io import datasets
from ordersplit.models.validate import parse_request

pytestmark = pytest.mark.skipif(datasets.find_data_dir() is None, reason="shared/data not found")


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
    reqs = datasets.olist_requests(150, seed=5)
    assert reqs == datasets.olist_requests(150, seed=5)
    assert reqs != datasets.olist_requests(150, seed=6)
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
    assert any(len(r["order"]["payments"]) > 1 for r in datasets.olist_requests(600, seed=1))
