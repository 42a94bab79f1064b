"""The driver's plan lists held packed: every read equals a plain list of plan objects."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.batch import plan_columns as pc
from ordersplit.batch import reoptimize
from ordersplit.batch.api import _state, load_batch
from ordersplit.batch.bound import plain_columns, waiting_units, withholding_orders
from ordersplit.batch.engine import Solution, summary_numbers
from ordersplit.batch.ledger import total_use
from ordersplit.batch.model import OrderPlan
from ordersplit.batch.output import change_rows, warehouse_lists, warehouses_of
from ordersplit.batch.partition import component_labels, main_location
from ordersplit.batch.plan_list import LOWER, OBJECT, PACKED, PlanList
from ordersplit.batch.search import backorder_units, batch_key, failed_count
from ordersplit.batch.wire import SCALARS, PlanPack, pack_plans, unpack_plans
from tests.batch.test_batch_scaleout import assert_same_fields


@pytest.fixture(scope="module")
def pool(scarce_plans: tuple[OrderPlan, ...]) -> list[OrderPlan]:
    """The shared real plans of every kind (``scarce_plans``), as this module uses them."""
    plans = list(scarce_plans)
    assert any(p.backorder_units for p in plans) and any(p.failed for p in plans)
    return plans


N = 30
positions = st.lists(st.integers(0, N - 1), min_size=1, max_size=10, unique=True)
ops = st.lists(st.one_of(
    st.tuples(st.just("pack"), positions, st.integers(0, 10**6)),
    st.tuples(st.just("objects"), positions, st.integers(0, 10**6)),
    st.tuples(st.just("lower"), positions),
    st.tuples(st.just("set"), st.integers(0, N - 1), st.integers(0, 10**6)),
    st.tuples(st.just("copy"),),
    st.tuples(st.just("pack_objects"),),
    st.tuples(st.just("gather_small"),),
), max_size=25)


def _reference_cells(plans: list[OrderPlan], *names: str) -> tuple[list[int], ...]:
    owner = [j for j, p in enumerate(plans) for _ in range(getattr(p, names[0]).size)]
    return (owner, *([int(v) for p in plans for v in getattr(p, name).ravel()]
                     for name in names))


def check_list(plans: PlanList, model: list[OrderPlan], is_lower: list[bool],
               subset: list[int]) -> None:
    """Every way of reading ``plans`` gives what the plain list ``model`` gives."""
    assert len(plans) == len(model)
    for got, want in zip(plans, model, strict=True):
        assert_same_fields(got, want)
    assert plans.is_lower().tolist() == is_lower
    for name in SCALARS:
        assert plans.ints(name).tolist() == [getattr(p, name) for p in model]
        assert plans.ints(name, subset).tolist() == [getattr(model[o], name) for o in subset]
    assert plans.failed().tolist() == [p.failed for p in model]
    for names in (("use_loc", "use_col", "use_units"), ("short_cols",)):
        got = plans.cells(*names, orders=subset)
        want = _reference_cells([model[o] for o in subset], *names)
        assert [a.tolist() for a in got] == [list(w) for w in want]
        assert all(a.dtype == np.int64 for a in got)
    for o in subset:
        for a, f in zip(plans.uses(o), ("use_loc", "use_col", "use_units"), strict=True):
            assert a.tolist() == getattr(model[o], f).tolist()
    for packed in (True, False):
        order, wire = plans.pack_of(subset, packed)
        assert sorted(order.tolist()) == sorted(subset)
        assert isinstance(wire, PlanPack) == packed
        got_plans = unpack_plans(wire) if isinstance(wire, PlanPack) else wire
        for o, plan in zip(order.tolist(), got_plans, strict=True):
            assert_same_fields(plan, model[o])
    view = plans.view(subset)
    assert [p.children for p in view] == [model[o].children for o in subset]
    assert batch_key(view) == batch_key([model[o] for o in subset])
    assert batch_key(plans) == batch_key(model)
    assert backorder_units(plans) == backorder_units(model)
    assert failed_count(plans) == failed_count(model)


@settings(max_examples=60, deadline=None)
@given(steps=ops, subset=st.lists(st.integers(0, N - 1), max_size=12, unique=True))
def test_a_plan_list_reads_as_a_list_of_plans(pool: list[OrderPlan], steps: list[Any],
                                              subset: list[int]) -> None:
    """Any sequence of puts (packs kept as they are, objects, references to the lower
    list, single items), copies and gathers of the small packs leave a :class:`PlanList` whose plans, scalars,
    cells, lower flags and gathered packs equal those of a plain list of the same plan
    objects; a copy changes independently of its original (packs merged and gathered on
    the way: the thresholds are lowered so that it happens)."""
    old = pc.MIN_COMPACT, pc.SMALL_PACK, pc.SMALL_PACKS
    pc.MIN_COMPACT, pc.SMALL_PACK, pc.SMALL_PACKS = 2, 4, 3
    try:
        lower_model = [pool[(3 * o) % len(pool)] for o in range(N)]
        lower = PlanList(N)
        lower.put(range(0, N, 2), pack_plans(lower_model[0::2]))
        lower.put(range(1, N, 2), lower_model[1::2])  # (objects)
        plans = PlanList.of(list(lower_model), lower)
        plans.put_lower(range(N))
        model, flags = list(lower_model), [True] * N
        saved: tuple[PlanList, list[OrderPlan], list[bool]] | None = None
        for step in steps:
            if step[0] in ("pack", "objects"):
                _, orders, seed = step
                new = [pool[(seed + 7 * i) % len(pool)] for i in range(len(orders))]
                plans.put(orders, pack_plans(new) if step[0] == "pack" else new)
                for o, p in zip(orders, new, strict=True):
                    model[o], flags[o] = p, False
            elif step[0] == "lower":
                plans.put_lower(step[1])
                for o in step[1]:
                    model[o], flags[o] = lower_model[o], True
            elif step[0] == "set":
                _, o, seed = step
                plans[o] = model[o] = pool[seed % len(pool)]
                flags[o] = False
            elif step[0] == "pack_objects":
                plans.pack_objects()
                assert not plans.objects and OBJECT not in plans.kind
            elif step[0] == "gather_small":
                small = plans.packs._small
                before = plans.packs.pack_count
                plans.gather_small()
                # (one pack of their live rows, none when they have none left)
                assert plans.packs.pack_count <= (before - small + 1 if small > 1 else before)
            else:
                saved = (plans, list(model), list(flags))
                plans = plans.copy()
        check_list(plans, model, flags, subset)
        check_list(lower, lower_model, [False] * N, subset)
        if saved is not None:
            check_list(*saved, subset)
    finally:
        pc.MIN_COMPACT, pc.SMALL_PACK, pc.SMALL_PACKS = old


def test_missing_plans_and_bad_positions_raise(pool: list[OrderPlan]) -> None:
    """A position without a plan, or outside the list, is an error, never another
    order's plan; a list needs a lower list of its length to refer to."""
    plans = PlanList(4)
    plans.put([1, 2], pack_plans(pool[:2]))
    with pytest.raises(KeyError):
        plans[0]
    with pytest.raises(KeyError):
        plans.ints("children", [0, 1])
    with pytest.raises(IndexError):
        plans.many([4])
    with pytest.raises(ValueError):
        plans.put_lower([1])
    with pytest.raises(ValueError):
        PlanList(3, plans)
    with pytest.raises(ValueError):
        plans.put([0, 0], pool[:2])
    assert_same_fields(plans[-2], pool[1])


