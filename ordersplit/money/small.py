"""One small order in plain integer Python: the same rules as :func:`allocate_batch`.

For a single order (the plan builder, the HTTP service) numpy's per-call overhead
dominates: a few dozen lines make hundreds of tiny array operations. This module
implements the very same rules and tie-breaks as :mod:`ordersplit.money.batch` and
:mod:`ordersplit.money.rounding` on Python ints (exact at any size), and gives results
identical to the batch path (tests compare them on thousands of generated orders):

- largest remainder: floors, then one unit each to the largest remainders, ties to the
  earlier item (as :func:`~ordersplit.money.rounding.apportion`);
- controlled rounding: the same column-by-column greedy (least slack, then largest
  need, then the earlier row) and the same exact b-matching where it would strand a
  unit (as :func:`~ordersplit.money.rounding.controlled_round`);
- overlapping discount activities, the shipping-fee policy and the tax per rate as in
  :mod:`ordersplit.money.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import add, sub

import numpy as np

from ordersplit.money import whole_kernel
from ordersplit.money.batch import (
    FIXED_HEAD,
    FIXED_TAIL,
    SHIPMENT,
    STORE,
    Allocation,
    MoneyBatch,
    activity_table,
)
from ordersplit.money.rounding import _b_matching

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def apportion_list(total: int, weights: list[int], units: list[int] | None = None) -> list[int]:
    """``total`` over ``weights`` by largest remainder (ties to the earlier item).

    The rules of :func:`~ordersplit.money.rounding.apportion`: a negative total gets
    minus the shares of its magnitude; all-zero weights share by ``units`` (one each
    when not given).
    """
    n = len(weights)
    if n == 1 and weights[0] > 0:  # one item takes it all (most lines)
        return [total]
    if n and min(weights) < 0:
        raise ValueError("apportion needs non-negative weights")
    if total < 0:
        return [-x for x in apportion_list(-total, weights, units)]
    wsum = sum(weights)
    if wsum == 0 and total:
        weights = [1] * n if units is None else list(units)
        if any(u < 0 for u in weights):
            raise ValueError("apportion needs non-negative units")
        wsum = sum(weights)
        if wsum == 0:
            raise ValueError("an amount cannot be shared over items of zero weight and units")
    if n == 1:
        return [total]
    if wsum == 0:
        return [0] * n
    shares = []
    rems = []
    for w in weights:
        q, r = divmod(total * w, wsum)
        shares.append(q)
        rems.append(r)
    left = total - sum(shares)
    if left:  # largest remainders first, ties to the earlier item (a stable sort); the
        # ``left`` largest are all positive, as the remainders add up to ``left * wsum``
        for i in sorted(range(n), key=rems.__getitem__, reverse=True)[:left]:
            shares[i] += 1
    return shares


def quotas_list(total: int, num: list[int], den: int) -> list[int]:
    """``num[i] / den`` rounded to integers adding up to ``total`` (largest remainders)."""
    if len(num) == 1:  # one item: the total, if it is a rounding of the quota at all
        q, r = divmod(num[0], den)
        if not 0 <= total - q <= (r > 0):
            raise ValueError("total is not a rounding of the quotas' sum")
        return [total]
    shares = []
    rems = []
    for x in num:
        q, r = divmod(x, den)
        shares.append(q)
        rems.append(r)
    left = total - sum(shares)
    room = sum(1 for r in rems if r > 0)
    if left < 0 or left > room:
        raise ValueError("total is not a rounding of the quotas' sum")
    if left:  # ``left`` <= ``room``: the largest remainders are positive (stable sort)
        for i in sorted(range(len(num)), key=rems.__getitem__, reverse=True)[:left]:
            shares[i] += 1
    return shares


def controlled_list(rows: list[int], cols: list[int]) -> list[list[int]]:
    """The table ``rows[i] * cols[m] / sum(rows)`` with both margins exact (same greedy)."""
    n, m_cols = len(rows), len(cols)
    if sum(rows) != sum(cols):
        raise ValueError("column totals must add up to the rows' total in every segment")
    if n == 1:
        return [list(cols)]
    total = sum(rows)
    if m_cols == 1 and (total > 0 or not any(rows)):  # one column: the rows themselves
        return [[b] for b in rows]
    den = max(total, 1)
    floor = [[0] * m_cols for _ in range(n)]
    frac = [[False] * m_cols for _ in range(n)]
    for i, b in enumerate(rows):
        for m, c in enumerate(cols):
            q, r = divmod(b * c, den)
            floor[i][m] = q
            frac[i][m] = r > 0
    q_tab = [row[:] for row in floor]
    need_row = [b - sum(row) for b, row in zip(rows, floor, strict=True)]
    need_col = [c - sum(floor[i][m] for i in range(n)) for m, c in enumerate(cols)]
    if not any(need_row):
        return q_tab
    left = [sum(row) for row in frac]
    failed = False
    for m in range(m_cols - 1):
        want = need_col[m]
        for i in range(n):
            left[i] -= frac[i][m]
        given = 0
        if want > 0:
            cand = [i for i in range(n) if frac[i][m] and need_row[i] > 0]
            cand.sort(key=lambda i: (max(left[i] + 1 - need_row[i], 0), -need_row[i], i))
            for i in cand[:want]:
                q_tab[i][m] += 1
                need_row[i] -= 1
            given = min(len(cand), want)
        if given != want or any(need_row[i] > left[i] for i in range(n)):
            failed = True
    last = [need > 0 for need in need_row]
    if m_cols > 1 and sum(last) != need_col[-1]:
        failed = True
    if any(need > 1 or (up and not frac[i][-1]) for i, (need, up) in
           enumerate(zip(need_row, last, strict=True))):
        failed = True
    if failed:
        z = _b_matching(
            np.array(frac, dtype=bool),
            np.array([b - sum(row) for b, row in zip(rows, floor, strict=True)]),
            np.array([c - sum(floor[i][m] for i in range(n)) for m, c in enumerate(cols)]),
        )
        return [[floor[i][m] + int(z[i, m]) for m in range(m_cols)] for i in range(n)]
    for i in range(n):
        q_tab[i][-1] += last[i]
    return q_tab


@dataclass(slots=True)
class OneOrder:
    """One order's money inputs as plain ints: the fields of :class:`MoneyBatch` for a
    batch of one order (its ``*_order`` fields are all zeros and so left out)."""

    methods: tuple[str, ...]
    payments: list[int]
    invoiced: list[bool]
    """Whether each method is invoiced (``MoneyBatch.invoice_methods[0]``)."""
    shipping_fee: int
    first_child: bool
    goods: list[int]
    line_discount: list[int]
    line_rate: list[int]
    rate_num: list[int]
    rate_den: list[int]
    activity_amount: list[int]
    cover_activity: list[int]
    cover_line: list[int]
    child_kind: list[int]
    part_child: list[int]
    part_line: list[int]
    part_weight: list[int]

    @classmethod
    def from_batch(cls, batch: MoneyBatch) -> OneOrder:
        """The one order of ``batch`` (which must hold exactly one)."""
        return cls(
            methods=batch.methods, payments=batch.payments[0].tolist(),
            invoiced=batch.invoice_methods[0].tolist(),
            shipping_fee=int(batch.shipping_fee[0]), first_child=bool(batch.first_child[0]),
            goods=batch.goods.tolist(), line_discount=batch.line_discount.tolist(),
            line_rate=batch.line_rate.tolist(), rate_num=batch.rate_num.tolist(),
            rate_den=batch.rate_den.tolist(), activity_amount=batch.activity_amount.tolist(),
            cover_activity=batch.cover_activity.tolist(), cover_line=batch.cover_line.tolist(),
            child_kind=batch.child_kind.tolist(), part_child=batch.part_child.tolist(),
            part_line=batch.part_line.tolist(), part_weight=batch.part_weight.tolist(),
        )

    @property
    def keys(self) -> tuple[str, ...]:
        """Amount keys, the columns of every row of the allocation."""
        return FIXED_HEAD + self.methods + FIXED_TAIL

    def is_refund(self) -> bool:
        """Whether a money input is below zero (as :meth:`MoneyBatch.refund_orders`)."""
        return (self.shipping_fee < 0 or min(self.goods, default=0) < 0
                or min(self.line_discount, default=0) < 0 or min(self.payments, default=0) < 0
                or min(self.activity_amount, default=0) < 0)

    def magnitude(self) -> OneOrder:
        """The same order with every money input's sign dropped."""
        return replace(self, payments=[abs(x) for x in self.payments],
                       shipping_fee=abs(self.shipping_fee), goods=[abs(x) for x in self.goods],
                       line_discount=[abs(x) for x in self.line_discount],
                       activity_amount=[abs(x) for x in self.activity_amount])

    def fits_int64(self) -> bool:
        """Whether every input fits the batch path's int64 (where it does not, that path
        raises the ``OverflowError`` callers know)."""
        ints = [*self.payments, self.shipping_fee, *self.goods, *self.line_discount,
                *self.activity_amount, *self.rate_num, *self.rate_den, *self.part_weight]
        return min(ints) >= INT64_MIN and max(ints) <= INT64_MAX

    def to_batch(self) -> MoneyBatch:
        """This order as a :class:`MoneyBatch` of one order."""
        def ints(values: list[int]) -> np.ndarray:
            return np.array(values, dtype=np.int64)

        n_m = len(self.methods)
        return MoneyBatch(
            methods=self.methods,
            payments=ints(self.payments).reshape(1, n_m),
            invoice_methods=np.array([self.invoiced], dtype=bool).reshape(1, n_m),
            shipping_fee=ints([self.shipping_fee]),
            first_child=np.array([self.first_child]),
            line_order=np.zeros(len(self.goods), dtype=np.int64),
            goods=ints(self.goods), line_discount=ints(self.line_discount),
            line_rate=ints(self.line_rate), rate_num=ints(self.rate_num),
            rate_den=ints(self.rate_den),
            activity_order=np.zeros(len(self.activity_amount), dtype=np.int64),
            activity_amount=ints(self.activity_amount),
            cover_activity=ints(self.cover_activity), cover_line=ints(self.cover_line),
            child_order=np.zeros(len(self.child_kind), dtype=np.int64),
            child_kind=ints(self.child_kind), part_child=ints(self.part_child),
            part_line=ints(self.part_line), part_weight=ints(self.part_weight),
        )


