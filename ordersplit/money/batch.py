"""Vectorized allocation of every amount of many orders onto lines, parts and children.

Inputs are flat int64 arrays in minor units (:class:`MoneyBatch`); one call to
:func:`allocate_batch` shares out goods, discounts (the line's own and every discount
activity), the shipping fee, every payment method, the invoiced amount and the VAT in
it, for all orders at once. The path of every amount:

- **goods**: ``unit_price * quantity`` per line, exact; over the line's parts by weight.
- **discount**: the line's own discount plus its share of every discount activity
  (activity amount over its lines in proportion to their net goods, goods - own
  discount); over the parts in proportion to the parts' goods, so a part's discount
  never exceeds its goods. The split of a part's discount into its components (own
  discount, each activity) is a controlled rounding, so the activities table adds up.
  Where activities overlap (a line under two or more), the line x activity table is
  itself a controlled rounding: every activity's total exact, every cell and every
  line's activity discount the floor or the ceiling of its exact value, so never above
  the line's net goods. Overlapping activities that together give a line more than its
  net goods are an inconsistent order (``ValueError`` naming the line).
- **shipping_fee**: over *children* first, in proportion to their net amounts (goods -
  discount), then over each child's parts by net. Policy: shipment and back-order
  children share the fee (a back-order is paid now and shipped later, it is a
  delivery the fee pays for); store children get none (they are not shipped), nor do
  children without parts. If no eligible child has a positive net amount, eligible
  children share by units; if there is no eligible child at all, every child shares.
  With ``first_child`` the whole fee goes to the first shipment child (with parts) of
  the order, falling back to the proportional rule if the order has none.
- **payments**: the line x method table is a controlled rounding: every line's methods
  add up to the line's payable (goods - discount + shipping_fee), every method's
  total is exact, every cell within one minor unit. The same again for parts x
  methods inside every line, so each child line's methods add up to its payable.
- **invoice**: the sum of the invoiced methods, per part (so it adds up everywhere).
- **tax**: VAT included in the invoice, ``invoice * rate / (1 + rate)``. The parent's
  tax is computed per tax rate and rounded half up once; it is then shared over the
  lines of that rate, and each line's tax over its parts, every share being the floor
  or the ceiling of its own ``invoice * rate / (1 + rate)``.

Every share is within one minor unit of its exact rational value (the proportional share
of the amount it is taken from); ties in rounding go to the earlier item. Children add
up to the parent and parts add up to their child and to their line, exactly, for every
key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from ordersplit.money.rounding import (
    BoolArray,
    IntArray,
    _compress,
    apportion,
    apportion_quotas,
    as_int,
    controlled_round_columns,
    controlled_round_t,
    grouped_sum,
    muldiv,
    row_sum,
    segment_sum,
    top_remainders,
)

logger = logging.getLogger(__name__)

SHIPMENT, BACKORDER, STORE = 0, 1, 2
KIND_CODES = {"shipment": SHIPMENT, "backorder": BACKORDER, "store": STORE}
FIXED_HEAD = ("goods", "discount", "shipping_fee")
FIXED_TAIL = ("invoice", "tax")


@dataclass(frozen=True)
class MoneyBatch:
    """Many orders as flat arrays; money in int64 minor units.

    Orders are numbered ``0..n_orders-1``. Lines, activities and children each carry
    the index of their order and must be grouped by it (non-decreasing). A part is
    what one child carries of one line; parts may come in any order.
    """

    methods: tuple[str, ...]
    """Payment method of each column of ``payments``."""
    payments: IntArray
    """[n_orders, n_methods] amount paid with each method (0 where unused)."""
    invoice_methods: BoolArray
    """[n_orders, n_methods] whether the method is invoiced for that order."""
    shipping_fee: IntArray
    """[n_orders]"""
    first_child: BoolArray
    """[n_orders] the whole shipping fee goes to the first shipment child."""
    line_order: IntArray
    """[n_lines] order of each line (non-decreasing)."""
    goods: IntArray
    """[n_lines] unit_price * quantity."""
    line_discount: IntArray
    """[n_lines] the line's own discount."""
    line_rate: IntArray
    """[n_lines] index into ``rate_num``/``rate_den``."""
    rate_num: IntArray
    """[n_rates] tax rate numerator (rate = num / den)."""
    rate_den: IntArray
    """[n_rates] tax rate denominator (> 0)."""
    activity_order: IntArray
    """[n_activities] order of each discount activity (non-decreasing)."""
    activity_amount: IntArray
    """[n_activities]"""
    cover_activity: IntArray
    """[n_covers] an (activity, line) pair: the activity covers the line (no duplicates)."""
    cover_line: IntArray
    """[n_covers]"""
    child_order: IntArray
    """[n_children] order of each child (non-decreasing)."""
    child_kind: IntArray
    """[n_children] 0 shipment, 1 backorder, 2 store."""
    part_child: IntArray
    """[n_parts]"""
    part_line: IntArray
    """[n_parts]"""
    part_weight: IntArray
    """[n_parts] positive; a line's amounts are shared over its parts by these."""

    @property
    def n_orders(self) -> int:
        """Number of orders."""
        return int(self.shipping_fee.size)

    @property
    def keys(self) -> tuple[str, ...]:
        """Amount keys, the columns of every amounts array."""
        return FIXED_HEAD + self.methods + FIXED_TAIL

    def _orders_with(self, below: bool) -> BoolArray:
        """[n_orders] orders with a money input below zero (``below``) or above zero."""
        def hit(arr: IntArray) -> BoolArray:
            return arr < 0 if below else arr > 0

        found = hit(self.shipping_fee).copy()
        if self.payments.size:
            found |= hit(self.payments).any(axis=1)
        for arr, order in ((self.goods, self.line_order), (self.line_discount, self.line_order),
                           (self.activity_amount, self.activity_order)):
            found[order[hit(arr)]] = True
        return found

    def refund_orders(self) -> BoolArray | None:
        """[n_orders] the orders given as refunds (money inputs <= 0); None if there are none.

        A refund is allocated as minus the allocation of its magnitude, so a refund of
        a whole order mirrors the charge to the minor unit (odd symmetry).
        """
        if min(int(a.min(initial=0)) for a in (self.payments, self.shipping_fee, self.goods,
                                               self.line_discount, self.activity_amount)) >= 0:
            return None
        return self._orders_with(below=True)

    def magnitude(self) -> MoneyBatch:
        """The same orders with every money input's sign dropped (refunds as charges)."""
        return replace(self, payments=np.abs(self.payments),
                       shipping_fee=np.abs(self.shipping_fee), goods=np.abs(self.goods),
                       line_discount=np.abs(self.line_discount),
                       activity_amount=np.abs(self.activity_amount))

    def check(self) -> None:
        """Raise ``ValueError`` on inconsistent shapes, ids or signs.

        Every order is a charge (money inputs >= 0) or a refund (all <= 0); a refund is
        checked as its magnitude.
        """
        refund = self.refund_orders()
        if refund is not None:
            mixed = np.flatnonzero(refund & self._orders_with(below=False))
            if mixed.size:
                raise ValueError(f"order {int(mixed[0])} mixes charges and refunds: every "
                                 "money amount of a refund must be zero or negative")
            self.magnitude().check()
            return
        n_o, n_l, n_c = self.n_orders, self.goods.size, self.child_order.size
        m = len(self.methods)
        if self.payments.shape != (n_o, m) or self.invoice_methods.shape != (n_o, m):
            raise ValueError("payments and invoice_methods must be [n_orders, n_methods]")
        for name, arr, size in (
            ("first_child", self.first_child, n_o),
            ("line_discount", self.line_discount, n_l),
            ("line_order", self.line_order, n_l),
            ("line_rate", self.line_rate, n_l),
            ("activity_amount", self.activity_amount, self.activity_order.size),
            ("cover_line", self.cover_line, self.cover_activity.size),
            ("child_kind", self.child_kind, n_c),
            ("part_line", self.part_line, self.part_child.size),
            ("part_weight", self.part_weight, self.part_child.size),
        ):
            if arr.shape != (size,):
                raise ValueError(f"{name} must have {size} entries")
        for name, arr in (
            ("line_order", self.line_order),
            ("activity_order", self.activity_order),
            ("child_order", self.child_order),
        ):
            if arr.size and (arr[0] < 0 or arr[-1] >= n_o or bool((arr[1:] < arr[:-1]).any())):
                raise ValueError(f"{name} must be order indices grouped by order")
        for name, arr in (
            ("payments", self.payments),
            ("shipping_fee", self.shipping_fee),
            ("goods", self.goods),
            ("line_discount", self.line_discount),
            ("activity_amount", self.activity_amount),
            ("rate_num", self.rate_num),
        ):
            if arr.size and arr.min() < 0:
                raise ValueError(f"{name} must not be negative")
        if self.rate_den.size and self.rate_den.min() <= 0:
            raise ValueError("rate_den must be positive")
        if np.any(self.line_discount > self.goods):
            raise ValueError("a line's discount exceeds its goods")
        if self.part_weight.size and self.part_weight.min() <= 0:
            raise ValueError("part weights must be positive")
        if np.any(np.bincount(self.part_line, minlength=n_l) == 0):
            raise ValueError("every line needs at least one part")
        if np.any(self.child_order[self.part_child] != self.line_order[self.part_line]):
            raise ValueError("a part joins a line and a child of different orders")
        cover = self.cover_line
        every_line_once = cover.size == n_l > 0 and cover[0] == 0 and bool(
            (cover[1:] > cover[:-1]).all())  # covers listed line by line: no gathers
        cover_order = self.line_order if every_line_once else self.line_order[cover]
        if np.any(self.activity_order[self.cover_activity] != cover_order):
            raise ValueError("an activity covers a line of another order")
        net = self.goods - self.line_discount
        base = segment_sum(net if every_line_once else net[cover], self.cover_activity,
                           self.activity_order.size)
        if np.any(self.activity_amount > base):
            raise ValueError("an activity gives more than its lines' net goods")


