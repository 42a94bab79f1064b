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

import numpy as np
import pandas as pd

from ordersplit.batch.bound import LP_ROWS_PER_S, ROWS_PER_ORDER, JointBound
from ordersplit.batch.clock import MARGIN, Clock
from ordersplit.batch.engine import Solution, optimize
from ordersplit.batch.frames import table_chunk
from ordersplit.batch.heap import release
from ordersplit.batch.inputs import BatchInput, OrderError, batch_from_json
from ordersplit.batch.model import OrderPlan, failed_plan, with_work_limit
from ordersplit.batch.output import TABLE_COLUMNS, TABLE_NAMES, build_plans, change_rows, frame
from ordersplit.batch.runners import prestart_local_workers
from ordersplit.batch.search import BatchState
from ordersplit.batch.shards import Runner, make_runner
from ordersplit.batch.sink import TableSink
from ordersplit.batch.summary import batch_summary, bound_of
from ordersplit.batch.tables import batch_from_tables, read_tables
from ordersplit.batch.writeback import StoreView, read_store, store_summary, stored_tables, write_back
from ordersplit.errors import OrderSplitError
from ordersplit.lifecycle.supersede import BatchWrite
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
    streamed: list[Path] = field(default_factory=list)
    """With ``reoptimize(stream=True)``: the files the order tables were written to while
    they were built (they are then not in ``tables``)."""

    @property
    def master(self) -> pd.DataFrame:
        if "master" not in self.tables and self.streamed:
            raise KeyError("the order tables were written to files while they were built "
                           f"(stream=True): read {self.streamed[0]}")
        return self.tables["master"]

    @property
    def changes(self) -> pd.DataFrame:
        return self.tables["changes"]

    @property
    def errors(self) -> pd.DataFrame:
        return self.tables["errors"]

    def write(self, out: str | Path, fmt: str = "csv") -> list[Path]:
        """Every table as ``OUT/NAME.csv`` (or ``.parquet``) and ``OUT/summary.json``."""
        return [*self.write_tables(out, fmt), self.write_summary(out)]

    def write_tables(self, out: str | Path, fmt: str = "csv") -> list[Path]:
        """Every table held as ``OUT/NAME.csv`` (or ``.parquet``)."""
        sink = TableSink(out, fmt, {name: list(df.columns) for name, df in self.tables.items()})
        for name, df in self.tables.items():
            sink.write(name, df)
        return sink.close()

    def write_summary(self, out: str | Path) -> Path:
        """The summary as ``OUT/summary.json``."""
        path = Path(out) / "summary.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary, indent=2, default=str) + "\n")
        return path


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
               bound_time_limit_s: float = 60.0, deterministic: bool = False,
               work_limit: int | None = None, parts: int | None = None,
               stream: bool = False) -> BatchResult:
    """Re-split a batch of pending orders jointly against their shared stock.

    ``source``: a folder of CSV/Parquet tables (see :mod:`ordersplit.batch.tables`), a
    JSON file or decoded JSON (a list of split requests sharing warehouses), a mapping
    of table name -> DataFrame, or a :class:`BatchInput`. ``time_limit_s`` bounds the
    whole run, input to output (:mod:`ordersplit.batch.clock`; the lower bound and the
    sequential warm start always complete, the search gets what the later stages leave);
    ``workers`` local processes, or a Dask ``scheduler`` address (or ``Client``).
    ``out`` writes the tables (``fmt`` ``csv``/``parquet``). ``store`` (a database URL,
    with a ``batch_id``) writes the plans back into the lifecycle store
    (:mod:`ordersplit.batch.writeback`): stored pending orders whose plan changed get
    their children superseded; the tables returned are read back from the store.
    ``max_rounds`` caps the search rounds. ``bound_time_limit_s`` bounds the LP of the
    joint lower bound (:mod:`ordersplit.batch.bound`; 0 skips it and the gap uses the
    per-order bound). ``deterministic``: work limits instead of the wall clock (search
    rounds and moves counted, per-order splits with ``options.work_limit``), so the same
    input and ``workers`` give the same plans on any machine, under any load; the time
    limit then does not stop the search. ``parts``: parts per search round (default
    :func:`~ordersplit.batch.engine.part_count`: one per 10,000 orders, and in a search
    that is not deterministic at least one per worker); a deterministic run with the
    same ``parts`` gives the same plans whatever ``workers`` or the Dask cluster.
    ``stream`` (with ``out``, without ``store``): the order tables (``master``,
    ``items``, ``payments``, ``activities``) are written to ``out`` in pieces of
    :data:`STREAM_WINDOW` orders while they are built, instead of being held whole and
    returned (``BatchResult.tables`` then holds ``changes`` and ``errors``,
    ``BatchResult.streamed`` the files); the files are the same.

    Every input order ends as a plan or as an error row; the count is checked.
    """
    clock = Clock(time_limit_s)
    if stream and (out is None or store is not None):
        raise ValueError("stream writes the tables to --out while they are built: it needs "
                         "an out folder and no store")
    if store is not None and not batch_id:
        raise ValueError("writing to a store needs a batch id (--batch-id): it makes the "
                         "write-back idempotent")
    prestart_local_workers(workers, scheduler)  # its imports overlap reading the input
    batch = load_batch(source)
    clock.lap("input")
    release("input")  # validating the input freed far more than the batch keeps
    view: StoreView | None = None
    work = batch
    if store is not None:
        assert batch_id is not None
        view = read_store(store, batch_id, batch)
        assert view.batch is not None
        work = view.batch
        clock.lap("store_read")
    state = _state(work, order_time_limit_s, deterministic, work_limit)
    solution: Solution | None = None
    sink = None if not stream or out is None else TableSink(out, fmt, dict(TABLE_COLUMNS))
    # no valid order: empty order tables (streamed: the sink writes their headers)
    tables: dict[str, pd.DataFrame] = {} if sink is not None else {
        name: pd.DataFrame(columns=list(cols)) for name, cols in TABLE_COLUMNS.items()}
    failures: dict[int, str] = {}
    planned = 0
    plans: list[Plan] = []
    bound: tuple[JointBound | None, dict[str, Any]] = (None, {})
    traffic: dict[str, Any] = {}
    if work.templates:
        bar = _Bar(progress, len(work.templates))
        runner: Runner = make_runner(state, workers, scheduler)
        bound_s = max(0.0, min(bound_time_limit_s, BOUND_SHARE * time_limit_s))
        bound_expect = _bound_s(bound_s, len(work.templates))
        try:
            solution = optimize(
                state, runner, time_limit_s=clock.remaining(), reserved=work.reserved_views(),
                max_rounds=max_rounds, progress=bar, deterministic=deterministic, parts=parts,
                search_budget=lambda warm: clock.reserve(
                    bound_expect + _later_s(state, warm, store is not None)))
            clock.lap("search")
            clock.move("search", "bound_and_sequential", solution.stats["sequential_s"])
            # what the estimate kept for the bound, and what the search left over (a
            # deterministic run does not watch the clock: the bound gets its budget)
            left = bound_s if deterministic else (
                clock.remaining() - clock.reserved_s / MARGIN + bound_expect)
            bound = bound_of(work, solution, 0.0 if bound_time_limit_s <= 0 or left < MIN_BOUND_S
                             else min(bound_s, left))
            clock.lap("joint_bound")
            if store is None:
                tables, failures, planned = _tables(state, runner, solution.final, bar, sink)
            else:  # the lifecycle store takes contract plans
                plans, _, failures = _plans_and_rows(state, runner, solution.final, bar)
            clock.lap("tables")
            release("tables")
            traffic["bytes_output"] = runner.traffic.output_bytes
        finally:
            runner.close()
            bar.close()
        traffic["slot_cpu_s"] = {k: round(v, 3) for k, v in runner.traffic.slot_cpu_s.items()}
        traffic["slot_cpu_busiest_s"] = {k: round(v, 3)
                                         for k, v in runner.traffic.slot_cpu_busiest_s.items()}
    errors = list(batch.errors) + ([] if view is None else view.errors)
    for o, message in sorted(failures.items()):
        tpl = state.templates[o]
        errors.append(OrderError(tpl.order_id, tpl.input_row, "", message))
        if solution is not None and not solution.final[o].failed:
            solution.final[o] = failed_plan(message)  # found, but could not be built
    changes = [] if solution is None else change_rows(
        state, solution.current if solution.current is not None else solution.sequential,
        solution.final)
    if view is not None:
        writes, tables = _write_back(view, batch, plans, changes, errors, clock)
    else:
        writes = {}
        tables["changes"] = frame(changes)
    streamed = [] if sink is None else sink.close()
    errors.sort(key=lambda e: e.position)
    n_planned = planned if sink is not None else (
        len(set(tables["master"]["root_id"])) if len(tables["master"]) else 0)
    if n_planned + len(errors) != batch.n_input:
        raise CountMismatchError(f"{n_planned} plans + {len(errors)} errors != "
                                 f"{batch.n_input} orders")
    tables["errors"] = frame([e.__dict__ for e in errors], ERROR_COLUMNS)
    workers_used = workers if scheduler is None else "dask"
    summary: dict[str, Any] = {"batch_id": batch_id, "workers": workers_used}
    if solution is not None:
        summary = batch_summary(work, solution, errors, frame(changes), batch_id,
                                workers_used, *bound)
    summary.update(traffic)
    summary.update(orders_input=batch.n_input, orders_planned=n_planned,
                   orders_failed=len(errors), orders_optimized=len(work.templates),
                   deterministic=deterministic)
    if view is not None:
        summary["store"] = store_summary(view, writes)
    result = BatchResult({k: tables[k] for k in TABLE_NAMES if k in tables}, summary, plans,
                         solution, streamed)
    if out is not None:
        result.write_tables(out, fmt)
        clock.lap("output")
    summary.update(clock.summary())
    if out is not None:
        result.write_summary(out)
    log.info("batch %s: %d orders -> %d plans + %d errors", batch_id or "-", batch.n_input,
             n_planned, len(errors))
    return result


