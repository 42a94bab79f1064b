"""``allocate_plan``: the plan builder's entry point, on the contract's example order."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from ordersplit.models.validate import parse_request
from ordersplit.money import allocate_plan

REQUEST: dict[str, Any] = {
    "order": {
        "id": "P-1001", "currency": "CNY", "destination": "shanghai",
        "lines": [
            {"id": "L1", "sku": "MILK-1L", "quantity": 2, "unit_price": "12.50",
             "discount": "1.00"},
            {"id": "L2", "sku": "ICE-CREAM", "quantity": 1, "unit_price": "30.00"},
            {"id": "L3", "sku": "FRIDGE-X", "quantity": 1, "unit_price": "2999.00"},
            {"id": "L4", "sku": "GIFT-BAG", "quantity": 1, "unit_price": "0.00"},
        ],
        "shipping_fee": "8.00",
        "payments": [
            {"method": "coupon", "amount": "20.00"}, {"method": "points", "amount": "5.00"},
            {"method": "gift_card", "amount": "100.00"}, {"method": "cash", "amount": "2930.00"},
        ],
        "activities": [
            {"id": "PROMO-7", "kind": "discount", "amount": "6.00", "lines": ["L1", "L2"]},
            {"id": "GIFT-3", "kind": "gift", "trigger_lines": ["L3"], "gift_lines": ["L4"]},
        ],
    },
    "catalog": {
        "MILK-1L": {"merchant": "self", "temperature": "chilled", "tax_rate": "0.09"},
        "ICE-CREAM": {"merchant": "self", "temperature": "frozen"},
        "FRIDGE-X": {"merchant": "self", "bulky": True, "tax_rate": "0.13"},
        "GIFT-BAG": {"merchant": "self"},
    },
}
# L1 ships from two children (1 unit each); L2 chilled child; L3 waits for stock
PARTS = ([0, 1, 2, 0, 1], [0, 1, 2, 3, 0], [1, 1, 1, 1, 1])


def _plan(request: dict[str, Any], kinds: list[str] | None = None) -> Any:
    req = parse_request(request)
    return allocate_plan(req, *PARTS, kinds or ["shipment", "shipment", "backorder"])


def test_contract_example_adds_up_and_formats() -> None:
    pa = _plan(REQUEST)
    assert pa.keys == ("goods", "discount", "shipping_fee", "coupon", "points", "gift_card",
                       "cash", "invoice", "tax")
    parent = pa.format_parent()
    assert parent["goods"] == "3054.00"
    assert parent["discount"] == "7.00"
    assert parent["cash"] == parent["invoice"] == "2930.00"
    assert np.array_equal(pa.children.sum(axis=0), pa.parent)
    part_child = np.array(PARTS[0])
    for c in range(3):
        assert np.array_equal(pa.parts[part_child == c].sum(axis=0), pa.children[c])
    # L1's two units split evenly; the free gift line gets nothing at all
    assert pa.format_part(0)["goods"] == pa.format_part(4)["goods"] == "12.50"
    assert not pa.parts[3].any()
    assert set(pa.format_child(0)) == set(pa.keys)


def test_store_child_gets_no_fee_backorder_does() -> None:
    pa = _plan(REQUEST, ["shipment", "store", "backorder"])
    fee = pa.keys.index("shipping_fee")
    assert pa.children[1, fee] == 0
    assert pa.children[2, fee] > 0
    assert pa.children[:, fee].sum() == 800


def test_first_child_policy_charges_one_child() -> None:
    req = copy.deepcopy(REQUEST)
    req["options"] = {"shipping_fee": "first_child"}
    pa = _plan(req)
    fee = pa.keys.index("shipping_fee")
    assert pa.children[:, fee].tolist() == [800, 0, 0]


@pytest.mark.parametrize(("currency", "scale"), [("JPY", 0), ("KWD", 3)])
def test_zero_and_three_decimal_currencies(currency: str, scale: int) -> None:
    req = copy.deepcopy(REQUEST)
    order = req["order"]
    order["currency"] = currency
    if scale == 0:  # whole yen: the same figures times 100
        for item in [*order["lines"], *order["payments"], *order["activities"], order]:
            for field in ("unit_price", "discount", "amount", "shipping_fee"):
                if field in item:
                    item[field] = str(int(Decimal(item[field]) * 100))
    pa = _plan(req)
    assert pa.exponent == scale
    goods = pa.format_parent()["goods"]
    assert goods == ("305400" if scale == 0 else "3054.000")
    assert np.array_equal(pa.children.sum(axis=0), pa.parent)


def test_invoice_methods_and_tax_per_rate() -> None:
    req = copy.deepcopy(REQUEST)
    req["options"] = {"invoice_methods": ["cash", "gift_card"]}
    pa = _plan(req)
    k = {key: i for i, key in enumerate(pa.keys)}
    assert pa.parent[k["invoice"]] == 293000 + 10000
    assert np.array_equal(pa.parts[:, k["invoice"]],
                          pa.parts[:, k["cash"]] + pa.parts[:, k["gift_card"]])
    assert pa.parent[k["tax"]] == pa.parts[:, k["tax"]].sum()


def test_inconsistent_parts_are_rejected() -> None:
    req = parse_request(REQUEST)
    with pytest.raises(ValueError, match="at least one part"):
        allocate_plan(req, [0, 1, 2], [0, 1, 2], [1, 1, 1], ["shipment"] * 3)
    with pytest.raises(ValueError, match="unknown child kind"):
        allocate_plan(req, *PARTS, ["shipment", "parcel", "store"])
