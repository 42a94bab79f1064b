"""Overlapping discount activities end to end through ``ordersplit.split()``.

Generated requests (0-, 2- and 3-decimal currencies) whose discount activities overlap
(several over the same lines, ``lines`` absent = all lines), up to the limit where a
line's activity shares add up to exactly its net goods. Every request that
``parse_request`` accepts must split, and the plan's amounts must add up exactly.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ordersplit
from ordersplit.models.validate import parse_request
from ordersplit.money.batch import activity_table

SKUS = {
    "MILK": {"merchant": "self", "temperature": "chilled", "tax_rate": "0.09"},
    "ICE": {"merchant": "self", "temperature": "frozen", "tax_rate": "0.13"},
    "TV": {"merchant": "self", "bulky": True, "tax_rate": "0.13"},
    "BAG": {"merchant": "self"},
    "BOOK": {"merchant": "other", "tax_rate": "0.06"},
}
WAREHOUSES = [
    {"id": "W1", "stock": {"MILK": 5, "ICE": 2, "BAG": 9, "BOOK": 3},
     "delivery_hours": {"*": 12}},
    {"id": "W2", "stock": {"TV": 2, "ICE": 9, "MILK": 2}, "delivery_hours": {"*": 24}},
]
CURRENCIES = {"CNY": 2, "JPY": 0, "KWD": 3}
METHODS = ("coupon", "points", "gift_card", "cash")


def _text(units: int, exp: int) -> str:
    return str(Decimal(units).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    exp = CURRENCIES[currency]
    n_lines = draw(st.integers(1, 6))
    lines, net = [], []
    for i in range(n_lines):
        qty = draw(st.integers(1, 4))
        price = draw(st.sampled_from([0, 1, 3, 99, 1000, draw(st.integers(1, 10**7))]))
        goods = price * qty
        own = draw(st.sampled_from([0, 0, goods // 3, goods, min(goods, 1)]))
        lines.append({"id": f"L{i}", "sku": draw(st.sampled_from(sorted(SKUS))),
                      "quantity": qty, "unit_price": _text(price, exp),
                      "discount": _text(own, exp)})
        net.append(goods - own)
    # activities: rates (twelfths) adding up to at most one, so no line is over-discounted
    n_acts = draw(st.integers(1, 4))
    twelfths = draw(st.lists(st.integers(0, 12), min_size=n_acts, max_size=n_acts))
    while sum(twelfths) > 12:
        twelfths[twelfths.index(max(twelfths))] -= 1
    acts, total = [], 0
    for a, k in enumerate(twelfths):
        covered = draw(st.one_of(st.none(), st.lists(st.integers(0, n_lines - 1),
                                                      min_size=1, max_size=n_lines)))
        ids = range(n_lines) if covered is None else sorted(set(covered))
        base = sum(net[x] for x in ids)
        amount = base * k // 12
        if draw(st.booleans()):
            amount = min(amount, draw(st.sampled_from([0, 1, 2, amount])))
        total += amount
        act: dict[str, Any] = {"id": f"A{a}", "kind": "discount", "amount": _text(amount, exp)}
        if covered is not None:
            act["lines"] = [f"L{x}" for x in ids]
        acts.append(act)
    fee = draw(st.sampled_from([0, 1, 600, 800]))
    payable = sum(net) - total + fee
    cuts = sorted(draw(st.integers(0, payable)) for _ in range(len(METHODS) - 1))
    pay = [b - a for a, b in zip([0, *cuts], [*cuts, payable], strict=True)]
    return {
        "order": {"id": "P-1", "currency": currency, "destination": "x", "lines": lines,
                  "shipping_fee": _text(fee, exp),
                  "payments": [{"method": m, "amount": _text(p, exp)}
                               for m, p in zip(METHODS, pay, strict=True)],
                  "activities": acts},
        "catalog": SKUS,
        "warehouses": WAREHOUSES,
        "options": {"invoice_methods": draw(st.sampled_from([["cash"], ["cash", "gift_card"]])),
                    "solver": "greedy"},
    }


def _units(text: str, exp: int) -> int:
    return int(Decimal(text).scaleb(exp))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_overlapping_activities_split_end_to_end(request: dict[str, Any]) -> None:
    req = parse_request(request)  # every generated request is valid
    exp = CURRENCIES[req.order.currency]
    plan = ordersplit.split(request)
    parent = {k: _units(v, exp) for k, v in plan.parent.amounts.items()}
    keys = set(parent)
    totals = dict.fromkeys(keys, 0)
    line_disc: dict[str, int] = {}
    for child in plan.children:
        assert set(child.amounts) == keys
        sums = dict.fromkeys(keys, 0)
        for line in child.lines:
            amounts = {k: _units(v, exp) for k, v in line.amounts.items()}
            assert set(amounts) == keys
            for k in keys:
                sums[k] += amounts[k]
            paid = sum(amounts[m] for m in METHODS)
            assert paid == amounts["goods"] - amounts["discount"] + amounts["shipping_fee"]
            assert 0 <= amounts["discount"] <= amounts["goods"]
            line_disc[line.line_id] = line_disc.get(line.line_id, 0) + amounts["discount"]
        for k in keys:  # vertical: the child is the sum of its lines
            assert sums[k] == _units(child.amounts[k], exp)
            totals[k] += sums[k]
    assert totals == parent  # horizontal: the parent is the sum of its children
    # each line's discount: its own plus every activity's exact share, within one unit
    order = req.order
    net = {x.id: _units(str(x.unit_price * x.quantity - x.discount), exp) for x in order.lines}
    exact = {x.id: Fraction(_units(str(x.discount), exp)) for x in order.lines}
    for act in order.activities:
        ids = [x.id for x in order.lines] if act.lines is None else sorted(set(act.lines))
        base = sum(net[x] for x in ids)
        for x in ids:
            if base:
                exact[x] += Fraction(_units(str(act.amount), exp) * net[x], base)
    for x, value in line_disc.items():
        assert abs(value - exact[x]) < 1


def test_shares_at_the_limit_never_exceed_the_goods() -> None:
    # two activities over the same lines, each half of their net: every line's exact
    # discount is its whole net, and independent rounding would push one cent above
    table = activity_table([1, 1, 1], [1, 2], [[0, 1, 2], [0, 1, 2]])
    assert [sum(row) for row in table] == [1, 1, 1]
    assert [sum(col) for col in zip(*table, strict=True)] == [1, 2]


def test_activities_above_a_lines_goods_are_named() -> None:
    with pytest.raises(ValueError, match="more than its net goods"):
        activity_table([1, 5], [1, 1], [[0], [0]])