@dataclass(slots=True)
class OneAllocation:
    """:class:`Allocation` of one order as plain int rows (``[row][key]``)."""

    keys: tuple[str, ...]
    order: list[int]
    lines: list[list[int]]
    children: list[list[int]]
    parts: list[list[int]]
    line_components: list[list[int]]
    part_components: list[list[int]]

    def negated(self) -> OneAllocation:
        """Every amount with its sign flipped (a refund from its magnitude's allocation)."""
        def neg(rows: list[list[int]]) -> list[list[int]]:
            return [[-v for v in row] for row in rows]

        return OneAllocation(self.keys, [-v for v in self.order], neg(self.lines),
                             neg(self.children), neg(self.parts), neg(self.line_components),
                             neg(self.part_components))

    def to_allocation(self, n_activities: int) -> Allocation:
        """The same amounts as the batch path's :class:`Allocation` (int64 arrays)."""
        def arr(rows: list[list[int]], n_cols: int) -> np.ndarray:
            return np.array(rows, dtype=np.int64).reshape(len(rows), n_cols)

        n_k, width = len(self.keys), 1 + n_activities
        return Allocation(
            keys=self.keys, orders=arr([self.order], n_k), lines=arr(self.lines, n_k),
            children=arr(self.children, n_k), parts=arr(self.parts, n_k),
            line_components=arr(self.line_components, width),
            part_components=arr(self.part_components, width),
            activity_slot=np.arange(n_activities, dtype=np.int64),
        )