BOUND_SHARE = 0.2
"""Most of the whole time limit the joint bound's LP may take."""
MIN_BOUND_S = 0.5
"""Less time than this left for the joint bound: it is skipped (the gap then uses the
per-order bound)."""
DETERMINISTIC_ORDER_GUARD_S = 30.0
"""Per-order time limit in deterministic mode: a guard only, the work limit decides."""
DETERMINISTIC_WORK_LIMIT = 1_000_000
"""Default ``options.work_limit`` of per-order splits in deterministic mode."""
STORE_WRITE_S = 0.01
"""Estimated seconds to write one order back (measured: 4.3 s for 500 orders on SQLite
at load average 9; the plans it builds and the read-back are sampled)."""
STREAM_WINDOW = 20_000
"""Orders whose table rows are built and written together with ``stream`` (about 60 MB
of rows in the driver at a time)."""
OUTPUT_S_PER_ORDER = 0.0003
"""Seconds to write one order's rows to files (measured: 0.6 s for 2,000 orders)."""
TABLE_CHUNK_MAX = 8192
"""Most orders in one chunk of the output tables (a chunk's rows are held whole on its
slot and in the driver until joined)."""
SAMPLE = 64
"""Orders whose output is built ahead to estimate the time the later stages need."""


def _state(batch: BatchInput, order_time_limit_s: float, deterministic: bool,
           work_limit: int | None) -> BatchState:
    """The workers' state; in deterministic mode every per-order split carries a work
    limit (``options.work_limit``) and the wall-clock limit is only a guard."""
    templates = batch.templates
    if deterministic:
        limit = work_limit or DETERMINISTIC_WORK_LIMIT
        templates = [with_work_limit(t, limit) for t in templates]
        order_time_limit_s = max(order_time_limit_s, DETERMINISTIC_ORDER_GUARD_S)
    return BatchState(batch.world, tuple(templates), order_time_limit_s)


