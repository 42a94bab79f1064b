"""Scale-out: plans on the wire, the delta protocol, worker-count invariance, failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from ordersplit.batch import batch_from_json, reoptimize
from ordersplit.batch.api import _state
from ordersplit.batch.engine import Solution, optimize
from ordersplit.batch.ledger import check_no_oversell
from ordersplit.batch.model import OrderPlan, failed_plan
from ordersplit.batch.search import BatchState
from ordersplit.batch.shards import Runner, make_runner, next_part
from ordersplit.batch.wire import pack_plans, unpack_plans


def assert_same_fields(a: OrderPlan, b: OrderPlan) -> None:
    """Every field of two plans equal (arrays by value)."""
    for f in fields(OrderPlan):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, f.name
            assert x.shape == y.shape and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


def final_plans(res: Any) -> list[tuple[Any, ...]]:
    return [(p.key(), p.backorder_units, p.error, p.use_loc.tolist(), p.use_col.tolist(),
             p.use_units.tolist()) for p in res.solution.final]


def test_plans_round_trip_through_the_wire(small_scarce: dict[str, Any]) -> None:
    """Packed and unpacked, every plan equals the original field by field - solver plans,
    fast plans (``sku_loc``), plans with units waiting, and failed plans."""
    res = reoptimize(small_scarce, time_limit_s=600, max_rounds=1, deterministic=True)
    sol = res.solution
    assert sol is not None
    plans = [*sol.lower, *sol.final, failed_plan("bad order")]
    assert {p.backend for p in plans} >= {"fast", "", "combination"}
    assert any(p.backorder_units for p in plans) and any(p.sku_loc is not None for p in plans)
    back = unpack_plans(pack_plans(plans))
    assert len(back) == len(plans)
    for a, b in zip(plans, back, strict=True):
        assert_same_fields(a, b)
    assert unpack_plans(pack_plans([])) == []


def test_a_free_slot_takes_a_large_part_it_owns() -> None:
    """A free slot takes, among the parts near the largest, the one whose orders it owns
    most (fewer orders move), leaves a part to another free slot that owns more of it,
    and never takes a much smaller part while a large one is left."""
    owner = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    parts = [np.array([3, 4, 5, 0]), np.array([1, 2, 6, 7])]
    assert next_part(parts, owner, 0, [0, 1]) == 1
    assert next_part(parts, owner, 1, [0, 1]) == 0
    assert next_part(parts, owner, 0, [0]) == 1  # alone: its own
    assert next_part(parts[:1], owner, 0, [0]) == 0  # the only part left
    small = [np.arange(8), np.array([0, 1])]
    assert next_part(small, np.zeros(8, dtype=np.int64), 1, [1]) == 0  # largest first


@contextmanager
def _searched(work: dict[str, Any], rounds: int, parts: int
              ) -> Iterator[tuple[BatchState, Runner, Solution]]:
    """``work`` searched deterministically on 2 local processes (``rounds`` rounds of
    ``parts`` parts): its state, the runner (closed afterwards) and the solution."""
    state = _state(batch_from_json(work), 0.2, True, None)
    runner = make_runner(state, 2)
    try:
        yield state, runner, optimize(state, runner, time_limit_s=600, max_rounds=rounds,
                                      deterministic=True, parts=parts)
    finally:
        runner.close()


def test_workers_hold_exactly_what_the_driver_sent(small_scarce: dict[str, Any]) -> None:
    """Delta protocol round trip: after a search with local processes, each slot holds
    the templates and lower-bound plans of exactly the orders the driver says it owns,
    and every plan of an owned order it holds in the current version equals the
    driver's; after the output
    stage every slot holds the final plan of every order it owns."""
    with _searched(small_scarce, rounds=4, parts=3) as (state, runner, sol):
        assert sol.stats["rounds"] == 4 and sol.stats["orders_moved_per_round"] > 0
        assert sol.stats["bytes_per_round"] > 0
        assert runner.kept.any() and not runner.pickled  # no round follows: none kept
        n = len(state.templates)
        for s in range(2):
            held = runner.holding(s)
            mine = np.flatnonzero(runner.owner == s).tolist()
            # orders that left it in the last round are forgotten with its next message
            assert set(held["orders"]) == set(mine) | runner.dropped[s]
            for o, low in zip(held["orders"], held["lower"], strict=True):
                assert_same_fields(low, sol.lower[o])
            # (a copy of an order that moved away is stale until the slot forgets it)
            current = [o for o in held["plan_orders"]
                       if o in mine and runner.held[o] == runner.version[o]]
            by_order = dict(zip(held["plan_orders"], held["plans"], strict=True))
            for o in current:
                assert_same_fields(by_order[o], sol.final[o])
        assert sum(len(runner.holding(s)["orders"]) - len(runner.dropped[s])
                   for s in range(2)) == n
        runner.output(_echo, sol.final, 64)  # syncs every stale plan
        for s in range(2):
            held = runner.holding(s)
            mine = np.flatnonzero(runner.owner == s).tolist()
            assert set(mine) <= set(held["plan_orders"])
            for o, plan in zip(held["plan_orders"], held["plans"], strict=True):
                if o in mine:
                    assert_same_fields(plan, sol.final[o])
        check_no_oversell(state.world.stock, sol.final)


def test_a_round_releases_each_part_budget_once_sent(small_scarce: dict[str, Any]) -> None:
    """The driver does not hold a part's stock budget after sending it (the message
    carries it): every task's budget is :data:`~ordersplit.batch.shards.SENT` after
    the round, and the plans the slots return still never oversell."""
    from ordersplit.batch.ledger import apply_changes
    from ordersplit.batch.partition import make_tasks
    from ordersplit.batch.shards import SENT

    with _searched(small_scarce, rounds=1, parts=3) as (state, runner, _):
        residual = check_no_oversell(state.world.stock, runner.plans)
        tasks = make_tasks(state, runner.plans, runner.lower, residual, "region", 3, 5.0,
                           max_moves=200)
        assert any(t.budget.size for t in tasks)
        for changed, old, _ in runner.improve(tasks, last=True):
            apply_changes(residual, old, [runner.plans[o] for o in changed.tolist()])
        assert all(t.budget is SENT for t in tasks)
        assert np.array_equal(residual, check_no_oversell(state.world.stock, runner.plans))


def _echo(state: Any, items: list[tuple[int, OrderPlan]]) -> list[int]:
    return [o for o, _ in items]


def _echo_plans(state: Any, items: list[tuple[int, OrderPlan]]
                ) -> list[tuple[int, OrderPlan, str]]:
    return [(o, plan, state.templates[o].order_id) for o, plan in items]


def test_the_output_evens_the_slots_shares_out(small_scarce: dict[str, Any]) -> None:
    """After a round of one part, one slot owns every order; an output with ``balance``
    first moves half of them to the other slot (a stage that waits for both lasts as
    long as the larger share): each slot then builds the output of an even share, with
    each order's own template and final plan, and holds exactly the orders it owns."""
    with _searched(small_scarce, rounds=1, parts=1) as (state, runner, sol):
        n = len(state.templates)
        assert sorted(np.bincount(runner.owner, minlength=2).tolist()) == [0, n]
        out = runner.output(_echo_plans, sol.final, n, balance=True)
        assert sorted(len(orders) for orders, _ in out) == [n // 2, n - n // 2]
        seen = sorted(o for orders, _ in out for o in orders.tolist())
        assert seen == list(range(n))
        for orders, rows in out:
            assert [o for o, _, _ in rows] == orders.tolist()
            for o, plan, order_id in rows:
                assert order_id == state.templates[o].order_id
                assert_same_fields(plan, sol.final[o])
        for s in range(2):
            held = runner.holding(s)
            assert set(held["orders"]) == set(np.flatnonzero(runner.owner == s).tolist())
        again = runner.output(_echo_plans, sol.final, n, balance=True)  # even: none move
        assert sorted(len(orders) for orders, _ in again) == [n // 2, n - n // 2]
        assert runner.traffic.output_bytes > 0


def test_deterministic_plans_do_not_depend_on_the_worker_count(
        small_scarce: dict[str, Any]) -> None:
    """The same parts give the same plans and tables with one process, two local
    processes and a Dask cluster of two workers."""
    distributed = pytest.importorskip("distributed")
    args: dict[str, Any] = dict(time_limit_s=600, max_rounds=3, deterministic=True, parts=3,
                                bound_time_limit_s=0)
    one = reoptimize(small_scarce, workers=1, **args)
    two = reoptimize(small_scarce, workers=2, **args)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = reoptimize(small_scarce, scheduler=client, **args)
    assert final_plans(one) == final_plans(two) == final_plans(dask)
    for name in ("master", "items", "payments"):
        assert one.tables[name].equals(two.tables[name]), name
        assert one.tables[name].equals(dask.tables[name]), name
    assert one.summary["children_batch"] <= one.summary["children_sequential"]
    assert two.summary["bytes_per_round"] > 0 and dask.summary["bytes_per_round"] > 0


def _inject(monkeypatch: pytest.MonkeyPatch, small: dict[str, Any]) -> str:
    from ordersplit.batch import model

    bad = small["requests"][5]["order"]["id"]
    real_compile = model.compile_request

    def compile_or_fail(request: Any) -> Any:
        if request.order.id == bad:
            raise RuntimeError("injected solver failure")
        return real_compile(request)

    monkeypatch.setattr(model, "compile_request", compile_or_fail)
    return bad


@pytest.mark.parametrize("where", ["processes", "dask"])
def test_one_bad_order_on_a_worker_is_reported_and_the_others_go_on(
        small: dict[str, Any], monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """An order whose split raises on a worker (local processes started by fork, which
    carry the injected failure; Dask workers in this process) is an error row; every
    other order is planned."""
    from ordersplit.batch import runners

    bad = _inject(monkeypatch, small)
    args: dict[str, Any] = dict(time_limit_s=600, max_rounds=2, deterministic=True, parts=2,
                                bound_time_limit_s=0)
    if where == "processes":
        monkeypatch.setattr(runners, "START_METHOD", "fork")
        res = reoptimize(small, workers=2, **args)
    else:
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            res = reoptimize(small, scheduler=client, **args)
    errors = res.errors.set_index("order_id")
    assert list(errors.index) == [bad]
    assert "injected solver failure" in errors.loc[bad, "message"]
    n = len(small["requests"])
    assert res.summary["orders_planned"] == n - 1
    assert len(set(res.master[res.master["level"] == 1]["order_id"])) == n - 1


def _reference_components(plans: list[OrderPlan], lower: list[OrderPlan],
                          residual: np.ndarray) -> list[frozenset[int]]:
    """The component cut's links, joined one pair at a time (union-find): orders sharing
    a cell; an order waiting for a SKU and the first order (in arrival) holding it; an
    order above its bound and the holders of the cells its bound plan lacks."""
    parent = list(range(len(plans)))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    def join(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    for o, p in enumerate(plans):
        for h, q in enumerate(plans):
            cells = set(zip(p.use_loc.tolist(), p.use_col.tolist(), strict=True))
            if h != o and cells & set(zip(q.use_loc.tolist(), q.use_col.tolist(), strict=True)):
                join(o, h)
            first = [k for k in p.short_cols.tolist() if k in q.use_col.tolist() and not any(
                k in plans[e].use_col.tolist() for e in range(h))]
            if first:
                join(o, h)
            lb = lower[o]
            if p.children > lb.children:
                lack = {(w, k) for w, k, u in zip(lb.use_loc.tolist(), lb.use_col.tolist(),
                                                  lb.use_units.tolist(), strict=True)
                        if u > residual[w, k]}
                if lack & set(zip(q.use_loc.tolist(), q.use_col.tolist(), strict=True)):
                    join(o, h)
    groups: dict[int, set[int]] = {}
    for o in range(len(plans)):
        groups.setdefault(find(o), set()).add(o)
    return sorted(frozenset(g) for g in groups.values())


def test_component_cut_equals_pairwise_links(small_scarce: dict[str, Any]) -> None:
    """The vectorized component cut groups the orders exactly as joining every linked
    pair one by one does."""
    from ordersplit.batch.partition import component_labels

    res = reoptimize(small_scarce, time_limit_s=600, max_rounds=0, deterministic=True,
                     bound_time_limit_s=0)
    sol = res.solution
    assert sol is not None
    batch = batch_from_json(small_scarce)
    plans, lower = sol.sequential[:150], sol.lower[:150]
    residual = check_no_oversell(batch.world.stock, sol.sequential)
    labels = component_labels(plans, lower, residual)
    groups: dict[int, set[int]] = {}
    for o, lab in enumerate(labels):
        groups.setdefault(lab, set()).add(o)
    got = sorted(frozenset(g) for g in groups.values())
    assert got == _reference_components(plans, lower, residual)
    assert 1 < len(got) < len(plans)


def test_incremental_oversell_check(small_scarce: dict[str, Any]) -> None:
    """Replacing plans updates the residual as a full recount does, and a replacement
    that takes stock already taken raises."""
    from ordersplit.batch.ledger import OversellError, apply_changes

    res = reoptimize(small_scarce, time_limit_s=600, max_rounds=0, deterministic=True,
                     bound_time_limit_s=0)
    sol = res.solution
    assert sol is not None
    stock = batch_from_json(small_scarce).world.stock
    plans = list(sol.sequential)
    residual = check_no_oversell(stock, plans)
    changed = [o for o in range(len(plans)) if plans[o] is not sol.lower[o]
               and sol.lower[o].use_units.size][:5]
    assert changed
    freed = [plans[o] for o in changed]
    empty = failed_plan("freed")
    apply_changes(residual, freed, [empty] * len(freed))
    for o in changed:
        plans[o] = empty
    assert np.array_equal(residual, check_no_oversell(stock, plans))
    # every order taking its lower-bound plan again at once oversells somewhere
    with pytest.raises(OversellError):
        apply_changes(residual, [], [sol.lower[o] for o in range(len(plans))])
