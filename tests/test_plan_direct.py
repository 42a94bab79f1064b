"""The plan builder's direct ways give what the general ways give.

``whole_line_texts`` takes the usual plan (every line one part, no discount activity)
from the request straight to the amounts' strings; ``build_plan`` takes it whenever it
applies. Both are compared with the general way (``plan_amount_texts``, and the plan
built with the direct way switched off) on generated requests and plans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.api import split
from ordersplit.models.currency import format_minor
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import parse_request
from ordersplit.money import plan as money_plan
from ordersplit.money.batch import KIND_CODES
from ordersplit.money.plan import parts_texts, plan_amount_texts, whole_line_texts
from ordersplit.plan import build
from ordersplit.plan.build import build_plan
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.stop import WorkBudget
from tests.strategies import requests
from tests.test_plan_build import MONEY_REQUEST

CURRENCIES = {"CNY": 2, "JPY": 0, "KWD": 3}
RATES = ["0", "0.09", "0.13", "0.06", "0.175", "1.5"]


@st.composite
def money_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request whose money varies widely: prices from 0 to near 10^12 minor
    units, own discounts, discount activities (overlapping or not, over some lines or
    all), a shipping fee, one to four payment methods that add up, tax rates, invoice
    methods, the fee policy, sometimes a gift activity."""
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    exp = CURRENCIES[currency]
    big = draw(st.integers(0, 4)) == 0
    top = 10**11 if big else 10**6
    n_lines = draw(st.integers(1, 7))
    lines, catalog = [], {}
    net_total = 0
    nets: list[int] = []
    for i in range(n_lines):
        qty = draw(st.integers(1, 5))
        price = draw(st.integers(0, top // qty))
        disc = draw(st.integers(0, price * qty)) if draw(st.booleans()) else 0
        sku = f"S{i}"
        lines.append({"id": f"L{i}", "sku": sku, "quantity": qty,
                      "unit_price": format_minor(price, exp),
                      "discount": format_minor(disc, exp)})
        catalog[sku] = {"tax_rate": draw(st.sampled_from(RATES))}
        net_total += price * qty - disc
        nets.append(price * qty - disc)
    activities: list[dict[str, Any]] = []
    taken = 0
    for a in range(draw(st.integers(0, 2))):  # each at most half its lines' net: overlap ok
        ids = draw(st.lists(st.integers(0, n_lines - 1), min_size=1, unique=True))
        if draw(st.booleans()):  # every line
            ids = list(range(n_lines))
        base = sum(nets[i] for i in ids)
        amount = draw(st.integers(0, base // 2))
        act: dict[str, Any] = {"id": f"D{a}", "kind": "discount",
                               "amount": format_minor(amount, exp)}
        if len(ids) < n_lines or draw(st.booleans()):
            act["lines"] = [f"L{i}" for i in ids]
        activities.append(act)
        taken += amount
    fee = draw(st.integers(0, 10**5))
    payable = net_total - taken + fee
    n_methods = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(0, payable), min_size=n_methods - 1,
                                max_size=n_methods - 1)))
    amounts = [b - a for a, b in zip([0, *cuts], [*cuts, payable], strict=True)]
    methods = ["cash", "coupon", "points", "gift_card"][:n_methods]
    order: dict[str, Any] = {
        "id": "P-1", "currency": currency, "destination": "d",
        "lines": lines, "shipping_fee": format_minor(fee, exp),
        "payments": [{"method": m, "amount": format_minor(a, exp)}
                     for m, a in zip(methods, amounts, strict=True)],
    }
    if n_lines > 1 and draw(st.booleans()):
        activities.append({"id": "G", "kind": "gift", "trigger_lines": ["L0"],
                           "gift_lines": [f"L{n_lines - 1}"]})
    if activities:
        order["activities"] = activities
    invoice = draw(st.lists(st.sampled_from(methods), unique=True, max_size=n_methods))
    return {"order": order, "catalog": catalog, "warehouses": [{"id": "W", "stock": {}}],
            "options": {"invoice_methods": invoice,
                        "shipping_fee": draw(st.sampled_from(["proportional",
                                                              "first_child"]))}}


def _everyday(req: SplitRequest) -> bool:
    """Whether the compiled ways must take the order: one payment method (no controlled
    rounding over methods that could strand a unit) and the goods well below the
    kernels' 2**30 minor units (so is every amount and sum derived from them)."""
    exp = CURRENCIES[req.order.currency]
    goods = sum((line.unit_price * line.quantity for line in req.order.lines), Decimal(0))
    return len(req.order.payments) == 1 and goods.scaleb(exp) < 2**29


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(money_requests(), st.data())
def test_whole_line_texts_equal_the_general_way(raw: dict[str, Any],
                                                data: st.DataObject) -> None:
    """Every line one part of a child: the direct strings are the general way's, the
    second list per line (its one part's); everyday orders always take the direct way."""
    req = parse_request(raw)
    n_l = len(req.order.lines)
    n_c = data.draw(st.integers(1, n_l))
    line_child = data.draw(st.lists(st.integers(0, n_c - 1), min_size=n_l, max_size=n_l))
    kinds = data.draw(st.lists(st.sampled_from(sorted(KIND_CODES)), min_size=n_c,
                               max_size=n_c))
    units = [line.quantity for line in req.order.lines]
    want = plan_amount_texts(req, line_child, list(range(n_l)), units, kinds)
    got = whole_line_texts(req, line_child, units, [KIND_CODES[k] for k in kinds])
    if got is not None:
        assert got == want
    assert got is not None or not _everyday(req)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(money_requests(), st.data())
def test_parts_texts_equal_the_general_way(raw: dict[str, Any], data: st.DataObject) -> None:
    """Lines split over several parts of several children (thin stock), in any order:
    the compiled way's strings are the general way's, part by part; everyday orders
    always take it."""
    req = parse_request(raw)
    n_l = len(req.order.lines)
    n_c = data.draw(st.integers(1, 5))
    part_line = [x for x in range(n_l) for _ in range(data.draw(st.integers(1, 3)))]
    part_line = data.draw(st.permutations(part_line))
    part_child = data.draw(st.lists(st.integers(0, n_c - 1), min_size=len(part_line),
                                    max_size=len(part_line)))
    part_weight = data.draw(st.lists(st.integers(1, 4), min_size=len(part_line),
                                     max_size=len(part_line)))
    kinds = data.draw(st.lists(st.sampled_from(sorted(KIND_CODES)), min_size=n_c,
                               max_size=n_c))
    want = plan_amount_texts(req, part_child, part_line, part_weight, kinds)
    got = parts_texts(req, part_child, part_line, part_weight, [KIND_CODES[k] for k in kinds])
    if got is not None:
        assert got == want
    assert got is not None or not _everyday(req)


def test_parts_texts_decline_inconsistent_parts() -> None:
    """A line without a part, a part of no line or child, a weight of 0: the general
    way's (which names the problem)."""
    req = parse_request(MONEY_REQUEST)
    kinds = [KIND_CODES["shipment"]] * 2
    assert parts_texts(req, [0, 1, 1], [0, 1, 1], [1, 1, 1], kinds) is None  # no line 2
    assert parts_texts(req, [0, 1, 2], [0, 1, 2], [1, 1, 1], kinds) is None  # no child 2
    assert parts_texts(req, [0, 1, 1], [0, 1, 2], [1, 0, 1], kinds) is None  # weight 0
    assert parts_texts(req, [0, 1, 1], [0, 1, 2], [1, 1, 1], kinds) == plan_amount_texts(
        req, [0, 1, 1], [0, 1, 2], [1, 1, 1], ["shipment", "shipment"])


@contextmanager
def _general_way() -> Iterator[None]:
    """``build_plan`` with the direct money ways switched off."""
    saved = build.whole_line_texts, build.parts_texts
    build.whole_line_texts = lambda *args: None
    build.parts_texts = lambda *args: None
    try:
        yield
    finally:
        build.whole_line_texts, build.parts_texts = saved


def _plans(raw: dict[str, Any]) -> tuple[str, str]:
    req = parse_request(raw)
    compiled = compile_request(req)
    result = solve_problem(compiled.problem, "auto", WorkBudget(10**6))
    direct = build_plan(req, compiled, result, 0.0).model_dump_json()
    with _general_way():
        general = build_plan(req, compiled, result, 0.0).model_dump_json()
    return direct, general


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(max_lines=5, max_wh=4))
def test_plans_equal_the_general_way(raw: dict[str, Any]) -> None:
    """Every rule, bundles, store and back-order children: the same plan, byte for byte."""
    direct, general = _plans(raw)
    assert direct == general


