"""The sequential baseline computed on the worker slots gives exactly the serial plans.

The slots split chunks of orders sequentially against copies of the stock that miss
the orders still out on other slots; the driver keeps a slot's split only when the
order sees the same clipped view of the stock (:func:`sequential_step`). Whatever the
staleness of the copies, the plans must be the serial ones, plan by plan."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_bound_gap import SIMPLE, batch, scenario_input
from ordersplit.batch import batch_from_json
from ordersplit.batch.api import _state
from ordersplit.batch.engine import bound_and_sequential
from ordersplit.batch.inputs import BatchInput
from ordersplit.batch.ledger import Ledger
from ordersplit.batch.model import OrderPlan
from ordersplit.batch.search import (
    KEPT,
    REUSED,
    SOLVED,
    BatchState,
    lower_bound_plans,
    sequential_plans,
    sequential_step,
    speculate,
)
from ordersplit.batch.shards import make_runner

KINDS = ("plain", "rules", "scarce", "scn-scarce", "scn-thin", "scn-all-rules")
"""Simple generators with rules off and on, scarce stock, and scenario batches."""


def _instance(kind: str, n_orders: int, seed: int) -> BatchInput:
    if kind in SIMPLE:
        return batch_from_json(batch(kind, n_orders, np.random.default_rng(seed)))
    return scenario_input(kind, n_orders, seed)


def same(a: OrderPlan, b: OrderPlan) -> bool:
    """Two plans take the same stock with the same objective and status."""
    return (a.key() == b.key() and a.backorder_units == b.backorder_units
            and a.error == b.error and a.status == b.status
            and np.array_equal(a.use_loc, b.use_loc) and np.array_equal(a.use_col, b.use_col)
            and np.array_equal(a.use_units, b.use_units)
            and np.array_equal(a.short_cols, b.short_cols))


_CACHE: dict[tuple[str, int], tuple[BatchState, list[OrderPlan], list[OrderPlan]]] = {}


def _serial(kind: str, seed: int) -> tuple[BatchState, list[OrderPlan], list[OrderPlan]]:
    """A batch's state, lower-bound plans and serial sequential plans (cached)."""
    if (kind, seed) not in _CACHE:
        work = _instance(kind, 60, seed)
        state = BatchState(work.world, tuple(work.templates), 5.0)
        lower = lower_bound_plans(state, range(len(work.templates)))
        seq, _ = sequential_plans(state, lower, Ledger.full(work.world.stock))
        _CACHE[kind, seed] = state, lower, seq
    return _CACHE[kind, seed]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 2), chunk=st.integers(1, 25),
       lag=st.integers(0, 3))
def test_speculative_splits_never_change_the_sequential_plans(kind: str, seed: int,
                                                              chunk: int, lag: int) -> None:
    """Chunks of ``chunk`` orders split against a copy of the stock that misses the
    ``lag`` chunks before them: committed in arrival order, the plans are the serial
    ones, and a slot's split is kept only where the serial pass solved the order."""
    state, lower, seq = _serial(kind, seed)
    n = len(lower)
    ledger = Ledger.full(state.world.stock)
    done: list[OrderPlan] = []
    how_of: list[int] = []
    for start in range(0, n, chunk):
        orders = list(range(start, min(n, start + chunk)))
        copy = Ledger.full(state.world.stock)
        for p in done[:max(0, start - lag * chunk)]:
            copy.take(p)
        before = copy.residual.copy()
        guesses = speculate(state, orders, [lower[o] for o in orders], copy)
        assert np.array_equal(copy.residual, before)  # the slot's copy is left as it was
        for o, guess in zip(orders, guesses, strict=True):
            plan, how = sequential_step(state, ledger, state.templates[o], lower[o], guess)
            done.append(plan)
            how_of.append(how)
    assert all(same(a, b) for a, b in zip(done, seq, strict=True))
    assert all((how == KEPT) == (s is lo) for how, s, lo in zip(how_of, seq, lower, strict=True))
    if lag == 0:  # an exact copy: every split is the slot's
        assert SOLVED not in how_of


@pytest.mark.parametrize("kind", ["rules", "scn-scarce"])
def test_two_local_processes_give_the_serial_sequential_plans(kind: str) -> None:
    """The engine's pass on two local processes (chunks out on both at once, so the
    copies are stale) gives the serial plans; on a scarce batch some splits come from
    the slots and some are made by the driver."""
    work = _instance(kind, 300, 7)
    state = _state(work, 0.2, True, None)
    lower_ref = lower_bound_plans(state, range(len(work.templates)))
    seq_ref, solves = sequential_plans(state, lower_ref, Ledger.full(work.world.stock))
    runner = make_runner(state, 2)
    try:
        lower, seq, stats = bound_and_sequential(state, runner)
    finally:
        runner.close()
    assert all(same(a, b) for a, b in zip(lower, lower_ref, strict=True))
    assert all(same(a, b) for a, b in zip(seq, seq_ref, strict=True))
    assert stats["sequential_resolves"] == solves
    assert stats["sequential_reused"] + stats["sequential_driver_solves"] == solves
    if kind == "scn-scarce":
        assert stats["sequential_reused"] > 0 and stats["sequential_driver_solves"] > 0


def test_one_process_reuses_every_split(small_scarce: dict[str, Any]) -> None:
    """With one slot in this process the chunk is split when the driver reaches it, on
    an exact copy of the stock: the driver solves nothing itself."""
    work = batch_from_json(small_scarce)
    state = _state(work, 0.2, True, None)
    runner = make_runner(state, 1)
    try:
        _, seq, stats = bound_and_sequential(state, runner)
    finally:
        runner.close()
    assert stats["sequential_resolves"] > 0 and stats["sequential_driver_solves"] == 0
    assert stats["sequential_reused"] == stats["sequential_resolves"]
    assert REUSED != SOLVED
    lower_ref = lower_bound_plans(state, range(len(work.templates)))
    seq_ref, _ = sequential_plans(state, lower_ref, Ledger.full(work.world.stock))
    assert all(same(a, b) for a, b in zip(seq, seq_ref, strict=True))
