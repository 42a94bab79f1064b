"""Odd symmetry, the all-zero-weight rule and peers' published test vectors.

A refund allocated with the same rules must mirror the charge to the minor unit:
allocating ``-x`` gives exactly minus the allocation of ``x``, in the scalar kernel
(:func:`apportion_list`), the vectorized one (:func:`apportion`) and both order
allocators (:func:`allocate_batch`, :func:`allocate_one`). All-zero weights share a
non-zero amount equally by units, by the same largest remainder.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_money_batch import Order, build, check_invariants, orders

from ordersplit.money.batch import allocate_batch
from ordersplit.money.rounding import apportion, segment_sum
from ordersplit.money.small import allocate_one, apportion_list

FIELDS = ("orders", "lines", "children", "parts", "line_components", "part_components")

amounts = st.one_of(st.integers(-10**12, 10**12), st.sampled_from([-1, 0, 1, -1000, 1000]))
weight_lists = st.lists(st.one_of(st.integers(0, 10**9), st.sampled_from([0, 0, 1, 2])),
                        min_size=1, max_size=12)


def _vector(total: int, weights: list[int], units: list[int] | None = None) -> list[int]:
    seg = np.zeros(len(weights), dtype=np.int64)
    return apportion([total], weights, seg, 1, units).tolist()


@settings(max_examples=1000, deadline=None)
@given(amounts, weight_lists, st.data())
def test_apportion_is_odd_symmetric_exact_and_bounded(total: int, weights: list[int],
                                                      data: st.DataObject) -> None:
    units = data.draw(st.lists(st.integers(1, 5), min_size=len(weights),
                               max_size=len(weights)))
    share = _vector(total, weights, units)
    assert share == apportion_list(total, weights, units)  # scalar == vectorized
    assert _vector(-total, weights, units) == [-x for x in share]
    assert sum(share) == total
    base = weights if sum(weights) else units  # the all-zero-weight rule: by units
    for x, w in zip(share, base, strict=True):
        assert abs(x - Fraction(total * w, sum(base))) < 1
        if w == 0:
            assert x == 0


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(amounts, weight_lists), min_size=1, max_size=20))
def test_apportion_segments_mirror_one_by_one(groups: list[tuple[int, list[int]]]) -> None:
    seg = np.array([g for g, (_, w) in enumerate(groups) for _ in w], dtype=np.int64)
    weights = np.array([x for _, w in groups for x in w], dtype=np.int64)
    totals = np.array([t for t, _ in groups], dtype=np.int64)
    shares = apportion(totals, weights, seg, len(groups))
    assert np.array_equal(apportion(-totals, weights, seg, len(groups)), -shares)
    assert np.array_equal(segment_sum(shares, seg, len(groups)), totals)
    alone = [x for t, w in groups for x in apportion_list(t, w)]
    assert shares.tolist() == alone


def test_minus_1000_over_three_equal_lines_mirrors_plus_1000() -> None:
    assert _vector(1000, [1, 1, 1]) == [334, 333, 333]
    assert _vector(-1000, [1, 1, 1]) == [-334, -333, -333]
    assert apportion_list(-1000, [1, 1, 1]) == [-334, -333, -333]


def test_all_zero_weights_share_equally_by_units() -> None:
    # an order discount over free gifts: 5.00 over gift lines of 1, 2 and 2 units
    assert _vector(500, [0, 0, 0], [1, 2, 2]) == [100, 200, 200]
    assert _vector(7, [0, 0, 0], [1, 1, 1]) == [3, 2, 2]  # largest remainder, earlier first
    assert _vector(-7, [0, 0, 0]) == [-3, -2, -2]
    assert apportion_list(7, [0, 0, 0]) == [3, 2, 2]
    with pytest.raises(ValueError, match="zero weight and units"):
        _vector(7, [0, 0], [0, 0])


def test_negative_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative weights"):
        _vector(10, [1, -1])
    with pytest.raises(ValueError, match="non-negative weights"):
        apportion_list(10, [1, -1])


def refund(order: Order) -> Order:
    """The same order with every money input negated."""
    return replace(order, goods=[-g for g in order.goods], disc=[-d for d in order.disc],
                   acts=[(-a, lines) for a, lines in order.acts], fee=-order.fee,
                   pay=[-p for p in order.pay])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(orders(), st.booleans()), min_size=1, max_size=20))
def test_refund_orders_mirror_their_charges_in_both_allocators(
        generated: list[tuple[Order, bool]]) -> None:
    charges = build([o for o, _ in generated])
    mixed = build([refund(o) if neg else o for o, neg in generated])
    want = allocate_batch(charges)
    got = allocate_batch(mixed)
    line_neg = np.array([neg for (o, neg) in generated for _ in o.goods], dtype=bool)
    rows = {"orders": np.array([neg for _, neg in generated], dtype=bool),
            "lines": line_neg, "line_components": line_neg,
            "children": np.array([neg for (o, neg) in generated for _ in o.kinds], dtype=bool),
            "parts": line_neg[mixed.part_line], "part_components": line_neg[mixed.part_line]}
    for name in FIELDS:
        sign = np.where(rows[name], -1, 1)[:, None]
        assert np.array_equal(getattr(got, name), sign * getattr(want, name)), name
    check_invariants(charges, want)
    for (order, neg) in generated[:3]:  # the plain-Python path mirrors the same way
        one = allocate_one(build([refund(order) if neg else order]))
        ref = allocate_one(build([order]))
        for name in FIELDS:
            assert np.array_equal(getattr(one, name), (-1 if neg else 1) * getattr(ref, name))


def test_an_order_mixing_charges_and_refunds_is_refused() -> None:
    order = Order(goods=[1000, 500], disc=[0, 0], rate=[0, 0], acts=[], kinds=[0],
                  parts=[(0, 0, 1), (0, 1, 1)], fee=-100, pay=[0, 0, 0, 1400, 0],
                  invoice=[True] * 5, first_child=False)
    with pytest.raises(ValueError, match="mixes charges and refunds"):
        allocate_batch(build([order]))


# -- peers' own test vectors that follow from our rules --------------------------------

@pytest.mark.parametrize(("weights", "total", "expected"), [
    ([123], 300, [300]),
    ([4000, 2000, 2000], 300, [150, 75, 75]),
    ([4000, 2000, 2000], -300, [-150, -75, -75]),
    ([4300, 1400, 2300], 299, [161, 52, 86]),
    ([1000, 1000, 1000], 299, [100, 100, 99]),
    ([10, 20, 10, 30, 50, 20, 10, 40], 95, [5, 10, 5, 15, 25, 10, 5, 20]),
    ([10, 20, 10, 30, 50, 20, 10, 40], 93, [5, 10, 5, 15, 24, 10, 5, 19]),
    ([10, 0], 40, [40, 0]),
    ([0, 0], 10, [5, 5]),
    ([0, 0], 0, [0, 0]),
    ([100, 100], -20, [-10, -10]),
])
def test_vendure_prorate_vectors(weights: list[int], total: int, expected: list[int]) -> None:
    """Vendure's ``prorate()`` spec, every case (its zero weights split evenly, as ours)."""
    assert _vector(total, weights) == expected
    assert apportion_list(total, weights) == expected


