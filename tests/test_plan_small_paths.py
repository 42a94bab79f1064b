"""The plan builder's and the compiler's small-order ways give what the general ways
give: the assignment's cells, the stock matrix, the amounts' decimal strings."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.models.currency import format_minor
from ordersplit.models.request import Warehouse
from ordersplit.money.plan import format_rows
from ordersplit.plan import children
from ordersplit.rules import presource
from ordersplit.rules.presource import Candidate, capacity_of, fastest_first
from ordersplit.solver.compile import _stock_matrix, _stock_matrix_c
from ordersplit.solver.problem import UNLIMITED


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(1, 40), st.integers(0, 2**31), st.booleans())
def test_nonzero_cells_small_and_wide_agree(n: int, m: int, seed: int, wide: bool) -> None:
    """Both ways list every nonzero cell, row-major, with its units (the wide way is
    taken by shrinking the threshold below the matrix)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, m)) * (rng.random((n, m)) < 0.2)
    want = [(i, w, int(x[i, w])) for i in range(n) for w in range(m) if x[i, w]]
    limit = children.SMALL_ASSIGNMENT
    try:
        if wide:
            children.SMALL_ASSIGNMENT = 0
        assert list(children._nonzero_cells(x)) == want
    finally:
        children.SMALL_ASSIGNMENT = limit


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans())
def test_small_stock_matrix_is_the_c_walk(data: st.DataObject, counted: bool) -> None:
    """The buffer-filled matrix of a small network equals the C walk's, cell for cell
    (SKUs the order does not use ignored; ``UNLIMITED`` where listed with the stock
    rule off), and can be taken from in place as the bulky lines do."""
    skus = [f"S{k}" for k in range(data.draw(st.integers(1, 6)))]
    warehouses = [
        Warehouse(id=f"W{w}", stock=data.draw(st.dictionaries(
            st.sampled_from([*skus, "OTHER"]), st.integers(0, 10**9), max_size=7)))
        for w in range(data.draw(st.integers(0, 8)))]
    used = data.draw(st.lists(st.sampled_from(skus), min_size=1, unique=True))
    sku_index = {sku: k for k, sku in enumerate(used)}
    got = _stock_matrix(warehouses, sku_index, counted)
    want = _stock_matrix_c([wh.stock for wh in warehouses], sku_index, counted)
    assert got.dtype == np.int64 and got.shape == want.shape
    assert np.array_equal(got, want)
    if not counted:
        assert set(np.unique(got).tolist()) <= {0, UNLIMITED}
    if got.size:
        got[0, 0] -= 0  # writable, as the rules take stock from it in place


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_capacity_of_is_the_fewest_whole_units_any_sku_allows(data: st.DataObject) -> None:
    """Each allowed warehouse ships as many whole units as its scarcest SKU allows (the
    SKU's stock floor-divided by the units one uses), others none; a new array each time,
    the stock untouched."""
    m, n_skus = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 5))
    stock = np.array(data.draw(st.lists(st.lists(st.integers(0, 10**12), min_size=n_skus,
                                                 max_size=n_skus), min_size=m, max_size=m)),
                     dtype=np.int64)
    usage = data.draw(st.dictionaries(st.integers(0, n_skus - 1), st.integers(1, 50),
                                      min_size=1))
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    before = stock.copy()
    want = [min(int(stock[w, k]) // u for k, u in usage.items()) if allowed[w] else 0
            for w in range(m)]
    got = capacity_of(stock, usage, allowed)
    assert got.dtype == np.int64 and got.tolist() == want
    assert np.array_equal(stock, before)
    got[:] = -1  # the caller's to change: never a view of the stock
    assert np.array_equal(stock, before)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_shippable_quantities_small_and_wide_agree(data: st.DataObject) -> None:
    """The small networks' supply (one vector-matrix product) gives every candidate the
    same shippable units as the wide way (the allowed rows copied and summed), taken by
    shrinking the threshold below the stock matrix; the stock is left as it was."""
    m, n_skus = data.draw(st.integers(0, 8)), data.draw(st.integers(1, 4))
    stock = np.array(data.draw(st.lists(st.lists(st.integers(0, 6), min_size=n_skus,
                                                 max_size=n_skus), min_size=m, max_size=m)),
                     dtype=np.int64).reshape(m, n_skus)
    masks = [np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
             for _ in range(2)]
    cands = []
    for li in range(data.draw(st.integers(1, 6))):
        allowed = masks[data.draw(st.integers(0, 1))]
        if data.draw(st.booleans()):  # a plain line
            usage = {data.draw(st.integers(0, n_skus - 1)): 1}
            cands.append(Candidate(li, None, data.draw(st.integers(1, 9)), usage, True,
                                   False, 0, allowed))
        else:  # a bundle
            usage = data.draw(st.dictionaries(st.integers(0, n_skus - 1), st.integers(1, 3),
                                              min_size=1))
            cands.append(Candidate(li, None, data.draw(st.integers(1, 3)), usage, False,
                                   False, 0, allowed))
    order = fastest_first(data.draw(st.lists(st.integers(-1, 99), min_size=m, max_size=m)))
    before = stock.copy()
    small = presource.shippable_quantities(cands, stock, order)
    limit = presource.SMALL_SUPPLY
    try:
        presource.SMALL_SUPPLY = -1
        wide = presource.shippable_quantities(cands, stock, order)
    finally:
        presource.SMALL_SUPPLY = limit
    assert small == wide
    assert all(0 <= units <= c.quantity for units, c in zip(small, cands, strict=True))
    assert np.array_equal(stock, before)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), st.integers(1, 5), st.data())
def test_format_rows_formats_every_amount(exponent: int, n_keys: int,
                                          data: st.DataObject) -> None:
    """Every amount of every row becomes :func:`format_minor` of it, negatives and
    repeated values included, under its own key and in key order."""
    keys = tuple(f"k{j}" for j in range(n_keys))
    values = st.one_of(st.integers(-10**6, 10**6), st.sampled_from([0, 1, -1, 10**16]))
    row = st.lists(values, min_size=n_keys, max_size=n_keys)
    parent = data.draw(row)
    kids = data.draw(st.lists(row, max_size=4))
    parts = data.draw(st.lists(row, max_size=6))
    got_kids, got_parts, got_parent = format_rows(keys, exponent, parent, kids, parts)

    def want(r: list[int]) -> dict[str, str]:
        return {k: format_minor(v, exponent) for k, v in zip(keys, r, strict=True)}

    assert got_parent == want(parent)
    assert got_kids == [want(r) for r in kids]
    assert got_parts == [want(r) for r in parts]
    assert all(list(d) == list(keys) for d in [got_parent, *got_kids, *got_parts])
