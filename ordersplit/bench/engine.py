"""The split-engine benchmark (issue 13): ``split()`` end to end, interleaved with baselines.

For every order of a (family, rules, size) cell (:mod:`ordersplit.bench.families`) the
request is serialized to JSON once; then ``split()`` runs on that text with
``options.solver = "auto"`` and, right after it on the same order, with each baseline
(``milp_cbc``, ``cpsat``, ``milp``), each with the same ``time_limit_ms``. The wall time
is everything ``split()`` does: parse, compile, solve, plan, money. Interleaving order
by order makes the ratios fair on a busy machine: both sides see the same load.

With a :class:`BaselineWorker` the baselines' splits run in a process of their own,
still order by order: ``auto``'s split of order ``i`` is timed in this process, then
order ``i`` goes to the worker and is awaited before order ``i + 1``. This process then
does nothing but ``auto``'s splits, as a user's order service does; in process, the
baselines' model building between two ``auto`` splits leaves its objects in this
process's heap and its code and data in the processor's caches (``mode`` in each row
says which way the baselines ran).

:func:`summarize` turns the per-order rows into one row per (cell, solver): median, p99,
proven share, deadline overshoot, the ratios against ``auto`` on the same orders, and
disagreements (``auto`` with more children than a baseline's proven optimum, or two
``optimal`` plans with different objectives). :func:`goals` checks the issue's goals.
:func:`independent_check` re-solves ``optimal`` plans with the benchmark's own CP-SAT
model (:func:`ordersplit.bench.reference.cpsat_optimum`).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ordersplit.api import split
from ordersplit.bench.families import family_config
from ordersplit.bench.reference import cpsat_optimum
from ordersplit.bench.scenario import generate_orders
from ordersplit.models.plan import Plan
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request

log = logging.getLogger(__name__)

BASELINES = ("milp_cbc", "cpsat", "milp")
BUDGET_MS = {"10x30": 200, "30x100": 200, "100x300": 2000}
"""Per-order ``time_limit_ms``: the default 200 ms, and 2 s at 100 x 300 (the issue's goal)."""


@dataclass(frozen=True)
class Cell:
    """One (family, rules, size) combination of the benchmark."""

    family: str
    rules: str
    size: str

    @property
    def name(self) -> str:
        return f"{self.family}/{self.rules}/{self.size}"


def cell_requests(cell: Cell, n_orders: int, seed: int) -> list[dict[str, Any]]:
    """The cell's seeded requests (contract dicts)."""
    cfg = family_config(cell.family, cell.size, rules=cell.rules, n_orders=n_orders, seed=seed)
    return generate_orders(cfg)


def _with_options(request: dict[str, Any], solver: str, limit_ms: int) -> str:
    req = dict(request)
    req["options"] = {**request.get("options", {}), "solver": solver, "time_limit_ms": limit_ms}
    return json.dumps(req)


def plan_fields(plan: Plan) -> dict[str, Any]:
    """What a result row keeps of a plan (plain values: they cross a process boundary)."""
    obj = plan.objective
    return {
        "order_id": plan.order_id, "backend": plan.solver, "status": str(plan.status),
        "children": obj.children, "delivery_hours": obj.delivery_hours,
        "unit_hours": obj.unit_hours, "children_lower_bound": obj.children_lower_bound,
    }  # fmt: skip


def plan_row(cell: Cell, order: int, solver: str, limit_ms: int, wall_s: float,
             plan: Plan | dict[str, Any], mode: str = "inline",
             cpu_s: float = math.nan) -> dict[str, Any]:
    """One per-order, per-solver result row (``plan`` or its :func:`plan_fields`);
    ``mode``: where the split ran (``inline``: this process; ``process``: the
    :class:`BaselineWorker`); ``cpu_s``: the splitting process's CPU seconds (every
    thread of it: a MIP library's too), beside the wall time the goals are on."""
    fields = plan_fields(plan) if isinstance(plan, Plan) else plan
    return {
        "family": cell.family, "rules": cell.rules, "size": cell.size, "order": order,
        "order_id": fields["order_id"], "solver": solver, "backend": fields["backend"],
        "status": fields["status"], "mode": mode,
        "wall_ms": wall_s * 1000, "cpu_ms": cpu_s * 1000, "time_limit_ms": limit_ms,
        "children": fields["children"], "delivery_hours": fields["delivery_hours"],
        "unit_hours": fields["unit_hours"],
        "children_lower_bound": fields["children_lower_bound"],
    }  # fmt: skip


def _serve_baselines(conn: Connection, baselines: tuple[str, ...],
                     cpus: frozenset[int] | None) -> None:
    """The :class:`BaselineWorker`'s loop (on ``cpus`` when given): warm the baselines
    up, then split each text
    received (timed here, on the wall clock as in process, and the CPU clock) and send
    back ``(wall seconds, CPU seconds, plan fields)``; ``None`` ends it."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    warm_up(baselines, auto=False)
    conn.send("ready")
    while True:
        text = conn.recv()
        if text is None:
            break
        c0, t0 = time.process_time(), time.perf_counter()
        plan = split(text)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        conn.send((wall, cpu, plan_fields(plan)))
    conn.close()


class BaselineWorker:
    """The baselines' splits in a worker process of their own (see the module docstring).

    Started with ``spawn`` (a fresh interpreter: nothing of this process's heap, and no
    threads of the MIP libraries forked); :meth:`split` sends one request text and
    waits for its answer, so the two processes never split at the same time. With
    ``cpus`` the worker runs on those processors only (the caller pins itself to the
    others: then the baselines' code and data stay out of the private caches of the
    processor ``auto`` splits on). A context manager: leaving it ends the worker.
    """

    def __init__(self, baselines: Sequence[str], cpus: Iterable[int] | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        pinned = frozenset(cpus) if cpus is not None else None
        self._proc = ctx.Process(target=_serve_baselines,
                                 args=(child, tuple(baselines), pinned),
                                 name="baseline-worker", daemon=True)
        self._proc.start()
        child.close()
        if self._conn.recv() != "ready":
            raise RuntimeError("the baseline worker did not start")

    def split(self, text: str) -> tuple[float, float, dict[str, Any]]:
        """``split(text)`` in the worker: its wall and CPU seconds, :func:`plan_fields`."""
        self._conn.send(text)
        wall, cpu, fields = self._conn.recv()
        return float(wall), float(cpu), fields

    def close(self) -> None:
        """End the worker (it finishes the split under way first)."""
        if self._proc.is_alive():
            self._conn.send(None)
            self._proc.join(timeout=30)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()
        self._conn.close()

    def __enter__(self) -> BaselineWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_cell(cell: Cell, requests: Sequence[dict[str, Any]], baselines: Sequence[str],
             limit_ms: int, baseline_orders: int | None = None,
             baseline_limit_ms: int | None = None,
             worker: BaselineWorker | None = None, auto_block: int = 1,
             ) -> list[dict[str, Any]]:
    """Split every request with ``auto`` and, right after it, with each baseline.

    ``baseline_orders`` limits the baselines to the first orders (the ratios and
    disagreements are then taken over those orders only); ``baseline_limit_ms`` gives
    the baselines a longer budget, so that they prove optima to check ``auto`` against.
    With ``worker`` the baselines' splits run there (one order at a time, awaited),
    ``auto``'s in this process. With ``auto_block`` B > 1 the orders go in blocks of
    B: ``auto`` splits the block's orders back to back, then each baseline splits them
    (order by order, as above), then the next block: ``auto`` meets the processor as a
    busy order service does (after its own previous split), the baselines the same
    orders within the same few seconds. Rows come in the order the splits ran.
    """
    limits = {s: limit_ms if s == "auto" else baseline_limit_ms or limit_ms
              for s in ("auto", *baselines)}
    texts = {s: [_with_options(r, s, limits[s]) for r in requests] for s in limits}
    rows: list[dict[str, Any]] = []

    def run(k: int, solver: str) -> None:
        text = texts[solver][k]
        if worker is not None and solver != "auto":
            wall, cpu, fields = worker.split(text)
            rows.append(plan_row(cell, k, solver, limits[solver], wall, fields, "process", cpu))
            return
        c0, t0 = time.process_time(), time.perf_counter()
        plan = split(text)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append(plan_row(cell, k, solver, limits[solver], wall, plan, cpu_s=cpu))

    block = max(1, auto_block)
    for start in range(0, len(requests), block):
        ks = range(start, min(start + block, len(requests)))
        for k in ks:
            run(k, "auto")
            if block == 1 and (baseline_orders is None or k < baseline_orders):
                for solver in baselines:
                    run(k, solver)
        if block > 1:
            for k in ks:
                if baseline_orders is None or k < baseline_orders:
                    for solver in baselines:
                        run(k, solver)
    return rows


def warm_up(baselines: Iterable[str], auto: bool = True) -> None:
    """Load every backend's library once (lazy imports), outside any timing (``auto``
    too unless told not to: the baseline worker never runs it)."""
    reqs = cell_requests(Cell("uniform", "plain", "10x30"), 1, seed=1)
    for solver in (("auto",) if auto else ()) + tuple(baselines):
        split(_with_options(reqs[0], solver, 1000))


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else math.nan


def _key(row: dict[str, Any]) -> tuple[float, float, float]:
    d = row["delivery_hours"]
    return (row["children"], -1.0 if d is None else d, row["unit_hours"])


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (cell, solver) with times, proofs, ratios and disagreements."""
    out: list[dict[str, Any]] = []
    cells = list(dict.fromkeys((r["family"], r["rules"], r["size"]) for r in rows))
    for fam, rules, size in cells:
        mine = [r for r in rows if (r["family"], r["rules"], r["size"]) == (fam, rules, size)]
        auto = {r["order"]: r for r in mine if r["solver"] == "auto"}
        for solver in dict.fromkeys(r["solver"] for r in mine):
            own = [r for r in mine if r["solver"] == solver]
            ms = np.array([r["wall_ms"] for r in own])
            over = np.array([r["wall_ms"] - r["time_limit_ms"] for r in own])
            row: dict[str, Any] = {
                "family": fam, "rules": rules, "size": size, "solver": solver,
                "orders": len(own), "time_limit_ms": own[0]["time_limit_ms"],
                "mode": own[0].get("mode", "inline"),
                "median_ms": _pct(ms, 50), "p99_ms": _pct(ms, 99), "max_ms": float(ms.max()),
                "cpu_median_ms": _pct(np.array([r.get("cpu_ms", math.nan) for r in own]), 50),
                "proven_share": sum(r["status"] == "optimal" for r in own) / len(own),
                "overshoot_p99_ms": _pct(over, 99),
                "children": sum(r["children"] for r in own),
            }  # fmt: skip
            if solver != "auto":
                pairs = [(auto[r["order"]], r) for r in own]
                a_ms = np.array([a["wall_ms"] for a, _ in pairs])
                row["auto_median_ms_same_orders"] = _pct(a_ms, 50)
                row["ratio_median_of_ratios"] = float(np.median(ms / a_ms))
                row["ratio_of_medians"] = _pct(ms, 50) / _pct(a_ms, 50)
                row["auto_more_children"] = sum(
                    b["status"] == "optimal" and a["children"] > b["children"] for a, b in pairs)
                row["auto_fewer_children"] = sum(a["children"] < b["children"] for a, b in pairs)
                row["optimal_disagree"] = sum(
                    a["status"] == "optimal" and b["status"] == "optimal" and _key(a) != _key(b)
                    for a, b in pairs)
                row["auto_worse_than_proven"] = sum(
                    b["status"] == "optimal" and _key(a) > _key(b) for a, b in pairs)
            out.append(row)
    return out


