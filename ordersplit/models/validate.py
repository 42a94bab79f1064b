"""Turn untrusted input into a :class:`SplitRequest`, or one clear :class:`RequestError`.

Schema errors come from pydantic and are renamed to JSON paths; the checks that span
fields (references between lines, catalog and activities; money precision; payments
that must add up) are here. The first problem found is reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from ordersplit.errors import RequestError, json_error_text
from ordersplit.models.bounds import ID_PATTERN, MONEY_LIMIT, NAME_PATTERN, PATTERN_TEXT
from ordersplit.models.currency import currency_exponent
from ordersplit.models.native import KnownKeys, native_validator
from ordersplit.models.request import Activity, SplitRequest

_LOOSE_KEYS: list[str] = []
_NATIVE = native_validator(SplitRequest, _LOOSE_KEYS)
"""The happy path: no Python validator per value, and maps' keys left to
:func:`_keys_valid`; what either refuses goes the model's way."""
if sorted(_LOOSE_KEYS) != sorted([ID_PATTERN] * 4 + [NAME_PATTERN]):  # pragma: no cover
    raise RuntimeError("the request's maps changed: _keys_valid must check every map's keys")
_IDS, _NAMES = KnownKeys(ID_PATTERN), KnownKeys(NAME_PATTERN)


def _keys_valid(request: SplitRequest) -> bool:
    """Whether every map key the loose native validator let through matches its pattern:
    the catalog's SKUs, the warehouses' stock SKUs and destinations, the stock prices'
    warehouses and SKUs (a network repeats a handful of destinations hundreds of times,
    so the distinct keys are collected in C and each is matched once per process)."""
    warehouses = request.warehouses
    ids = set(request.catalog).union(*[wh.stock for wh in warehouses])
    prices = request.options.stock_prices
    if prices is not None:
        ids = ids.union(prices.prices, *prices.prices.values())
    return (_IDS.all_valid(ids)
            and _NAMES.all_valid(set().union(*[wh.delivery_hours for wh in warehouses])))


def native_request(data: str | bytes | Mapping[str, Any]) -> SplitRequest | None:
    """``data`` validated by the native happy path (JSON text or a decoded mapping), or
    None when it refuses: then the model's way accepts it or names the error."""
    validate = _NATIVE.validate_json if isinstance(data, str | bytes) else _NATIVE.validate_python
    request = _validated(validate, data)
    return request if request is not None and _keys_valid(request) else None


def _check_validated(req: SplitRequest) -> None:
    """:func:`check_request` of a request our validators just built from JSON: its
    money, tax rates and costs are within their bounds (:mod:`~ordersplit.models.bounds`),
    so the quick pass need not compare their signs again. (Not for a mapping's: it may
    hold model instances, which validation passes through unchecked.)"""
    if not _plainly_valid(req, bounded=True):
        _check_in_order(req)


def json_path(loc: Iterable[int | str]) -> str:
    """``("order", "lines", 2, "quantity")`` -> ``order.lines[2].quantity``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _order_id_of(data: Any) -> str | None:
    if isinstance(data, Mapping):
        order = data.get("order")
        if isinstance(order, Mapping) and isinstance(order.get("id"), str):
            return str(order["id"])
    return None


def parse_request(data: str | bytes | Mapping[str, Any] | SplitRequest) -> SplitRequest:
    """Validate a request given as JSON text, a decoded mapping, or a model.

    Raises :class:`RequestError` naming the order and the field on any problem.
    """
    if isinstance(data, SplitRequest):
        check_request(data)
        return data
    if isinstance(data, str | bytes):
        # the fast ways: pydantic reads the JSON itself, no dicts in between; natively
        # first, then with the model's own validators (a JSON 2.0 quantity, say)
        request = native_request(data)
        if request is None:
            request = _validated(SplitRequest.model_validate_json, data)
        if request is not None:
            _check_validated(request)
            return request
        # any problem is named by the way below, exactly as it always was
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise RequestError(json_error_text(exc), field="") from None
    if not isinstance(data, Mapping):
        raise RequestError("the request must be a JSON object", field="")
    order_id = _order_id_of(data)
    # a mapping may hold model instances (perhaps made by ``model_construct``), which
    # validation passes through as they are: the checks make no assumption of bounds
    request = native_request(data)
    if request is not None:
        check_request(request)
        return request
    try:
        request = SplitRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, order_id) from None
    check_request(request)
    return request


def _validated(validate: Callable[[Any], Any], data: Any) -> SplitRequest | None:
    """``validate(data)``, or None when it refuses ``data`` (the caller then names why)."""
    try:
        request = validate(data)
    except ValidationError:
        return None
    assert isinstance(request, SplitRequest)
    return request


def error_message(err: Mapping[str, Any]) -> str:
    """The message of one pydantic error, in our words where pydantic's name Python types."""
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if cause is not None:
            return str(cause)
    if kind == "string_pattern_mismatch":
        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        return f"must be {PATTERN_TEXT.get(pattern, f'of the form {pattern}')}"
    if kind == "string_unicode":
        return "must be text that UTF-8 can encode (no lone surrogates)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a JSON object"
    if kind == "list_type":
        return "must be a JSON array"
    return str(err.get("msg", "invalid value"))


