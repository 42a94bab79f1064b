"""The plan builder's output pieces made the quicker way give what the plainer way gave:
the objective's cost text, and models made by :func:`~ordersplit.models.plan.builder`."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordersplit.models.plan import ChildLine, Objective, builder
from ordersplit.plan.build import cost_text


def _cost_text_before(cost: Decimal, exponent: int) -> str:
    """``build_plan``'s cost formatting before session 14."""
    places = exponent if not cost else max(
        exponent, -int(cost.normalize().as_tuple().exponent or 0), 0)
    return f"{cost:.{places}f}"


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False),
       st.integers(min_value=0, max_value=4), st.booleans())
def test_cost_text_is_the_earlier_formatting(cost: Decimal, exponent: int,
                                             normalized: bool) -> None:
    """Child costs up to 6 decimals summed over children: the currency's decimals, or
    the cost's own when it is finer (``12.125`` in CNY, ``12.5`` in JPY), trailing
    zeros of the input never counted."""
    if normalized:
        cost = cost.normalize()
    assert cost_text(cost, exponent) == _cost_text_before(cost, exponent)


def test_cost_text_examples() -> None:
    assert cost_text(Decimal(0), 2) == "0.00"
    assert cost_text(Decimal("12.0"), 2) == "12.00"
    assert cost_text(Decimal("12.125"), 2) == "12.125"
    assert cost_text(Decimal("12.50"), 0) == "12.5"
    assert cost_text(Decimal("1E+2"), 2) == "100.00"


def test_builder_makes_what_built_makes() -> None:
    """Same class, same ``__dict__`` (the given one), every field set, the same JSON."""
    fields = {"line_id": "L1", "sku": "A", "quantity": 2, "component_of": None,
              "amounts": {"goods": "1.00"}}
    one, other = builder(ChildLine)(dict(fields)), ChildLine.built(dict(fields))
    assert type(one) is ChildLine and one.__dict__ == fields
    assert one.model_fields_set == set(ChildLine.model_fields)
    assert one.__pydantic_extra__ is None and one.__pydantic_private__ is None
    assert one.model_dump_json() == other.model_dump_json()
    assert one == ChildLine.model_validate(fields)
    objective = builder(Objective)({"children": 1, "delivery_hours": None, "unit_hours": 0.0,
                                    "cost": "0.00", "children_lower_bound": 1,
                                    "line_fragments": 0, "stock_value": None})
    assert objective.model_dump_json() == Objective.model_validate(
        objective.model_dump()).model_dump_json()
