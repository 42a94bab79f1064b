"""Session 13's shortcuts in parsing and compiling give what the ways they replace give:
the native money schema's decimals, the quick pass that trusts the bounds of a
validated request, and the compiler's group keys."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import SchemaValidator, core_schema

from ordersplit.models.bounds import (
    COST_LIMIT,
    COST_PATTERN,
    MONEY_LIMIT,
    MONEY_PATTERN,
    TAX_RATE_PATTERN,
    _native_decimal,
)
from ordersplit.models.request import Order, SplitRequest
from ordersplit.models.validate import _check_in_order, _plainly_valid, parse_request
from ordersplit.rules.keys import group_key
from ordersplit.solver.compile import compile_request
from tests.strategies import requests
from tests.test_quick_checks import BASE, _outcome, edited

_BOUNDS = [(MONEY_PATTERN, MONEY_LIMIT), (COST_PATTERN, COST_LIMIT), (TAX_RATE_PATTERN, 10)]


def _old_native_decimal(pattern: str, limit: int) -> Any:
    """The schema the native money narrowing was before: pydantic-core's decimal."""
    return core_schema.union_schema([
        core_schema.chain_schema([core_schema.str_schema(pattern=pattern, strict=True),
                                  core_schema.decimal_schema()]),
        core_schema.chain_schema([core_schema.int_schema(ge=0, lt=limit, strict=True),
                                  core_schema.decimal_schema()]),
    ], mode="left_to_right")


def _outcome_of(validator: SchemaValidator, text: str) -> Any:
    try:
        value = validator.validate_json(text)
    except ValueError:
        return None
    assert isinstance(value, Decimal)
    return str(value)  # the digits and exponent as given: "12.50" stays "12.50"


@settings(max_examples=400, deadline=None)
@given(bounds=st.sampled_from(_BOUNDS), data=st.data())
def test_native_money_is_the_decimal_schema(bounds: tuple[str, int], data: st.DataObject
                                            ) -> None:
    """Strings of the pattern (and near misses), JSON integers in and out of bounds,
    floats, booleans, null: the native money schema accepts what the decimal schema it
    replaces accepts, with the same decimal to the last digit."""
    pattern, limit = bounds
    value = data.draw(st.one_of(
        st.from_regex(pattern, fullmatch=True),
        st.text(alphabet="0123456789.-+eE nN", max_size=16),
        st.integers(-5, limit + 5), st.integers(min_value=limit - 3, max_value=10**15),
        st.floats(allow_nan=True), st.booleans(), st.none()))
    text = json.dumps(value)
    new = SchemaValidator(_native_decimal(pattern, limit))
    old = SchemaValidator(_old_native_decimal(pattern, limit))
    assert _outcome_of(new, text) == _outcome_of(old, text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(req=edited())
def test_the_bounded_quick_pass_is_the_quick_pass(req: SplitRequest | None) -> None:
    """On validated requests (every amount, rate and cost within its bounds) the quick
    pass without the sign and range comparisons decides as the one with them, and the
    checks in order still name every problem it defers."""
    if req is None:
        return
    assert _plainly_valid(req, bounded=True) == _plainly_valid(req)
    if _plainly_valid(req, bounded=True):
        assert _outcome(_check_in_order, req) is None


def test_a_constructed_request_keeps_the_sign_checks() -> None:
    """A request built without validation (``model_construct``) and handed to
    ``parse_request`` is checked in full: a negative price is still named."""
    order = _negative_gift_bag()
    req = SplitRequest.model_validate(BASE).model_copy(update={"order": order})
    assert _plainly_valid(req, bounded=True)  # the sign is all that is wrong
    assert not _plainly_valid(req)
    assert _outcome(parse_request, req) == ("order.lines[3].unit_price", BASE["order"]["id"],
                                            "must not be negative, got -1.00")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=requests(max_lines=5, max_wh=4))
def test_compiled_keys_are_the_rules_group_keys(data: dict[str, Any]) -> None:
    """The compiler's key of every item and fixed part (the item's four fields as they
    are when every key rule is on) is :func:`~ordersplit.rules.keys.group_key` of its
    line's catalog item under the request's rules, whichever rules are on."""
    req = parse_request(data)
    layout = compile_request(req).layout
    for ref in [*layout.items, *layout.fixed]:
        line = req.order.lines[ref.line]
        assert ref.key == group_key(req.catalog[line.sku], req.rules)


def test_a_mapping_with_a_constructed_model_keeps_the_sign_checks() -> None:
    """A mapping whose order is a model instance made by ``model_construct``: validation
    passes the instance through as it is, so the checks still compare signs and name
    the negative price."""
    data = dict(BASE)
    data["order"] = _negative_gift_bag()
    assert _outcome(parse_request, data) == ("order.lines[3].unit_price", BASE["order"]["id"],
                                             "must not be negative, got -1.00")


def _negative_gift_bag() -> Order:
    """The example's order with the gift bag (line 3, price 0) priced -1.00 with a
    discount of -1.00: its net goods stay 0 and payments still add up, only the signs
    are wrong (an ``Order`` that no validation would build)."""
    order = SplitRequest.model_validate(BASE).order
    lines = list(order.lines)
    assert lines[3].unit_price == 0 and lines[3].quantity == 1
    lines[3] = lines[3].model_copy(update={"unit_price": Decimal("-1.00"),
                                           "discount": Decimal("-1.00")})
    return order.model_copy(update={"lines": lines})
