"""The compiled group arrays (:mod:`ordersplit.solver.group_prep`) equal their numpy
definitions on random groups: the warehouses that can help in (hours, cost, id) order
with the fully dominated ones left out, and every kernel array built from them."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.solver import group_prep
from ordersplit.solver.combination import applicable
from ordersplit.solver.cover_kernel import pack
from ordersplit.solver.evaluate import evaluate, evaluate_numpy, fragments
from ordersplit.solver.partial_kernel import dominance, full_dominated
from ordersplit.solver.problem import SplitProblem


def _reference_group(supply: np.ndarray, ok: np.ndarray, hours: np.ndarray, cost: np.ndarray,
                     demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The definition: reachable warehouses that supply something, fastest, then
    cheapest, then first; those another one fully dominates left out."""
    wh = np.flatnonzero(ok & supply.any(axis=1))
    wh = wh[np.lexsort((wh, cost[wh], hours[wh]))]
    sup = supply[wh]
    if wh.size > 1:
        deg = (sup > 0).sum(axis=1).astype(np.int64)
        welem = np.zeros((wh.size, max(1, int(deg.max(initial=0)))), dtype=np.int64)
        for w in range(wh.size):
            welem[w, :deg[w]] = np.flatnonzero(sup[w])
        out = np.zeros(wh.size, dtype=np.bool_)
        assert full_dominated(sup, welem, deg, demand, hours[wh], cost[wh], out, math.inf)
        wh, sup = wh[~out], sup[~out]
    return wh, sup


def _reference_floor(sup: np.ndarray, demand: np.ndarray, hours: np.ndarray) -> int:
    reach = np.cumsum(sup, axis=0) >= demand[None, :]
    if sup.shape[0] == 0 or not reach[-1].all() or demand.size == 0:
        return 0
    return int(hours[reach.argmax(axis=0)].max())


