"""The money of one split plan: :func:`allocate_plan`, called by the plan builder.

It turns a validated :class:`SplitRequest` and the plan's parts (what each child
carries of each line) into a batch of one order for :func:`allocate_batch`, and wraps
the integer result so that the plan JSON gets decimal strings only at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from ordersplit.models.currency import (
    currency_exponent,
    format_minor,
    minor_digits,
    text_units_memo,
    to_minor,
    to_minor_memo,
    to_minor_text,
)
from ordersplit.models.request import Activity, Line, SplitRequest
from ordersplit.money import text_kernel
from ordersplit.money.batch import FIXED_HEAD, FIXED_TAIL, MoneyBatch, allocate_batch, kind_list
from ordersplit.money.rounding import IntArray, as_int
from ordersplit.money.small import OneOrder, activity_components, allocate_lists

SMALL_ORDER_LINES = 200
"""Orders up to this many lines are allocated in plain Python (:mod:`.small`)."""


@dataclass(frozen=True)
class PlanAmounts:
    """Amounts of the parent, its children and the parts (child lines), in minor units."""

    keys: tuple[str, ...]
    """``goods``, ``discount``, ``shipping_fee``, each payment method, ``invoice``, ``tax``."""
    exponent: int
    parent: IntArray
    """[n_keys] parent totals."""
    children: IntArray
    """[n_children, n_keys]"""
    parts: IntArray
    """[n_parts, n_keys]"""

    def _format(self, row: IntArray) -> dict[str, str]:
        return {k: format_minor(int(v), self.exponent) for k, v in zip(self.keys, row, strict=True)}

    def format_parent(self) -> dict[str, str]:
        """The parent's ``amounts`` as decimal strings."""
        return self._format(self.parent)

    def format_child(self, c: int) -> dict[str, str]:
        """Child ``c``'s ``amounts`` as decimal strings."""
        return self._format(self.children[c])

    def format_part(self, p: int) -> dict[str, str]:
        """Part ``p``'s (a child line's) ``amounts`` as decimal strings."""
        return self._format(self.parts[p])

    def format_all(self) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, str]]:
        """Every child's, every part's and the parent's ``amounts`` at once: the same
        strings as the ``format_*`` methods."""
        return format_rows(self.keys, self.exponent, self.parent.tolist(),
                           self.children.tolist(), self.parts.tolist())


AmountTexts = tuple[list[dict[str, str]], list[dict[str, str]], dict[str, str]]
"""Every child's, every part's and the parent's ``amounts`` as decimal strings."""


def format_rows(keys: tuple[str, ...], exponent: int, parent: list[int],
                children: list[list[int]], parts: list[list[int]]) -> AmountTexts:
    """Rows of minor units as ``amounts`` dicts of decimal strings. A plan repeats few
    values (zeros above all), so each is formatted once, when first met."""
    scale = 10**exponent
    digits = minor_digits(exponent) if 0 < exponent <= 3 else None  # else format_minor
    known: dict[int, str] = {}
    get = known.get
    out: list[list[dict[str, str]]] = []
    for table in (children, parts, [parent]):
        dicts = []
        for row in table:  # rows are as long as keys
            amounts = {}
            for key, units in zip(keys, row):  # noqa: B905 - as long by construction; and
                # ``strict=`` costs CPython 3.11 more than the rest of a short row
                found = get(units)
                if found is None:
                    found = known[units] = (
                        f"{units // scale}.{digits[units % scale]}"
                        if digits is not None and units >= 0 else format_minor(units, exponent))
                amounts[key] = found
            dicts.append(amounts)
        out.append(dicts)
    return out[0], out[1], out[2][0]


def table_texts(keys: tuple[str, ...], exponent: int, table: IntArray, n_parts: int,
                n_children: int) -> AmountTexts:
    """:func:`format_rows` of a money kernel's table (rows: ``n_parts`` parts, then
    ``n_children`` children, then the parent; one column per key): the same strings,
    written by one compiled pass (:func:`~ordersplit.money.text_kernel.texts`) and cut
    into dicts in C, where :func:`format_rows` formats value by value in Python."""
    return _text_dicts(keys, text_kernel.texts(table, exponent), n_parts, n_children)


def _text_dicts(keys: tuple[str, ...], texts: list[str], n_parts: int,
                n_children: int) -> AmountTexts:
    """A money kernel's table as ``amounts`` dicts, from its values' texts row by row
    (``n_parts`` parts, ``n_children`` children, the parent): one ``dict(zip())`` per
    row, in C."""
    values = iter(texts)  # each row takes the next len(keys)
    parts = [dict(zip(keys, values)) for _ in range(n_parts)]  # noqa: B905 - zip stops
    children = [dict(zip(keys, values)) for _ in range(n_children)]  # noqa: B905 - at keys'
    return children, parts, dict(zip(keys, values))  # noqa: B905 - end, not taking a value


