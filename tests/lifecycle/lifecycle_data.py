"""Requests the lifecycle tests share."""

from __future__ import annotations

import copy
from typing import Any


def gift_request(order_id: str = "G-1", **changes: Any) -> dict[str, Any]:
    """Milk x3 and bread x2 ship together from W1; a frozen gift (ice) from W1 is linked to
    the milk; W2 is a slower warehouse holding bread for re-splits. Two tax rates,
    a line discount, a discount activity, shipping and four payment methods.
    """
    req: dict[str, Any] = {
        "order": {
            "id": order_id, "currency": "CNY", "destination": "city",
            "lines": [
                {"id": "L1", "sku": "MILK", "quantity": 3, "unit_price": "12.35",
                 "discount": "1.01"},
                {"id": "L2", "sku": "BREAD", "quantity": 2, "unit_price": "7.99"},
                {"id": "L3", "sku": "ICE", "quantity": 1, "unit_price": "0.00"},
            ],
            "shipping_fee": "9.99",
            "payments": [
                {"method": "coupon", "amount": "5.00"},
                {"method": "points", "amount": "3.33"},
                {"method": "gift_card", "amount": "10.00"},
                {"method": "cash", "amount": "40.67"},
            ],
            "activities": [
                {"id": "PROMO", "kind": "discount", "amount": "3.01", "lines": ["L1", "L2"]},
                {"id": "GIFT", "kind": "gift", "trigger_lines": ["L1"], "gift_lines": ["L3"]},
            ],
        },
        "catalog": {
            "MILK": {"merchant": "m", "tax_rate": "0.09"},
            "BREAD": {"merchant": "m", "tax_rate": "0.13"},
            "ICE": {"merchant": "m", "temperature": "frozen"},
        },
        "warehouses": [
            {"id": "W1", "stock": {"MILK": 3, "BREAD": 2, "ICE": 5},
             "delivery_hours": {"city": 12}},
            {"id": "W2", "stock": {"BREAD": 10}, "delivery_hours": {"city": 36}},
        ],
        "options": {"time_limit_ms": 60_000, "invoice_methods": ["cash", "gift_card"]},
    }
    req = copy.deepcopy(req)
    req["order"].update(changes)
    return req
