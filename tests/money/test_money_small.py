"""The plain-Python path for one order gives exactly what the batch path gives."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_money_batch import Order, build, check_invariants, orders

from ordersplit.money.batch import allocate_batch
from ordersplit.money.rounding import controlled_round
from ordersplit.money.small import OneOrder, allocate_lists, allocate_one, controlled_list

FIELDS = ("orders", "lines", "children", "parts", "line_components", "part_components",
          "activity_slot")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(orders(), min_size=1, max_size=10))
def test_one_order_in_python_equals_the_batch(generated: list[Order]) -> None:
    for order in generated:  # about 1,500 orders over the run
        batch = build([order])
        want = allocate_batch(batch)
        got = allocate_one(batch)
        assert got.keys == want.keys
        for name in FIELDS:
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        check_invariants(batch, got)


def test_controlled_list_takes_the_same_exact_fallback() -> None:
    rows, cols = [0, 3, 3, 4, 2], [2, 4, 6, 0]
    want = controlled_round(np.zeros(5, dtype=np.int64), np.array(rows), np.array([cols]))
    assert controlled_list(rows, cols) == want.tolist()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_controlled_list_equals_controlled_round(data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 17, 999, 10**10]),
                              min_size=1, max_size=9))
    total = sum(rows)
    n_cols = data.draw(st.integers(1, 6))
    cuts = sorted(data.draw(st.integers(0, total)) for _ in range(n_cols - 1))
    cols = [y - x for x, y in zip([0, *cuts], [*cuts, total], strict=True)]
    want = controlled_round(np.zeros(len(rows), dtype=np.int64), np.array(rows),
                            np.array([cols]))
    assert controlled_list(rows, cols) == want.tolist()


@st.composite
def whole_line_orders(draw: st.DrawFn) -> Order:
    """A generated order with every line in one part (the usual plan), which takes the
    one-pass way of :func:`ordersplit.money.small.allocate_lists`."""
    order = draw(orders())
    first: dict[int, tuple[int, int, int]] = {}
    for child, line, weight in order.parts:
        first.setdefault(line, (child, line, weight))
    return replace(order, parts=sorted(first.values()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(whole_line_orders(), st.booleans(), st.booleans())
def test_whole_lines_equal_the_batch(order: Order, one_method: bool, invoiced: bool) -> None:
    """Every line in one part, with the order's five payment methods or all of it paid
    by one (a plan's usual shape): the same amounts as the batch path, key by key."""
    one = OneOrder.from_batch(build([order]))
    if one_method:
        one = replace(one, methods=("cash",), payments=[sum(one.payments)],
                      invoiced=[invoiced])
    batch = one.to_batch()
    want = allocate_batch(batch)
    got = allocate_lists(one).to_allocation(len(one.activity_amount))
    assert got.keys == want.keys
    for name in FIELDS:
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    if not one_method:  # the invariants' checker knows the five methods
        check_invariants(batch, got)