@dataclass(frozen=True)
class Goal:
    """One of the issue's goals for one cell: what, the measured value, and the verdict."""

    cell: str
    goal: str
    value: float
    passed: bool


def goals(summary: Sequence[dict[str, Any]]) -> list[Goal]:
    """The issue's goals, per cell (``auto`` rows; the CBC ratio from the ``milp_cbc`` row)."""
    out: list[Goal] = []
    for s in summary:
        cell = f"{s['family']}/{s['rules']}/{s['size']}"
        if s["solver"] == "milp_cbc" and s["size"] == "10x30":
            r = s["ratio_median_of_ratios"]
            out.append(Goal(cell, "ratio vs milp_cbc >= 20x", r, r >= 20))
        if s["solver"] != "auto":
            continue
        med, p99, proven = s["median_ms"], s["p99_ms"], s["proven_share"]
        within = f"{s['time_limit_ms']:g} ms"  # the goals are set at 200 ms and 2000 ms
        if s["size"] == "10x30":
            out += [Goal(cell, "median <= 1 ms", med, med <= 1),
                    Goal(cell, "p99 <= 5 ms", p99, p99 <= 5),
                    Goal(cell, f">= 99% proven in {within}", proven, proven >= 0.99)]
        elif s["size"] == "30x100":
            out += [Goal(cell, "median <= 5 ms", med, med <= 5),
                    Goal(cell, "p99 <= 50 ms", p99, p99 <= 50),
                    Goal(cell, f"100% proven in {within}", proven, proven >= 1.0)]
        elif s["size"] == "100x300":
            out.append(Goal(cell, f">= 90% proven in {within}", proven, proven >= 0.9))
        slack = 0.1 * s["time_limit_ms"] + 5
        out.append(Goal(cell, "p99 overshoot <= 10% + 5 ms", s["overshoot_p99_ms"],
                        s["overshoot_p99_ms"] <= slack))
    return out