def _ratio(rate: Decimal) -> tuple[int, int]:
    num, den = rate.as_integer_ratio()
    return int(num), int(den)


def _ints(values: npt.ArrayLike) -> list[int]:
    """``values`` as a list of Python ints (a list of ints is taken as it is)."""
    if isinstance(values, list) and all(type(v) is int for v in values):
        return values
    return as_int(values).tolist()


def request_order(
    request: SplitRequest,
    part_child: npt.ArrayLike,
    part_line: npt.ArrayLike,
    part_weight: npt.ArrayLike,
    child_kind: Sequence[str],
) -> tuple[OneOrder, int]:
    """One request and its parts as a :class:`OneOrder` of plain ints, and the exponent."""
    return _request_order(request, _ints(part_child), _ints(part_line), _ints(part_weight),
                          child_kind)


def _request_order(request: SplitRequest, part_child: list[int], part_line: list[int],
                   part_weight: list[int], child_kind: Sequence[str]) -> tuple[OneOrder, int]:
    order = request.order
    exp = currency_exponent(order.currency)
    lines = order.lines
    methods = tuple(p.method for p in order.payments)
    invoiced = set(request.options.invoice_methods)
    rates: dict[tuple[int, int], int] = {}
    catalog = request.catalog
    slot_of: dict[Decimal, int] = {}  # a few distinct rates over many lines
    line_rate = []
    goods = []
    line_discount = []
    for line in lines:  # one pass: rates, and prices and discounts in minor units
        tax_rate = catalog[line.sku].tax_rate
        slot = slot_of.get(tax_rate)
        if slot is None:
            slot = slot_of[tax_rate] = rates.setdefault(_ratio(tax_rate), len(rates))
        line_rate.append(slot)
        # prices and discounts recur from order to order (payments rarely): remembered
        goods.append(to_minor_memo(line.unit_price, exp) * line.quantity)
        line_discount.append(to_minor_memo(line.discount, exp))
    amounts: list[int] = []
    cover_act: list[int] = []
    cover_line: list[int] = []
    activities = order.activities
    index = {line.id: i for i, line in enumerate(lines)} if activities else {}
    for act in activities:
        if act.kind != "discount" or act.amount is None:
            continue
        ids = range(len(lines)) if act.lines is None else sorted({index[x] for x in act.lines})
        cover_act.extend([len(amounts)] * len(ids))
        cover_line.extend(ids)
        amounts.append(to_minor(act.amount, exp))
    one = OneOrder(
        methods=methods,
        payments=[to_minor(p.amount, exp) for p in order.payments],
        invoiced=[m in invoiced for m in methods],
        shipping_fee=to_minor(order.shipping_fee, exp),
        first_child=request.options.shipping_fee == "first_child",
        goods=goods,
        line_discount=line_discount,
        line_rate=line_rate,
        rate_num=[r[0] for r in rates],
        rate_den=[r[1] for r in rates],
        activity_amount=amounts,
        cover_activity=cover_act,
        cover_line=cover_line,
        child_kind=kind_list(child_kind),
        part_child=part_child,
        part_line=part_line,
        part_weight=part_weight,
    )
    return one, exp


def request_batch(
    request: SplitRequest,
    part_child: npt.ArrayLike,
    part_line: npt.ArrayLike,
    part_weight: npt.ArrayLike,
    child_kind: Sequence[str],
) -> tuple[MoneyBatch, int]:
    """One request and its parts as a :class:`MoneyBatch` of one order, and the exponent."""
    one, exp = request_order(request, part_child, part_line, part_weight, child_kind)
    return one.to_batch(), exp


def _check_parts(order: OneOrder) -> None:
    """The checks of :meth:`MoneyBatch.check` that a validated request leaves open."""
    n_l, n_c = len(order.goods), len(order.child_kind)
    lines, children = order.part_line, order.part_child
    if not (len(lines) == len(children) == len(order.part_weight)):
        raise ValueError("part_line and part_weight must have one entry per part")
    if any(not 0 <= x < n_l for x in lines) or any(not 0 <= c < n_c for c in children):
        raise ValueError("a part refers to an unknown line or child")
    if len(set(lines)) != n_l:
        raise ValueError("every line needs at least one part")
    if any(w <= 0 for w in order.part_weight):
        raise ValueError("part weights must be positive")


def _is_small(order: OneOrder) -> bool:
    """Whether the plain-Python path takes the order: one order's numpy per-call overhead
    dominates up to a few hundred lines (same results)."""
    return len(order.goods) <= SMALL_ORDER_LINES and order.fits_int64()


