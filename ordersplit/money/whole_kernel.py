"""The usual plan's money in one compiled pass: every line one part, no discount activity.

:func:`~ordersplit.money.small._whole_lines` in plain Python runs a dozen small steps
(fees over children and over their lines, payments by controlled rounding, invoice, tax
per rate), each a few Python loops over a 10-line order; here they are one numba call on
int64 arrays with the very same rules and tie-breaks. It declines (returns ``False``)
wherever the Python way does something else or could leave int64: any negative input or
weight, amounts from 2**30 minor units (so that every product stays below 2**62), a
controlled rounding whose greedy strands a unit (the exact b-matching stays in Python),
payments that do not add up (the Python way names the error). Then the caller takes
the Python way, so results and errors are always those of
:func:`~ordersplit.money.small._whole_lines` (``tests/money/test_whole_kernel.py``
compares the two on generated orders).
"""

from __future__ import annotations

import logging

import numba as nb
import numpy as np

from ordersplit.kernels import load_kernels
from ordersplit.money.batch import SHIPMENT, STORE

log = logging.getLogger(__name__)

LIMIT = 1 << 30
"""Inputs (amounts, weights, rate terms) and their sums stay below this on the fast path."""


@nb.njit(cache=True, nogil=True)
def _apportion(total: int, weights: np.ndarray, out: np.ndarray) -> bool:
    """``apportion_list`` for ``total >= 0`` and weights >= 0 (units: one each), into
    ``out``: floors, then one unit each to the largest remainders, ties to the earlier."""
    n = weights.size
    if n == 1 and weights[0] > 0:
        out[0] = total
        return True
    wsum = 0
    for i in range(n):
        wsum += weights[i]
    ones = wsum == 0 and total != 0  # all-zero weights: one unit of weight each
    if ones:
        if n == 0:
            return False
        wsum = n
    if n == 1:
        out[0] = total
        return True
    if wsum == 0:
        out[:] = 0
        return True
    rems = np.empty(n, dtype=np.int64)
    left = total
    for i in range(n):
        w = 1 if ones else weights[i]
        out[i] = total * w // wsum
        rems[i] = total * w - out[i] * wsum
        left -= out[i]
    if left:
        order = np.argsort(-rems, kind="mergesort")  # stable: ties to the earlier item
        for j in range(left):
            out[order[j]] += 1
    return True


@nb.njit(cache=True, nogil=True)
def _quotas(total: int, num: np.ndarray, den: int, out: np.ndarray) -> bool:
    """``quotas_list``: ``num[i] / den`` rounded to add up to ``total``; False where the
    Python way raises."""
    n = num.size
    if n == 1:
        q = num[0] // den
        r = num[0] - q * den
        if not (0 <= total - q <= (1 if r > 0 else 0)):
            return False
        out[0] = total
        return True
    rems = np.empty(n, dtype=np.int64)
    left = total
    room = 0
    for i in range(n):
        out[i] = num[i] // den
        rems[i] = num[i] - out[i] * den
        left -= out[i]
        if rems[i] > 0:
            room += 1
    if left < 0 or left > room:
        return False
    if left:
        order = np.argsort(-rems, kind="mergesort")
        for j in range(left):
            out[order[j]] += 1
    return True


