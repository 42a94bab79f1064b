"""The quick pass of the cross-field checks (``_plainly_valid``) never lets a problem
through: whenever the checks in order would name one, the quick pass defers to them,
so the error (field, order, message) is the one they always gave."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit import RequestError
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import _check_in_order, _plainly_valid, check_request
from tests.conftest import EXAMPLE

BASE: dict[str, Any] = json.loads(EXAMPLE.read_text())
Edit = Callable[[dict[str, Any], Any], None]


def _line(r: dict[str, Any], i: int) -> dict[str, Any]:
    return r["order"]["lines"][i % len(r["order"]["lines"])]


def _pay(r: dict[str, Any], i: int) -> dict[str, Any]:
    pays = r["order"]["payments"]
    if not pays:
        pays.append({"method": "cash", "amount": "0"})
    return pays[i % len(pays)]


def _act(r: dict[str, Any], i: int) -> dict[str, Any]:
    return r["order"]["activities"][i % len(r["order"]["activities"])]


_MONEY = st.sampled_from(["0", "0.00", "1.00", "1.001", "6.00", "30.00", "2930.00", "2931.00",
                          "999999999999", "12.5", "25.000", "100.00"])
EDITS: dict[str, tuple[Edit, st.SearchStrategy[Any]]] = {
    "line id": (lambda r, v: _line(r, v[0]).update(id=v[1]),
                st.tuples(st.integers(0, 3), st.sampled_from(["L1", "L2", "L9"]))),
    "line sku": (lambda r, v: _line(r, v[0]).update(sku=v[1]),
                 st.tuples(st.integers(0, 3), st.sampled_from(["MILK-1L", "NOPE", "GIFT-BAG"]))),
    "unit price": (lambda r, v: _line(r, v[0]).update(unit_price=v[1]),
                   st.tuples(st.integers(0, 3), _MONEY)),
    "line discount": (lambda r, v: _line(r, v[0]).update(discount=v[1]),
                      st.tuples(st.integers(0, 3), _MONEY)),
    "quantity": (lambda r, v: _line(r, v[0]).update(quantity=v[1]),
                 st.tuples(st.integers(0, 3), st.sampled_from([1, 2, 999_999]))),
    "shipping fee": (lambda r, v: r["order"].update(shipping_fee=v), _MONEY),
    "currency": (lambda r, v: r["order"].update(currency=v),
                 st.sampled_from(["CNY", "JPY", "KWD", "USD"])),
    "payment amount": (lambda r, v: _pay(r, v[0]).update(amount=v[1]),
                       st.tuples(st.integers(0, 3), _MONEY)),
    "payment method": (lambda r, v: _pay(r, v[0]).update(method=v[1]),
                       st.tuples(st.integers(0, 3), st.sampled_from(["cash", "tax", "x"]))),
    "no payments": (lambda r, v: r["order"].update(payments=[]), st.none()),
    "activity amount": (lambda r, v: _act(r, v[0]).update(amount=v[1]),
                        st.tuples(st.integers(0, 1), st.one_of(st.none(), _MONEY))),
    "activity lines": (lambda r, v: _act(r, v[0]).update({v[1]: v[2]}),
                       st.tuples(st.integers(0, 1),
                                 st.sampled_from(["lines", "trigger_lines", "gift_lines"]),
                                 st.one_of(st.none(), st.lists(st.sampled_from(
                                     ["L1", "L2", "L3", "L4", "L9"]), max_size=3)))),
    "activity id": (lambda r, v: _act(r, v).update(id="PROMO-7"), st.integers(0, 1)),
    "activity kind": (lambda r, v: _act(r, v[0]).update(kind=v[1]),
                      st.tuples(st.integers(0, 1), st.sampled_from(["discount", "gift"]))),
    "second discount": (lambda r, v: r["order"]["activities"].append(
        {"id": "PROMO-8", "kind": "discount", "amount": v[0], "lines": v[1]}),
        st.tuples(_MONEY, st.one_of(st.none(), st.lists(st.sampled_from(["L1", "L2"]),
                                                        max_size=2)))),
    "tax rate": (lambda r, v: r["catalog"]["MILK-1L"].update(tax_rate=v),
                 st.sampled_from(["0", "9.999999", "0.13"])),
    "components": (lambda r, v: r["catalog"][v[0]].update(components=v[1]),
                   st.tuples(st.sampled_from(["GIFT-BAG", "FRIDGE-X"]), st.one_of(
                       st.none(), st.lists(st.fixed_dictionaries(
                           {"sku": st.sampled_from(["MILK-1L", "NOPE", "GIFT-BAG", "FRIDGE-X"]),
                            "quantity": st.integers(1, 3)}), max_size=2)))),
    "warehouse id": (lambda r, v: r["warehouses"][1].update(id=v),
                     st.sampled_from(["SH-1", "HZ-2", "BJ-3"])),
    "objective": (lambda r, v: r["options"].update(objective=v), st.sampled_from(
        [["children", "stock_value"], ["stock_value", "children"], ["delivery"]])),
}


def _rebalance(r: dict[str, Any]) -> None:
    """The last payment made to what the order's payable is (so deeper checks are reached)."""
    order = r["order"]
    try:
        goods = sum(Decimal(x["unit_price"]) * x["quantity"] - Decimal(x.get("discount", "0"))
                    for x in order["lines"])
        taken = sum(Decimal(a["amount"]) for a in order.get("activities", [])
                    if a.get("kind") == "discount" and a.get("amount") is not None)
        pays = order["payments"] or [{"method": "cash", "amount": "0"}]
        rest = goods - taken + Decimal(order.get("shipping_fee", "0")) - sum(
            Decimal(p["amount"]) for p in pays[:-1])
    except (InvalidOperation, KeyError, TypeError):
        return
    pays[-1]["amount"] = str(rest)
    order["payments"] = pays