def validation_error(exc: ValidationError, order_id: str | None = None,
                     prefix: str = "") -> RequestError:
    """The first error of a pydantic validation as a :class:`RequestError`."""
    first = exc.errors()[0]
    loc = tuple(first.get("loc", ()))
    message = error_message(first)
    if loc and loc[-1] == "[key]":  # a map's key, not its value, is wrong
        loc = loc[:-1]
        message = f"the key {message}"
    field = json_path((prefix, *loc) if prefix else loc)
    return RequestError(message, field=field, order_id=order_id)


def check_request(req: SplitRequest) -> None:
    """Cross-field checks; raises :class:`RequestError` on the first problem.

    A quick pass decides nearly every request; when it finds anything amiss (or meets
    what it leaves to the full checks), the checks run in order and name the first
    problem, exactly as they always have.
    """
    if not _plainly_valid(req):
        _check_in_order(req)


_ZERO = Decimal(0)
_RESERVED_METHODS = frozenset({"goods", "discount", "shipping_fee", "invoice", "tax"})


def _plainly_valid(req: SplitRequest, bounded: bool = False) -> bool:
    """True when :func:`_check_in_order` would find nothing; False when it might.

    The same checks without field names or messages: sets instead of loops where ids
    must be distinct, and nothing built for an error that does not happen. The rare
    ``stock_value`` objective is left to the full checks. ``bounded``: the request was
    validated (not built by ``model_construct``), so every amount is a non-negative
    decimal below 10^12, every tax rate in [0, 10) and every cost non-negative (their
    bounds' patterns and limits), and those comparisons are skipped.
    """
    order, catalog = req.order, req.catalog
    try:
        quantum = _QUANTA[currency_exponent(order.currency)]
    except (KeyError, IndexError):
        return False
    lines = order.lines
    line_ids = {line.id for line in lines}
    if len(line_ids) != len(lines) or "stock_value" in req.objective_order():
        return False
    try:
        net: dict[str, Decimal] = {}
        for line in lines:
            price, discount = line.unit_price, line.discount
            if (line.sku not in catalog
                    or (not bounded and (price < _ZERO or discount < _ZERO))
                    or price != price.quantize(quantum)
                    or discount != discount.quantize(quantum)):
                return False
            goods = price * line.quantity
            if goods >= MONEY_LIMIT or discount > goods:
                return False
            net[line.id] = goods - discount
        fee = order.shipping_fee
        net_total = sum(net.values(), _ZERO)
        if ((not bounded and fee < _ZERO) or fee != fee.quantize(quantum)
                or net_total + fee >= MONEY_LIMIT):
            return False
        taken = _activities_discount(order.activities, line_ids, net, quantum)
        if taken is None:
            return False
        paid = _ZERO
        for pay in order.payments:
            amount = pay.amount
            if (pay.method in _RESERVED_METHODS or (not bounded and amount < _ZERO)
                    or amount != amount.quantize(quantum)):
                return False
            paid += amount
        if paid != net_total - taken + fee:
            return False
    except (InvalidOperation, _DoubtError):
        return False
    if len({pay.method for pay in order.payments}) != len(order.payments):
        return False
    if not bounded and not all(_ZERO <= item.tax_rate < _TEN for item in catalog.values()):
        return False
    for comps in [item.components for item in catalog.values()]:
        if comps is not None:
            if not comps:
                return False
            for comp in comps:
                inner = catalog.get(comp.sku)
                if inner is None or inner.components:
                    return False
    warehouses = req.warehouses
    return (len({wh.id for wh in warehouses}) == len(warehouses)
            and (bounded or all(wh.child_cost >= _ZERO for wh in warehouses)))


