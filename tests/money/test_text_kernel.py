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
from ordersplit.money.plan import format_rows, table_texts
from ordersplit.money.text_kernel import texts

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