@nb.njit(cache=True, nogil=True)
def _controlled(rows: np.ndarray, cols: np.ndarray, out: np.ndarray) -> bool:
    """``controlled_list``'s greedy into ``out`` [rows, cols]; False where it would take
    the exact b-matching (or raise)."""
    n, m_cols = rows.size, cols.size
    total = 0
    for i in range(n):
        total += rows[i]
    col_total = 0
    for m in range(m_cols):
        col_total += cols[m]
    if total != col_total:
        return False
    if n == 1:
        out[0, :] = cols
        return True
    any_row = False
    for i in range(n):
        if rows[i] != 0:
            any_row = True
    if m_cols == 1 and (total > 0 or not any_row):
        out[:, 0] = rows
        return True
    den = max(total, 1)
    frac = np.zeros((n, m_cols), dtype=np.bool_)
    need_row = rows.copy()
    need_col = cols.copy()
    for i in range(n):
        for m in range(m_cols):
            p = rows[i] * cols[m]
            q = p // den
            out[i, m] = q
            frac[i, m] = p - q * den > 0
            need_row[i] -= q
            need_col[m] -= q
    some = False
    for i in range(n):
        if need_row[i] != 0:
            some = True
    if not some:
        return True
    left = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for m in range(m_cols):
            left[i] += frac[i, m]
    cand = np.empty(n, dtype=np.int64)
    sort_key = np.empty(n, dtype=np.int64)
    for m in range(m_cols - 1):
        want = need_col[m]
        for i in range(n):
            left[i] -= frac[i, m]
        given = 0
        if want > 0:
            k = 0
            for i in range(n):
                if frac[i, m] and need_row[i] > 0:
                    cand[k] = i
                    k += 1
            # (slack, -need, row) ascending, as one number: slack and need are at most
            # n_cols, the row below n
            for j in range(k):
                i = cand[j]
                slack = max(left[i] + 1 - need_row[i], 0)
                sort_key[j] = (slack * (m_cols + 2) + (m_cols + 1 - need_row[i])) * n + i
            order = np.argsort(sort_key[:k])
            given = min(k, want)
            for j in range(given):
                i = cand[order[j]]
                out[i, m] += 1
                need_row[i] -= 1
        if given != want:
            return False
        for i in range(n):
            if need_row[i] > left[i]:
                return False
    n_last = 0
    for i in range(n):
        if need_row[i] > 0:
            n_last += 1
    if m_cols > 1 and n_last != need_col[m_cols - 1]:
        return False
    for i in range(n):
        if need_row[i] > 1 or (need_row[i] > 0 and not frac[i, m_cols - 1]):
            return False
    for i in range(n):
        if need_row[i] > 0:
            out[i, m_cols - 1] += 1
    return True


@nb.njit(cache=True, nogil=True)
def child_fees(shipping_fee: int, kinds: np.ndarray, child_net: np.ndarray,
               child_units: np.ndarray, first_child: bool, total_net: int,
               out: np.ndarray) -> bool:
    """The shipping fee over the children into ``out`` (``money.small._child_fees``): all
    on the first shipment child with units when ``first_child``, else by net goods over
    the children with units that are not store pick-ups (by units where their net is
    nil), or over every child when none is; False where the apportioning declines.
    Shared by the whole-line and the parts kernels."""
    n_c = child_net.size
    if n_c == 0:
        return True
    fee_w = np.zeros(n_c, dtype=np.int64)
    first = -1
    if first_child:
        for c in range(n_c):
            if kinds[c] == SHIPMENT and child_units[c] > 0:
                first = c
                break
    any_eligible = False
    for c in range(n_c):
        if kinds[c] != STORE and child_units[c] > 0:
            any_eligible = True
    if first >= 0:
        fee_w[first] = 1
    elif any_eligible:
        wsum = 0
        for c in range(n_c):
            if kinds[c] != STORE and child_units[c] > 0:
                fee_w[c] = child_net[c]
                wsum += child_net[c]
        if wsum == 0:
            for c in range(n_c):
                if kinds[c] != STORE and child_units[c] > 0:
                    fee_w[c] = child_units[c]
    elif total_net > 0:
        fee_w[:] = child_net
    else:
        fee_w[:] = child_units
    return _apportion(shipping_fee, fee_w, out)


@nb.njit(cache=True, nogil=True)
def line_taxes(line_inv: np.ndarray, line_rate: np.ndarray, rate_num: np.ndarray,
               rate_den: np.ndarray, out: np.ndarray) -> bool:
    """Each line's VAT into ``out``: per rate, the tax of the rate's invoiced total
    (rounded half up) shared over its lines by their invoiced amounts; False where the
    sharing declines. Shared by the whole-line and the parts kernels."""
    n_l = line_inv.size
    members = np.empty(n_l, dtype=np.int64)
    nums = np.empty(n_l, dtype=np.int64)
    shares = np.empty(n_l, dtype=np.int64)
    for r in range(rate_num.size):
        num, den = rate_num[r], rate_den[r] + rate_num[r]
        k = 0
        inv = 0
        for x in range(n_l):
            if line_rate[x] == r:
                members[k] = x
                nums[k] = line_inv[x] * num
                inv += line_inv[x]
                k += 1
        if k == 0:
            continue
        q = inv * num // den
        rem = inv * num - q * den
        g_tax = q + (1 if 2 * rem >= den else 0)
        if not _quotas(g_tax, nums[:k], den, shares[:k]):
            return False
        for j in range(k):
            out[members[j]] = shares[j]
    return True