@st.composite
def groups(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n_w = draw(st.integers(0, 80))  # beyond one 64-bit word too
    n_e = draw(st.integers(1, 6))
    demand = np.array(draw(st.lists(st.integers(1, 5), min_size=n_e, max_size=n_e)),
                      dtype=np.int64)
    cells = draw(st.lists(st.integers(0, 6), min_size=n_w * n_e, max_size=n_w * n_e))
    supply = np.minimum(np.array(cells, dtype=np.int64).reshape(n_w, n_e), demand[None, :])
    hours = np.array(draw(st.lists(st.integers(0, 4), min_size=n_w, max_size=n_w)),
                     dtype=np.int64)
    cost = np.array(draw(st.lists(st.integers(0, 2), min_size=n_w, max_size=n_w)),
                    dtype=np.int64)
    ok = np.array(draw(st.lists(st.booleans(), min_size=n_w, max_size=n_w)), dtype=np.bool_)
    return supply, ok, hours, cost, demand


@settings(max_examples=150, deadline=None)
@given(groups())
def test_group_arrays_match_their_definition(group: tuple[np.ndarray, ...]) -> None:
    supply, ok, hours, cost, demand = group
    ro = group_prep.readonly
    wh, sup, welem, wdeg, done = group_prep.group_arrays(ro(supply), ok, ro(hours), ro(cost),
                                                         ro(demand), math.inf)
    assert done
    want_wh, want_sup = _reference_group(supply, ok, hours, cost, demand)
    assert wh.tolist() == want_wh.tolist()
    assert np.array_equal(sup, want_sup)
    for w in range(wh.size):
        assert welem[w, :wdeg[w]].tolist() == np.flatnonzero(sup[w]).tolist()


@settings(max_examples=150, deadline=None)
@given(groups())
def test_bit_arrays_match_their_definition(group: tuple[np.ndarray, ...]) -> None:
    supply, ok, hours, cost, demand = group
    wh, sup = _reference_group(supply, ok, hours, cost, demand)
    hrs = hours[wh]
    binary, cand, cov, k_order, floor, by_size, n_by = group_prep.bit_arrays(sup, demand, hrs)
    full = sup > 0
    assert binary == bool(((sup == 0) | (sup == demand[None, :])).all())
    assert np.array_equal(cand, pack(full.T))
    assert np.array_equal(cov, pack(full))
    assert k_order.tolist() == np.argsort(full.sum(axis=0), kind="stable").tolist()
    assert floor == _reference_floor(sup, demand, hrs)
    assert np.array_equal(by_size, np.argsort(-sup, axis=0, kind="stable").T)
    assert n_by.tolist() == full.sum(axis=0).tolist()


@settings(max_examples=150, deadline=None)
@given(groups(), st.booleans(), st.booleans())
def test_group_bits_is_group_arrays_then_bit_arrays_and_dominance(
        group: tuple[np.ndarray, ...], timed: bool, dear: bool) -> None:
    """The one-call build equals the two-call one it replaces on unpriced groups."""
    supply, ok, hours, cost, demand = group
    ro = group_prep.readonly
    got = group_prep.group_bits(ro(supply), ok, ro(hours), ro(cost), ro(demand), math.inf,
                                timed, dear)
    wh, sup, welem, wdeg, hrs, cst, binary, *bits, dom_count, dom_terms, done = got
    assert done
    want = group_prep.group_arrays(ro(supply), ok, ro(hours), ro(cost), ro(demand), math.inf)
    for a, b in zip((wh, sup, welem, wdeg), want[:4], strict=True):
        assert np.array_equal(a, b)
    assert hrs.tolist() == hours[wh].tolist() and cst.tolist() == cost[wh].tolist()
    want_bits = group_prep.bit_arrays(sup, demand.copy(), hrs)
    assert binary == want_bits[0]
    for a, b in zip(bits, want_bits[1:], strict=True):
        assert np.array_equal(a, b)
    for dom, flags in ((dom_count, (False, False)), (dom_terms, (timed, dear))):
        want_dom = np.zeros_like(dom)
        if not binary:
            assert dominance(sup, welem, wdeg, hrs, cst, *flags, want_dom, math.inf)
        assert np.array_equal(dom, want_dom)


@settings(max_examples=150, deadline=None)
@given(groups())
def test_whole_warehouses_match_their_definition(group: tuple[np.ndarray, ...]) -> None:
    supply, ok, _, _, demand = group
    got = group_prep.whole_warehouses(group_prep.readonly(supply), ok,
                                      group_prep.readonly(demand))
    assert got.tolist() == np.flatnonzero(ok & (supply >= demand[None, :]).all(axis=1)).tolist()


def test_group_arrays_stop_at_a_passed_deadline() -> None:
    supply = np.ones((3, 1), dtype=np.int64)
    ro = group_prep.readonly
    *_, done = group_prep.group_arrays(ro(supply), np.ones(3, dtype=np.bool_),
                                       ro(np.arange(3, dtype=np.int64)),
                                       ro(np.zeros(3, dtype=np.int64)),
                                       ro(np.ones(1, dtype=np.int64)), 0.0)
    assert not done


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.data())
def test_coverable_matches_its_definition(n: int, k: int, g: int, data: st.DataObject) -> None:
    """:attr:`SplitProblem.coverable` (masked min and max) equals the definition: no SKU
    used by a bundle or an unsplittable item is used by another item, and every SKU of
    several items has one group."""
    usage = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n * k, max_size=n * k)),
                     dtype=np.int64).reshape(n, k)
    splittable = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    group = np.array(data.draw(st.lists(st.integers(0, g - 1), min_size=n, max_size=n)),
                     dtype=np.int64)
    problem = SplitProblem(
        quantity=np.ones(n, dtype=np.int64), usage=usage, splittable=splittable, group=group,
        stock=np.ones((2, k), dtype=np.int64), allowed=np.ones((n, 2), dtype=bool),
        hours=np.arange(2, dtype=np.int64), cost=np.zeros(2, dtype=np.int64))
    uses = usage > 0
    one = (uses.sum(axis=1) == 1) & (usage.sum(axis=1) == 1)
    assert problem.single_sku.tolist() == np.where(one, uses.argmax(axis=1), -1).tolist()
    merged = (problem.single_sku >= 0) & splittable
    want = True
    for sku in range(k):
        users = np.flatnonzero(uses[:, sku])
        if users.size > 1 and (not merged[users].all() or np.unique(group[users]).size > 1):
            want = False
    assert problem.coverable == want


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.data())
def test_applicable_is_one_reach_per_group(n: int, m: int, g: int, data: st.DataObject) -> None:
    """:func:`applicable` (children first, per warehouse) holds exactly when the items of
    each group may ship from the same warehouses."""
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)),
                       dtype=bool).reshape(n, m)
    group = np.array(data.draw(st.lists(st.integers(0, g - 1), min_size=n, max_size=n)),
                     dtype=np.int64)
    problem = SplitProblem(
        quantity=np.ones(n, dtype=np.int64), usage=np.ones((n, 1), dtype=np.int64),
        splittable=np.ones(n, dtype=bool), group=group, stock=np.ones((m, 1), dtype=np.int64),
        allowed=allowed, hours=np.arange(m, dtype=np.int64), cost=np.zeros(m, dtype=np.int64),
        objective=("children", "makespan"))
    want = all(len({allowed[i].tobytes() for i in np.flatnonzero(group == h)}) <= 1
               for h in range(g))
    assert applicable(problem) == want


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 6), st.integers(1, 5), st.integers(1, 3), st.booleans(), st.data())
def test_evaluate_compiled_equals_numpy(n: int, m: int, g: int, per_warehouse: bool,
                                        data: st.DataObject) -> None:
    """Every objective term of :func:`evaluate` (one compiled pass) equals its numpy
    definition, with lines of one item or several, with and without the warehouse rule."""
    x = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n * m, max_size=n * m)),
                 dtype=np.int64).reshape(n, m)
    group = np.array(data.draw(st.lists(st.integers(0, g - 1), min_size=n, max_size=n)),
                     dtype=np.int64)
    line = np.array(data.draw(st.lists(st.integers(0, max(0, n - 1)), min_size=n,
                                       max_size=n)), dtype=np.int64)
    hours = np.array(data.draw(st.lists(st.integers(0, 50), min_size=m, max_size=m)),
                     dtype=np.int64)
    problem = SplitProblem(
        quantity=x.sum(axis=1), usage=np.ones((n, 1), dtype=np.int64),
        splittable=np.ones(n, dtype=bool), group=group, stock=np.ones((m, 1), dtype=np.int64),
        allowed=np.ones((n, m), dtype=bool), hours=hours, cost=hours[::-1].copy(),
        per_warehouse=per_warehouse, fixed_makespan=data.draw(st.integers(0, 30)),
        n_groups=g, line=line if data.draw(st.booleans()) else None)
    assert evaluate(problem, x) == evaluate_numpy(problem, x)
    assert fragments(problem, x) == evaluate_numpy(problem, x).fragments


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 4), st.data())
def test_plain_pieces_bound_matches_the_numpy_bound(n: int, m: int, k: int,
                                                    data: st.DataObject) -> None:
    """The fragments bound of a group of lines (a line per item) in one compiled pass
    equals its numpy definition; a bundle or a multi-unit usage defers to numpy (-1)."""
    from ordersplit.solver.fragments import group_bound_numpy

    usage = np.zeros((n, k), dtype=np.int64)
    usage[np.arange(n), data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))] = 1
    plain = data.draw(st.booleans())
    if not plain:  # some item uses two units, or two SKUs
        usage[0, 0] = 2 if k == 1 else usage[0, 0] + 1
    ints = st.lists(st.integers(0, 6), min_size=m * k, max_size=m * k)
    problem = SplitProblem(
        quantity=np.array(data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
                          dtype=np.int64),
        usage=usage,
        splittable=np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        group=np.zeros(n, dtype=np.int64),
        stock=np.array(data.draw(ints), dtype=np.int64).reshape(m, k),
        allowed=np.array(data.draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)))
        .reshape(n, m),
        hours=np.arange(m, dtype=np.int64), cost=np.zeros(m, dtype=np.int64))
    reach = problem.allowed & np.array(data.draw(st.lists(st.booleans(), min_size=m,
                                                          max_size=m)))[None, :]
    items = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1))),
                     dtype=np.int64)
    ro = group_prep.readonly
    got = group_prep.plain_pieces_bound(ro(items), problem.single_sku, problem.splittable,
                                        problem.quantity, problem.stock, problem.allowed,
                                        ro(reach))
    frag = items[problem.splittable[items] & (problem.quantity[items] > 1)]
    if (problem.single_sku[frag] < 0).any():
        assert got == -1
    else:
        assert got == group_bound_numpy(problem, items, reach)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.data())
