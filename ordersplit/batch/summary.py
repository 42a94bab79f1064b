"""The summary of a batch run: children before and after, delivery, gaps to the bounds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ordersplit.batch.bound import JointBound, joint_bound, waiting_units, withholding_orders
from ordersplit.batch.engine import Solution, planned_mask, summary_numbers
from ordersplit.batch.inputs import BatchInput, OrderError


def bound_of(batch: BatchInput, sol: Solution, limit_s: float
             ) -> tuple[JointBound | None, dict[str, Any]]:
    """The joint lower bound (``None`` when ``limit_s`` is 0) and the withholding counts."""
    if limit_s <= 0:
        return None, {}
    ok = planned_mask(sol)
    cap = max(waiting_units(batch.world, batch.templates, sol.sequential, ok),
              waiting_units(batch.world, batch.templates, sol.final, ok))
    withholding = {name: withholding_orders(batch.world, batch.templates, plans, ok)
                   for name, plans in (("sequential", sol.sequential), ("batch", sol.final))}
    joint = joint_bound(batch.world, batch.templates, sol.lower, ok, cap, limit_s,
                        no_withholding=not any(withholding.values()))
    extra: dict[str, Any] = {f"withholding_orders_{name}": n for name, n in withholding.items()}
    extra["children_joint_bound_lp"] = joint.lp_children
    return joint, extra


def batch_summary(batch: BatchInput, sol: Solution, errors: Sequence[OrderError],
                  changes: pd.DataFrame, batch_id: str | None, workers: Any,
                  joint: JointBound | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The figures of an optimized batch: children, delivery, gaps, search statistics."""
    ok = planned_mask(sol)
    nums = summary_numbers(sol, sum(t.group_bound for t, keep in zip(batch.templates, ok,
                                                                      strict=True) if keep),
                           joint)
    n = sum(ok)
    before_name = "current" if sol.current is not None else "sequential"
    before = int(nums[f"children_{before_name}"] or 0)
    after = int(nums["children_batch"] or 0)
    extra_before, extra_after = before - n, after - n
    out: dict[str, Any] = {
        "batch_id": batch_id,
        "orders_input": batch.n_input,
        "orders_planned": n,
        "orders_failed": len(errors),
        "before": before_name,
        "warm_start": sol.start,
        "children_before": before,
        "children_after": after,
        "extra_children_before": extra_before,
        "extra_children_after": extra_after,
        "extra_children_removed_pct": round(100 * (extra_before - extra_after) / extra_before, 2)
        if extra_before > 0 else 0.0,
        "mean_delivery_hours_before": nums[f"mean_delivery_hours_{before_name}"],
        "mean_delivery_hours_after": nums["mean_delivery_hours_batch"],
        "orders_changed_warehouse": int(changes["changed_warehouse"].sum()) if n else 0,
        "orders_changed_children": int(changes["changed_children"].sum()) if n else 0,
        "workers": workers,
    }
    out.update({k: v for k, v in nums.items() if k not in out})
    out.update(extra)
    out.update({k: round(v, 3) if isinstance(v, float) else v for k, v in sol.stats.items()})
    return out