def allocate_plan(
    request: SplitRequest,
    part_child: npt.ArrayLike,
    part_line: npt.ArrayLike,
    part_weight: npt.ArrayLike,
    child_kind: Sequence[str],
) -> PlanAmounts:
    """Share the order's money over the plan's parts and children.

    ``part_child[p]``/``part_line[p]``: the child and the order line of part ``p``;
    ``part_weight[p]`` > 0 shares the line over its parts; ``child_kind[c]`` is
    ``shipment``, ``backorder`` or ``store``. Policies: :mod:`ordersplit.money.batch`.
    Raises ``ValueError`` on inconsistent parts.
    """
    order, exp = request_order(request, part_child, part_line, part_weight, child_kind)
    if _is_small(order):
        # the request is validated, so only the parts need checking
        _check_parts(order)
        alloc = allocate_lists(order).to_allocation(len(order.activity_amount))
    else:
        alloc = allocate_batch(order.to_batch())
    return PlanAmounts(
        keys=alloc.keys, exponent=exp, parent=alloc.orders[0], children=alloc.children,
        parts=alloc.parts,
    )


def plan_amount_texts(
    request: SplitRequest,
    part_child: list[int],
    part_line: list[int],
    part_weight: list[int],
    child_kind: Sequence[str],
) -> AmountTexts:
    """:func:`allocate_plan` formatted (:meth:`PlanAmounts.format_all`), for the plan
    builder: a small order goes from the request to the strings in plain Python, with no
    array in between; a large one takes the vectorized path. The parts are lists of
    ``int``."""
    order, exp = _request_order(request, part_child, part_line, part_weight, child_kind)
    if not _is_small(order):
        alloc = allocate_batch(order.to_batch())
        return format_rows(alloc.keys, exp, alloc.orders[0].tolist(),
                           alloc.children.tolist(), alloc.parts.tolist())
    _check_parts(order)
    one = allocate_lists(order)
    return format_rows(one.keys, exp, one.order, one.children, one.parts)


def whole_line_texts(request: SplitRequest, line_child: list[int], line_units: list[int],
                     child_kind: list[int]) -> AmountTexts | None:
    """:func:`plan_amount_texts` of the usual plan, straight from the request to the
    strings: every line is one part (``line_child[x]``, ``line_units[x]`` > 0 units);
    discount activities are first shared over their lines (:func:`_with_activities`).
    Each amount is worked out once per line by
    :func:`~ordersplit.money.whole_kernel.whole_lines`, and written as text, in one call
    (:func:`~ordersplit.money.text_kernel.whole_texts`, on one flat array), with none of
    the general way's layers (part lists, :class:`OneOrder`, its checks, the
    allocation's rows per part); the second list holds each *line's* amounts (its one
    part's).
    ``child_kind`` holds the :data:`~ordersplit.money.batch.KIND_CODES`.

    ``None`` wherever the general way does anything else (more than
    ``SMALL_ORDER_LINES`` lines, an amount the kernel declines):
    then the caller takes that way, which gives the result or names the error. The
    strings are the general way's (tests compare the two on generated plans)."""
    order = request.order
    lines = order.lines
    n_l = len(lines)
    if not n_l or n_l > SMALL_ORDER_LINES:
        return None
    exp = currency_exponent(order.currency)
    goods, discount, line_rate, rates = _line_money(request, exp)
    activities = order.activities
    if activities:  # each line's discount takes its shares of the discount activities
        discount = _with_activities(activities, lines, goods, discount, exp)
    payments = order.payments
    invoiced = request.options.invoice_methods
    n_c, n_m = len(child_kind), len(payments)
    if not len(line_child) == len(line_units) == n_l:
        return None
    try:  # (an int past int64 cannot be the kernel's)
        flat = np.array([*goods, *discount, *line_child, *line_units, *line_rate, *child_kind,
                         *[to_minor(p.amount, exp) for p in payments],
                         *[p.method in invoiced for p in payments],
                         *[r[0] for r in rates], *[r[1] for r in rates]], dtype=np.int64)
        fee = to_minor(order.shipping_fee, exp)
    except OverflowError:
        return None
    if fee >= 1 << 62 or not 0 <= exp <= text_kernel.MAX_EXPONENT:  # (the kernel declines)
        return None
    buf = np.empty((n_l + n_c + 1) * (n_m + 5) * (22 + exp), dtype=np.uint8)
    n = text_kernel.whole_texts(flat, n_l, n_c, n_m, fee,
                                request.options.shipping_fee == "first_child", exp, buf)
    if n < 0:
        return None
    return _text_dicts(FIXED_HEAD + tuple([p.method for p in payments]) + FIXED_TAIL,
                       text_kernel.split_texts(buf, n), n_l, n_c)