@dataclass(frozen=True)
class Allocation:
    """The result of :func:`allocate_batch`: amounts [rows, keys] at every level.

    The arrays are column-major views of one block (see ``_empty_allocation``): keeping
    any of them keeps the whole block; copy the one you keep alone.
    """

    keys: tuple[str, ...]
    orders: IntArray
    lines: IntArray
    children: IntArray
    parts: IntArray
    line_components: IntArray
    """[n_lines, 1 + max activities per order]: own discount, then each activity slot."""
    part_components: IntArray
    """[n_parts, same]: the part's discount split the same way."""
    activity_slot: IntArray
    """[n_activities] column (minus one) of each activity in the component arrays."""

    def column(self, key: str) -> int:
        """Index of ``key`` in the amounts arrays."""
        return self.keys.index(key)


def allocate_batch(
    batch: MoneyBatch, *, check: bool = True, chunk_orders: int = 20_000, workers: int = 1
) -> Allocation:
    """Allocate every amount of every order of ``batch`` (see the module docstring).

    Orders are independent, so they are processed in chunks of ``chunk_orders`` (arrays
    that fit the CPU caches are faster) on ``workers`` threads (numpy releases the GIL);
    every chunk writes straight into the preallocated results, which do not depend on
    either setting.
    """
    if check:
        batch.check()
    refund = batch.refund_orders()
    if refund is not None:
        out = allocate_batch(batch.magnitude(), check=False, chunk_orders=chunk_orders,
                             workers=workers)
        return negate_refunds(batch, refund, out)
    out = _empty_allocation(batch)
    bounds = [*range(0, batch.n_orders, max(chunk_orders, 1)), batch.n_orders]
    chunks = [_Chunk(batch, 0, 0, 0, None)] if len(bounds) <= 2 else _chunks(batch, bounds)
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda c: _allocate(c, out), chunks))
    else:
        for chunk in chunks:
            _allocate(chunk, out)
    return out