def allocate_one(batch: MoneyBatch, *, check: bool = True) -> Allocation:
    """:func:`~ordersplit.money.batch.allocate_batch` for a batch of one order, in Python."""
    if batch.n_orders != 1:
        raise ValueError("allocate_one takes a batch of exactly one order")
    if check:
        batch.check()
    return allocate_lists(OneOrder.from_batch(batch)).to_allocation(batch.activity_order.size)


def allocate_lists(order: OneOrder) -> OneAllocation:
    """:func:`allocate_one` on plain ints, unchecked: the plan builder's path."""
    if order.is_refund():  # minus the allocation of its magnitude (odd symmetry)
        return _allocate_charge(order.magnitude()).negated()
    return _allocate_charge(order)


def _allocate_charge(batch: OneOrder) -> OneAllocation:
    """The allocation of one order whose money inputs are all >= 0."""
    goods = batch.goods
    own = batch.line_discount
    n_l = len(goods)
    part_line = batch.part_line
    part_child = batch.part_child
    weight = batch.part_weight
    n_p, n_c = len(part_line), len(batch.child_kind)
    # parts grouped by line, in their given order within a line (the batch's stable sort)
    parts_of: list[list[int]] = [[] for _ in range(n_l)]
    for p, x in enumerate(part_line):
        parts_of[x].append(p)
    if n_p == n_l and min(weight, default=1) > 0 and all(parts_of):
        return _whole_lines(batch, [ps[0] for ps in parts_of])
    grouped = [p for ps in parts_of for p in ps]

    # -- discount activities over their lines, by net goods
    amounts = batch.activity_amount
    n_a = len(amounts)
    if n_a:
        comp_line = _activity_components(batch, parts_of)
        line_disc = [sum(row) for row in comp_line]
    else:  # the line's own discount alone
        comp_line = [[d] for d in own]
        line_disc = list(own)

    # -- goods and discount over parts (a line of one part keeps its amounts whole)
    part_goods = [0] * n_p
    part_disc = [0] * n_p
    comp_part: list[list[int]] = [[] for _ in range(n_p)]
    for x, ps in enumerate(parts_of):
        if len(ps) == 1 and weight[ps[0]] > 0:
            p = ps[0]
            part_goods[p], part_disc[p], comp_part[p] = goods[x], line_disc[x], comp_line[x][:]
            continue
        pg = apportion_list(goods[x], [weight[p] for p in ps])
        pd_ = apportion_list(line_disc[x], pg)
        for p, g, d, comp in zip(ps, pg, pd_, controlled_list(pd_, comp_line[x]), strict=True):
            part_goods[p], part_disc[p], comp_part[p] = g, d, comp
    part_net = [g - d for g, d in zip(part_goods, part_disc, strict=True)]

    # -- shipping fee over children, then over each child's parts (line-grouped order)
    child_net = [0] * n_c
    child_units = [0] * n_c
    kids_parts: list[list[int]] = [[] for _ in range(n_c)]
    for p in grouped:
        c = part_child[p]
        child_net[c] += part_net[p]
        child_units[c] += weight[p]
        kids_parts[c].append(p)
    fee = batch.shipping_fee
    child_fee = _child_fees(batch, child_net, child_units)
    part_fee = [0] * n_p
    if fee:
        for c, ps in enumerate(kids_parts):
            if not ps:
                continue
            ws = [part_net[p] for p in ps] if child_net[c] > 0 else [weight[p] for p in ps]
            for p, f in zip(ps, apportion_list(child_fee[c], ws), strict=True):
                part_fee[p] = f

    # -- payments: lines x methods, then parts x methods inside each line
    part_total = [n + f for n, f in zip(part_net, part_fee, strict=True)]
    line_payable = [0] * n_l
    for x, t in zip(part_line, part_total, strict=True):
        line_payable[x] += t
    paid = batch.payments
    if sum(line_payable) != sum(paid):
        raise ValueError(
            f"order 0: payments add up to {sum(paid)}, payable is {sum(line_payable)}"
        )
    line_pay = controlled_list(line_payable, paid) if n_l else []
    part_pay: list[list[int]] = [[] for _ in range(n_p)]
    for x, ps in enumerate(parts_of):
        if len(ps) == 1:  # the line's own row (its one part pays the line's payable)
            part_pay[ps[0]] = line_pay[x][:]
            continue
        for p, row in zip(ps, controlled_list([part_total[p] for p in ps], line_pay[x]),
                          strict=True):
            part_pay[p] = row

    # -- invoice and the VAT included in it: per rate rounded half up, then shared
    part_inv = _invoiced(batch, part_pay)
    line_inv = [0] * n_l
    for x, v in zip(part_line, part_inv, strict=True):
        line_inv[x] += v
    rate = batch.line_rate
    r_num, r_den = batch.rate_num, batch.rate_den
    line_tax = _line_taxes(batch, line_inv)
    part_tax = [0] * n_p
    for x, ps in enumerate(parts_of):
        if len(ps) == 1:  # the line's tax, a rounding of the same quota
            part_tax[ps[0]] = line_tax[x]
            continue
        num, den = r_num[rate[x]], r_den[rate[x]] + r_num[rate[x]]
        for p, t in zip(ps, quotas_list(line_tax[x], [part_inv[p] * num for p in ps], den),
                        strict=True):
            part_tax[p] = t

    keys = batch.keys
    parts = [[part_goods[p], part_disc[p], part_fee[p], *part_pay[p], part_inv[p], part_tax[p]]
             for p in range(n_p)]
    line_rows = [[goods[x], line_disc[x], line_payable[x] - goods[x] + line_disc[x],
                  *line_pay[x], line_inv[x], line_tax[x]] for x in range(n_l)]
    zeros = [0] * len(keys)
    children = [_column_sums([parts[p] for p in ps]) if ps else zeros[:] for ps in kids_parts]
    order = _column_sums(line_rows) if line_rows else zeros
    return OneAllocation(keys, order, line_rows, children, parts, comp_line, comp_part)


