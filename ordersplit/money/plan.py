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

from ordersplit.models.currency import currency_exponent, format_minor, to_minor
from ordersplit.models.request import SplitRequest
from ordersplit.money.batch import Allocation, MoneyBatch, allocate_batch, kind_codes
from ordersplit.money.rounding import IntArray, as_int
from ordersplit.money.small import allocate_one

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
        strings as the ``format_*`` methods, from plain ints (a plan repeats few values,
        zeros above all, so each is formatted once)."""
        keys, exp = self.keys, self.exponent
        text: dict[int, str] = {}

        def rows(table: list[list[int]]) -> list[dict[str, str]]:
            out = []
            for row in table:
                values = []
                for v in row:
                    s = text.get(v)
                    if s is None:
                        s = text[v] = format_minor(v, exp)
                    values.append(s)
                out.append(dict(zip(keys, values, strict=True)))
            return out

        parent = rows([self.parent.tolist()])[0]
        return rows(self.children.tolist()), rows(self.parts.tolist()), parent


def _ratio(rate: Decimal) -> tuple[int, int]:
    num, den = rate.as_integer_ratio()
    return int(num), int(den)


def request_batch(
    request: SplitRequest,
    part_child: npt.ArrayLike,
    part_line: npt.ArrayLike,
    part_weight: npt.ArrayLike,
    child_kind: Sequence[str],
) -> tuple[MoneyBatch, int]:
    """One request and its parts as a :class:`MoneyBatch` of one order, and the exponent."""
    order = request.order
    exp = currency_exponent(order.currency)
    lines = order.lines
    methods = tuple(p.method for p in order.payments)
    invoiced = set(request.options.invoice_methods)
    rates: dict[tuple[int, int], int] = {}
    line_rate = [
        rates.setdefault(_ratio(request.catalog[line.sku].tax_rate), len(rates)) for line in lines
    ]
    index = {line.id: i for i, line in enumerate(lines)}
    amounts: list[int] = []
    cover_act: list[int] = []
    cover_line: list[int] = []
    for act in order.activities:
        if act.kind != "discount" or act.amount is None:
            continue
        ids = range(len(lines)) if act.lines is None else sorted({index[x] for x in act.lines})
        cover_act.extend([len(amounts)] * len(ids))
        cover_line.extend(ids)
        amounts.append(to_minor(act.amount, exp))
    kinds = kind_codes(tuple(child_kind))
    batch = MoneyBatch(
        methods=methods,
        payments=as_int([[to_minor(p.amount, exp) for p in order.payments]]).reshape(1, -1),
        invoice_methods=np.array([[m in invoiced for m in methods]], dtype=bool).reshape(1, -1),
        shipping_fee=as_int([to_minor(order.shipping_fee, exp)]),
        first_child=np.array([request.options.shipping_fee == "first_child"]),
        line_order=np.zeros(len(lines), dtype=np.int64),
        goods=as_int([to_minor(x.unit_price, exp) * x.quantity for x in lines]),
        line_discount=as_int([to_minor(x.discount, exp) for x in lines]),
        line_rate=as_int(line_rate),
        rate_num=as_int([r[0] for r in rates]),
        rate_den=as_int([r[1] for r in rates]),
        activity_order=np.zeros(len(amounts), dtype=np.int64),
        activity_amount=as_int(amounts),
        cover_activity=as_int(cover_act),
        cover_line=as_int(cover_line),
        child_order=np.zeros(kinds.size, dtype=np.int64),
        child_kind=kinds,
        part_child=as_int(part_child),
        part_line=as_int(part_line),
        part_weight=as_int(part_weight),
    )
    return batch, exp


def _check_parts(batch: MoneyBatch) -> None:
    """The checks of :meth:`MoneyBatch.check` that a validated request leaves open."""
    n_l, n_c = batch.goods.size, batch.child_kind.size
    lines, children = batch.part_line.tolist(), batch.part_child.tolist()
    if not (len(lines) == len(children) == batch.part_weight.size):
        raise ValueError("part_line and part_weight must have one entry per part")
    if any(not 0 <= x < n_l for x in lines) or any(not 0 <= c < n_c for c in children):
        raise ValueError("a part refers to an unknown line or child")
    if len(set(lines)) != n_l:
        raise ValueError("every line needs at least one part")
    if any(w <= 0 for w in batch.part_weight.tolist()):
        raise ValueError("part weights must be positive")


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
    batch, exp = request_batch(request, part_child, part_line, part_weight, child_kind)
    if batch.goods.size <= SMALL_ORDER_LINES:
        # one order: plain integer Python beats numpy's per-call overhead (same results);
        # the request is validated, so only the parts need checking
        _check_parts(batch)
        alloc: Allocation = allocate_one(batch, check=False)
    else:
        alloc = allocate_batch(batch)
    return PlanAmounts(
        keys=alloc.keys, exponent=exp, parent=alloc.orders[0], children=alloc.children,
        parts=alloc.parts,
    )
