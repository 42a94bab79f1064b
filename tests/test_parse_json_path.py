"""JSON text is validated by pydantic's own parser first (the fast path): it must accept
exactly what the decoded-mapping path accepts, with the same values, and reject the rest
with the same error (field, order, message)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit import RequestError
from ordersplit.models.validate import parse_request
from tests.conftest import EXAMPLE

BASE: dict[str, Any] = json.loads(EXAMPLE.read_text())

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["12.50", "0", "1.001", "-1", "1e3", "USD", "ambient", "fastest", "L1",
                     "2.0", "\u00e9", "MILK-1L", "*"]),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)[1:]


def mutated(path: tuple[Any, ...], value: Any, drop: bool) -> dict[str, Any]:
    """The example request with the field at ``path`` set to ``value`` (or dropped)."""
    req = copy.deepcopy(BASE)
    parent = req
    for key in path[:-1]:
        parent = parent[key]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return req


def _outcome(data: Any) -> tuple[str, Any]:
    try:
        return "ok", parse_request(data)
    except RequestError as exc:
        return "error", (exc.field, exc.order_id, exc.message)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=_values, drop=st.booleans())
def test_json_text_and_decoded_mapping_agree(path: tuple[Any, ...], value: Any,
                                            drop: bool) -> None:
    text = json.dumps(mutated(path, value, drop))  # NaN and Infinity as Python's json writes them
    assert _outcome(text) == _outcome(json.loads(text))


def test_text_forms_the_fast_parser_refuses_still_parse() -> None:
    """A UTF-8 BOM in bytes and a lone surrogate take the old way, with the old result."""
    text = json.dumps(BASE)
    assert parse_request(b"\xef\xbb\xbf" + text.encode()) == parse_request(BASE)
    bad = copy.deepcopy(BASE)
    bad["order"]["destination"] = "x\ud800"
    assert _outcome(json.dumps(bad)) == _outcome(json.loads(json.dumps(bad)))
    assert _outcome(json.dumps(bad))[0] == "error"