def _whole_lines(batch: OneOrder, part_of: list[int]) -> OneAllocation:
    """:func:`_allocate_charge` when every line is one part (``part_of[x]``) of
    positive weight, the usual plan: a part's row is its line's row, so each amount is
    worked out once per line. Without discount activities in one compiled call
    (:mod:`.whole_kernel`) where it takes the order, else :func:`whole_lines_python`:
    the same rules and tie-breaks (tests compare the three ways)."""
    if not batch.activity_amount:
        fast = _whole_lines_compiled(batch, part_of)
        if fast is not None:
            return fast
    return whole_lines_python(batch, part_of)


def _whole_lines_compiled(batch: OneOrder, part_of: list[int]) -> OneAllocation | None:
    """:func:`whole_lines_python` of an order without discount activities in one call of
    :func:`~ordersplit.money.whole_kernel.whole_lines`; ``None`` where the kernel
    declines (the Python way then gives the result or names the error)."""
    n_l, n_c, n_m = len(batch.goods), len(batch.child_kind), len(batch.methods)
    part_child, weight = batch.part_child, batch.part_weight
    out = np.empty((n_l + n_c + 1, n_m + 5), dtype=np.int64)
    line_disc = batch.line_discount
    try:  # (an int past int64 cannot be the kernel's)
        by_line = np.array([batch.goods, line_disc, [part_child[p] for p in part_of],
                            [weight[p] for p in part_of], batch.line_rate], dtype=np.int64)
        head = np.array([*batch.child_kind, *batch.payments, *batch.invoiced,
                         *batch.rate_num, *batch.rate_den], dtype=np.int64)
    except OverflowError:
        return None
    if n_l == 0 or not whole_kernel.whole_lines(by_line, n_c, n_m, batch.shipping_fee,
                                                batch.first_child, head, out):
        return None
    rows = out.tolist()
    lines = rows[:n_l]
    parts: list[list[int]] = [[]] * len(part_of)
    comp_part: list[list[int]] = [[]] * len(part_of)
    for x, p in enumerate(part_of):
        parts[p] = lines[x][:]
        comp_part[p] = [line_disc[x]]
    return OneAllocation(batch.keys, rows[-1], lines, rows[n_l:n_l + n_c], parts,
                         [[d] for d in line_disc], comp_part)


