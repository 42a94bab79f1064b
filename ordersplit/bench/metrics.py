"""Per-order measurements of a plan and the per-strategy summary of a benchmark run.

Definitions (the columns of :func:`summarize`):

* ``children``: every child of the plan the customer would see - shipments, plus the
  children the rules fix before optimization (bulky, offline-store, back-order), which
  are the same for every strategy.
* ``extra_pct``: children beyond one per order, ``(sum(children) - orders) / orders``
  in %. A single-child order has no extra child; rule-forced children count as extra
  (they are identical across strategies, so differences are the strategy's doing).
  ``extra_cf_pct`` is the same over the orders whose objective puts children first
  (orders asking for ``fastest`` delivery may rightly take more children).
* ``delivery_h``: mean over orders of the latest arrival of the order's shipments, in
  hours (orders with nothing to ship are left out).
* ``cost``: mean fixed child cost per order (warehouse ``child_cost``, currency units).
* ``optimal_pct``: share of orders the strategy proved optimal for the order's own
  lexicographic objective.
* ``gap_pct``: ``(sum(children) - sum(best_bound)) / sum(best_bound)`` in %, over the
  children-first orders, where an order's best bound is the largest children lower
  bound any strategy proved on it (a proven optimum counts). On ``fastest`` orders the
  optimum may rightly exceed the bound, so they are left out.
* ``ms_median``, ``ms_p99``: wall time of the solve of the compiled problem per order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ordersplit.plan.children import draft_children
from ordersplit.solver.compile import Compiled

SUMMARY_COLUMNS = (
    "strategy", "kind", "orders", "failed", "children_per_order", "extra_pct", "extra_cf_pct",
    "delivery_h", "cost", "optimal_pct", "gap_pct", "ms_median", "ms_p99", "ms_mean",
)  # fmt: skip


@dataclass(frozen=True)
class FixedPart:
    """What the rules fixed for one order: children, their cost (problem units)."""

    children: int
    cost: int


def fixed_part(compiled: Compiled) -> FixedPart:
    """Children and cost the rules fixed before optimization (shared by all strategies)."""
    problem, layout = compiled.problem, compiled.layout
    empty = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
    drafts = draft_children(layout, empty, problem.per_warehouse)
    cost = sum(int(problem.cost[w]) for d in drafts if d.kind == "shipment" for w in d.sources)
    return FixedPart(len(drafts), cost)


def best_bounds(rows: pd.DataFrame) -> pd.Series:
    """Per order, the best children lower bound proved by any strategy."""
    proven = rows["children"].where(rows["optimal"] & rows["children_first"])
    best = pd.concat([rows["lower_bound"], proven], axis=1).max(axis=1)
    return best.groupby(rows["order"]).max()


def summarize(rows: pd.DataFrame, strategies: list[str], kinds: dict[str, str]) -> pd.DataFrame:
    """One row per strategy, in ``strategies`` order (see the module docstring)."""
    bound = best_bounds(rows)
    out: list[dict[str, object]] = []
    for name in strategies:
        r = rows[rows["strategy"] == name]
        ok = r[~r["failed"]]
        n = len(ok)
        cf = ok[ok["children_first"]]
        lb = float(bound.reindex(cf["order"]).sum())
        ms = r["ms"].to_numpy(dtype=float)
        out.append({
            "strategy": name,
            "kind": kinds.get(name, ""),
            "orders": len(r),
            "failed": int(r["failed"].sum()),
            "children_per_order": ok["children"].mean() if n else np.nan,
            "extra_pct": 100 * (ok["children"].sum() - n) / n if n else np.nan,
            "extra_cf_pct": 100 * (cf["children"].sum() - len(cf)) / len(cf) if len(cf) else np.nan,
            "delivery_h": ok["delivery_h"].mean(),
            "cost": ok["cost"].mean(),
            "optimal_pct": 100 * r["optimal"].mean() if len(r) else np.nan,
            "gap_pct": 100 * (cf["children"].sum() - lb) / lb if lb > 0 else np.nan,
            "ms_median": float(np.median(ms)) if ms.size else np.nan,
            "ms_p99": float(np.percentile(ms, 99)) if ms.size else np.nan,
            "ms_mean": float(ms.mean()) if ms.size else np.nan,
        })  # fmt: skip
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def format_table(summary: pd.DataFrame) -> str:
    """The summary as a fixed-width text table (what the CLI prints)."""
    show = summary.rename(columns={
        "children_per_order": "children/order", "extra_pct": "extra %",
        "extra_cf_pct": "extra % (children-first)", "delivery_h": "delivery h",
        "optimal_pct": "optimal %", "gap_pct": "gap %", "ms_median": "ms median",
        "ms_p99": "ms p99",
    }).drop(columns=["ms_mean"])  # fmt: skip
    return show.to_string(index=False, float_format=lambda v: f"{v:.3f}" if abs(v) < 10 else
                          f"{v:.1f}")