def negate_refunds(batch: MoneyBatch, refund: BoolArray, out: Allocation) -> Allocation:
    """``out`` (the allocation of ``batch.magnitude()``) with the refund orders' rows negated."""
    line_refund = refund[batch.line_order]
    part_refund = line_refund[batch.part_line]
    for arr, rows in ((out.orders, refund), (out.lines, line_refund),
                      (out.children, refund[batch.child_order]), (out.parts, part_refund),
                      (out.line_components, line_refund), (out.part_components, part_refund)):
        arr[rows] *= -1
    return out


def _empty_allocation(batch: MoneyBatch) -> Allocation:
    """The results of ``batch``, allocated once; the chunks fill them in.

    Column-major: every key's column is contiguous, so the chunks write whole columns
    and the tables read them without gathering strided memory. All six arrays are views
    of one zeroed block: one large mapping of fresh pages, instead of several mid-sized
    ones that would resize the heap the chunks' temporaries come from.
    """
    n_a = batch.activity_order.size
    slot = _activity_slots(batch)
    width = 1 + (int(slot.max()) + 1 if n_a else 0)
    n_k, n_l, n_p = len(batch.keys), batch.goods.size, batch.part_child.size
    shapes = [(batch.n_orders, n_k), (n_l, n_k), (batch.child_order.size, n_k), (n_p, n_k),
              (n_l, width), (n_p, width)]
    block = np.zeros(sum(rows * cols for rows, cols in shapes), dtype=np.int64)
    views = []
    start = 0
    for rows, cols in shapes:
        views.append(block[start : start + rows * cols].reshape(cols, rows).T)
        start += rows * cols
    orders, lines, children, parts, line_components, part_components = views
    return Allocation(
        keys=batch.keys, orders=orders, lines=lines, children=children, parts=parts,
        line_components=line_components, part_components=part_components, activity_slot=slot,
    )


