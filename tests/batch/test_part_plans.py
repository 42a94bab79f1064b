"""A part searched from packed columns gives what the search over plan objects gives.

A worker slot reads the part it searches as a
:class:`~ordersplit.batch.plan_columns.PartPlans` (plan objects made only for the orders
the search reads); the part's result - moves tried and kept, the plans that changed -
must be the one of the same search over a plain list of plans, and the columns' bulk
reads (scalars, cells) must equal the plans' own fields.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.batch import batch_from_json, reoptimize
from ordersplit.batch import plan_columns as pc
from ordersplit.batch.ledger import check_no_oversell
from ordersplit.batch.model import OrderPlan
from ordersplit.batch.partition import make_tasks
from ordersplit.batch.plan_columns import (
    PartPlans,
    PlanColumns,
    SplitCache,
    part_plans,
    plan_cells,
    plan_failed,
    plan_ints,
)
from ordersplit.batch.search import BatchState, PartTask, improve_part
from ordersplit.batch.wire import gather_rows, pack_plans, same_plan, unpack_plans
from tests.batch.test_batch_scaleout import assert_same_fields


@pytest.fixture(scope="module")
def scarce(small_scarce: dict[str, Any]) -> tuple[Any, list[OrderPlan], list[OrderPlan]]:
    """The scarce batch, its lower-bound plans and its sequential plans (many orders
    above their bound or waiting: the search has moves to try)."""
    batch = batch_from_json(small_scarce)
    res = reoptimize(batch, time_limit_s=600, max_rounds=0, deterministic=True)
    sol = res.solution
    assert sol is not None
    return batch, list(sol.lower), list(sol.sequential)


def columns(lower: list[OrderPlan], plans: list[OrderPlan], chunk: int
            ) -> tuple[PlanColumns, PlanColumns]:
    """The plans as a worker slot holds them: lower-bound plans packed in chunks,
    current plans that are the lower-bound plans marked so, the others packed."""
    low, cur = PlanColumns(), PlanColumns()
    cur.lower = low
    n = len(lower)
    for start in range(0, n, chunk):
        at = list(range(start, min(n, start + chunk)))
        low.put(at, pack_plans([lower[o] for o in at]))
        same = [o for o in at if plans[o] is lower[o]]
        own = [o for o in at if plans[o] is not lower[o]]
        cur.put_lower(same)
        cur.put(own, pack_plans([plans[o] for o in own]))
    return low, cur


def test_bulk_reads_equal_the_plans_fields(scarce: tuple[Any, list[OrderPlan],
                                                         list[OrderPlan]]) -> None:
    """Scalars, failures and cells read from the columns equal those of the objects,
    in the part's order (not the batch's), and every plan read equals its object."""
    _, lower, plans = scarce
    low, cur = columns(lower, plans, 37)
    orders = [*range(len(plans) - 1, -1, -3), 1, 4]
    lp = part_plans(low, orders)
    pp = part_plans(cur, orders, lp)
    mine = [plans[o] for o in orders]
    assert any(plans[o] is lower[o] for o in orders)
    assert any(plans[o] is not lower[o] for o in orders)
    for name in ("children", "backorder_units", "cost"):
        assert np.array_equal(plan_ints(pp, name), plan_ints(mine, name))
    assert np.array_equal(plan_failed(pp), plan_failed(mine))
    for names in (("use_loc", "use_col"), ("short_cols",)):
        got, want = plan_cells(pp, *names), plan_cells(mine, *names)
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a, b)
    for j, o in enumerate(orders):
        assert_same_fields(pp[j], plans[o])
        if plans[o] is lower[o]:
            assert pp[j] is lp[j]  # one object for a plan that is its lower-bound plan


def test_a_part_plans_records_what_changed(scarce: tuple[Any, list[OrderPlan],
                                                         list[OrderPlan]]) -> None:
    """Setting a position to its own plan (or an equal copy) is no change; another plan
    is, and reads back."""
    plans = scarce[2]
    pp = PartPlans(pack_plans(plans[:6]), np.arange(6, dtype=np.int64))
    pp[0] = pp[0]
    pp[1] = unpack_plans(pack_plans([plans[1]]))[0]
    other = next(p for p in plans[6:] if not same_plan(p, plans[2]))
    pp[2] = other
    assert pp.changed() == [2] and pp[2] is other
    with pytest.raises(IndexError):
        pp[6] = other
    with pytest.raises(ValueError):
        PartPlans(pack_plans(plans[:1]), np.array([-1], dtype=np.int64))


def search(state: BatchState, task: PartTask, plans: Any, lower: Any) -> Any:
    return improve_part(state, PartTask(
        orders=task.orders, plans=plans, lower=lower, cols=task.cols, budget=task.budget,
        limit_s=1e9, max_moves=task.max_moves, breadth=task.breadth))


@pytest.mark.parametrize("breadth", [3, 12])
def test_search_from_columns_equals_search_from_objects(
        scarce: tuple[Any, list[OrderPlan], list[OrderPlan]], breadth: int) -> None:
    """Each part of a round, searched once over plan objects and once over packed
    columns (each with its own split cache): the same moves tried and kept, the same
    plans changed, field by field."""
    batch, lower, plans = scarce
    residual = check_no_oversell(batch.world.stock, plans)
    state = BatchState(batch.world, tuple(batch.templates), 1.0)
    tasks = make_tasks(state, plans, lower, residual, "region", 3, 1e9, max_moves=150,
                       breadth=breadth)
    low, cur = columns(lower, plans, 50)
    kept = 0
    for task in tasks:
        objects = search(BatchState(batch.world, tuple(batch.templates), 1.0), task,
                         task.plans, task.lower)
        orders = task.orders.tolist()
        lp = part_plans(low, orders)
        packed = search(BatchState(batch.world, tuple(batch.templates), 1.0), task,
                        part_plans(cur, orders, lp), lp)
        assert isinstance(packed.plans, PartPlans)
        assert (packed.tried, packed.accepted, packed.solves) == (
            objects.tried, objects.accepted, objects.solves)
        assert np.array_equal(packed.visited, objects.visited)
        changed = [j for j in range(len(orders))
                   if not same_plan(task.plans[j], objects.plans[j])]
        assert packed.plans.changed() == changed
        for j in range(len(orders)):  # (a split made in each search: its own seconds)
            assert_same_fields(replace(packed.plans[j], runtime_s=0.0),
                               replace(objects.plans[j], runtime_s=0.0))
        kept += objects.accepted
    assert kept > 0  # the search kept moves: the comparison covered changes


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_gathers_in_any_row_order_equal_the_objects(
        scarce: tuple[Any, list[OrderPlan], list[OrderPlan]], data: st.DataObject) -> None:
    """Gathering rows of packs of mixed dtypes (lower-bound and solved plans), rows
    ascending (picked by a mask) or in any order (by an index), gives the plans."""
    _, lower, plans = scarce
    a, b = pack_plans(lower[:60]), pack_plans(plans[:80])
    ra = np.array(data.draw(st.lists(st.integers(0, 59), max_size=20, unique=True)),
                  dtype=np.int64)
    rb = np.array(data.draw(st.lists(st.integers(0, 79), max_size=20, unique=True)),
                  dtype=np.int64)
    if data.draw(st.booleans()):
        ra, rb = np.sort(ra), np.sort(rb)
    got = unpack_plans(gather_rows([(a, ra), (b, rb)]))
    want = [lower[i] for i in ra.tolist()] + [plans[i] for i in rb.tolist()]
    assert len(got) == len(want)
    for x, y in zip(got, want, strict=True):
        assert_same_fields(x, y)


cache_ops = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 30), st.integers(0, 79)),
    st.tuples(st.just("del"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("clear"), st.just(0), st.just(0)),
), max_size=80)


@settings(max_examples=60, deadline=None)
@given(steps=cache_ops)
def test_split_cache_behaves_as_a_dict(
        scarce: tuple[Any, list[OrderPlan], list[OrderPlan]], steps: list[Any]) -> None:
    """The packed split cache (a few splits a pack, so that packing, stale rows and their
    gathering all happen) keeps what a dict keeps: the same keys, equal plans."""
    old = pc.FRESH_SPLITS
    pc.FRESH_SPLITS = 3
    try:
        plans = scarce[2]
        cache, model = SplitCache(), {}
        for op, k, i in steps:
            key = (k, bytes([k % 7]))
            if op == "set":
                cache[key] = model[key] = plans[i]
            elif op == "del" and key in model:
                del cache[key], model[key]
            elif op == "clear":
                cache.clear()
                model.clear()
            assert len(cache) == len(model) and sorted(cache) == sorted(model)
        for key, plan in model.items():
            got = cache.get(key)
            assert got is not None
            assert_same_fields(got, plan)
        assert cache.get((99, b"")) is None
    finally:
        pc.FRESH_SPLITS = old


def test_search_with_a_packed_cache_equals_search_with_a_dict(
        scarce: tuple[Any, list[OrderPlan], list[OrderPlan]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rounds over the same parts (the second hits the cache), with the splits kept
    in a dict and in a split cache packing every few: the same moves and plans."""
    monkeypatch.setattr(pc, "FRESH_SPLITS", 5)
    batch, lower, plans = scarce
    residual = check_no_oversell(batch.world.stock, plans)
    ref = BatchState(batch.world, tuple(batch.templates), 1.0, solved={})  # type: ignore[arg-type]
    packed = BatchState(batch.world, tuple(batch.templates), 1.0)
    assert isinstance(packed.solved, SplitCache)
    tasks = make_tasks(ref, plans, lower, residual, "location", 2, 1e9, max_moves=60)
    hits = 0
    for _ in range(2):
        for task in tasks:
            a, b = search(ref, task, task.plans, task.lower), search(packed, task, task.plans,
                                                                      task.lower)
            assert (a.tried, a.accepted, a.solves) == (b.tried, b.accepted, b.solves)
            for p, q in zip(a.plans, b.plans, strict=True):
                assert same_plan(p, q) and p.key() == q.key()
            hits += a.tried - a.solves
    assert len(packed.solved) == len(ref.solved) > pc.FRESH_SPLITS
    assert hits > 0


def test_a_narrow_ledger_widens_rather_than_wraps(
        scarce: tuple[Any, list[OrderPlan], list[OrderPlan]]) -> None:
    """A ledger holds its residual as int32 when the stock fits; giving back more than
    int32 holds widens it (never wraps), and views and fits read as with int64."""
    from ordersplit.batch.ledger import SMALL_MAX, Ledger

    batch, _, plans = scarce
    plan = next(p for p in plans if p.use_units.size)
    ledger, wide = Ledger.full(batch.world.stock), Ledger.full(batch.world.stock.astype(object)
                                                             .astype(np.int64))
    assert ledger.residual.dtype == np.int32
    ledger.take(plan)
    wide.take(plan)
    tpl = batch.templates[0]
    assert np.array_equal(ledger.view(tpl), wide.view(tpl))
    assert ledger.view(tpl).dtype == np.int64
    ledger.residual[plan.use_loc, ledger.local(plan.use_col)] = SMALL_MAX - 1
    ledger.give(plan)
    assert ledger.residual.dtype == np.int64
    assert (ledger.residual[plan.use_loc, ledger.local(plan.use_col)]
            == SMALL_MAX - 1 + plan.use_units).all()