@nb.njit(cache=True, nogil=True)
def whole_lines(lines: np.ndarray, n_c: int, n_m: int, shipping_fee: int, first_child: bool,
                order: np.ndarray, out: np.ndarray) -> bool:
    """The rows of ``_whole_lines`` into ``out`` [lines + children + 1, keys]: each line's
    (its one part's), each child's and the order's goods, discount, shipping fee, one
    column per payment method, invoice and tax. False: take the Python way.

    ``lines`` [5, n_lines]: goods, own discount, child, units and rate slot of each line;
    ``order``: the ``n_c`` children's kinds, the ``n_m`` payments, whether each is
    invoiced (1/0), then the rates' numerators and denominators (two arrays handed over
    instead of twelve: each argument costs the call a type check)."""
    goods, disc, line_child, line_units, line_rate = (lines[0], lines[1], lines[2], lines[3],
                                                      lines[4])
    n_r = (order.size - n_c - 2 * n_m) // 2
    kinds = order[:n_c]
    payments = order[n_c:n_c + n_m]
    invoiced = order[n_c + n_m:n_c + 2 * n_m]
    rate_num = order[n_c + 2 * n_m:n_c + 2 * n_m + n_r]
    rate_den = order[n_c + 2 * n_m + n_r:]
    n_l = goods.size
    for x in range(n_l):
        if (goods[x] < 0 or disc[x] < 0 or goods[x] - disc[x] < 0 or goods[x] >= LIMIT
                or line_units[x] <= 0 or line_units[x] >= LIMIT):
            return False
    if shipping_fee < 0 or shipping_fee >= LIMIT:
        return False
    paid = 0
    for k in range(n_m):
        if payments[k] < 0 or payments[k] >= LIMIT:
            return False
        paid += payments[k]
    for r in range(rate_num.size):
        if rate_num[r] < 0 or rate_den[r] <= 0 or rate_num[r] >= LIMIT or rate_den[r] >= LIMIT:
            return False
    net = goods - disc
    total_net = 0
    for x in range(n_l):
        total_net += net[x]
    if total_net >= LIMIT or paid >= LIMIT:
        return False
    child_net = np.zeros(n_c, dtype=np.int64)
    child_units = np.zeros(n_c, dtype=np.int64)
    for x in range(n_l):
        child_net[line_child[x]] += net[x]
        child_units[line_child[x]] += line_units[x]
    # the shipping fee over the children (money.small._child_fees)
    child_fee = np.zeros(n_c, dtype=np.int64)
    if not child_fees(shipping_fee, kinds, child_net, child_units, first_child, total_net,
                      child_fee):
        return False
    # each child's fee over its lines, in line order
    line_fee = np.zeros(n_l, dtype=np.int64)
    if shipping_fee:
        xs = np.empty(n_l, dtype=np.int64)
        ws = np.empty(n_l, dtype=np.int64)
        shares = np.empty(n_l, dtype=np.int64)
        for c in range(n_c):
            k = 0
            for x in range(n_l):
                if line_child[x] == c:
                    xs[k] = x
                    ws[k] = net[x] if child_net[c] > 0 else line_units[x]
                    k += 1
            if k == 1:
                line_fee[xs[0]] = child_fee[c]
            elif k:
                if not _apportion(child_fee[c], ws[:k], shares[:k]):
                    return False
                for j in range(k):
                    line_fee[xs[j]] = shares[j]
    payable = net + line_fee
    total = 0
    for x in range(n_l):
        total += payable[x]
    if total != paid:
        return False
    line_pay = np.zeros((n_l, n_m), dtype=np.int64)
    if n_l and not _controlled(payable, payments, line_pay):
        return False
    line_inv = np.zeros(n_l, dtype=np.int64)
    for x in range(n_l):
        for k in range(n_m):
            if invoiced[k]:
                line_inv[x] += line_pay[x, k]
    # VAT per rate: the group's total rounded half up, shared by largest remainder
    line_tax = np.zeros(n_l, dtype=np.int64)
    if not line_taxes(line_inv, line_rate, rate_num, rate_den, line_tax):
        return False
    out[:] = 0
    for x in range(n_l):
        row = out[x]
        row[0] = goods[x]
        row[1] = disc[x]
        row[2] = line_fee[x]
        for k in range(n_m):
            row[3 + k] = line_pay[x, k]
        row[3 + n_m] = line_inv[x]
        row[4 + n_m] = line_tax[x]
        out[n_l + line_child[x]] += row
        out[n_l + n_c] += row
    return True


def _warm_up() -> None:
    lines = np.array([[100, 50], [0, 0], [0, 0], [1, 1], [0, 0]], dtype=np.int64)
    out = np.zeros((2 + 1 + 1, 3 + 1 + 2), dtype=np.int64)
    whole_lines(lines, 1, 1, 10, False, np.array([0, 160, 1, 9, 100], dtype=np.int64), out)


COMPILED_ON_IMPORT = load_kernels("money kernel", (whole_lines,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
