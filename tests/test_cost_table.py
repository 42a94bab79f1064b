"""Child costs read from their text give the scale and units the ``Decimal`` rules give."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordersplit.rules.costs import MAX_COST_DECIMALS, cost_table, cost_table_memo


def _by_decimal(costs: list[Decimal]) -> tuple[int, list[int]]:
    def decimals(cost: Decimal) -> int:
        exp = cost.normalize().as_tuple().exponent
        return -exp if isinstance(exp, int) and exp < 0 else 0

    scale = 10 ** min(max(map(decimals, costs), default=0), MAX_COST_DECIMALS)
    return scale, [int(cost * scale) for cost in costs]


_COSTS = st.one_of(
    st.decimals(min_value=0, max_value=10**7, places=6, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=10**7, places=8, allow_nan=False, allow_infinity=False),
    st.builds(lambda n, e: Decimal(n).scaleb(e), st.integers(0, 10**9), st.integers(-9, 3)),
    st.sampled_from([Decimal("0E-12"), Decimal("1E+3"), Decimal("1.2345678"),
                     Decimal("1000000.000000"), Decimal("2.50"), Decimal("-0")]),
)


@given(st.lists(_COSTS, max_size=6))
def test_cost_table_matches_decimal_arithmetic(costs: list[Decimal]) -> None:
    assert cost_table(costs) == _by_decimal(costs)


@given(st.lists(st.lists(_COSTS, max_size=4), min_size=1, max_size=4))
def test_remembered_tables_are_the_tables_of_equal_values(networks: list[list[Decimal]]) -> None:
    """The memo is keyed by value: ``1.5`` and ``1.50`` share a table, and it is theirs."""
    for costs in networks:
        assert cost_table_memo(tuple(costs)) == _by_decimal(costs)
        rescaled = tuple(c.quantize(Decimal(1).scaleb(-8)) if c.is_finite() and abs(c) < 10**8
                         else c for c in costs)
        assert cost_table_memo(rescaled) == _by_decimal(costs)
