"""A worker slot's plans as packed columns: every plan read back equals the one put in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.batch import plan_columns as pc
from ordersplit.batch.model import OrderPlan
from ordersplit.batch.plan_columns import ObjectPlans, PlanColumns
from ordersplit.batch.wire import gather_rows, pack_plans, unpack_plans, unpack_rows
from tests.batch.test_batch_scaleout import assert_same_fields


@pytest.fixture(scope="module")
def pool(scarce_plans: tuple[OrderPlan, ...]) -> list[OrderPlan]:
    """The shared real plans of every kind (``scarce_plans``), as this module uses them."""
    plans = list(scarce_plans)
    assert {p.backend for p in plans} >= {"fast", "", "combination"}
    assert any(p.sku_loc is not None for p in plans) and any(p.drafts for p in plans)
    assert any(p.backorder_units for p in plans)
    return plans


def test_rows_and_gathers_equal_the_object_form(pool: list[OrderPlan]) -> None:
    """Reading some rows of a pack, or gathering rows of several packs into one, gives
    the plans themselves, field by field."""
    half = len(pool) // 2
    a, b = pack_plans(pool[:half]), pack_plans(pool[half:])
    rows = [half - 1, 0, 3]
    for got, want in zip(unpack_rows(a, rows), [pool[r] for r in rows], strict=True):
        assert_same_fields(got, want)
    ra, rb = np.array([2, 0, 5]), np.array([len(pool) - half - 1, 1])
    joined = unpack_plans(gather_rows([(a, ra), (b, rb)]))
    want = [pool[i] for i in ra.tolist()] + [pool[half + i] for i in rb.tolist()]
    assert len(joined) == len(want)
    for got, exp in zip(joined, want, strict=True):
        assert_same_fields(got, exp)
    assert unpack_plans(gather_rows([(a, np.zeros(0, dtype=np.int64))])) == []


ORDERS = 40
ops = st.lists(st.one_of(
    st.tuples(st.just("put"), st.lists(st.integers(0, ORDERS - 1), min_size=1, max_size=12,
                                       unique=True), st.integers(0, 10**6), st.booleans()),
    st.tuples(st.just("lower"), st.lists(st.integers(0, ORDERS - 1), max_size=8, unique=True)),
    st.tuples(st.just("drop"), st.lists(st.integers(0, ORDERS + 5), max_size=8, unique=True)),
), max_size=30)


@settings(max_examples=60, deadline=None)
@given(steps=ops)
def test_columns_behave_as_a_dict_of_plans(pool: list[OrderPlan], steps: list[Any]) -> None:
    """Any sequence of puts (packed or as objects), lower-plan references and discards
    leaves :class:`PlanColumns` holding exactly what a dict of plan objects holds: the
    same orders and, field by field, the same plans (packs merged and gathered on the
    way: the compaction threshold is lowered so that it happens)."""
    old = pc.MIN_COMPACT, pc.SMALL_PACK, pc.SMALL_PACKS
    pc.MIN_COMPACT, pc.SMALL_PACK, pc.SMALL_PACKS = 2, 4, 3
    try:
        lower, plans = PlanColumns(), None
        model_lower: dict[int, OrderPlan] = {}
        model: dict[int, OrderPlan] = {}
        every = list(range(ORDERS))
        lower.put(every, pack_plans([pool[o % len(pool)] for o in every]))
        model_lower.update((o, pool[o % len(pool)]) for o in every)
        plans = PlanColumns(lower)
        for step in steps:
            if step[0] == "put":
                _, orders, seed, packed = step
                new = [pool[(seed + 7 * i) % len(pool)] for i in range(len(orders))]
                plans.put(orders, pack_plans(new) if packed else new)
                model.update(zip(orders, new, strict=True))
            elif step[0] == "lower":
                plans.put_lower(step[1])
                model.update((o, model_lower[o]) for o in step[1])
            else:
                plans.discard(step[1])
                for o in step[1]:
                    model.pop(o, None)
            assert len(plans) == len(model)
            assert sorted(plans) == sorted(model)
            assert all((o in plans) == (o in model) for o in range(ORDERS + 5))
        keys = sorted(model)
        for got, want in zip(plans.many(keys), [model[o] for o in keys], strict=True):
            assert_same_fields(got, want)
        for o in keys[:3]:
            assert_same_fields(plans[o], model[o])
        assert len(plans._packs) <= pc.SMALL_PACKS + 2 * int(np.log2(len(steps) + 2))
    finally:
        pc.MIN_COMPACT, pc.SMALL_PACK, pc.SMALL_PACKS = old


def test_missing_orders_raise_and_objects_keep_identity(pool: list[OrderPlan]) -> None:
    """Reading an order the store does not hold is a ``KeyError`` (never another order's
    plan); the object store keeps the very objects (a slot in the driver's process
    shares the driver's plans)."""
    cols = PlanColumns()
    cols.put([3, 5], pack_plans(pool[:2]))
    with pytest.raises(KeyError):
        cols.many([3, 4])
    with pytest.raises(KeyError):
        cols[99]
    lower = ObjectPlans()
    lower.put([0, 1], pool[:2])
    objs = ObjectPlans(lower)
    objs.put_lower([1])
    objs.put([0], pool[2:3])
    assert objs[1] is pool[1] and objs[0] is pool[2]
    objs.discard([0, 7])
    assert list(objs) == [1]