def test_the_driver_holds_its_plans_packed_and_the_same(small_scarce: dict[str, Any]) -> None:
    """With two local processes the driver's lower-bound, sequential and final lists
    hold packs (and references to the lower list), not objects, and every plan, the
    summary and the change rows equal those of a run in one process, whose lists hold
    the plan objects themselves."""
    runs = {w: reoptimize(small_scarce, time_limit_s=600, max_rounds=2, deterministic=True,
                          parts=3, workers=w, bound_time_limit_s=0) for w in (1, 2)}
    one, two = (runs[w].solution for w in (1, 2))
    assert one is not None and two is not None
    for name in ("lower", "sequential", "final"):
        a, b = getattr(one, name), getattr(two, name)
        assert isinstance(b, PlanList)
        assert np.isin(b.kind, [PACKED, LOWER]).all(), name
        assert np.isin(a.kind, [OBJECT, LOWER]).all(), name
        for x, y in zip(a, b, strict=True):  # (the split's own seconds apart)
            assert_same_fields(replace(x, runtime_s=0.0), replace(y, runtime_s=0.0))
    assert (two.sequential.kind == LOWER).any() and (two.sequential.kind == PACKED).any()
    keep = ("children_", "backorder_units_", "mean_delivery_", "gap_")
    s1, s2 = runs[1].summary, runs[2].summary
    assert {k: v for k, v in s1.items() if k.startswith(keep)} == \
        {k: v for k, v in s2.items() if k.startswith(keep)}
    assert runs[1].changes.equals(runs[2].changes)


