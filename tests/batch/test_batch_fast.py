"""The solver-free fast path gives the exact solver's objective, and plans that rebuild."""

from __future__ import annotations

from typing import Any

import numpy as np

from ordersplit.batch import batch_from_json
from ordersplit.batch.model import clipped_view, fast_plan, rebuild, solve_order
from ordersplit.solver.evaluate import violations


def test_fast_plans_match_the_exact_solver(small: dict[str, Any]) -> None:
    batch = batch_from_json(small)
    world = batch.world
    rng = np.random.default_rng(1)
    checked = 0
    for tpl in batch.templates:
        full = clipped_view(tpl, world.stock)
        # with all the stock, and with a random part of it (what other orders left)
        for view in (full, full * (rng.random(full.shape) < 0.6)):
            quick = fast_plan(world, tpl, view)
            if quick is None:
                continue
            exact = solve_order(world, tpl, view, 10.0, fast=False)
            assert exact.status == "optimal"
            assert quick.key()[:3] == exact.key()[:3], tpl.order_id
            assert quick.backorder_units == exact.backorder_units == 0
            _request, compiled, result = rebuild(world, tpl, quick)
            assert result.assignment is not None and result.objective is not None
            assert violations(compiled.problem, result.assignment) == []
            assert result.objective.children == quick.children
            assert result.objective.makespan == quick.makespan
            assert result.objective.unit_hours == quick.unit_minutes
            checked += 1
    assert checked > 50