def _activity_slots(batch: MoneyBatch) -> IntArray:
    """Every activity's rank among its order's activities (they are grouped by order)."""
    counts = np.bincount(batch.activity_order, minlength=batch.n_orders)
    first = np.cumsum(counts) - counts
    return np.arange(batch.activity_order.size) - first[batch.activity_order]


@dataclass(frozen=True)
class _Chunk:
    """A sub-batch of consecutive orders and where its rows go in the results."""

    batch: MoneyBatch
    order_start: int
    line_start: int
    child_start: int
    parts: IntArray | slice | None
    """Indices in the full batch of the chunk's parts (``None``: all of them)."""


def _by_chunk(
    owner: IntArray, owner_cut: IntArray, chunk_of: Callable[[], IntArray]
) -> list[IntArray] | list[slice]:
    """Indices of the items of every chunk, in their original order.

    ``owner`` is each item's activity or line, ``owner_cut`` where every chunk's owners
    start; items grouped by owner give slices, others are sorted by ``chunk_of()``.
    """
    n_chunks = owner_cut.size - 1
    if owner.size < 2 or bool((owner[1:] >= owner[:-1]).all()):
        cuts = np.searchsorted(owner, owner_cut).tolist()
        return [slice(cuts[i], cuts[i + 1]) for i in range(n_chunks)]
    chunk = chunk_of()
    order = np.argsort(chunk, kind="stable")
    cuts = np.searchsorted(chunk[order], np.arange(n_chunks + 1))
    return [order[cuts[i] : cuts[i + 1]] for i in range(n_chunks)]


def _chunks(batch: MoneyBatch, bounds: list[int]) -> list[_Chunk]:
    """Sub-batches for the order ranges ``bounds[i]:bounds[i+1]``."""
    n_chunks = len(bounds) - 1
    edges = np.asarray(bounds, dtype=np.int64)
    chunk_of_order = np.repeat(np.arange(n_chunks), np.diff(edges))
    line_cut = np.searchsorted(batch.line_order, edges)
    act_cut = np.searchsorted(batch.activity_order, edges)
    child_cut = np.searchsorted(batch.child_order, edges)
    cover_idx = _by_chunk(batch.cover_activity, act_cut, lambda: chunk_of_order[
        batch.activity_order[batch.cover_activity]])
    part_idx = _by_chunk(batch.part_line, line_cut, lambda: chunk_of_order[
        batch.line_order[batch.part_line]])
    out = []
    for i in range(n_chunks):
        lo, hi = bounds[i], bounds[i + 1]
        ls, acts, cs = (slice(int(c[i]), int(c[i + 1])) for c in (line_cut, act_cut, child_cut))
        cov, parts = cover_idx[i], part_idx[i]
        sub = MoneyBatch(
            methods=batch.methods,
            payments=batch.payments[lo:hi],
            invoice_methods=batch.invoice_methods[lo:hi],
            shipping_fee=batch.shipping_fee[lo:hi],
            first_child=batch.first_child[lo:hi],
            line_order=batch.line_order[ls] - lo,
            goods=batch.goods[ls],
            line_discount=batch.line_discount[ls],
            line_rate=batch.line_rate[ls],
            rate_num=batch.rate_num,
            rate_den=batch.rate_den,
            activity_order=batch.activity_order[acts] - lo,
            activity_amount=batch.activity_amount[acts],
            cover_activity=batch.cover_activity[cov] - acts.start,
            cover_line=batch.cover_line[cov] - ls.start,
            child_order=batch.child_order[cs] - lo,
            child_kind=batch.child_kind[cs],
            part_child=batch.part_child[parts] - cs.start,
            part_line=batch.part_line[parts] - ls.start,
            part_weight=batch.part_weight[parts],
        )
        out.append(_Chunk(sub, lo, ls.start, cs.start, parts))
    return out


