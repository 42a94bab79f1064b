"""``reoptimize(source, ...) -> BatchResult``: re-split pending orders jointly against shared stock.

The CLI (``ordersplit reoptimize``) is a thin face over this function.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ordersplit.batch.bound import joint_bound, waiting_units, withholding_orders
from ordersplit.batch.engine import Solution, optimize, planned_mask, summary_numbers
from ordersplit.batch.frames import MASTER, table_chunk
from ordersplit.batch.inputs import BatchInput, OrderError, batch_from_json
from ordersplit.batch.model import OrderPlan, failed_plan
from ordersplit.batch.output import TABLE_NAMES, build_plans, change_rows, frame
from ordersplit.batch.runners import Runner, make_runner
from ordersplit.batch.search import BatchState
from ordersplit.batch.tables import batch_from_tables, read_tables
from ordersplit.errors import OrderSplitError
from ordersplit.models.plan import Plan

log = logging.getLogger(__name__)

ORDER_TIME_LIMIT_S = 0.2
"""Default budget of one exact per-order split inside the batch."""
ERROR_COLUMNS = ("order_id", "position", "field", "message")


class CountMismatchError(OrderSplitError, RuntimeError):
    """Plans plus error rows do not add up to the input orders (never expected)."""


@dataclass
class BatchResult:
    """The re-optimized batch: the order tables, the change list, errors and a summary."""

    tables: dict[str, pd.DataFrame]
    """``master``, ``items``, ``payments``, ``activities``, ``changes``, ``errors``."""
    summary: dict[str, Any]
    plans: list[Plan] = field(default_factory=list)
    solution: Solution | None = None

    @property
    def master(self) -> pd.DataFrame:
        return self.tables["master"]

    @property
    def changes(self) -> pd.DataFrame:
        return self.tables["changes"]

    @property
    def errors(self) -> pd.DataFrame:
        return self.tables["errors"]

    def write(self, out: str | Path, fmt: str = "csv") -> list[Path]:
        """Every table as ``OUT/NAME.csv`` (or ``.parquet``) and ``OUT/summary.json``."""
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"unknown format {fmt!r}: csv or parquet")
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.tables.items():
            path = root / f"{name}.{fmt}"
            if fmt == "csv":
                df.to_csv(path, index=False)
            else:
                df.astype({c: "string" for c in df.columns if df[c].dtype == object}).to_parquet(
                    path, index=False)
            paths.append(path)
        summary = root / "summary.json"
        summary.write_text(json.dumps(self.summary, indent=2, default=str) + "\n")
        return [*paths, summary]


def load_batch(source: Any) -> BatchInput:
    """A batch from a folder of tables, a JSON file, decoded JSON, tables or a BatchInput."""
    if isinstance(source, BatchInput):
        return source
    if isinstance(source, Mapping) and all(isinstance(v, pd.DataFrame) for v in source.values()):
        return batch_from_tables(source)
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return batch_from_tables(read_tables(path))
        return batch_from_json(json.loads(path.read_text()))
    return batch_from_json(source)


class _Bar:
    """A tqdm bar per stage on standard error (or nothing)."""

    def __init__(self, enabled: bool, n_orders: int) -> None:
        self.enabled = enabled
        self.n = n_orders
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if stage not in self.bars:
            self.close()  # one bar at a time: the previous stage is done
            self.bars[stage] = tqdm(total=total or None, desc=stage, file=sys.stderr,
                                    unit="order" if total else "round", leave=True)
        self.bars[stage].update(done)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def reoptimize(source: Any, *, time_limit_s: float = 60.0, workers: int = 1,
               scheduler: Any = None, out: str | Path | None = None, fmt: str = "csv",
               store: str | None = None, batch_id: str | None = None,
               progress: bool = False, max_rounds: int | None = None,
               order_time_limit_s: float = ORDER_TIME_LIMIT_S,
               bound_time_limit_s: float = 60.0) -> BatchResult:
    """Re-split a batch of pending orders jointly against their shared stock.

    ``source``: a folder of CSV/Parquet tables (see :mod:`ordersplit.batch.tables`), a
    JSON file or decoded JSON (a list of split requests sharing warehouses), a mapping
    of table name -> DataFrame, or a :class:`BatchInput`. ``time_limit_s`` bounds the
    optimization (the lower bound and the sequential warm start always complete);
    ``workers`` local processes, or a Dask ``scheduler`` address (or ``Client``).
    ``out`` writes the tables (``fmt`` ``csv``/``parquet``); ``store`` writes the plans
    to a database URL through the lifecycle store (idempotent per order).
    ``max_rounds`` caps the search rounds (for reproducible runs).
    ``bound_time_limit_s`` bounds the LP of the joint lower bound
    (:mod:`ordersplit.batch.bound`; 0 skips it and the gap uses the per-order bound).

    Every input order ends as a plan or as an error row; the count is checked.
    """
    t0 = time.perf_counter()
    batch = load_batch(source)
    n_input = batch.n_input
    state = BatchState(batch.world, tuple(batch.templates), order_time_limit_s)
    bar = _Bar(progress, len(batch.templates))
    runner: Runner = make_runner(state, workers, scheduler)
    try:
        solution = optimize(state, runner, time_limit_s=time_limit_s,
                            reserved=batch.reserved_views(), max_rounds=max_rounds, progress=bar)
        tables, failures = _tables(state, runner, solution.final, bar)
        plans: list[Plan] = []
        if store is not None:  # the lifecycle store takes contract plans
            plans, _, more = _plans_and_rows(
                state, runner, [failed_plan(failures[o]) if o in failures else p
                                for o, p in enumerate(solution.final)], bar)
            failures.update(more)
    finally:
        runner.close()
        bar.close()
    errors = list(batch.errors)
    for o, message in sorted(failures.items()):
        tpl = state.templates[o]
        errors.append(OrderError(tpl.order_id, tpl.input_row, "", message))
        if not solution.final[o].failed:  # the plan was found but could not be built
            solution.final[o] = failed_plan(message)
    errors.sort(key=lambda e: e.position)
    if failures:  # an order failed after its rows were made (the store pass): drop them
        gone = {state.templates[o].order_id for o in failures}
        for name in TABLE_COLUMNS:
            df = tables[name]
            if len(df):
                tables[name] = df[~df["root_id"].isin(gone)].reset_index(drop=True)
    n_planned = sum(not p.failed for p in solution.final)
    if n_planned + len(errors) != n_input:
        raise CountMismatchError(f"{n_planned} plans + {len(errors)} errors != {n_input} orders")
    before = solution.current if solution.current is not None else solution.sequential
    tables["changes"] = frame(change_rows(state, before, solution.final))
    tables["errors"] = frame([e.__dict__ for e in errors], ERROR_COLUMNS)
    summary = _summary(batch, solution, errors, tables["changes"], time.perf_counter() - t0,
                       batch_id, workers if scheduler is None else "dask", bound_time_limit_s)
    if store is not None:
        summary["store"] = _to_store(store, state, plans, batch_id)
    summary["runtime_s"] = round(time.perf_counter() - t0, 3)
    result = BatchResult({k: tables[k] for k in TABLE_NAMES}, summary, plans, solution)
    if out is not None:
        result.write(out, fmt)
    log.info("batch %s: %d orders -> %d plans + %d errors", batch_id or "-", n_input,
             n_planned, len(errors))
    return result


TABLE_COLUMNS = {
    "master": (*MASTER, "goods", "discount", "shipping_fee", "invoice", "tax", "paid"),
    "items": ("order_id", "root_id", "line_id", "sku", "quantity", "component_of", "goods",
              "discount", "shipping_fee", "invoice", "tax", "paid"),
    "payments": ("order_id", "root_id", "method", "amount"),
    "activities": ("order_id", "root_id", "activity_id", "kind", "amount", "role",
                   "linked_children"),
}


def _tables(state: BatchState, runner: Runner, final: Sequence[OrderPlan], bar: _Bar
            ) -> tuple[dict[str, pd.DataFrame], dict[int, str]]:
    """The four order tables of the final plans (chunks on the runner, money vectorized
    per chunk); failed orders as ``{position: reason}``."""
    n = len(final)
    size = max(64, min(8192, n // max(1, 2 * runner.workers) or 1))
    tasks = [[(o, final[o]) for o in range(i, min(n, i + size))] for i in range(0, n, size)]
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_COLUMNS}
    failures: dict[int, str] = {}
    step = max(1, 2 * runner.workers)
    for i in range(0, len(tasks), step):
        for chunk in runner.map(table_chunk, tasks[i:i + step]):
            failures.update(chunk.failures)
            for name, df in chunk.tables.items():
                if len(df):
                    parts[name].append(df)
        bar("tables", sum(len(t) for t in tasks[i:i + step]), n)
    tables = {name: pd.concat(dfs, ignore_index=True) if dfs else
              pd.DataFrame(columns=list(TABLE_COLUMNS[name])) for name, dfs in parts.items()}
    return tables, failures


def _plans_and_rows(state: BatchState, runner: Runner, final: Sequence[OrderPlan], bar: _Bar
                    ) -> tuple[list[Plan], dict[str, list[dict[str, Any]]], dict[int, str]]:
    """Plans and table rows of the final plans; failed orders as ``{position: reason}``."""
    n = len(final)
    size = max(32, min(1024, n // max(1, 4 * runner.workers) or 1))
    tasks = [[(o, final[o]) for o in range(i, min(n, i + size))] for i in range(0, n, size)]
    plans: list[Plan] = []
    rows: dict[str, list[dict[str, Any]]] = {}
    failures: dict[int, str] = {}
    step = max(1, 2 * runner.workers)
    for i in range(0, len(tasks), step):
        for chunk in runner.map(build_plans, tasks[i:i + step]):
            for o, plan, r, message in chunk:
                if plan is None:
                    failures[o] = message
                    continue
                plans.append(plan)
                for name, part in r.items():
                    rows.setdefault(name, []).extend(part)
        bar("plans", sum(len(t) for t in tasks[i:i + step]), n)
    return plans, rows, failures


def _summary(batch: BatchInput, sol: Solution, errors: list[OrderError], changes: pd.DataFrame,
             runtime_s: float, batch_id: str | None, workers: Any,
             joint_limit_s: float = 60.0) -> dict[str, Any]:
    ok = planned_mask(sol)
    joint = None
    extra: dict[str, Any] = {}
    if joint_limit_s > 0:
        cap = max(waiting_units(batch.templates, sol.sequential, ok),
                  waiting_units(batch.templates, sol.final, ok))
        withholding = {name: withholding_orders(batch.world, batch.templates, plans, ok)
                       for name, plans in (("sequential", sol.sequential), ("batch", sol.final))}
        joint = joint_bound(batch.world, batch.templates, sol.lower, ok, cap, joint_limit_s,
                            no_withholding=not any(withholding.values()))
        extra.update({f"withholding_orders_{name}": n for name, n in withholding.items()})
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
    out["optimize_runtime_s"] = round(sol.stats.get("optimize_s", 0.0), 3)
    out["input_and_output_s"] = round(runtime_s - sol.stats.get("optimize_s", 0.0), 3)
    return out


def _to_store(url: str, state: BatchState, plans: Sequence[Plan], batch_id: str | None
              ) -> dict[str, Any]:
    """Save every plan through the lifecycle store (one transaction per order, idempotent)."""
    from ordersplit.lifecycle import IdempotencyError, open_store

    store = open_store(url)
    written = skipped = 0
    try:
        by_id = {t.order_id: t for t in state.templates}
        for plan in plans:
            tpl = by_id[plan.order_id]
            try:
                saved = store.save_split(tpl.request, plan)
            except IdempotencyError:
                skipped += 1  # stored before (an earlier run of this batch)
                continue
            written += saved.created
            skipped += not saved.created
    finally:
        store.close()
    log.info("batch %s: %d orders stored, %d already there", batch_id or "-", written, skipped)
    return {"url": url, "written": written, "already_stored": skipped}
