"""The memos of the plan builder's money conversions give what the plain functions give."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersplit.models import currency
from ordersplit.models.currency import (
    format_minor,
    minor_texts_memo,
    to_minor,
    to_minor_memo,
)

_EXPONENTS = st.integers(min_value=0, max_value=4)


@given(st.lists(st.integers(min_value=-(10**20), max_value=10**20), max_size=30), _EXPONENTS)
def test_remembered_texts_are_format_minor(values: list[int], exponent: int) -> None:
    texts = minor_texts_memo(values, exponent)
    assert [texts[v] for v in values] == [format_minor(v, exponent) for v in values]


@given(st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False), _EXPONENTS)
def test_remembered_units_are_to_minor_and_failures_are_not_remembered(
        value: Decimal, exponent: int) -> None:
    try:
        expected = to_minor(value, exponent)
    except ValueError:
        with pytest.raises(ValueError):
            to_minor_memo(value, exponent)
        with pytest.raises(ValueError):  # a second time too: nothing was remembered
            to_minor_memo(value, exponent)
        return
    assert to_minor_memo(value, exponent) == expected
    assert to_minor_memo(value.normalize(), exponent) == expected  # 1.50 and 1.5 alike


def test_a_full_memo_starts_over_and_stays_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(currency, "MEMO_LIMIT", 8)
    for v in range(100):
        assert minor_texts_memo([v, -v, 7], 2)[v] == format_minor(v, 2)
        assert to_minor_memo(Decimal(v) / 4, 2) == v * 25
    assert len(currency._TEXTS_MEMO[2]) <= 8 and len(currency._UNITS_MEMO[2]) <= 8