def _allocate(chunk: _Chunk, out: Allocation) -> None:
    """:func:`allocate_batch` on one chunk, without checks, into its rows of ``out``."""
    batch = chunk.batch
    n_o, n_l = batch.n_orders, batch.goods.size
    n_c, n_p = batch.child_order.size, batch.part_child.size
    line_order = batch.line_order
    # parts grouped by line inside (fast segment sums); the caller's order on the way out
    part_line = batch.part_line
    perm: IntArray | None = None
    if n_p > 1 and not bool((part_line[1:] >= part_line[:-1]).all()):
        perm = np.argsort(part_line, kind="stable")
        part_line = part_line[perm]
    part_child = batch.part_child if perm is None else batch.part_child[perm]
    part_weight = batch.part_weight if perm is None else batch.part_weight[perm]

    # -- discount activities over their lines, by net goods
    net_goods = batch.goods - batch.line_discount
    n_a = batch.activity_order.size
    slot = _activity_slots(batch)
    n_slots = int(slot.max()) + 1 if n_a else 0
    comp_line = out.line_components[chunk.line_start : chunk.line_start + n_l, : 1 + n_slots]
    comp_line[:, 0] = batch.line_discount
    cover = batch.cover_line
    if (n_slots == 1 and cover.size == n_l > 0 and cover[0] == 0
            and bool((cover[1:] > cover[:-1]).all())):
        # one activity per order and every line under one, in line order: no gather,
        # no scatter, no overlap
        comp_line[:, 1] = apportion(batch.activity_amount, net_goods, batch.cover_activity, n_a)
    elif cover.size:
        share = apportion(batch.activity_amount, net_goods[cover], batch.cover_activity, n_a)
        if n_slots == 1:  # one activity per order: one column
            comp_line[:, 1][cover] = share
        else:
            comp_line[cover, 1 + slot[batch.cover_activity]] = share
        _overlapping_activities(batch, net_goods, slot, comp_line)
    line_disc = row_sum(comp_line)
    if np.any(line_disc > batch.goods):  # pragma: no cover - excluded by the rounding
        bad = int(np.flatnonzero(line_disc > batch.goods)[0])
        raise ArithmeticError(f"discounts exceed the goods of line {bad}")

    # -- goods and discount over parts (only lines with several parts need rounding)
    pol = _PartsOfLines.of(part_line, n_l)
    part_goods = pol.spread(batch.goods, lambda lines, parts, seg, k: apportion(
        batch.goods[lines], part_weight[parts], seg, k))
    part_disc = pol.spread(line_disc, lambda lines, parts, seg, k: apportion(
        line_disc[lines], part_goods[parts], seg, k))
    # [components, parts]; every line's components add up to its discount
    comp_part = pol.spread_t(comp_line.T, lambda lines, parts, seg, k: controlled_round_t(
        seg, part_disc[parts], np.take(comp_line, lines, axis=0), line_disc[lines]))
    part_net = part_goods - part_disc

    # -- shipping fee over children, then over each child's parts
    child_net = segment_sum(part_net, part_child, n_c)
    child_units = segment_sum(part_weight, part_child, n_c)
    child_fee = apportion(batch.shipping_fee, _fee_weights(batch, child_net, child_units),
                          batch.child_order, n_o)
    has_net = child_net[part_child] > 0
    part_fee = apportion(child_fee, np.where(has_net, part_net, part_weight),
                         part_child, n_c)

    # -- payments: lines x methods, then parts x methods inside each line
    part_pay_total = part_net + part_fee
    line_payable = pol.line_sum(part_pay_total)
    order_payable = segment_sum(line_payable, line_order, n_o)
    paid = row_sum(batch.payments)
    if not np.array_equal(order_payable, paid):
        bad = int(np.flatnonzero(order_payable != paid)[0])
        raise ValueError(
            f"order {bad}: payments add up to {paid[bad]}, payable is {order_payable[bad]}"
        )
    if batch.payments.min(initial=0) < 0:
        raise ValueError("payments must not be negative")
    # [methods, lines] and [methods, parts]: every method's column contiguous
    line_pay = controlled_round_t(line_order, line_payable, batch.payments, paid)
    part_pay = pol.spread_t(line_pay, lambda lines, parts, seg, k: controlled_round_t(
        seg, part_pay_total[parts], np.take(line_pay, lines, axis=1).T, line_payable[lines]))

    # -- invoice and the VAT included in it
    n_m = len(batch.methods)
    part_inv = _invoiced(batch.invoice_methods, part_pay, lambda: line_order[part_line])
    line_inv = pol.line_sum(part_inv)
    line_tax = _line_tax(batch, line_inv)

    def split_tax(lines: IntArray, parts: IntArray, seg: IntArray, k: int) -> IntArray:
        rate = batch.line_rate[lines][seg]
        num = batch.rate_num[rate]
        return apportion_quotas(line_tax[lines], part_inv[parts], num, batch.rate_den[rate] + num,
                                seg=seg, n_seg=k)

    part_tax = pol.spread(line_tax, split_tax)

    # -- results: columns written straight into the caller's arrays
    part_cols = [part_goods, part_disc, part_fee, *part_pay,
                 part_inv, part_tax]
    line_cols = [batch.goods, line_disc, line_payable - batch.goods + line_disc,
                 *line_pay, line_inv, line_tax]
    lines = out.lines[chunk.line_start : chunk.line_start + n_l]
    for k, col in enumerate(line_cols):
        lines[:, k] = col
    # orders: the fee and the methods are exact by construction (every share adds up),
    # the invoice is their invoiced part; the rest are sums over the lines
    orders = out.orders[chunk.order_start : chunk.order_start + n_o]
    line_counts = np.bincount(line_order, minlength=n_o)
    orders[:, 0] = grouped_sum(batch.goods, line_counts)
    orders[:, 1] = grouped_sum(line_disc, line_counts)
    orders[:, 2] = batch.shipping_fee
    orders[:, 3 : 3 + n_m] = batch.payments
    orders[:, 3 + n_m] = _invoiced(batch.invoice_methods, batch.payments.T, lambda: None)
    orders[:, 4 + n_m] = grouped_sum(line_tax, line_counts)
    # children: parts are not grouped by child, one bincount per summed column (exact
    # in float64: every partial sum is below the column's total, all >= 0); the
    # discount follows from the nets, the fee is the child's share, the invoice the
    # invoiced methods
    children = out.children[chunk.child_start : chunk.child_start + n_c]
    # every column's total is at most goods + fee (payments are goods - discount + fee);
    # summed in float64, with a wide margin for its rounding
    exact_float = float(batch.goods.sum(dtype=np.float64)) + float(
        batch.shipping_fee.sum(dtype=np.float64)) < 2.0**51

    def child_sum(col: IntArray) -> IntArray:
        if exact_float:
            return np.bincount(part_child, weights=col, minlength=n_c).astype(np.int64)
        return segment_sum(col, part_child, n_c)

    children[:, 0] = child_sum(part_goods)
    children[:, 1] = children[:, 0] - child_net
    children[:, 2] = child_fee
    for m in range(n_m):
        children[:, 3 + m] = child_sum(part_pay[m])
    children[:, 3 + n_m] = _invoiced(batch.invoice_methods, children[:, 3 : 3 + n_m].T,
                                     lambda: batch.child_order)
    children[:, 4 + n_m] = child_sum(part_tax)
    where: IntArray | slice
    if chunk.parts is None:
        where = slice(None) if perm is None else perm
    elif isinstance(chunk.parts, slice):
        where = chunk.parts if perm is None else perm + chunk.parts.start
    else:
        where = chunk.parts if perm is None else chunk.parts[perm]
    if isinstance(where, slice):
        parts = out.parts[where]
        for k, col in enumerate(part_cols):
            parts[:, k] = col
        out.part_components[where, : 1 + n_slots] = comp_part.T
    else:
        out.parts[where] = np.stack(part_cols, axis=1)
        out.part_components[where, : 1 + n_slots] = comp_part.T


