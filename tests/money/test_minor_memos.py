"""The memo of the plan builder's minor units gives what :func:`to_minor` gives."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersplit.models import currency
from ordersplit.models.currency import text_units_memo, to_minor, to_minor_memo, to_minor_text

_EXPONENTS = st.integers(min_value=0, max_value=4)


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
        assert to_minor_memo(Decimal(v) / 4, 2) == v * 25
    assert len(currency._UNITS_MEMO[2]) <= 8


@given(st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False), _EXPONENTS,
       st.sampled_from(["plain", "normalized", "scientific"]))
def test_units_remembered_by_text_are_to_minor(value: Decimal, exponent: int,
                                               written: str) -> None:
    """Keyed by the decimal's text: every way of writing a value (``1.50``, ``1.5``,
    ``15E-1``) gets the value's minor units, a value finer than the currency is
    refused every time, and the memo read directly agrees after a miss."""
    if written == "normalized":
        value = value.normalize()
    elif written == "scientific":
        value = Decimal(f"{value:E}")
    try:
        expected = to_minor(value, exponent)
    except ValueError:
        with pytest.raises(ValueError):
            to_minor_text(value, exponent)
        with pytest.raises(ValueError):
            to_minor_text(value, exponent)
        assert str(value) not in text_units_memo(exponent)
        return
    assert to_minor_text(value, exponent) == expected
    assert text_units_memo(exponent)[str(value)] == expected
    assert to_minor_text(Decimal(str(value)), exponent) == expected


def test_a_full_text_memo_starts_over_and_stays_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(currency, "MEMO_LIMIT", 8)
    for v in range(100):
        assert to_minor_text(Decimal(v) / 4, 2) == v * 25
    assert len(currency._TEXT_MEMO[2]) <= 8