def _fixed_parts(plan: Plan) -> tuple[int, float]:
    """Children and unit hours the rules fixed before optimization (bulky, store, back-order)."""
    children, unit_hours = 0, 0.0
    for c in plan.children:
        if c.kind != "shipment" or "bulky" in c.reasons:
            children += 1
            if c.kind == "shipment" and c.delivery_hours is not None:
                unit_hours += c.delivery_hours * sum(line.quantity for line in c.lines)
    return children, unit_hours


def independent_check(request: dict[str, Any], plan: Plan, limit_s: float = 60.0,
                      workers: int = 1) -> dict[str, Any]:
    """Re-solve ``request`` with the reference CP-SAT model and compare with ``plan``.

    The reference optimum is over the compiled problem (what the rules leave to
    optimize); the parts the rules fixed (bulky, store, back-order children) are read
    off the plan and added. ``agree`` is None when the reference proved nothing in time.
    """
    problem = compile_request(parse_request(request)).problem
    ref = cpsat_optimum(problem, limit_s, workers)
    fixed_children, fixed_units = _fixed_parts(plan)
    obj = plan.objective
    mine: dict[str, float] = {
        "children": obj.children - fixed_children,
        "makespan": round((obj.delivery_hours or 0.0) * 60),
        "unit_hours": round((obj.unit_hours - fixed_units) * 60),
    }
    out: dict[str, Any] = {"order_id": plan.order_id, "status": plan.status,
                           "reference_s": ref.seconds, "message": ref.message,
                           "terms": ",".join(ref.terms)}  # fmt: skip
    if ref.key is None:
        out["agree"] = None
        return out
    ours = tuple(mine.get(t, math.nan) for t in ref.terms)
    comparable = [(a, b) for a, b in zip(ours, ref.key, strict=True) if not math.isnan(a)]
    out["plan_key"] = list(ours)
    out["reference_key"] = list(ref.key)
    out["agree"] = all(a == b for a, b in comparable)
    return out