@dataclass(frozen=True)
class _PartsOfLines:
    """Parts grouped by line; the lines with several parts and their parts, renumbered.

    Nine lines in ten ship whole: their one part takes the line's amounts as they
    are, and only the others are rounded (on segments renumbered ``0..k-1``).
    """

    part_line: IntArray
    lines: IntArray
    """The lines with two parts or more."""
    parts: IntArray
    """Their parts."""
    seg: IntArray
    """Index into ``lines`` of each of ``parts``."""
    count: IntArray
    """Parts per line."""

    @classmethod
    def of(cls, part_line: IntArray, n_lines: int) -> _PartsOfLines:
        count = np.bincount(part_line, minlength=n_lines)
        multi = np.flatnonzero(count > 1)
        parts = np.flatnonzero(count[part_line] > 1)
        seg = np.repeat(np.arange(multi.size), count[multi])
        return cls(part_line, multi, parts, seg, count)

    def line_sum(self, part_values: IntArray) -> IntArray:
        """Exact sums over every line's parts (grouped: running sums)."""
        return grouped_sum(part_values, self.count)

    def spread(
        self, line_values: IntArray,
        split: Callable[[IntArray, IntArray, IntArray, int], IntArray],
    ) -> IntArray:
        """``line_values`` per part, ``split(lines, parts, seg, k)`` for the shared ones."""
        out = np.take(line_values, self.part_line, axis=0)  # rows: faster than fancy
        if self.parts.size:
            out[self.parts] = split(self.lines, self.parts, self.seg, self.lines.size)
        return out

    def spread_t(
        self, line_values: IntArray,
        split: Callable[[IntArray, IntArray, IntArray, int], IntArray],
    ) -> IntArray:
        """:meth:`spread` of a [columns, lines] table: [columns, parts]."""
        out = np.take(line_values, self.part_line, axis=1)
        if self.parts.size:
            out[:, self.parts] = split(self.lines, self.parts, self.seg, self.lines.size)
        return out


