"""A plan's money in one compiled pass when some line is split over several parts.

:func:`~ordersplit.money.small._allocate_charge` in plain Python shares each split line's
goods and discount over its parts, the shipping fee over the children and their parts,
the payments over the lines and then over each line's parts, and the VAT per rate and
then per part: on a 10-line order whose lines are split over children (thin stock) that
is ~150 us of Python loops. Here the same steps run on int64 arrays with the very same
rules and tie-breaks (the roundings of :mod:`ordersplit.money.whole_kernel`). Only the
rows the plan shows are computed (parts, children, order); a line's discount is handed
over whole (its own plus its activity shares), which is all those rows depend on.

It declines (returns ``False``) wherever the Python way does something else or int64
could be left, as :func:`~ordersplit.money.whole_kernel.whole_lines` does: a negative
input, a weight that is not positive, amounts from 2**30 minor units, a controlled
rounding whose greedy strands a unit, payments that do not add up, a tax share that is
no rounding of its quota. Then the caller takes the Python way, so results and errors
are always that way's (``tests/test_plan_direct.py`` compares the two).
"""

from __future__ import annotations

import logging

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.money import whole_kernel
from ordersplit.money.whole_kernel import LIMIT, _apportion, _controlled, _quotas, child_fees, line_taxes

log = logging.getLogger(__name__)