class _DoubtError(Exception):
    """Raised inside the quick pass where the full checks must decide."""


def _doubt(_field: str, _message: str) -> RequestError:
    raise _DoubtError


def _activities_discount(activities: list[Activity], line_ids: set[str],
                         net: dict[str, Decimal], quantum: Decimal) -> Decimal | None:
    """The activities' discounts in total, or None where the full checks must decide."""
    if not activities:
        return _ZERO
    if len({act.id for act in activities}) != len(activities):
        return None
    total = _ZERO
    for act in activities:
        if not line_ids.issuperset(act.lines or ()) or not line_ids.issuperset(
                act.trigger_lines) or not line_ids.issuperset(act.gift_lines):
            return None
        amount = act.amount
        if act.kind == "discount":
            if (amount is None or amount < _ZERO or amount != amount.quantize(quantum)
                    or (act.lines is not None and not act.lines)):
                return None
            covered = net if act.lines is None else set(act.lines)
            if amount > sum((net[x] for x in covered), _ZERO):
                return None
            total += amount
        elif not act.trigger_lines or not act.gift_lines or amount is not None:
            return None
    _check_overlapping_discounts(activities, net, _doubt)
    return total


_TEN = Decimal(10)
_QUANTA = tuple(Decimal(1).scaleb(-e) for e in range(5))
"""The minor unit of each ISO 4217 exponent (0 to 4)."""