def _with_activities(activities: Sequence[Activity], lines: Sequence[Line], goods: list[int],
                     own: list[int], exp: int) -> list[int]:
    """Each line's own discount plus its shares of the discount activities (as
    :func:`_request_order` lists them and :func:`~ordersplit.money.small._activity_components`
    shares them)."""
    amounts: list[int] = []
    covered: list[list[int]] = []
    index: dict[str, int] | None = None
    for act in activities:
        if act.kind != "discount" or act.amount is None:
            continue
        if act.lines is None:
            covered.append(list(range(len(lines))))
        else:
            if index is None:
                index = {line.id: i for i, line in enumerate(lines)}
            covered.append(sorted({index[x] for x in act.lines}))
        amounts.append(to_minor(act.amount, exp))
    if not amounts:
        return own
    return [sum(row) for row in activity_components(goods, own, amounts, covered)]


def parts_texts(request: SplitRequest, part_child: list[int], part_line: list[int],
                part_weight: list[int], child_kind: list[int]) -> AmountTexts | None:
    """:func:`plan_amount_texts` of a plan whose lines may be split over several parts
    (thin stock), straight from the request to the strings: one call of
    :func:`~ordersplit.money.text_kernel.parts_texts` (which runs
    :func:`~ordersplit.money.parts_kernel.parts_money` and writes its table as text)
    on the lines' goods, whole discounts (discount activities shared first, as in
    :func:`whole_line_texts`) and the parts, where the general way runs
    ``_allocate_charge`` in Python. ``None`` wherever that way does anything else (more
    than ``SMALL_ORDER_LINES`` lines, an amount or a part the kernel declines): then the
    caller takes it, which gives the result or names the error. ``child_kind`` holds the
    :data:`~ordersplit.money.batch.KIND_CODES`."""
    order = request.order
    lines = order.lines
    n_l = len(lines)
    if not n_l or n_l > SMALL_ORDER_LINES:
        return None
    exp = currency_exponent(order.currency)
    goods, discount, line_rate, rates = _line_money(request, exp)
    if order.activities:
        discount = _with_activities(order.activities, lines, goods, discount, exp)
    payments = order.payments
    invoiced = request.options.invoice_methods
    n_p, n_c, n_m = len(part_line), len(child_kind), len(payments)
    if not len(part_child) == len(part_weight) == n_p:
        return None
    try:  # (an int past int64 cannot be the kernel's)
        flat = np.array([*goods, *discount, *line_rate, *part_line, *part_child, *part_weight,
                         *child_kind, *[to_minor(p.amount, exp) for p in payments],
                         *[p.method in invoiced for p in payments],
                         *[r[0] for r in rates], *[r[1] for r in rates]], dtype=np.int64)
        fee = to_minor(order.shipping_fee, exp)
    except OverflowError:
        return None
    if fee >= 1 << 62 or not 0 <= exp <= text_kernel.MAX_EXPONENT:  # (the kernel declines)
        return None
    buf = np.empty((n_p + n_c + 1) * (n_m + 5) * (22 + exp), dtype=np.uint8)
    n = text_kernel.parts_texts(flat, n_l, n_p, n_c, n_m, fee,
                                request.options.shipping_fee == "first_child", exp, buf)
    if n < 0:
        return None
    return _text_dicts(FIXED_HEAD + tuple([p.method for p in payments]) + FIXED_TAIL,
                       text_kernel.split_texts(buf, n), n_p, n_c)


def _line_money(request: SplitRequest, exp: int
                ) -> tuple[list[int], list[int], list[int], dict[tuple[int, int], int]]:
    """Each line's goods, own discount and rate slot in minor units, and the rates'
    slots (as :func:`_request_order` reads them). Prices and discounts come from
    :func:`~ordersplit.models.currency.to_minor_text`'s memo, read here directly (a
    dict lookup by the value's text per amount, no call) and filled through it on a
    miss; tax rates are told apart by their text too (equal rates written alike share
    a slot; others with equal ratios still do, through ``rates``). A text costs a
    quarter of a fresh ``Decimal``'s hash, which every lookup by value paid."""
    catalog = request.catalog
    rates: dict[tuple[int, int], int] = {}
    slot_of: dict[str, int] = {}
    goods: list[int] = []
    discount: list[int] = []
    line_rate: list[int] = []
    known = text_units_memo(exp).get
    for line in request.order.lines:
        tax_rate = catalog[line.sku].tax_rate
        rate_text = str(tax_rate)
        slot = slot_of.get(rate_text)
        if slot is None:
            slot = slot_of[rate_text] = rates.setdefault(_ratio(tax_rate), len(rates))
        line_rate.append(slot)
        price, own = line.unit_price, line.discount
        units = known(str(price))
        goods.append((to_minor_text(price, exp) if units is None else units) * line.quantity)
        units = known(str(own))
        discount.append(to_minor_text(own, exp) if units is None else units)
    return goods, discount, line_rate, rates
