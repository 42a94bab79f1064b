"""The joint bound with its exact group program: never above the optimum a separate
monolithic CP-SAT model proves, never below the LP bound, and at the optimum on small
batches of orders the program holds exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_bound_gap import SCENARIO, SIMPLE, batch, scenario_input
from benchmarks.joint_model import monolithic_optimum
from ordersplit.batch import batch_from_json
from ordersplit.batch import bound as bound_module
from ordersplit.batch.bound import JointBound, joint_bound, waiting_units
from ordersplit.batch.inputs import BatchInput
from ordersplit.batch.ledger import Ledger
from ordersplit.batch.search import BatchState, lower_bound_plans, sequential_plans


def _instance(kind: str, n_orders: int, seed: int) -> BatchInput:
    if kind in SIMPLE:
        return batch_from_json(batch(kind, n_orders, np.random.default_rng(seed)))
    return scenario_input(kind, n_orders, seed)


def _plans(work: BatchInput) -> tuple[list[Any], list[Any]]:
    """Each order's plan alone with all the stock, and the sequential plans."""
    state = BatchState(work.world, tuple(work.templates), 5.0)
    lower = lower_bound_plans(state, range(len(work.templates)))
    seq, _ = sequential_plans(state, lower, Ledger.full(work.world.stock))
    return lower, seq


def _bound(work: BatchInput, lower: list[Any], cap: int, no_withholding: bool,
           monkeypatch: pytest.MonkeyPatch | None = None, lp_only: bool = False
           ) -> JointBound:
    ok = [True] * len(lower)
    if not lp_only:
        return joint_bound(work.world, work.templates, lower, ok, cap, 60.0, no_withholding)
    assert monkeypatch is not None
    with monkeypatch.context() as m:
        m.setattr(bound_module, "FLOW_MAX_COLS", -1)
        m.setattr(bound_module, "MIP_MAX_ROWS", -1)
        return joint_bound(work.world, work.templates, lower, ok, cap, 60.0, no_withholding)


@settings(max_examples=14, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([*SIMPLE, *SCENARIO]), n_orders=st.integers(3, 8),
       seed=st.integers(0, 10**6), slack=st.sampled_from([0, 2, 10**3]),
       no_withholding=st.booleans())
def test_bound_never_exceeds_the_monolithic_optimum_nor_falls_below_the_lp(
        kind: str, n_orders: int, seed: int, slack: int, no_withholding: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    work = _instance(kind, n_orders, seed)
    if not work.templates:
        return
    lower, seq = _plans(work)
    # the sequential plans leave this much waiting and withhold nothing: a plan exists
    cap = waiting_units(work.world, work.templates, seq, [True] * len(seq)) + slack
    optimum, _ = monolithic_optimum(work, cap, 60.0, no_withholding)
    bound = _bound(work, lower, cap, no_withholding)
    lp = _bound(work, lower, cap, no_withholding, monkeypatch, lp_only=True)
    assert optimum is not None, (kind, seed, "the monolithic model did not prove its optimum")
    assert bound.children <= optimum, (kind, n_orders, seed, cap, bound, optimum)
    assert bound.children >= lp.children >= lp.group
    assert bound.lp_children == lp.children


@pytest.mark.parametrize("kind", ["plain", "rules", "scarce", "scn-thin", "scn-partial"])
def test_bound_reaches_the_optimum_on_small_batches(kind: str) -> None:
    """Orders of one or two rule groups without bundles: the exact group program is the
    joint problem itself, so its proven optimum is the monolithic model's."""
    for seed in range(2):
        work = _instance(kind, 8, seed)
        lower, seq = _plans(work)
        cap = waiting_units(work.world, work.templates, seq, [True] * len(seq))
        optimum, _ = monolithic_optimum(work, cap, 60.0)
        bound = _bound(work, lower, cap, True)
        assert bound.children == optimum, (kind, seed, bound, optimum)
