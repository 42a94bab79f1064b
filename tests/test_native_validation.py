"""The native happy path of parsing (:mod:`ordersplit.models.native`) accepts only what
the models accept, with the same values; what it refuses still parses the model's way."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import native_request, parse_request
from tests.test_parse_json_path import BASE, PATHS, _outcome, _values, mutated


def _native(data: Any, text: bool) -> SplitRequest | None:
    return native_request(json.dumps(data) if text else data)


def _model(data: Any) -> SplitRequest | None:
    try:
        return SplitRequest.model_validate(data)
    except ValidationError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=_values, drop=st.booleans(), text=st.booleans())
def test_native_accepts_a_subset_with_the_same_values(path: tuple[Any, ...], value: Any,
                                                      drop: bool, text: bool) -> None:
    req = mutated(path, value, drop)
    native = _native(req, text)
    if native is not None:
        model = _model(json.loads(json.dumps(req)) if text else req)
        assert model is not None and native == model
        assert native.model_dump_json() == model.model_dump_json()  # decimals kept as given
        assert type(native) is SplitRequest


def test_native_takes_the_ordinary_request_and_refuses_what_needs_python() -> None:
    native = _native(BASE, text=True)
    assert native is not None
    assert native.model_dump_json() == SplitRequest.model_validate(BASE).model_dump_json()
    req = copy.deepcopy(BASE)
    req["order"]["lines"][0]["quantity"] = 2.0  # the JSON integer 2, read by a Python check
    assert _native(req, text=True) is None and _native(req, text=False) is None
    two = copy.deepcopy(BASE)
    two["order"]["lines"][0]["quantity"] = 2
    assert parse_request(json.dumps(req)) == parse_request(two) == parse_request(req)


_BAD_KEYS = ["", " x", "x\ud800", "a" * 129, "é", "-x", "x\n"]
_MAPS = [("catalog",), ("warehouses", 0, "stock"), ("warehouses", 1, "delivery_hours")]


@settings(max_examples=60, deadline=None)
@given(where=st.sampled_from(_MAPS), key=st.one_of(st.sampled_from(_BAD_KEYS), st.text(max_size=6)),
       text=st.booleans())
def test_map_keys_left_loose_are_checked_after(where: tuple[Any, ...], key: str,
                                               text: bool) -> None:
    """The native validator leaves maps' keys to a check of each distinct key: a key the
    model refuses is refused there too, and the error is the model's."""
    req = copy.deepcopy(BASE)
    target = req
    for part in where:
        target = target[part]
    target[key] = copy.deepcopy(next(iter(target.values())))
    if _model(req) is None:
        assert _native(req, text) is None
        assert _outcome(json.dumps(req) if text else req)[0] == "error"
    else:
        assert _native(req, text) == _model(req)


def test_stock_price_keys_are_checked() -> None:
    req = copy.deepcopy(BASE)
    wh = req["warehouses"][0]["id"]
    for prices in ({wh: {"bad key": 1.0}}, {"bad key": {"MILK-1L": 1.0}}, {wh: {"MILK-1L": 1.0}}):
        req["options"]["stock_prices"] = {"version": "v1", "prices": prices}
        assert (_native(req, True) is None) == (_model(req) is None)