def _invoiced(
    flags: BoolArray, columns: IntArray, order_of: Callable[[], IntArray | None]
) -> IntArray:
    """Invoiced amount per row: the sum of ``columns[m]`` over the methods invoiced.

    ``flags`` is [orders, methods]; ``order_of()`` is each row's order (``None``: rows
    are the orders). A method invoiced for every order, or for none, needs no per-row
    flags, and most are one or the other.
    """
    total = np.zeros(columns.shape[1], dtype=np.int64)
    order: IntArray | None = None
    for m in range(columns.shape[0]):
        flag = flags[:, m]
        if flag.all():
            total += columns[m]
        elif flag.any():
            if order is None:
                order = order_of()
            total += np.where(flag if order is None else flag[order], columns[m], 0)
    return total


def _overlapping_activities(
    batch: MoneyBatch, net_goods: IntArray, slot: IntArray, comp_line: IntArray
) -> None:
    """Re-round, in place, the line x activity table of orders whose activities overlap.

    Where every line has at most one activity, each activity's largest-remainder
    shares already form a controlled rounding. A line under two or more activities
    could get several rounded-up shares (its total then off by more than one unit, or
    above its goods); for those orders (rare) the whole table is rounded exactly by
    :func:`controlled_round_columns`: activity totals exact, every cell and every
    line's total the floor or the ceiling of its exact value.
    """
    n_l = batch.goods.size
    covers = np.bincount(batch.cover_line, minlength=n_l)
    if covers.size == 0 or covers.max() <= 1:
        return
    orders = np.unique(batch.line_order[covers > 1])
    line_first = np.searchsorted(batch.line_order, orders)
    line_end = np.searchsorted(batch.line_order, orders, side="right")
    act_first = np.searchsorted(batch.activity_order, orders)
    act_end = np.searchsorted(batch.activity_order, orders, side="right")
    cov_act, cov_line = batch.cover_activity.tolist(), batch.cover_line.tolist()
    cover_of: dict[int, list[int]] = {}
    for a, x in zip(cov_act, cov_line, strict=True):
        cover_of.setdefault(a, []).append(x)
    net = net_goods.tolist()
    amount = batch.activity_amount.tolist()
    for o in range(orders.size):
        lo, hi = int(line_first[o]), int(line_end[o])
        acts = range(int(act_first[o]), int(act_end[o]))
        table = activity_table(
            net[lo:hi], [amount[a] for a in acts],
            [[x - lo for x in cover_of.get(a, [])] for a in acts],
        )
        for a, column in zip(acts, zip(*table, strict=True), strict=True):
            comp_line[lo:hi, 1 + slot[a]] = column


def activity_table(
    net: list[int], amounts: list[int], covered: list[list[int]]
) -> list[list[int]]:
    """One order's line x activity discount table (rows: lines, columns: activities).

    Activity ``a`` gives ``amounts[a]`` over the lines ``covered[a]`` in proportion to
    their ``net`` goods (after the lines' own discounts). Raises ``ValueError`` when
    the activities together give some line more than its net goods.
    """
    n_rows, n_cols = len(net), len(amounts)
    num = [[0] * n_cols for _ in range(n_rows)]
    den = [1] * n_cols
    for a, lines in enumerate(covered):
        base = sum(net[x] for x in set(lines))
        if amounts[a] > base:
            raise ValueError(f"activity {a} gives more than its lines' net goods")
        den[a] = max(base, 1)
        for x in set(lines):
            num[x][a] = amounts[a] * net[x]
    for x in range(n_rows):
        if sum(Fraction(num[x][a], den[a]) for a in range(n_cols)) > net[x]:
            raise ValueError(
                f"overlapping discount activities give line {x} more than its net goods"
            )
    return controlled_round_columns(num, den)


def _fee_weights(batch: MoneyBatch, child_net: IntArray, child_units: IntArray) -> IntArray:
    """Weights of the children in the shipping fee (policy in the module docstring)."""
    n_o, order = batch.n_orders, batch.child_order
    kind = batch.child_kind
    counts = np.bincount(order, minlength=n_o)  # children are grouped by order

    def order_sum(values: IntArray) -> IntArray:
        return grouped_sum(values, counts)[order]

    eligible = (kind != STORE) & (child_units > 0)
    weight = np.where(eligible, child_net, 0)
    by_units = order_sum(weight) == 0
    weight = np.where(by_units, np.where(eligible, child_units, 0), weight)
    no_eligible = order_sum(eligible.astype(np.int64)) == 0
    all_net = np.where(order_sum(child_net) > 0, child_net, child_units)
    weight = np.where(no_eligible, all_net, weight)
    # first_child: the first shipment child (with parts) of the order takes everything
    wants_first = batch.first_child[order]
    if not wants_first.any():
        return weight
    ship = np.flatnonzero(wants_first & (kind == SHIPMENT) & (child_units > 0))
    ship_order = order[ship]
    is_first = np.ones(ship.size, dtype=bool)
    is_first[1:] = ship_order[1:] != ship_order[:-1]
    first = np.flatnonzero(is_first)
    first_ship = np.full(n_o, -1, dtype=np.int64)  # -1: no such child, the rule above
    first_ship[ship_order[first]] = ship[first]
    child_first = first_ship[order]
    return np.where(child_first >= 0, np.arange(order.size) == child_first, weight)