def _objects(sol: Solution) -> Solution:
    return Solution(list(sol.lower), list(sol.sequential), sol.current,  # type: ignore[arg-type]
                    list(sol.final), sol.start)  # type: ignore[arg-type]


def test_columns_give_the_per_plan_figures(small_scarce: dict[str, Any]) -> None:
    """The figures the driver now reads from columns equal those computed plan by plan:
    the summary's numbers, the change rows and their warehouses, the main location of
    each lower-bound plan and the components of the cut."""
    res = reoptimize(small_scarce, time_limit_s=600, max_rounds=1, deterministic=True,
                     parts=2, workers=2, bound_time_limit_s=0)
    sol = res.solution
    assert sol is not None
    plain = _objects(sol)
    state = _state(load_batch(small_scarce), 0.2, True, None)
    world = state.world
    assert summary_numbers(sol) == summary_numbers(plain)
    for plans in (sol.sequential, sol.final):
        assert warehouse_lists(world, plans) == [tuple(warehouses_of(world, p)) for p in plans]
    assert main_location(sol.lower) == [
        int(p.use_loc[np.argmax(p.use_units)]) if p.use_units.size else -1 for p in sol.lower]
    residual = world.stock - 1
    assert component_labels(sol.final, sol.lower, residual) == \
        component_labels(plain.final, plain.lower, residual)
    ok = [not p.failed for p in plain.final]
    store = world.is_store() != 0
    for plans in (sol.sequential, sol.final):  # the bound's readers, as before the columns
        objs = list(plans)
        assert waiting_units(world, state.templates, plans, ok) == sum(
            int(t.demand.sum()) - int(p.use_units[~store[p.use_loc]].sum())
            for t, p, k in zip(state.templates, objs, ok, strict=True) if k)
        left = world.stock - total_use([p for p, k in zip(objs, ok, strict=True) if k],
                                       world.stock.shape)
        want_count = 0
        for t, p, k in zip(state.templates, objs, ok, strict=True):
            plain_cols = set(t.cols[plain_columns(t)].tolist())
            waiting = [c for c in p.short_cols.tolist() if c in plain_cols]
            if k and waiting:
                ships = (world.is_store() == 0) & (world.minutes(t.destination) >= 0)
                want_count += bool(left[np.ix_(ships, np.array(waiting))].any())
        assert withholding_orders(world, state.templates, plans, ok) == want_count
    rows = change_rows(state, sol.sequential, sol.final)
    want = []  # plan by plan, as before the columns
    for tpl, b, a in zip(state.templates, plain.sequential, plain.final, strict=True):
        if a.failed:
            continue
        wb, wa = warehouses_of(world, b), warehouses_of(world, a)
        want.append({
            "order_id": tpl.order_id, "children_before": b.children, "children_after": a.children,
            "warehouses_before": ";".join(wb), "warehouses_after": ";".join(wa),
            "delivery_hours_before": round(b.makespan / 60, 4),
            "delivery_hours_after": round(a.makespan / 60, 4),
            "backorder_units_before": b.backorder_units, "backorder_units_after": a.backorder_units,
            "changed_warehouse": wb != wa, "changed_children": b.children != a.children})
    assert rows == want and any(r["changed_warehouse"] for r in rows)


def test_a_copy_never_gathers_the_packs_it_shares(pool: list[OrderPlan]) -> None:
    """A copy (the search's list made from the sequential one) merges only the packs put
    into it: a large put, which would gather the packs before it, leaves the shared ones
    as they are (gathering them would copy rows the original list keeps)."""
    def plans(k: int) -> PlanPack:
        return pack_plans([pool[o % len(pool)] for o in range(k)])

    base = PlanList(1000)
    for lo in range(0, 900, 300):
        base.put(range(lo, lo + 300), plans(300))
    shared = list(base.packs._packs)
    assert len(shared) == 2  # merged as a binary counter: 600 + 300
    copy = base.copy()
    copy.put(range(100, 700), plans(600))
    assert len(copy.packs._packs) == 3
    assert all(a is b for a, b in zip(copy.packs._packs, shared, strict=False))
    assert all(a is b for a, b in zip(base.packs._packs, shared, strict=True))
    for o in (0, 99, 100, 699, 700, 899):
        want = pool[(o - 100) % len(pool)] if 100 <= o < 700 else base[o]
        assert_same_fields(copy[o], want)