def whole_lines_python(batch: OneOrder, part_of: list[int]) -> OneAllocation:
    """:func:`_whole_lines` in plain Python: every input, any size."""
    goods = batch.goods
    n_l, n_c = len(goods), len(batch.child_kind)
    part_child, weight = batch.part_child, batch.part_weight
    if batch.activity_amount:
        comp_line = _activity_components(batch, [[p] for p in part_of])
        line_disc = [sum(row) for row in comp_line]
    else:  # the line's own discount alone
        line_disc = batch.line_discount
        comp_line = [[d] for d in line_disc]
    net = list(map(sub, goods, line_disc))
    # children's lines in line order (the general way's line-grouped parts)
    child_net = [0] * n_c
    child_units = [0] * n_c
    kids_lines: list[list[int]] = [[] for _ in range(n_c)]
    for x, p in enumerate(part_of):
        c = part_child[p]
        child_net[c] += net[x]
        child_units[c] += weight[p]
        kids_lines[c].append(x)
    child_fee = _child_fees(batch, child_net, child_units)
    line_fee = [0] * n_l
    if batch.shipping_fee:
        for c, xs in enumerate(kids_lines):
            if len(xs) == 1:  # one line takes the child's fee whole
                line_fee[xs[0]] = child_fee[c]
            elif xs:
                ws = [net[x] for x in xs] if child_net[c] > 0 else [weight[part_of[x]]
                                                                    for x in xs]
                shares = apportion_list(child_fee[c], ws)
                for j, x in enumerate(xs):
                    line_fee[x] = shares[j]
    payable = list(map(add, net, line_fee))
    paid = batch.payments
    if sum(payable) != sum(paid):
        raise ValueError(f"order 0: payments add up to {sum(paid)}, payable is {sum(payable)}")
    line_pay = controlled_list(payable, paid) if n_l else []
    line_inv = _invoiced(batch, line_pay)
    line_tax = _line_taxes(batch, line_inv)
    lines = [[goods[x], line_disc[x], line_fee[x], *line_pay[x], line_inv[x], line_tax[x]]
             for x in range(n_l)]
    n_p = len(part_of)
    parts: list[list[int]] = [[]] * n_p
    comp_part: list[list[int]] = [[]] * n_p
    for x, p in enumerate(part_of):
        parts[p] = lines[x][:]
        comp_part[p] = comp_line[x][:]
    keys = batch.keys
    children = [_column_sums([lines[x] for x in xs]) if xs else [0] * len(keys)
                for xs in kids_lines]
    order = _column_sums(lines) if lines else [0] * len(keys)
    return OneAllocation(keys, order, lines, children, parts, comp_line, comp_part)