def _check_in_order(req: SplitRequest) -> None:
    """Every cross-field check in order; raises on the first problem."""
    order = req.order

    def fail(field: str, message: str) -> RequestError:
        return RequestError(message, field=field, order_id=order.id)

    try:
        exponent = currency_exponent(order.currency)
    except KeyError:
        raise fail("order.currency", f"unknown ISO 4217 currency {order.currency!r}") from None

    quantum = Decimal(1).scaleb(-exponent)

    def money(field: str, value: Decimal, *, allow_negative: bool = False) -> None:
        if value < 0 and not allow_negative:
            raise fail(field, f"must not be negative, got {value}")
        try:
            exact = value == value.quantize(quantum)
        except InvalidOperation:
            raise fail(field, f"{value} is too large") from None
        if not exact:
            raise fail(field, f"{value} has more decimals than {order.currency} allows ({exponent})")

    line_ids: dict[str, int] = {}
    goods_by_line: dict[str, Decimal] = {}
    for i, line in enumerate(order.lines):
        base = f"order.lines[{i}]"
        if line.id in line_ids:
            raise fail(f"{base}.id", f"duplicate line id {line.id!r}")
        line_ids[line.id] = i
        if line.sku not in req.catalog:
            raise fail(f"{base}.sku", f"unknown SKU {line.sku!r}: not in the catalog")
        money(f"{base}.unit_price", line.unit_price)
        money(f"{base}.discount", line.discount)
        goods = line.unit_price * line.quantity
        if goods >= MONEY_LIMIT:
            raise fail(f"{base}.quantity", f"the line's goods {goods} are not below 10^12")
        if line.discount > goods:
            raise fail(f"{base}.discount",
                       f"discount {line.discount} exceeds the line's goods {goods}")
        goods_by_line[line.id] = goods - line.discount

    for sku, item in req.catalog.items():
        base = f"catalog.{sku}"
        if item.tax_rate < 0 or item.tax_rate >= 10:
            raise fail(f"{base}.tax_rate", f"tax rate {item.tax_rate} out of range [0, 10)")
        for j, comp in enumerate(item.components or []):
            if comp.sku not in req.catalog:
                raise fail(f"{base}.components[{j}].sku",
                           f"bundle component {comp.sku!r} is not in the catalog")
            if req.catalog[comp.sku].components:
                raise fail(f"{base}.components[{j}].sku",
                           f"bundle component {comp.sku!r} is itself a bundle")
        if item.components is not None and not item.components:
            raise fail(f"{base}.components", "a bundle needs at least one component")

    terms = req.objective_order()
    if "stock_value" in terms and ("children" not in terms
                                   or terms.index("children") > terms.index("stock_value")):
        raise fail("options.objective", "stock_value must come after children (the fewest "
                   "children stay first)")
    if "stock_value" in terms and req.options.stock_prices is None:
        raise fail("options.stock_prices", "the stock_value objective needs stock prices: "
                   "give options.stock_prices {version, prices}")

    seen_wh: set[str] = set()
    for w, wh in enumerate(req.warehouses):
        if wh.id in seen_wh:
            raise fail(f"warehouses[{w}].id", f"duplicate warehouse id {wh.id!r}")
        seen_wh.add(wh.id)
        if wh.child_cost < 0:
            raise fail(f"warehouses[{w}].child_cost", "must not be negative")

    money("order.shipping_fee", order.shipping_fee)
    total = sum(goods_by_line.values(), Decimal(0)) + order.shipping_fee
    if total >= MONEY_LIMIT:
        raise fail("order.lines", f"the order's goods and shipping fee {total} are not below 10^12")
    activity_discount = Decimal(0)
    seen_act: set[str] = set()
    for a, act in enumerate(order.activities):
        base = f"order.activities[{a}]"
        if act.id in seen_act:
            raise fail(f"{base}.id", f"duplicate activity id {act.id!r}")
        seen_act.add(act.id)
        refs = [("lines", act.lines or []), ("trigger_lines", act.trigger_lines),
                ("gift_lines", act.gift_lines)]
        for name, ids in refs:
            for k, ref in enumerate(ids):
                if ref not in line_ids:
                    raise fail(f"{base}.{name}[{k}]", f"unknown line id {ref!r}")
        if act.kind == "discount":
            if act.amount is None:
                raise fail(f"{base}.amount", "a discount activity needs an amount")
            money(f"{base}.amount", act.amount)
            covered = act.lines if act.lines is not None else list(line_ids)
            if act.lines is not None and not act.lines:
                raise fail(f"{base}.lines", "a discount activity needs at least one line")
            base_amount = sum((goods_by_line[x] for x in set(covered)), Decimal(0))
            if act.amount > base_amount:
                raise fail(f"{base}.amount",
                           f"discount {act.amount} exceeds its lines' net goods {base_amount}")
            activity_discount += act.amount
        else:
            if not act.trigger_lines:
                raise fail(f"{base}.trigger_lines", "a gift activity needs trigger lines")
            if not act.gift_lines:
                raise fail(f"{base}.gift_lines", "a gift activity needs gift lines")
            if act.amount is not None:
                raise fail(f"{base}.amount", "a gift activity has no amount")

    _check_overlapping_discounts(order.activities, goods_by_line, fail)

    methods: set[str] = set()
    paid = Decimal(0)
    for p, pay in enumerate(order.payments):
        if pay.method in methods:
            raise fail(f"order.payments[{p}].method",
                       f"payment method {pay.method!r} listed twice")
        if pay.method in {"goods", "discount", "shipping_fee", "invoice", "tax"}:
            raise fail(f"order.payments[{p}].method", f"{pay.method!r} is a reserved amount key")
        methods.add(pay.method)
        money(f"order.payments[{p}].amount", pay.amount)
        paid += pay.amount
    payable = sum(goods_by_line.values(), Decimal(0)) - activity_discount + order.shipping_fee
    if paid != payable:
        raise fail("order.payments", f"payments add up to {paid} but the order's payable is {payable}")


def _check_overlapping_discounts(activities: list[Activity], net_by_line: dict[str, Decimal],
                                 fail: Callable[[str, str], RequestError]) -> None:
    """Discount activities that overlap must not take more than a line's net goods.

    Each activity is shared over its lines in proportion to their net goods, so line
    ``l`` receives ``net_l * amount / base`` from it; the line's total must stay within
    its net goods, i.e. the sum over its activities of ``amount / base`` is at most 1
    (exact fractions). Each activity alone already satisfies this.
    """
    discounts = [act for act in activities
                 if act.kind == "discount" and act.amount is not None and act.amount != 0]
    if len(discounts) < 2:  # one activity alone was checked against its lines' net goods
        return
    load: dict[str, Fraction] = {}
    all_lines = list(net_by_line)
    for act in discounts:
        covered = list(dict.fromkeys(act.lines if act.lines is not None else all_lines))
        base = sum((net_by_line[x] for x in covered), Decimal(0))
        if base == 0:
            continue
        share = Fraction(act.amount or 0) / Fraction(base)
        for line_id in covered:
            if net_by_line[line_id] > 0:
                load[line_id] = load.get(line_id, Fraction(0)) + share
                if load[line_id] > 1:
                    raise fail("order.activities",
                               f"overlapping discount activities take more than the net goods "
                               f"of line {line_id!r}")