def test_fewest_pieces_fill_matches_its_definition(n: int, m: int, data: st.DataObject) -> None:
    from ordersplit.solver.fragments_covers import _fill, fill_numpy

    def matrix(rows: int, cols: int, top: int) -> np.ndarray:
        cells = data.draw(st.lists(st.integers(0, top), min_size=rows * cols,
                                   max_size=rows * cols))
        return np.array(cells, dtype=np.int64).reshape(rows, cols)

    cap, price = matrix(n, m, 4), matrix(n, m, 3)
    q = np.array(data.draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)), dtype=np.int64)
    hours = np.array(data.draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)),
                     dtype=np.int64)
    linear = data.draw(st.sampled_from([[], ["unit_hours"], ["stock_value"],
                                        ["unit_hours", "stock_value"],
                                        ["stock_value", "unit_hours"]]))
    got, want = _fill(cap, q, hours, price, linear), fill_numpy(cap, q, hours, price, linear)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert np.array_equal(got[0], want[0]) and got[1] == want[1]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.data())
def test_fill_items_matches_the_python_fill(n: int, m: int, k: int, data: st.DataObject) -> None:
    """The compiled fastest-first fill of any items (bundles, unsplittable lines, several
    units of a SKU per unit) gives the rows, the verdict and the stock left of the plain
    Python one it replaces."""
    from ordersplit.solver.heuristics.state import fill_fastest, fill_fastest_python

    def ints(size: int, lo: int, hi: int) -> list[int]:
        return data.draw(st.lists(st.integers(lo, hi), min_size=size, max_size=size))

    problem = SplitProblem(
        quantity=np.array(ints(n, 1, 5), dtype=np.int64),
        usage=np.array(ints(n * k, 0, 2), dtype=np.int64).reshape(n, k),
        splittable=np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        group=np.zeros(n, dtype=np.int64),
        stock=np.array(ints(m * k, 0, 9), dtype=np.int64).reshape(m, k),
        allowed=np.array(data.draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)))
        .reshape(n, m),
        hours=np.array(ints(m, 0, 3), dtype=np.int64), cost=np.zeros(m, dtype=np.int64))
    items = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1))),
                     dtype=np.int64)
    open_wh = np.array(sorted(data.draw(st.sets(st.integers(0, m - 1)))), dtype=np.int64)
    stock_a, stock_b = problem.stock.copy(), problem.stock.copy()
    got = fill_fastest(problem, items, open_wh, stock_a)
    want = fill_fastest_python(problem, items, open_wh, stock_b)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert np.array_equal(got, want)
    assert np.array_equal(stock_a, stock_b)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=12), st.integers(0, 2))
def test_group_order_matches_a_stable_argsort(group: list[int], extra: int) -> None:
    ids = np.array(group, dtype=np.int64)
    n_groups = (max(group) + 1 if group else 0) + extra  # groups without items too
    order, bounds, done = group_prep.group_order(group_prep.readonly(ids), n_groups)
    assert done
    want = np.argsort(ids, kind="stable")
    assert order.tolist() == want.tolist()
    assert bounds.tolist() == np.searchsorted(ids[want], np.arange(n_groups + 1)).tolist()
    if group:  # an id outside the range is refused, not read past the bounds
        assert not group_prep.group_order(group_prep.readonly(ids), max(group))[2]
