"""The rounding kernels against exact integer and ``Fraction`` arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.money.rounding import (
    _b_matching,
    apportion,
    controlled_round,
    muldiv,
    segment_sum,
    select_top,
)

BIG = 2**53 - 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, BIG), st.integers(0, BIG), st.integers(1, BIG)),
                min_size=1, max_size=50))
def test_muldiv_is_exact(triples: list[tuple[int, int, int]]) -> None:
    triples = [(a, b, c) for a, b, c in triples if a * b // c < 2**52]
    if not triples:
        return
    a, b, c = (np.array(x, dtype=np.int64) for x in zip(*triples, strict=True))
    q, r = muldiv(a, b, c)
    for (x, y, z), qq, rr in zip(triples, q, r, strict=True):
        assert (int(qq), int(rr)) == divmod(x * y, z)


def test_muldiv_rejects_overflow() -> None:
    with pytest.raises(OverflowError):
        muldiv([2**60], [2], [1])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1, 7, 10**12, 3 * 10**13]),
            st.lists(st.sampled_from([0, 1, 1, 2, 10**9, 10**12]), min_size=1, max_size=40),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_apportion_exact_within_one_zero_weight_nothing(groups: list) -> None:
    groups = [(t if sum(w) else 0, w) for t, w in groups]
    seg = np.array([g for g, (_, w) in enumerate(groups) for _ in w], dtype=np.int64)
    weights = np.array([x for _, w in groups for x in w], dtype=np.int64)
    totals = np.array([t for t, _ in groups], dtype=np.int64)
    shares = apportion(totals, weights, seg, len(groups))
    assert np.array_equal(segment_sum(shares, seg, len(groups)), totals)
    i = 0
    for t, w in groups:
        for x in w:
            exact = Fraction(t * x, sum(w)) if sum(w) else Fraction(0)
            assert abs(int(shares[i]) - exact) < 1
            if x == 0:
                assert shares[i] == 0
            i += 1


def test_one_cent_over_many_equal_lines_goes_to_the_first() -> None:
    seg = np.zeros(10, dtype=np.int64)
    shares = apportion([3], np.ones(10, dtype=np.int64), seg, 1)
    assert shares.tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]


def test_select_top_exact_when_float_ranks_collide() -> None:
    # keys differing by one part in 2**53 collapse in float; the exact path must decide
    den = np.full(3, 2**53 - 1, dtype=np.int64)
    key = np.array([2**53 - 3, 2**53 - 2, 1], dtype=np.int64)
    seg = np.full(3, 2**21, dtype=np.int64)  # a large segment id leaves no room for the key
    chosen = select_top(seg, key, den, np.full(3, 1, dtype=np.int64))
    assert chosen.tolist() == [False, True, False]


def _check_controlled(seg: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    y = controlled_round(seg, rows, cols)
    assert np.array_equal(y.sum(axis=1), rows)
    assert np.array_equal(segment_sum(y, seg, cols.shape[0]), cols)
    big = segment_sum(rows, seg, cols.shape[0])
    for i in range(rows.size):
        for m in range(cols.shape[1]):
            b = int(big[seg[i]])
            exact = Fraction(int(rows[i]) * int(cols[seg[i], m]), b) if b else Fraction(0)
            assert abs(int(y[i, m]) - exact) < 1


def test_controlled_round_needs_the_exact_fallback() -> None:
    # the column-by-column greedy strands a unit here; the b-matching must finish it
    seg = np.zeros(5, dtype=np.int64)
    _check_controlled(seg, np.array([0, 3, 3, 4, 2]), np.array([[2, 4, 6, 0]]))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_controlled_round_both_margins_exact(data: st.DataObject) -> None:
    n_seg = data.draw(st.integers(1, 30))
    n_cols = data.draw(st.integers(1, 6))
    seg, rows, cols = [], [], []
    for s in range(n_seg):
        b = data.draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 17, 999, 10**10]),
                               min_size=1, max_size=10))
        total = sum(b)
        cuts = sorted(data.draw(st.integers(0, total)) for _ in range(n_cols - 1))
        cols.append([y - x for x, y in zip([0, *cuts], [*cuts, total], strict=True)])
        seg += [s] * len(b)
        rows += b
    _check_controlled(np.array(seg, dtype=np.int64), np.array(rows, dtype=np.int64),
                      np.array(cols, dtype=np.int64))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_b_matching_alone_solves_rank_one_tables(data: st.DataObject) -> None:
    b = data.draw(st.lists(st.integers(0, 30), min_size=1, max_size=8))
    total = sum(b)
    n_cols = data.draw(st.integers(1, 5))
    cuts = sorted(data.draw(st.integers(0, total)) for _ in range(n_cols - 1))
    cols = [y - x for x, y in zip([0, *cuts], [*cuts, total], strict=True)]
    t = max(total, 1)
    floor = np.array([[x * c // t for c in cols] for x in b], dtype=np.int64)
    frac = np.array([[x * c % t > 0 for c in cols] for x in b])
    z = _b_matching(frac, np.array(b) - floor.sum(axis=1), np.array(cols) - floor.sum(axis=0))
    assert np.array_equal((floor + z).sum(axis=1), b)
    assert np.array_equal((floor + z).sum(axis=0), cols)
    assert not (z & ~frac).any()