def markdown_table(summary: Sequence[dict[str, Any]]) -> str:
    """One Markdown row per cell: ``auto``'s figures, then each baseline's on the same orders.

    A baseline cell reads ``median ms, proven share, ratio`` where ratio is the median of
    per-order (baseline / auto) times; ``more`` sums the orders where ``auto`` has more
    children than a baseline's proven optimum, ``diff`` those where both are optimal
    with different objectives.
    """
    baselines = list(dict.fromkeys(s["solver"] for s in summary if s["solver"] != "auto"))
    head = ["cell", "orders", "auto median / p99 ms", "proven", "overshoot p99 ms",
            *[f"`{b}` (ms, proven, ratio)" for b in baselines], "more", "diff"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        if s["solver"] != "auto":
            continue
        cell = (s["family"], s["rules"], s["size"])
        others = {o["solver"]: o for o in summary
                  if (o["family"], o["rules"], o["size"]) == cell and o["solver"] != "auto"}
        cells = [f"{s['family']} {s['rules']} {s['size'].replace('x', ' x ')}", str(s["orders"]),
                 f"{s['median_ms']:.1f} / {s['p99_ms']:.0f}", f"{s['proven_share']:.0%}",
                 f"{s['overshoot_p99_ms']:.0f}"]
        for b in baselines:
            o = others.get(b)
            cells.append(f"{o['median_ms']:.0f}, {o['proven_share']:.0%}, "
                         f"{o['ratio_median_of_ratios']:.1f}x ({o['orders']})" if o else "-")
        cells += [str(sum(o["auto_more_children"] for o in others.values())),
                  str(sum(o["optimal_disagree"] for o in others.values()))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
