"""The batch's fast warehouse copy equals pydantic's ``model_copy`` with a new stock."""

from __future__ import annotations

import json
from pathlib import Path

from ordersplit.batch.model import _with_stock
from ordersplit.models.validate import parse_request

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contract_order.json"


def test_with_stock_equals_model_copy() -> None:
    request = parse_request(json.loads(EXAMPLE.read_text()))
    assert request.warehouses
    for wh in request.warehouses:
        stock = {sku: units + 1 for sku, units in list(wh.stock.items())[:2]}
        fast = _with_stock(wh, stock)
        slow = wh.model_copy(update={"stock": stock})
        assert fast == slow
        assert fast.model_dump() == slow.model_dump()
        assert fast.model_dump_json() == slow.model_dump_json()
        assert fast.model_fields_set == slow.model_fields_set
        assert wh.stock != stock or not stock  # the original keeps its own stock
        assert fast.stock is stock
