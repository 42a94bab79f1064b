"""Exact integer rounding kernels: segmented largest remainder and controlled rounding.

Everything here works on int64 minor units and on *segments* (an id per item: the order,
the line or the tax group it belongs to), so one call rounds many orders at once with
numpy, without a Python loop per order or per line.

Tie-break (everywhere): a larger remainder wins; equal remainders go to the item that
comes first in the input (lower index). Deterministic, and a zero-weight item never
wins, because its remainder is zero.
"""

from __future__ import annotations

import logging
from collections import deque
from fractions import Fraction

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FLOAT_EXACT = 1 << 52
"""Quotients below this are guessed by float64 to within one unit, then corrected."""
_MAX_OPERAND = 1 << 53
_MAX_DIVISOR = 1 << 60
_INT64_PRODUCT = 1 << 63
_INT64_SQRT = 3_037_000_499


def as_int(values: npt.ArrayLike) -> IntArray:
    """``values`` as a C-contiguous int64 array."""
    return np.ascontiguousarray(values, dtype=np.int64)


def muldiv(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """``floor(a*b/c)`` and ``a*b mod c``, exact, for non-negative int64 ``a, b`` and ``c > 0``.

    ``a*b`` may exceed int64: the quotient is guessed in float64 and the remainder
    computed modulo 2**64 (numpy wraps), where its true value is small; one or two
    correction steps make both exact. Operands must stay below 2**53 and quotients
    below 2**52 (90 trillion major units in a 2-decimal currency), else OverflowError.
    """
    aa, bb, cc = as_int(a), as_int(b), as_int(c)
    shape = np.broadcast_shapes(aa.shape, bb.shape, cc.shape)
    if 0 in shape:
        empty = np.zeros(shape, dtype=np.int64)
        return empty, empty.copy()
    if aa.min() < 0 or bb.min() < 0 or cc.min() <= 0:
        raise ValueError("muldiv needs a >= 0, b >= 0 and c > 0")
    return _muldiv_nonneg(aa, bb, cc)


def _muldiv_nonneg(
    aa: IntArray, bb: IntArray, cc: IntArray, maxima: tuple[int, int, int] | None = None
) -> tuple[IntArray, IntArray]:
    """:func:`muldiv` on non-empty int64 arrays already known to be ``>= 0`` (``cc > 0``).

    ``maxima`` are the largest ``a``, ``b`` and ``c`` when the caller has them at hand
    (from the arrays these were gathered from), which saves three scans.
    """
    a_max, b_max, c_max = (
        maxima if maxima is not None else (int(aa.max()), int(bb.max()), int(cc.max()))
    )
    if a_max >= _MAX_OPERAND or b_max >= _MAX_OPERAND or c_max >= _MAX_DIVISOR:
        raise OverflowError("amount or weight too large for exact int64 allocation")
    if a_max * b_max < _INT64_PRODUCT:  # exact in int64: divide directly
        prod = aa * bb
        q = prod // cc
        if prod.shape != q.shape:  # the divisors broadcast the products
            return q, prod - q * cc
        prod -= q * cc
        return q, prod
    guess = np.floor(aa.astype(np.float64) * bb.astype(np.float64) / cc.astype(np.float64))
    if guess.max() >= _FLOAT_EXACT:
        raise OverflowError("allocated amount too large for exact int64 allocation")
    q = guess.astype(np.int64)
    r = aa * bb - q * cc  # wraps modulo 2**64; the true value lies in (-3c, 3c)
    for _ in range(4):
        low = r < 0
        high = r >= cc
        if not (low.any() or high.any()):
            return q, r
        step = high.astype(np.int64) - low.astype(np.int64)
        q = q + step
        r = r - step * cc  # broadcasts like q
    raise ArithmeticError("muldiv failed to converge")  # pragma: no cover


def row_sum(table: IntArray) -> IntArray:
    """Sums across the (few) columns of a 2-D int64 table; faster than ``sum(axis=1)``."""
    if table.shape[1] == 0:
        return np.zeros(table.shape[0], dtype=np.int64)
    out = table[:, 0].copy()
    for j in range(1, table.shape[1]):
        out += table[:, j]
    return out


def segment_sum(values: npt.ArrayLike, seg: IntArray, n_seg: int) -> IntArray:
    """Exact int64 sums of ``values`` (1-D, or 2-D with items as rows) per segment id.

    Grouped (non-decreasing) segment ids use running sums (:func:`grouped_sum`);
    others ``bincount`` (float64, exact while partial sums stay below 2**53) or a sort.
    """
    vals = as_int(values)
    shape = (n_seg, *vals.shape[1:])
    if vals.shape[0] == 0:
        return np.zeros(shape, dtype=np.int64)
    if seg.size < 2 or bool((seg[1:] >= seg[:-1]).all()):
        return grouped_sum(vals, np.bincount(seg, minlength=n_seg))
    if vals.ndim == 2:
        table = np.zeros(shape, dtype=np.int64)
        for j in range(vals.shape[1]):
            table[:, j] = segment_sum(vals[:, j], seg, n_seg)
        return table
    lo, hi = int(vals.min()), int(vals.max())
    if max(hi, -lo) * vals.size < _FLOAT_EXACT or (
        lo >= 0 and float(vals.sum(dtype=np.float64)) < _FLOAT_EXACT / 2
    ):  # every partial sum is exact in float64
        return np.bincount(seg, weights=vals, minlength=n_seg).astype(np.int64)
    order = np.argsort(seg, kind="stable")
    return grouped_sum(vals[order], np.bincount(seg, minlength=n_seg))


def grouped_sum(values: IntArray, counts: IntArray) -> IntArray:
    """Exact sums of consecutive runs of ``counts[s]`` items (rows of 2-D ``values``).

    1-D: differences of one int64 running sum at the runs' ends (it may wrap; every
    run's own sum fits). 2-D: ``np.add.reduceat`` over the non-empty runs.
    """
    vals = as_int(values)
    n_seg = counts.size
    if vals.shape[0] == 0 or n_seg == 0:
        return np.zeros((n_seg, *vals.shape[1:]), dtype=np.int64)
    end = np.cumsum(counts)
    if vals.ndim == 1:
        at_end = np.cumsum(vals)[end - 1]
        if end[0] == 0:
            at_end[end == 0] = 0
        out = at_end.copy()
        out[1:] -= at_end[:-1]
        return out
    nonempty = counts > 0
    starts = (end - counts)[nonempty]
    if nonempty.all():
        return np.add.reduceat(vals, starts, axis=0)
    out = np.zeros((n_seg, *vals.shape[1:]), dtype=np.int64)
    out[nonempty] = np.add.reduceat(vals, starts, axis=0)
    return out


def _compress(seg: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct segment ids used, and ``seg`` renumbered ``0..k-1`` over them."""
    if seg.size and bool((seg[1:] >= seg[:-1]).all()):
        new = np.empty(seg.size, dtype=bool)
        new[0] = True
        np.not_equal(seg[1:], seg[:-1], out=new[1:])
        return seg[new], np.cumsum(new) - 1
    used, inverse = np.unique(seg, return_inverse=True)
    return used, inverse.astype(np.int64)


def select_top(
    seg: IntArray, key: IntArray, den: IntArray, need: IntArray, *, grouped: bool | None = None
) -> BoolArray:
    """Mark, in every segment, the ``need`` items with the largest ``key/den``.

    ``den`` is positive and the same for all items of a segment, so keys compare
    exactly as integers; ``need`` is given per item (the same within a segment).
    Ties go to the lower index. One stable sort of an int64 composite (segment id, then
    the key itself when its range fits, else a monotone float rank of ``key/den``); if
    two different keys of one segment share a float rank, an exact lexicographic sort
    is used instead. ``grouped`` (segment ids non-decreasing) is checked when not given:
    grouped segments keep their places in the sort, which saves two gathers.
    """
    n = seg.size
    chosen = np.zeros(n, dtype=bool)
    active = np.flatnonzero(need > 0)
    if active.size == 0:
        return chosen
    if grouped is None:
        grouped = n < 2 or bool((seg[1:] >= seg[:-1]).all())
    s, k = seg[active], key[active]
    seg_bits = int(s.max()).bit_length()
    rank_bits = 62 - seg_bits
    order: IntArray | None = None
    k_lo, k_hi = int(k.min()), int(k.max())
    if k_hi - k_lo < (1 << rank_bits):
        # keys of one segment share their denominator, so when the keys' range fits
        # beside the segment id, the integer composite itself is exact
        order = np.argsort((s << rank_bits) | (k_hi - k), kind="stable")
    elif rank_bits >= 16:
        frac = k / den[active].astype(np.float64)
        lo, hi = float(frac.min()), float(frac.max())
        scale = float((1 << rank_bits) - 1)
        span = hi - lo
        rank = (
            np.zeros(s.size, dtype=np.int64)
            if span == 0.0
            else np.floor((hi - frac) / span * scale).astype(np.int64)
        )
        rank = np.clip(rank, 0, (1 << rank_bits) - 1)
        composite = (s << rank_bits) | rank
        order = np.argsort(composite, kind="stable")
        cs = composite[order]
        ks = k[order]
        clash = (cs[1:] == cs[:-1]) & (ks[1:] > ks[:-1])
        if clash.any():
            order = None
    if order is None:
        order = np.lexsort((np.arange(s.size), -k, s))
    need_act = need[active]
    if grouped:  # every segment's items keep their places, only reordered among them
        count = np.bincount(s)
        first = np.cumsum(count) - count
        picked = np.arange(s.size) - first[s] < need_act
    else:
        ss = s[order]
        count = np.bincount(ss)
        first = np.cumsum(count) - count  # where every segment starts among the sorted items
        picked = np.arange(ss.size) < first[ss] + need_act[order]
    chosen[active[order]] = picked
    return chosen


def apportion(
    total: npt.ArrayLike,
    weight: npt.ArrayLike,
    seg: IntArray,
    n_seg: int,
    units: npt.ArrayLike | None = None,
) -> IntArray:
    """Share ``total[s]`` over the items of segment ``s`` in proportion to ``weight``.

    Largest remainder: every item gets ``floor(|total|*w/W)`` and the units left over
    go to the largest remainders (ties to the lower index); a negative total gets
    exactly minus the shares of its magnitude (odd symmetry: a refund mirrors the
    charge to the minor unit). Each share is within one minor unit of ``total*w/W``,
    the shares add up to ``total`` exactly, and an item of weight zero gets nothing.

    All-zero weights: a segment with a non-zero total and no positive weight is shared
    by ``units`` instead (equal per unit, the same largest remainder; one unit per item
    when ``units`` is not given). ValueError if those are all zero too.
    """
    tot = as_int(total)
    w = as_int(weight)
    if seg.size == 0:
        return np.zeros(0, dtype=np.int64)
    if w.min(initial=0) < 0:
        raise ValueError("apportion needs non-negative weights")
    negative = tot < 0
    if negative.any():  # odd symmetry: share the magnitude, give the sign back
        share = apportion(np.abs(tot), w, seg, n_seg, units)
        share[negative[seg]] *= -1
        return share
    grouped = seg.size < 2 or bool((seg[1:] >= seg[:-1]).all())
    counts = np.bincount(seg, minlength=n_seg)
    wsum = grouped_sum(w, counts) if grouped else segment_sum(w, seg, n_seg)
    zero = (wsum == 0) & (tot != 0)
    if zero.any():  # the documented rule: equal by units, then the same rounding
        by_units = np.ones(seg.size, dtype=np.int64) if units is None else as_int(units)
        if by_units.min(initial=0) < 0:
            raise ValueError("apportion needs non-negative units")
        w = np.where(zero[seg], by_units, w)
        wsum = grouped_sum(w, counts) if grouped else segment_sum(w, seg, n_seg)
        if np.any((wsum == 0) & (tot != 0)):
            raise ValueError("an amount cannot be shared over items of zero weight and units")
    # only segments of two items or more with something to share need rounding; the
    # others come out right through the same arithmetic (a lone item's quotient is
    # exact, a zero total gives zeros), so when they are few every item goes through it
    rounded = (counts > 1) & (tot > 0)
    if 4 * int(counts[rounded].sum()) >= 3 * seg.size:
        den_seg = np.maximum(wsum, 1)
        den = den_seg[seg]
        # every segment with a total has items, so these are the gathered arrays' maxima
        maxima = (int(tot.max()), int(w.max()), int(den_seg.max()))
        q, r = _muldiv_nonneg(tot[seg], w, den, maxima)
        floors = grouped_sum(q, counts) if grouped else segment_sum(q, seg, n_seg)
        q += top_remainders(seg, r, den, tot - floors, counts, grouped)
        return q
    share = tot[seg]
    multi = np.flatnonzero(rounded[seg])
    if multi.size:
        s = seg[multi]
        den = np.maximum(wsum, 1)[s]
        q, r = _muldiv_nonneg(tot[s], w[multi], den)
        floors = (
            grouped_sum(q, np.where(rounded, counts, 0)) if grouped else segment_sum(q, s, n_seg)
        )
        left = tot - floors
        share[multi] = q + top_remainders(s, r, den, left, np.where(rounded, counts, 0), grouped)
    return share


def top_remainders(
    seg: IntArray, rem: IntArray, den: IntArray, left: IntArray, counts: IntArray, grouped: bool
) -> BoolArray:
    """Largest remainders: in every segment ``s``, the ``left[s]`` items with the largest ``rem``.

    :func:`select_top` for the units left over by floors (``rem`` the remainders over
    the segment's common ``den``, ``counts`` the items of each segment in ``seg``). Every
    item takes part in the one sort: an item without remainder sorts after those with
    one and is never reached, because the units left in a segment (the sum of its
    fractional parts, each below one) are at most its positive remainders.
    """
    n = seg.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    rank_bits = 62 - (counts.size - 1).bit_length()
    if int(rem.max()) >= 1 << rank_bits:
        return select_top(seg, rem, den, np.where(rem > 0, left[seg], 0), grouped=grouped)
    key = seg << rank_bits  # segment first, then the larger remainder
    key -= rem
    order = np.argsort(key, kind="stable")
    upto = np.cumsum(counts) - counts + left  # sorted positions taken in every segment
    s_sorted = seg if grouped else seg[order]  # grouped segments keep their places
    chosen = np.empty(n, dtype=bool)
    chosen[order] = np.arange(n) < upto[s_sorted]
    return chosen


def apportion_quotas(
    total: npt.ArrayLike,
    num_a: npt.ArrayLike,
    num_b: npt.ArrayLike,
    den: npt.ArrayLike,
    *,
    seg: IntArray,
    n_seg: int,
) -> IntArray:
    """Round quotas ``a*b/den`` (``den`` common per segment) to integers adding up to ``total``.

    Used where the total is itself a rounding of the quotas' sum (tax): the total
    must lie between the sum of floors and the sum of ceilings, and then every item
    gets the floor or the ceiling of its own quota, largest remainders first.
    """
    tot = as_int(total)
    d = as_int(den)
    q, r = muldiv(num_a, num_b, d)
    left = tot - segment_sum(q, seg, n_seg)
    room = segment_sum((r > 0).astype(np.int64), seg, n_seg)
    if np.any(left < 0) or np.any(left > room):
        raise ValueError("total is not a rounding of the quotas' sum")
    grouped = seg.size < 2 or bool((seg[1:] >= seg[:-1]).all())
    q += top_remainders(seg, r, d, left, np.bincount(seg, minlength=n_seg), grouped)
    return q


def controlled_round(
    seg: IntArray, row_total: npt.ArrayLike, col_total: npt.ArrayLike
) -> IntArray:
    """Round the rank-one table ``row_total[i] * col_total[s, m] / B[s]`` with both margins exact.

    Rows are items of segment ``seg[i]`` (lines of an order, parts of a line); columns
    are a few components (payment methods). ``B[s]`` is the segment's row total and
    must equal the sum of its column totals. Every cell becomes the floor or the
    ceiling of its exact value (within one minor unit), every row adds up to its
    ``row_total`` and every column of every segment to its ``col_total`` - a
    controlled rounding, not independent rounding per column.

    Method: floors first; then the cells still owed are chosen column by column, each
    column's units going to the rows with the least slack (remaining fractional cells
    minus remaining need), then the largest need (Ryser's greedy, vectorized over all
    segments). The few segments where the greedy would strand a unit (about one in
    100,000 random ones) are solved exactly as a bipartite b-matching instead.
    """
    b = as_int(row_total)
    cols = as_int(col_total)
    n_seg, m_cols = cols.shape
    n = b.size
    if n == 0:
        return np.zeros((0, m_cols), dtype=np.int64)
    big_b = segment_sum(b, seg, n_seg)
    if not np.array_equal(big_b, row_sum(cols)):
        raise ValueError("column totals must add up to the rows' total in every segment")
    if b.min() < 0 or cols.min(initial=0) < 0:
        raise ValueError("controlled_round needs non-negative totals")
    return np.ascontiguousarray(controlled_round_t(seg, b, cols, big_b).T)


def controlled_round_t(seg: IntArray, b: IntArray, cols: IntArray, big_b: IntArray) -> IntArray:
    """:func:`controlled_round` without its checks, as [columns, rows] (transposed).

    ``big_b`` is every segment's row total (the sum of its columns). The caller uses
    the columns one by one, so they are returned contiguous. Rows alone in their
    segment come out as their segment's columns through the general path (exact
    quotients, nothing to round); only when they are many are they set aside first.
    """
    n_seg, m_cols = cols.shape
    n = b.size
    if n == 0:
        return np.zeros((m_cols, 0), dtype=np.int64)
    counts = np.bincount(seg, minlength=n_seg)
    n_single = int(np.count_nonzero(counts == 1))
    if n_single == n:
        return np.take(cols.T, seg, axis=1)
    if 4 * n_single <= n:
        return _controlled_core(seg, b, cols, big_b, counts)
    out = np.take(cols.T, seg, axis=1)  # [columns, rows]
    multi = np.flatnonzero((counts > 1)[seg])
    used, sub_seg = _compress(seg[multi])
    out[:, multi] = _controlled_core(
        sub_seg, b[multi], np.take(cols, used, axis=0), big_b[used], counts[used]
    )
    return out


def _grouped_sum_t(
    values: IntArray, counts: IntArray, scratch: IntArray | None = None
) -> IntArray:
    """:func:`grouped_sum` along the rows of [columns, items] ``values``: [columns, runs].

    ``scratch`` (same shape, no longer needed) takes the running sums instead of new memory.
    """
    end = np.cumsum(counts)
    at_end = np.cumsum(values, axis=1, out=scratch)[:, end - 1]
    if end[0] == 0:
        at_end[:, end == 0] = 0
    out = at_end.copy()
    out[:, 1:] -= at_end[:, :-1]
    return out


def _controlled_core(
    seg: IntArray, b: IntArray, cols: IntArray, big_b: IntArray, counts: IntArray
) -> IntArray:
    """:func:`controlled_round` of non-empty rows (no checks), transposed.

    Returns the table as [columns, rows]: floors for all columns at once, then the
    greedy column by column on contiguous 1-D arrays; each column's choice is one
    stable sort of (segment, priority) composites. ``counts`` is the rows per segment.
    """
    n_seg, m_cols = cols.shape
    n = b.size
    den = np.maximum(big_b, 1)
    den_row = den[seg]
    grouped = n < 2 or bool((seg[1:] >= seg[:-1]).all())
    cols_t = np.ascontiguousarray(cols.T)
    q = np.take(cols_t, seg, axis=1)  # every cell's column total, then its floor
    if int(den.max()) < _INT64_SQRT:  # cells' products fit: b and the columns are <= B
        r = q * b
        np.floor_divide(r, den_row, out=q)
        r -= q * den_row
    else:
        q, r = muldiv(b, q, den_row)
    frac = r > 0
    need_row = b - q.sum(axis=0)
    if grouped:
        need_col = cols_t - _grouped_sum_t(q, counts, scratch=r)
    else:
        need_col = np.stack([cols_t[m] - segment_sum(q[m], seg, n_seg) for m in range(m_cols)])
    if not need_row.any():
        return q
    left = np.count_nonzero(frac, axis=0)  # fractional cells left from column m on, per row

    failed = np.zeros(n_seg, dtype=bool)
    key_bits = (2 * m_cols + 2).bit_length() + (m_cols + 1).bit_length() + 1
    for m in range(m_cols - 1):
        want = need_col[m]  # zero exactly where the column has no fractional cell
        idx = np.flatnonzero(frac[m] & (need_row > 0))
        left -= frac[m]
        if idx.size:
            nr = need_row[idx]
            # priority: least slack (left + 1 - need, < 0 only in failed segments), then
            # largest need; ties to the lower row
            prio = left[idx]
            prio -= nr
            np.maximum(prio, -1, out=prio)
            prio += 2
            prio *= m_cols + 1
            prio -= nr
            seg_idx = seg[idx]
            key = seg_idx << key_bits
            key |= prio
            order = np.argsort(key, kind="stable")
            # sorted by segment first: grouped segments stay where they were
            s_sorted = seg_idx if grouped else seg_idx[order]
            count = np.bincount(s_sorted, minlength=n_seg)
            upto = np.cumsum(count) - count + want  # positions taken in every segment
            chosen = np.arange(idx.size) < upto[s_sorted]
            got = np.zeros(n, dtype=bool)  # a scatter, much faster than a masked gather
            got[idx[order]] = chosen
            need_row -= got
            q[m] += got
            failed |= count < want
        else:
            failed |= want > 0
    # a row stranded on the way (needing more units than it has fractional cells left)
    # stays so: need - left never decreases, so it ends needing more than its last cell.
    # The last column takes what every row still needs (0 or 1, on a fractional cell);
    # in a segment not failed so far the rows still need need_col[-1] units in all
    # (both margins add up to B), so rows needing 0 or 1 give the last column its total
    last = need_row > 0
    bad_row = (need_row > 1) | (last & ~frac[-1])
    if bad_row.any():
        failed[seg[bad_row]] = True
    q[-1] += last
    if failed.any():
        bad = np.flatnonzero(failed)
        logger.debug("controlled rounding: exact b-matching for %d segment(s)", bad.size)
        for sid in bad:
            rows = np.flatnonzero(seg == sid)
            base = np.stack(
                [muldiv(b[rows], np.full(rows.size, cols[sid, m]), np.full(rows.size, den[sid]))[0]
                 for m in range(m_cols)], axis=1)
            z = _b_matching(
                frac[:, rows].T, b[rows] - base.sum(axis=1), cols[sid] - base.sum(axis=0)
            )
            q[:, rows] = (base + z).T
    return q


def _b_matching(allowed: BoolArray, row_need: IntArray, col_need: IntArray) -> BoolArray:
    """A 0/1 matrix on ``allowed`` cells with the given row and column sums (max flow).

    The fallback of :func:`controlled_round` for one segment; a solution always exists
    (the fractional parts are a fractional one, and the constraint matrix is totally
    unimodular), so failing to find one is a bug and raises.
    """
    n_rows, n_cols = allowed.shape
    z = np.zeros((n_rows, n_cols), dtype=bool)
    col_left = [int(c) for c in col_need]
    owner: list[list[int]] = [[] for _ in range(n_cols)]  # rows holding a unit of column
    for i in range(n_rows):
        for _ in range(int(row_need[i])):
            # BFS from row i over (row -> allowed free column) and (column -> holder row)
            parent_col: dict[int, int] = {}
            parent_row: dict[int, int] = {}
            seen_rows = {i}
            queue: deque[int] = deque([i])
            end = -1
            while queue and end < 0:
                row = queue.popleft()
                for col in range(n_cols):
                    if not allowed[row, col] or z[row, col] or col in parent_col:
                        continue
                    parent_col[col] = row
                    if col_left[col] > 0:
                        end = col
                        break
                    for holder in owner[col]:
                        if holder not in seen_rows:
                            seen_rows.add(holder)
                            parent_row[holder] = col
                            queue.append(holder)
            if end < 0:
                raise ArithmeticError("no controlled rounding found")  # pragma: no cover
            col_left[end] -= 1
            col = end
            while True:
                row = parent_col[col]
                z[row, col] = True
                owner[col].append(row)
                if row == i:
                    break
                prev = parent_row[row]
                z[row, prev] = False
                owner[prev].remove(row)
                col = prev
    return z


def controlled_round_columns(num: list[list[int]], den: list[int]) -> list[list[int]]:
    """Round the table ``num[i][a] / den[a]`` keeping every column total, rows within one.

    For one small table in plain Python (the line x discount-activity table of an
    order with overlapping activities). Column totals must be integers and stay exact;
    every cell becomes the floor or the ceiling of its exact value, and so does every
    row total (a controlled rounding of the table with free row margins). Solved as
    the b-matching of :func:`_b_matching` on the table plus a slack column that rounds
    each row total up to its ceiling; deterministic.
    """
    n_rows = len(num)
    n_cols = len(den)
    if n_rows == 0 or n_cols == 0:
        return [[0] * n_cols for _ in range(n_rows)]
    floor = [[num[i][a] // den[a] for a in range(n_cols)] for i in range(n_rows)]
    allowed = np.zeros((n_rows, n_cols + 1), dtype=bool)
    row_need = np.zeros(n_rows, dtype=np.int64)
    col_need = np.zeros(n_cols + 1, dtype=np.int64)
    for a in range(n_cols):
        total = Fraction(sum(num[i][a] for i in range(n_rows)), den[a])
        if total.denominator != 1:
            raise ValueError("column totals must be integers")
        col_need[a] = int(total) - sum(floor[i][a] for i in range(n_rows))
    for i in range(n_rows):
        exact = sum((Fraction(num[i][a], den[a]) for a in range(n_cols)), Fraction(0))
        ceil = -((-exact.numerator) // exact.denominator)
        row_need[i] = ceil - sum(floor[i])
        allowed[i, n_cols] = exact.denominator != 1
        for a in range(n_cols):
            allowed[i, a] = num[i][a] % den[a] != 0
    col_need[n_cols] = int(row_need.sum() - col_need[:n_cols].sum())
    z = _b_matching(allowed, row_need, col_need)
    return [[floor[i][a] + int(z[i, a]) for a in range(n_cols)] for i in range(n_rows)]