def _child_fees(batch: OneOrder, child_net: list[int], child_units: list[int]) -> list[int]:
    """The shipping fee over the children (the policy of :mod:`ordersplit.money.batch`):
    the first shipment under ``first_child``, else by net goods over the children that
    take a fee (not a store sale, some units), by units where their net goods are 0."""
    n_c = len(child_net)
    if not n_c:
        return []
    kinds = batch.child_kind
    eligible = [kinds[c] != STORE and child_units[c] > 0 for c in range(n_c)]
    if batch.first_child and (ships := [c for c in range(n_c)
                                        if kinds[c] == SHIPMENT and child_units[c] > 0]):
        fee_w = [int(c == ships[0]) for c in range(n_c)]
    elif any(eligible):
        fee_w = [child_net[c] if eligible[c] else 0 for c in range(n_c)]
        if sum(fee_w) == 0:
            fee_w = [child_units[c] if eligible[c] else 0 for c in range(n_c)]
    else:
        fee_w = child_net if sum(child_net) > 0 else child_units
    return apportion_list(batch.shipping_fee, fee_w)


def _invoiced(batch: OneOrder, pay_rows: list[list[int]]) -> list[int]:
    """Each row's invoiced payments (the methods ``batch.invoiced`` marks)."""
    if all(batch.invoiced):
        return [sum(row) for row in pay_rows]
    invoiced = [k for k, inv in enumerate(batch.invoiced) if inv]
    return [sum([row[k] for k in invoiced]) for row in pay_rows]


