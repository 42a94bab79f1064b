"""The compiled money text kernel writes what ``format_minor`` and ``format_rows`` write.

:func:`~ordersplit.money.text_kernel.texts` formats every amount of a plan's money
table in one numba pass; :func:`~ordersplit.money.plan.table_texts` cuts the strings
into the ``amounts`` dicts. Both are compared with the Python reference (value by
value) on generated values: zeros, values below one major unit, negatives, the largest
the money kernels can leave, every exponent a currency has.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.models.currency import format_minor
from ordersplit.money.parts_kernel import parts_money
from ordersplit.money.plan import format_rows, table_texts
from ordersplit.money.text_kernel import parts_texts, split_texts, texts, whole_texts
from ordersplit.money.whole_kernel import whole_lines

EXPONENTS = st.integers(0, 4)
AMOUNTS = st.one_of(st.integers(-(2**62), 2**62), st.integers(-1000, 1000),
                    st.sampled_from([0, 1, 9, 10, 99, 100, 101, 999, 1000, 10**18]))


@settings(max_examples=400, deadline=None)
@given(st.lists(AMOUNTS, max_size=40), EXPONENTS)
def test_texts_are_format_minor(values: list[int], exponent: int) -> None:
    """Each value's string is ``format_minor``'s, in order, none lost or merged."""
    got = texts(np.array(values, dtype=np.int64), exponent)
    assert got == [format_minor(v, exponent) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 8), st.integers(0, 6), st.integers(0, 6), EXPONENTS, st.data())
def test_table_texts_are_format_rows(n_keys: int, n_parts: int, n_children: int,
                                     exponent: int, data: st.DataObject) -> None:
    """A kernel's table (parts, children, parent) gives ``format_rows``'s dicts: same
    keys in the same order, same strings."""
    keys = tuple(f"k{j}" for j in range(n_keys))
    rows = data.draw(st.lists(st.lists(AMOUNTS, min_size=n_keys, max_size=n_keys),
                              min_size=n_parts + n_children + 1,
                              max_size=n_parts + n_children + 1))
    table = np.array(rows, dtype=np.int64).reshape(len(rows), n_keys)
    want = format_rows(keys, exponent, rows[-1], rows[n_parts:n_parts + n_children],
                       rows[:n_parts])
    got = table_texts(keys, exponent, table, n_parts, n_children)
    assert got == want
    assert [list(d) for d in got[1]] == [list(keys)] * n_parts


def _money_inputs(data: st.DataObject, n_l: int, n_c: int, n_m: int,
                  n_r: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """Goods and discounts of ``n_l`` lines, their rate slots, and the order's head
    (children's kinds, payments adding up or not, invoiced flags, rates): mostly
    inputs the kernels take, sometimes ones they decline (payments off by a unit,
    amounts past their limit)."""
    small = st.integers(0, 10**6)
    goods = data.draw(st.lists(st.one_of(small, st.just(1 << 31)), min_size=n_l, max_size=n_l))
    disc = [data.draw(st.integers(0, g)) for g in goods]
    rate = data.draw(st.lists(st.integers(0, n_r - 1), min_size=n_l, max_size=n_l))
    kinds = data.draw(st.lists(st.integers(0, 2), min_size=n_c, max_size=n_c))
    fee = data.draw(st.integers(0, 2000))
    payable = sum(goods) - sum(disc) + fee + data.draw(st.sampled_from([0, 0, 0, 1]))
    pay = [payable // n_m] * n_m
    pay[-1] += payable - sum(pay)
    invoiced = data.draw(st.lists(st.integers(0, 1), min_size=n_m, max_size=n_m))
    nums = data.draw(st.lists(st.integers(0, 30), min_size=n_r, max_size=n_r))
    head = [*kinds, *pay, *invoiced, *nums, *[100] * n_r]
    return [*goods, *disc], rate, head, [fee]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 4), st.booleans(), st.data())
def test_whole_texts_are_the_kernel_then_texts(n_l: int, n_c: int, n_m: int, n_r: int,
                                               exponent: int, first_child: bool,
                                               data: st.DataObject) -> None:
    """The merged call writes the strings of ``whole_lines``' table, and declines (-1)
    exactly where ``whole_lines`` does."""
    money, rate, head, (fee,) = _money_inputs(data, n_l, n_c, n_m, n_r)
    child = data.draw(st.lists(st.integers(0, n_c - 1), min_size=n_l, max_size=n_l))
    units = data.draw(st.lists(st.integers(1, 5), min_size=n_l, max_size=n_l))
    lines = np.array([money[:n_l], money[n_l:], child, units, rate], dtype=np.int64)
    out = np.empty((n_l + n_c + 1, n_m + 5), dtype=np.int64)
    took = whole_lines(lines, n_c, n_m, fee, first_child, np.array(head, dtype=np.int64), out)
    buf = np.empty(out.size * (22 + exponent), dtype=np.uint8)
    n = whole_texts(np.array([*lines.ravel().tolist(), *head], dtype=np.int64), n_l, n_c, n_m,
                    fee, first_child, exponent, buf)
    assert (n >= 0) == took
    if took:
        assert split_texts(buf, n) == texts(out, exponent)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 4), st.booleans(), st.data())
def test_parts_texts_are_the_kernel_then_texts(n_l: int, n_c: int, n_m: int, n_r: int,
                                               exponent: int, first_child: bool,
                                               data: st.DataObject) -> None:
    """The same for ``parts_money``: parts over any children, a line in one part or
    several, weights sometimes nil (declined)."""
    money, rate, head, (fee,) = _money_inputs(data, n_l, n_c, n_m, n_r)
    part_line = [*range(n_l), *data.draw(st.lists(st.integers(0, n_l - 1), max_size=4))]
    n_p = len(part_line)
    part_child = data.draw(st.lists(st.integers(0, n_c - 1), min_size=n_p, max_size=n_p))
    weight = data.draw(st.lists(st.integers(0, 5), min_size=n_p, max_size=n_p))
    lines = np.array([money[:n_l], money[n_l:], rate], dtype=np.int64)
    parts = np.array([part_line, part_child, weight], dtype=np.int64)
    out = np.empty((n_p + n_c + 1, n_m + 5), dtype=np.int64)
    took = parts_money(lines, parts, n_c, n_m, fee, first_child,
                       np.array(head, dtype=np.int64), out)
    buf = np.empty(out.size * (22 + exponent), dtype=np.uint8)
    flat = [*lines.ravel().tolist(), *parts.ravel().tolist(), *head]
    n = parts_texts(np.array(flat, dtype=np.int64), n_l, n_p, n_c, n_m, fee, first_child,
                    exponent, buf)
    assert (n >= 0) == took
    if took:
        assert split_texts(buf, n) == texts(out, exponent)