def test_the_usual_plan_takes_the_direct_way() -> None:
    """The benchmark families' plans are the usual plan: the direct way answers them."""
    from ordersplit.bench.engine import Cell, cell_requests

    calls = []
    saved = build.whole_line_texts

    def counted(*args: Any) -> Any:
        out = saved(*args)
        calls.append(out is not None)
        return out

    build.whole_line_texts = counted
    try:
        for raw in cell_requests(Cell("uniform", "plain", "10x30"), 3, 7):
            split(json.dumps(raw))
    finally:
        build.whole_line_texts = saved
    assert calls == [True, True, True]
    assert money_plan.SMALL_ORDER_LINES >= 10


def test_thin_plans_take_the_compiled_parts_way() -> None:
    """Thin stock splits lines over children: those plans' money comes from the parts
    kernel (none declined), and the plans are the general way's."""
    from ordersplit.bench.engine import Cell, cell_requests

    calls: list[bool] = []
    saved = build.parts_texts

    def counted(*args: Any) -> Any:
        out = saved(*args)
        calls.append(out is not None)
        return out

    build.parts_texts = counted
    try:
        for raw in cell_requests(Cell("thin", "plain", "10x30"), 8, 2026):
            direct, general = _plans(raw)
            assert direct == general
    finally:
        build.parts_texts = saved
    assert calls and all(calls)