def _line_taxes(batch: OneOrder, line_inv: list[int]) -> list[int]:
    """The VAT included in each line's invoice: per rate, the group's total rounded
    half up, then shared over its lines by largest remainder."""
    rate = batch.line_rate
    r_num, r_den = batch.rate_num, batch.rate_den
    line_tax = [0] * len(line_inv)
    groups: dict[int, list[int]] = {}
    for x, r in enumerate(rate):
        groups.setdefault(r, []).append(x)
    for r, members in groups.items():
        num, den = r_num[r], r_den[r] + r_num[r]
        q, rem = divmod(sum([line_inv[x] for x in members]) * num, den)
        g_tax = q + (2 * rem >= den)
        shares = quotas_list(g_tax, [line_inv[x] * num for x in members], den)
        for j, x in enumerate(members):
            line_tax[x] = shares[j]
    return line_tax


def _column_sums(rows: list[list[int]]) -> list[int]:
    """Column totals of rows of equal length (one row: a copy of it, most children)."""
    if len(rows) == 1:
        return rows[0][:]
    return list(map(sum, zip(*rows)))  # noqa: B905 - equal lengths by construction (and
    # ``strict=`` takes CPython 3.11's slow path for zip: more than the sums of a short row)


def _activity_components(batch: OneOrder, parts_of: list[list[int]]) -> list[list[int]]:
    """Each line's discount components: its own discount, then its share of every
    discount activity (over the activity's lines by net goods)."""
    covered: list[list[int]] = [[] for _ in batch.activity_amount]
    for a, x in zip(batch.cover_activity, batch.cover_line, strict=True):
        covered[a].append(x)
    return activity_components(batch.goods, batch.line_discount, batch.activity_amount,
                               covered)


def activity_components(goods: list[int], own: list[int], amounts: list[int],
                        covered: list[list[int]]) -> list[list[int]]:
    """:func:`_activity_components` from the lists themselves: ``covered[a]`` holds the
    lines of activity ``a`` (distinct, in line order)."""
    n_l, n_a = len(goods), len(amounts)
    net = [g - d for g, d in zip(goods, own, strict=True)]
    comp_line = [[d] + [0] * n_a for d in own]
    counts = [0] * n_l
    for lines in covered:
        for x in lines:
            counts[x] += 1
    if any(c > 1 for c in counts):
        table = activity_table(net, amounts, covered)
        for x in range(n_l):
            comp_line[x][1:] = table[x]
    else:
        for a, lines in enumerate(covered):
            for x, share in zip(lines, apportion_list(amounts[a], [net[x] for x in lines]),
                                strict=True):
                comp_line[x][1 + a] = share
    return comp_line