@nb.njit(cache=True, nogil=True)
def parts_money(lines: np.ndarray, parts: np.ndarray, n_c: int, n_m: int, shipping_fee: int,
                first_child: bool, order: np.ndarray, out: np.ndarray) -> bool:
    """The rows of ``_allocate_charge`` into ``out`` [parts + children + 1, keys]: each
    part's, each child's and the order's goods, discount, shipping fee, one column per
    payment method, invoice and tax. False: take the Python way.

    ``lines`` [3, n_lines]: goods, whole discount and rate slot of each line;
    ``parts`` [3, n_parts]: line, child and weight (units) of each part; ``order``:
    the ``n_c`` children's kinds, the ``n_m`` payments, whether each is invoiced (1/0),
    then the rates' numerators and denominators."""
    goods, disc, line_rate = lines[0], lines[1], lines[2]
    part_line, part_child, weight = parts[0], parts[1], parts[2]
    n_l, n_p = goods.size, part_line.size
    n_r = (order.size - n_c - 2 * n_m) // 2
    kinds = order[:n_c]
    payments = order[n_c:n_c + n_m]
    invoiced = order[n_c + n_m:n_c + 2 * n_m]
    rate_num = order[n_c + 2 * n_m:n_c + 2 * n_m + n_r]
    rate_den = order[n_c + 2 * n_m + n_r:]
    total_net = 0
    for x in range(n_l):
        if (goods[x] < 0 or disc[x] < 0 or goods[x] - disc[x] < 0 or goods[x] >= LIMIT
                or line_rate[x] < 0 or line_rate[x] >= n_r):
            return False
        total_net += goods[x] - disc[x]
    if shipping_fee < 0 or shipping_fee >= LIMIT or total_net >= LIMIT:
        return False
    paid = 0
    for k in range(n_m):
        if payments[k] < 0 or payments[k] >= LIMIT:
            return False
        paid += payments[k]
    if paid >= LIMIT:
        return False
    for r in range(n_r):
        if rate_num[r] < 0 or rate_den[r] <= 0 or rate_num[r] >= LIMIT or rate_den[r] >= LIMIT:
            return False
    # parts grouped by line, in their given order within a line (a stable counting sort)
    count = np.zeros(n_l + 1, dtype=np.int64)
    for p in range(n_p):
        x = part_line[p]
        c = part_child[p]
        if x < 0 or x >= n_l or c < 0 or c >= n_c or weight[p] <= 0 or weight[p] >= LIMIT:
            return False
        count[x + 1] += 1
    for x in range(n_l):
        if count[x + 1] == 0:
            return False
        count[x + 1] += count[x]
    start = count.copy()
    grouped = np.empty(n_p, dtype=np.int64)
    fill = count[:n_l].copy()
    for p in range(n_p):
        grouped[fill[part_line[p]]] = p
        fill[part_line[p]] += 1
    # goods and discount over parts (a line of one part keeps its amounts whole)
    part_goods = np.zeros(n_p, dtype=np.int64)
    part_disc = np.zeros(n_p, dtype=np.int64)
    ws = np.empty(n_p, dtype=np.int64)
    shares = np.empty(n_p, dtype=np.int64)
    shares2 = np.empty(n_p, dtype=np.int64)
    for x in range(n_l):
        lo, hi = start[x], start[x + 1]
        k = hi - lo
        if k == 1:
            p = grouped[lo]
            part_goods[p] = goods[x]
            part_disc[p] = disc[x]
            continue
        for j in range(k):
            ws[j] = weight[grouped[lo + j]]
        if not _apportion(goods[x], ws[:k], shares[:k]):
            return False
        if not _apportion(disc[x], shares[:k], shares2[:k]):
            return False
        for j in range(k):
            p = grouped[lo + j]
            part_goods[p] = shares[j]
            part_disc[p] = shares2[j]
    part_net = part_goods - part_disc
    # the shipping fee over the children (money.small._child_fees), then each child's
    # over its parts in line-grouped order
    child_net = np.zeros(n_c, dtype=np.int64)
    child_units = np.zeros(n_c, dtype=np.int64)
    for j in range(n_p):
        p = grouped[j]
        child_net[part_child[p]] += part_net[p]
        child_units[part_child[p]] += weight[p]
    child_fee = np.zeros(n_c, dtype=np.int64)
    if not child_fees(shipping_fee, kinds, child_net, child_units, first_child, total_net,
                      child_fee):
        return False
    part_fee = np.zeros(n_p, dtype=np.int64)
    if shipping_fee:
        members = np.empty(n_p, dtype=np.int64)
        for c in range(n_c):
            k = 0
            for j in range(n_p):
                p = grouped[j]
                if part_child[p] == c:
                    members[k] = p
                    ws[k] = part_net[p] if child_net[c] > 0 else weight[p]
                    k += 1
            if k == 0:
                continue
            if not _apportion(child_fee[c], ws[:k], shares[:k]):
                return False
            for j in range(k):
                part_fee[members[j]] = shares[j]
    # payments: lines x methods, then parts x methods inside each line
    part_total = part_net + part_fee
    line_payable = np.zeros(n_l, dtype=np.int64)
    for p in range(n_p):
        line_payable[part_line[p]] += part_total[p]
    total = 0
    for x in range(n_l):
        total += line_payable[x]
    if total != paid:
        return False
    line_pay = np.zeros((n_l, n_m), dtype=np.int64)
    if n_l and not _controlled(line_payable, payments, line_pay):
        return False
    part_pay = np.zeros((n_p, n_m), dtype=np.int64)
    for x in range(n_l):
        lo, hi = start[x], start[x + 1]
        k = hi - lo
        if k == 1:
            part_pay[grouped[lo]] = line_pay[x]
            continue
        for j in range(k):
            ws[j] = part_total[grouped[lo + j]]
        block = np.zeros((k, n_m), dtype=np.int64)
        if not _controlled(ws[:k], line_pay[x], block):
            return False
        for j in range(k):
            part_pay[grouped[lo + j]] = block[j]
    # invoice and the VAT included in it: per rate rounded half up, then per part
    part_inv = np.zeros(n_p, dtype=np.int64)
    line_inv = np.zeros(n_l, dtype=np.int64)
    for p in range(n_p):
        for k in range(n_m):
            if invoiced[k]:
                part_inv[p] += part_pay[p, k]
        line_inv[part_line[p]] += part_inv[p]
    line_tax = np.zeros(n_l, dtype=np.int64)
    nums = np.empty(max(n_l, n_p), dtype=np.int64)
    shares_t = np.empty(max(n_l, n_p), dtype=np.int64)
    if not line_taxes(line_inv, line_rate, rate_num, rate_den, line_tax):
        return False
    part_tax = np.zeros(n_p, dtype=np.int64)
    for x in range(n_l):
        lo, hi = start[x], start[x + 1]
        k = hi - lo
        if k == 1:
            part_tax[grouped[lo]] = line_tax[x]
            continue
        r = line_rate[x]
        num, den = rate_num[r], rate_den[r] + rate_num[r]
        for j in range(k):
            nums[j] = part_inv[grouped[lo + j]] * num
        if not _quotas(line_tax[x], nums[:k], den, shares_t[:k]):
            return False
        for j in range(k):
            part_tax[grouped[lo + j]] = shares_t[j]
    out[:] = 0
    for p in range(n_p):
        row = out[p]
        row[0] = part_goods[p]
        row[1] = part_disc[p]
        row[2] = part_fee[p]
        for k in range(n_m):
            row[3 + k] = part_pay[p, k]
        row[3 + n_m] = part_inv[p]
        row[4 + n_m] = part_tax[p]
        out[n_p + part_child[p]] += row
        out[n_p + n_c] += row
    return True


def _warm_up() -> None:
    lines = np.array([[100, 50], [0, 0], [0, 0]], dtype=np.int64)
    parts = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.int64)
    out = np.zeros((3 + 2 + 1, 3 + 1 + 2), dtype=np.int64)
    parts_money(lines, parts, 2, 1, 10, False,
                np.array([0, 0, 160, 1, 9, 100], dtype=np.int64), out)


drop_if_changed(parts_money, (whole_kernel,))  # its helpers are compiled into its entries
COMPILED_ON_IMPORT = load_kernels("parts money kernel", (parts_money,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
