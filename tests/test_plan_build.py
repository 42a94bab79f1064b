"""The plan builder's unvalidated output models hold what validation would give.

``build_plan`` makes its output models with ``_Out.built`` (no validation): every field
given, in declaration order, each value already of its field's type. A validated copy
of every plan must equal it field by field, value types included, and serialize to the
same bytes; the money path for small orders (plain Python, straight to strings) must
give the strings of the array path.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import BaseModel

from ordersplit.api import split
from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models.plan import Plan
from ordersplit.models.validate import parse_request
from ordersplit.money import allocate_plan, plan_amount_texts

MONEY_REQUEST: dict[str, Any] = {
    "order": {
        "id": "P-7", "currency": "CNY", "destination": "shanghai",
        "lines": [
            {"id": "L1", "sku": "A", "quantity": 3, "unit_price": "12.35", "discount": "1.01"},
            {"id": "L2", "sku": "B", "quantity": 1, "unit_price": "30.00"},
            {"id": "L3", "sku": "C", "quantity": 2, "unit_price": "99.99"},
        ],
        "shipping_fee": "8.03",
        "payments": [{"method": "coupon", "amount": "20.00"},
                     {"method": "cash", "amount": "248.05"}],
        "activities": [{"id": "D", "kind": "discount", "amount": "6.00",
                        "lines": ["L1", "L3"]}],
    },
    "catalog": {"A": {"tax_rate": "0.09"}, "B": {}, "C": {"tax_rate": "0.13"}},
    "options": {"invoice_methods": ["cash"]},
}


def _same(built: object, validated: object, where: str) -> None:
    assert type(built) is type(validated), where
    if isinstance(built, BaseModel):
        assert isinstance(validated, BaseModel)
        assert list(built.__dict__) == list(type(built).model_fields), where
        assert built.model_fields_set == set(type(built).model_fields), where  # as before
        for name in type(built).model_fields:
            _same(getattr(built, name), getattr(validated, name), f"{where}.{name}")
    elif isinstance(built, list):
        assert isinstance(validated, list) and len(built) == len(validated), where
        for k, (a, b) in enumerate(zip(built, validated, strict=True)):
            _same(a, b, f"{where}[{k}]")
    elif isinstance(built, dict):
        assert isinstance(validated, dict) and list(built) == list(validated), where
        for key in built:
            _same(built[key], validated[key], f"{where}[{key!r}]")
    else:
        assert built == validated, where


def _requests() -> list[dict[str, Any]]:
    out = [raw for f in FAMILIES for r in RULES
           for raw in cell_requests(Cell(f, r, "10x30"), 2, 99)]
    priced = copy.deepcopy(out[0])
    table = {w["id"]: {line["sku"]: 1.25 for line in priced["order"]["lines"]}
             for w in priced["warehouses"]}
    priced.setdefault("options", {})["stock_prices"] = {"version": "v-1", "prices": table}
    return [*out, priced, MONEY_REQUEST | {"warehouses": [
        {"id": "W1", "stock": {"A": 5, "B": 1, "C": 2}}]}]


@pytest.mark.parametrize("raw", _requests(), ids=lambda r: str(r["order"]["id"]))
def test_built_plan_equals_its_validated_copy(raw: dict[str, Any]) -> None:
    plan = split(json.dumps(raw))
    validated = Plan.model_validate(plan.model_dump())
    _same(plan, validated, "plan")
    assert plan.model_dump_json() == validated.model_dump_json()
    assert plan.model_dump() == validated.model_dump()


@pytest.mark.parametrize("parts", [
    ([0, 1, 1], [0, 1, 2], [3, 1, 2]),
    ([0, 1, 0, 1], [0, 0, 1, 2], [2, 1, 1, 2]),
    ([1, 0, 1, 0, 1], [0, 0, 1, 2, 2], [1, 2, 1, 1, 1]),
])
@pytest.mark.parametrize("kinds", [["shipment", "shipment"], ["shipment", "backorder"],
                                   ["store", "shipment"]])
def test_plan_amount_texts_equal_allocate_plan(parts: tuple[list[int], ...],
                                               kinds: list[str]) -> None:
    req = parse_request(MONEY_REQUEST | {"warehouses": [{"id": "W1", "stock": {}}]})
    assert plan_amount_texts(req, *parts, kinds) == allocate_plan(req, *parts, kinds).format_all()


def test_built_models_share_a_full_fields_set_that_never_changes() -> None:
    """``_Out.built`` gives every instance of a class the same fields-set, holding every
    field: assigning a field, copying a model with an update, or dumping only the set
    fields leaves every other plan's models exactly as they were."""
    first = split(json.dumps(_requests()[0]))
    second = split(json.dumps(_requests()[1]))
    every = set(type(first.children[0]).model_fields)
    child = first.children[0]
    child.reasons = ["changed"]
    copied = child.model_copy(update={"kind": "backorder"})
    assert copied.kind == "backorder" and child.kind != "backorder"
    for plan in (first, second):
        for c in plan.children:
            assert c.model_fields_set == every
    assert second.model_dump(exclude_unset=True) == second.model_dump()
    assert second.children[0].reasons != ["changed"]