@pytest.mark.parametrize(("weights", "total", "expected"), [
    ([4000, 2000, 2000], 300, [150, 75, 75]),
    ([4000, 2000, 2000], -300, [-150, -75, -75]),
    ([4300, 1400, 2300], -299, [-161, -52, -86]),
])
def test_sylius_proportional_integer_distributor_vectors(
        weights: list[int], total: int, expected: list[int]) -> None:
    """Sylius' ProportionalIntegerDistributor spec where its leftover rule agrees with ours.

    (Its ``[4300, 1400, 2300]`` over 300 gives the leftover unit to the first item,
    ``[162, 52, 86]``; largest remainder gives it to the 0.5 remainder: ``[161, 53, 86]``.
    Its ``[0]`` over -299 drops the amount; ours puts it on the only item.)
    """
    assert _vector(total, weights) == expected


def test_solidus_distributed_amounts_handler_vectors() -> None:
    """Solidus' (and earlier Spree's) DistributedAmountsHandler spec, in cents.

    10.00 over three equal lines: Solidus checks the multiset (``match_array``); the older
    spec wanted the odd cent on the last line, ours goes to the first (ties: earlier).
    """
    assert _vector(1500, [5000, 5000, 5000]) == [500, 500, 500]
    assert sorted(_vector(1000, [5000, 5000, 5000])) == [333, 333, 334]  # its match_array
    assert _vector(1500, [15000, 5000, 10000]) == [750, 250, 500]
