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
from ordersplit.models.validate import _NATIVE, parse_request
from tests.test_parse_json_path import BASE, PATHS, _values, mutated


def _native(data: Any, text: bool) -> SplitRequest | None:
    try:
        return _NATIVE.validate_json(json.dumps(data)) if text else _NATIVE.validate_python(data)
    except ValidationError:
        return None


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