def _bound_s(budget_s: float, n: int) -> float:
    """Seconds the joint bound's LP is expected to take (at most its budget)."""
    return min(budget_s, ROWS_PER_ORDER * n / LP_ROWS_PER_S)


def _later_s(state: BatchState, warm: Sequence[OrderPlan], store: bool) -> float:
    """Seconds the stages after the search will take (tables or plans, and the store),
    from building the output of two samples of orders here (their difference gives the
    time per order, apart from the fixed cost of a chunk)."""
    n = len(warm)
    step = max(1, n // SAMPLE)
    picks = [(o, warm[o]) for o in range(0, n, step)][:SAMPLE]
    small = picks[:max(1, len(picks) // 4)]
    spent = []
    for sample in (small, picks):
        t0 = time.perf_counter()
        if store:
            build_plans(state, sample)
        else:
            table_chunk(state, sample)
        spent.append(time.perf_counter() - t0)
    per_order = max(0.0, spent[1] - spent[0]) / max(1, len(picks) - len(small))
    if per_order == 0.0:  # too noisy to tell apart: all of it per order
        per_order = spent[1] / max(1, len(picks))
    fixed = max(0.0, spent[0] - per_order * len(small))
    # the chunks run on the workers, but shipping plans and tables back costs about
    # what the parallel work saves on this machine (measured): count it serially
    later = fixed * 2 + per_order * n + OUTPUT_S_PER_ORDER * n
    if store:
        later += n * (STORE_WRITE_S + per_order)  # written one by one, read back here
    return later


def _write_back(view: StoreView, batch: BatchInput, plans: Sequence[Plan],
                changes: Sequence[dict[str, Any]], errors: list[OrderError], clock: Clock
                ) -> tuple[dict[str, BatchWrite], dict[str, pd.DataFrame]]:
    """Write the plans back, then read every order's tables from the store (orders that
    fail are added to ``errors``); see :mod:`ordersplit.batch.writeback`."""
    requests = {t.order_id: t.request for t in batch.templates}
    rows = {t.order_id: t.input_row for t in batch.templates}
    writes, failed = write_back(view, requests, plans, {c["order_id"]: c for c in changes})
    clock.lap("store_write")
    errors.extend(OrderError(oid, rows[oid], "", message) for oid, message in failed)
    gone = {e.order_id for e in errors}
    ids = [t.order_id for t in batch.templates if t.order_id not in gone]
    tables, missing = stored_tables(view.url, view.batch_id, ids)
    errors.extend(OrderError(oid, rows[oid], "", "not in the store after the write-back")
                  for oid in missing)
    clock.lap("tables")
    return writes, tables


def _drop(tables: dict[str, pd.DataFrame], gone: set[str]) -> None:
    """Remove the rows of orders that failed after their rows were made."""
    if not gone:
        return
    for name in TABLE_COLUMNS:
        df = tables[name]
        if len(df):
            tables[name] = df[~df["root_id"].isin(gone)].reset_index(drop=True)


def _tables(state: BatchState, runner: Runner, final: Sequence[OrderPlan], bar: _Bar,
            sink: TableSink | None = None
            ) -> tuple[dict[str, pd.DataFrame], dict[int, str], int]:
    """The four order tables of the final plans in order position, the failed orders as
    ``{position: reason}`` (no rows), and how many orders have rows. With a ``sink`` the
    tables are built and written :data:`STREAM_WINDOW` orders at a time and not returned."""
    n = len(final)
    window = max(1, n if sink is None else STREAM_WINDOW)
    tables: dict[str, pd.DataFrame] = {}
    failures: dict[int, str] = {}
    planned = 0
    for lo in range(0, n, window):
        tables, failed = _window_tables(state, runner, final, bar, lo, min(n, lo + window))
        failures.update(failed)
        planned += tables["master"]["root_id"].nunique() if len(tables["master"]) else 0
        if sink is not None:
            for name, df in tables.items():
                sink.write(name, df)
            tables = {}
    return tables, failures, planned


def _window_tables(state: BatchState, runner: Runner, final: Sequence[OrderPlan], bar: _Bar,
                   lo: int, hi: int) -> tuple[dict[str, pd.DataFrame], dict[int, str]]:
    """The four order tables of the orders ``lo <= o < hi`` (chunks on the slots owning
    the orders, money vectorized per chunk), in order position, without the rows of the
    orders that failed; those as ``{position: reason}``.

    The chunks are runs of consecutive positions (:meth:`Runner.output` with
    ``contiguous``), joined in position order one table at a time, each chunk's frames
    dropped as soon as they are joined: the rows are then usually in order already and
    need no sorted copy (at a million orders the tables take gigabytes)."""
    n = hi - lo
    # one chunk per slot up to TABLE_CHUNK_MAX orders: a chunk's money frames have a
    # fixed cost (about 0.05-0.1 s of CPU), so two chunks where one does cost more
    size = max(64, min(TABLE_CHUNK_MAX, -(-n // runner.workers)))
    chunks: list[tuple[int, dict[str, pd.DataFrame]]] = []
    failures: dict[int, str] = {}
    for orders, chunk in runner.output(table_chunk, final, size, contiguous=True,
                                       span=(lo, hi), balance=True):
        failures.update(chunk.failures)
        chunks.append((int(orders[0]) if orders.size else hi, chunk.tables))
        bar("tables", len(orders), len(final))
    chunks.sort(key=lambda c: c[0])
    position = {state.templates[o].order_id: o for o in range(lo, hi)}
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLE_COLUMNS:
        dfs = [t.pop(name) for _, t in chunks if name in t]
        dfs = [df for df in dfs if len(df)]
        tables[name] = _in_order(pd.concat(dfs, ignore_index=True), position) if dfs else \
            pd.DataFrame(columns=list(TABLE_COLUMNS[name]))
        del dfs
    _drop(tables, {state.templates[o].order_id for o in failures})
    return tables, failures


def _in_order(df: pd.DataFrame, position: dict[str, int]) -> pd.DataFrame:
    """``df``'s rows by their order's batch position (stable: an order's rows keep their
    order), so the tables do not depend on which slot built which order; ``df`` itself
    when its rows are in that order already."""
    pos = df["root_id"].map(position).to_numpy()
    if pos.size < 2 or bool((pos[1:] >= pos[:-1]).all()):
        return df
    return df.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)


def _plans_and_rows(state: BatchState, runner: Runner, final: Sequence[OrderPlan], bar: _Bar
                    ) -> tuple[list[Plan], dict[str, list[dict[str, Any]]], dict[int, str]]:
    """Plans and table rows of the final plans, in order position; failed orders as
    ``{position: reason}``."""
    n = len(final)
    size = max(32, min(1024, n // max(1, 4 * runner.workers) or 1))
    built = []
    for orders, chunk in runner.output(build_plans, final, size):
        built.extend(chunk)
        bar("plans", len(orders), n)
    built.sort(key=lambda b: b[0])
    plans: list[Plan] = []
    rows: dict[str, list[dict[str, Any]]] = {}
    failures: dict[int, str] = {}
    for o, plan, r, message in built:
        if plan is None:
            failures[o] = message
            continue
        plans.append(plan)
        for name, part in r.items():
            rows.setdefault(name, []).extend(part)
    return plans, rows, failures