@st.composite
def edited(draw: st.DrawFn) -> SplitRequest | None:
    req = copy.deepcopy(BASE)
    for name in draw(st.lists(st.sampled_from(sorted(EDITS)), max_size=3)):
        edit, values = EDITS[name]
        edit(req, draw(values))
    if draw(st.booleans()):
        _rebalance(req)
    try:
        return SplitRequest.model_validate(req)
    except ValueError:
        return None  # a schema error: the cross-field checks never see it


def _outcome(check: Callable[[SplitRequest], None], req: SplitRequest) -> Any:
    try:
        check(req)
    except RequestError as exc:
        return (exc.field, exc.order_id, exc.message)
    return None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(req=edited())
def test_the_quick_pass_defers_every_problem(req: SplitRequest | None) -> None:
    if req is None:
        return
    in_order = _outcome(_check_in_order, req)
    if _plainly_valid(req):
        assert in_order is None
    assert _outcome(check_request, req) == in_order


@pytest.mark.parametrize("family", ["uniform", "partial", "thin", "default"])
def test_the_quick_pass_decides_valid_requests(family: str) -> None:
    """Valid requests of every benchmark family pass without the checks in order."""
    from ordersplit.bench.engine import Cell, cell_requests

    for rules in ("plain", "rules"):
        for data in cell_requests(Cell(family, rules, "10x30"), 10, 7):
            req = SplitRequest.model_validate(data)
            assert _outcome(_check_in_order, req) is None
            assert _plainly_valid(req)


def _second_discount(r: dict[str, Any]) -> None:
    r["order"]["activities"].append({"id": "PROMO-8", "kind": "discount", "amount": "30.00",
                                     "lines": ["L2"]})


ONE_PROBLEM: dict[str, Callable[[dict[str, Any]], None]] = {
    "duplicate line": lambda r: _line(r, 1).update(id="L1"),
    "unknown sku": lambda r: _line(r, 1).update(sku="NOPE"),
    "price decimals": lambda r: _line(r, 0).update(unit_price="12.501"),
    "discount over goods": lambda r: _line(r, 1).update(discount="30.01"),
    "line goods over 10^12": lambda r: _line(r, 2).update(quantity=999_999,
                                                          unit_price="999999999"),
    "fee decimals": lambda r: r["order"].update(shipping_fee="8.001"),
    "order over 10^12": lambda r: [_line(r, i).update(quantity=999_999, unit_price="600000")
                                   for i in (1, 2)],
    "bundle of a bundle": lambda r: (
        r["catalog"]["FRIDGE-X"].update(components=[{"sku": "MILK-1L", "quantity": 1}]),
        r["catalog"]["GIFT-BAG"].update(components=[{"sku": "FRIDGE-X", "quantity": 1}])),
    "unknown component": lambda r: r["catalog"]["GIFT-BAG"].update(
        components=[{"sku": "NOPE", "quantity": 1}]),
    "empty bundle": lambda r: r["catalog"]["GIFT-BAG"].update(components=[]),
    "stock_value first": lambda r: r["options"].update(objective=["stock_value", "children"]),
    "stock_value unpriced": lambda r: r["options"].update(objective=["children", "stock_value"]),
    "duplicate warehouse": lambda r: r["warehouses"][1].update(id="SH-1"),
    "duplicate activity": lambda r: _act(r, 1).update(id="PROMO-7"),
    "unknown activity line": lambda r: _act(r, 1).update(gift_lines=["L9"]),
    "discount without amount": lambda r: _act(r, 0).update(amount=None),
    "discount on no lines": lambda r: _act(r, 0).update(lines=[]),
    "discount over its lines": lambda r: (_act(r, 0).update(amount="100.00"), _rebalance(r)),
    "gift without triggers": lambda r: _act(r, 1).update(trigger_lines=[]),
    "gift without gifts": lambda r: _act(r, 1).update(gift_lines=[]),
    "gift with an amount": lambda r: _act(r, 1).update(amount="1.00"),
    "overlapping discounts": lambda r: (_second_discount(r), _rebalance(r)),
    "payment twice": lambda r: _pay(r, 1).update(method="coupon"),
    "reserved method": lambda r: _pay(r, 1).update(method="tax"),
    "payment decimals": lambda r: _pay(r, 1).update(amount="5.001"),
    "payments short": lambda r: _pay(r, 1).update(amount="4.00"),
}


@pytest.mark.parametrize("problem", sorted(ONE_PROBLEM))
def test_each_problem_is_left_to_the_checks_in_order(problem: str) -> None:
    req = copy.deepcopy(BASE)
    ONE_PROBLEM[problem](req)
    model = SplitRequest.model_validate(req)
    found = _outcome(_check_in_order, model)
    assert found is not None
    assert not _plainly_valid(model)
    assert _outcome(check_request, model) == found
