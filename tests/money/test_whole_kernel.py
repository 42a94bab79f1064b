"""The compiled money of the usual plan (:mod:`ordersplit.money.whole_kernel`) gives what
the plain-Python way gives, amount for amount, or declines to the Python way."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_money_batch import METHODS, Order, _split, build, check_invariants
from test_money_small import whole_line_orders

from ordersplit.api import split
from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.money import small, text_kernel
from ordersplit.money.small import OneOrder, whole_lines_python
from ordersplit.money.whole_kernel import LIMIT


@st.composite
def plain_orders(draw: st.DrawFn) -> Order:
    """Every line in one part, no discount activity (the kernel's orders), payments
    re-drawn to add up; amounts from zero and one unit to huge (past the kernel's limit)."""
    order = draw(whole_line_orders())
    payable = sum(order.goods) - sum(order.disc) + order.fee
    return replace(order, acts=[], pay=_split(draw, payable, len(METHODS)))


def _part_of(one: OneOrder) -> list[int]:
    part_of = [0] * len(one.goods)
    for p, x in enumerate(one.part_line):
        part_of[x] = p
    return part_of


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_orders(), st.booleans(), st.booleans())
def test_compiled_whole_lines_equal_python(order: Order, one_method: bool,
                                           invoiced: bool) -> None:
    """Where the kernel takes an order its allocation is the Python way's, every row of
    lines, parts, children and the order; where it declines, the order is past its int64
    limit or takes the exact b-matching, and the Python way answers."""
    one = OneOrder.from_batch(build([order]))
    if one_method:
        one = replace(one, methods=("cash",), payments=[sum(one.payments)],
                      invoiced=[invoiced])
    part_of = _part_of(one)
    want = whole_lines_python(one, part_of)
    got = small._whole_lines_compiled(one, part_of)
    if got is not None:
        assert got == want
        assert max(one.goods) < LIMIT and sum(one.payments) < LIMIT
        if not one_method:
            check_invariants(build([order]), got.to_allocation(0))
    assert small.allocate_lists(one) == want  # the dispatching way, either branch


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5_000), min_size=1, max_size=12), st.integers(0, 2_000),
       st.lists(st.integers(0, 3), min_size=1, max_size=12), st.integers(1, 4),
       st.booleans(), st.integers(0, 2**31))
def test_everyday_amounts_equal_python(goods: list[int], fee: int, child_of: list[int],
                                       n_methods: int, first_child: bool, seed: int) -> None:
    """Orders of everyday amounts (which the kernel takes: it declines only near int64
    or for the b-matching, which such tables rarely need) equal the Python way."""
    n_l = len(goods)
    kids = [c % max(1, min(4, n_l)) for c in (child_of * n_l)[:n_l]]
    n_c = max(kids) + 1
    payable = sum(goods) + fee
    pay = [payable * (k + 1) // (n_methods * (n_methods + 1) // 2) for k in range(n_methods)]
    pay[-1] += payable - sum(pay)
    one = OneOrder(
        methods=tuple(f"m{k}" for k in range(n_methods)), payments=pay,
        invoiced=[k % 2 == 0 for k in range(n_methods)], shipping_fee=fee,
        first_child=first_child, goods=goods, line_discount=[g // (3 + seed % 5) for g in goods],
        line_rate=[x % 2 for x in range(n_l)], rate_num=[9, 13], rate_den=[100, 100],
        activity_amount=[], cover_activity=[], cover_line=[], child_kind=[0] * n_c,
        part_child=kids, part_line=list(range(n_l)), part_weight=[1 + x % 3 for x in range(n_l)])
    one = replace(one, payments=_repaid(one))
    want = whole_lines_python(one, list(range(n_l)))
    got = small._whole_lines_compiled(one, list(range(n_l)))
    if got is not None:
        assert got == want


def _repaid(one: OneOrder) -> list[int]:
    """Payments adding up to the payable after the line discounts."""
    payable = sum(one.goods) - sum(one.line_discount) + one.shipping_fee
    n = len(one.payments)
    pay = [payable // n] * n
    pay[-1] += payable - sum(pay)
    return pay


def test_past_the_limit_goes_the_python_way() -> None:
    one = OneOrder(methods=("cash",), payments=[LIMIT + 5], invoiced=[True], shipping_fee=5,
                   first_child=False, goods=[LIMIT], line_discount=[0], line_rate=[0],
                   rate_num=[9], rate_den=[100], activity_amount=[], cover_activity=[],
                   cover_line=[], child_kind=[0], part_child=[0], part_line=[0],
                   part_weight=[1])
    assert small._whole_lines_compiled(one, [0]) is None
    assert small.allocate_lists(one) == whole_lines_python(one, [0])


@pytest.mark.parametrize("family", FAMILIES)
def test_the_families_plans_take_the_kernel(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark families' 10 x 30 plans (lines whole) have their money from the
    kernel: the fast path is the one the benchmarks time. (The plan builder calls it
    straight from the request, :func:`ordersplit.money.plan.whole_line_texts`, through
    :func:`~ordersplit.money.text_kernel.whole_texts`, which runs the kernel and writes
    its table's strings; every call that the kernel declines (-1) would be counted as
    not taken.)"""
    taken: list[bool] = []
    kernel = text_kernel.whole_texts

    def counted(*args: Any) -> int:
        out = int(kernel(*args))
        taken.append(out >= 0)
        return out

    monkeypatch.setattr(text_kernel, "whole_texts", counted)
    for rules in RULES:
        for req in cell_requests(Cell(family, rules, "10x30"), 4, 7):
            split(json.dumps(req))
    assert taken and all(taken)