def _line_tax(batch: MoneyBatch, line_inv: IntArray) -> IntArray:
    """Tax per line: per order and rate rounded half up once, then shared over the lines.

    Lines at a zero rate or with nothing invoiced carry no tax (their quota is zero, so
    they take no rounded-up unit either): only the others are computed. With a few
    rates, one rate at a time: its lines are grouped by order, so every segment
    operation runs on grouped segments.
    """
    n_r = batch.rate_num.size
    out = np.zeros(line_inv.size, dtype=np.int64)
    invoiced = line_inv > 0
    if n_r > _RATES_ONE_BY_ONE:
        live = np.flatnonzero((batch.rate_num[batch.line_rate] > 0) & invoiced)
        out[live] = _tax_groups(batch, line_inv, live, batch.line_order[live] * n_r
                                + batch.line_rate[live], batch.n_orders * n_r)
        return out
    for r in range(n_r):
        num = int(batch.rate_num[r])
        if num == 0:
            continue
        live = np.flatnonzero((batch.line_rate == r) & invoiced)
        if live.size:
            out[live] = _rate_tax(batch.line_order[live], line_inv[live], num,
                                  int(batch.rate_den[r]) + num, batch.n_orders)
    return out


def _rate_tax(order: IntArray, inv: IntArray, num: int, den: int, n_o: int) -> IntArray:
    """Tax of the lines of one rate ``num/(den-num)``, grouped by ``order``.

    Per order rounded half up once, then shared over its lines (floor or ceiling of
    each line's own ``inv*num/den``, largest remainders first). With one rate the
    numerator and denominator are scalars: the divisions are by a constant.
    """
    group, n_g = order, n_o
    if n_o > 4 * order.size + 1024:
        used, group = _compress(order)
        n_g = used.size
    counts = np.bincount(group, minlength=n_g)
    q, r = muldiv(grouped_sum(inv, counts), num, den)
    g_tax = q + (2 * r >= den)
    # the half-up rounding of the sum lies between the sums of floors and of ceilings,
    # so the units left are fewer than the lines with a remainder
    line_q, line_r = muldiv(inv, num, den)
    left = g_tax - grouped_sum(line_q, counts)
    line_q += top_remainders(group, line_r, np.full(group.size, den), left, counts, True)
    return line_q


_RATES_ONE_BY_ONE = 8
"""Up to this many tax rates, the tax is computed one rate at a time."""


def _tax_groups(
    batch: MoneyBatch, line_inv: IntArray, live: IntArray, group: IntArray, n_g: int
) -> IntArray:
    """Tax of the lines ``live``, rounded half up per ``group`` (one order and rate)."""
    if live.size == 0:
        return np.zeros(0, dtype=np.int64)
    if n_g > 4 * live.size + 1024:
        uniq, group = np.unique(group, return_inverse=True)
        n_g = uniq.size
    rate = batch.line_rate[live]
    num = batch.rate_num[rate]
    den = batch.rate_den[rate] + num
    inv = line_inv[live]
    g_inv = segment_sum(inv, group, n_g)
    g_num = np.zeros(n_g, dtype=np.int64)
    g_den = np.ones(n_g, dtype=np.int64)
    g_num[group] = num
    g_den[group] = den
    q, r = muldiv(g_inv, g_num, g_den)
    g_tax = q + (2 * r >= g_den)
    return apportion_quotas(g_tax, inv, num, den, seg=group, n_seg=n_g)


def kind_list(kinds: Sequence[str]) -> list[int]:
    """Child kinds as the int codes :class:`MoneyBatch` uses, in a list."""
    try:
        return [KIND_CODES[k] for k in kinds]
    except KeyError as exc:
        raise ValueError(f"unknown child kind {exc.args[0]!r}") from None


def kind_codes(kinds: list[str] | tuple[str, ...]) -> IntArray:
    """Child kinds as the int codes :class:`MoneyBatch` uses."""
    return as_int(kind_list(kinds))
