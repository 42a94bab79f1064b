"""The split engine's figures (issues 2, 13): ``split()`` end to end against exact baselines.

Families (``ordersplit/bench/families.py``): ``uniform`` (quantity 1, today's), ``partial``
(quantities 1-3 with 20 % of lines 4-12; stocked cells 5-200 units, 1-3 for 15 %),
``thin`` (0-4 units per cell, quantities 1-3) and ``default`` (the data-shaped preset
with its real quantities), each ``plain`` (one shipping group) or with ``rules``
(temperature, bulky, bundles, store lines, merchants, cross-border, back-orders), at
10 x 30, 30 x 100 and 100 x 300 (lines x warehouses).

Each order's JSON request goes through ``ordersplit.split`` with ``auto`` and, right
after it on the same order, with each baseline (``milp_cbc``, ``cpsat``, ``milp``), all
with the same ``time_limit_ms`` (200 ms; 2 s at 100 x 300). ``--baseline-mode process``
runs the baselines' splits in a worker process of their own
(:class:`ordersplit.bench.engine.BaselineWorker`), still order by order and awaited
before the next ``auto`` split, so that this process splits with ``auto`` only, as a
user's order service does; ``inline`` runs them in this process, between ``auto``'s
splits (what the figures before session 15 are). Either way ``auto`` meets a processor
whose caches something else has just filled (BENCHMARKS.md, session 15);
``--auto-block B`` lets ``auto`` split B orders back to back before the baselines
split the same B, as a busy order service splits. Printed: one row per cell
and solver (median, p99, proven share, deadline overshoot, ratios against ``auto`` on
the same orders, disagreements), then the issue's goals with pass/fail. ``--out``
writes ``rows.csv`` (every split), ``summary.csv``, ``summary.json`` (with goals,
load average and commit) and ``summary.md`` (the table of BENCHMARKS.md).

    python benchmarks/split_engine.py --quick --out bench-out/engine
    python benchmarks/split_engine.py --sizes 10x30 --orders 300 --out out/
    python benchmarks/split_engine.py --sizes 100x300 --big-orders 20 --check-cpsat 3
    python benchmarks/split_engine.py --quick --sizes 10x30 --auto-block 10
    python benchmarks/split_engine.py --quick --sizes 10x30 --baseline-mode process
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from ordersplit.api import split
from ordersplit.bench.engine import (
    BASELINES,
    BUDGET_MS,
    BaselineWorker,
    Cell,
    Goal,
    cell_requests,
    goals,
    independent_check,
    markdown_table,
    run_cell,
    summarize,
    warm_up,
)
from ordersplit.bench.families import FAMILIES, RULES, SIZES

log = logging.getLogger("split_engine")

BASELINE_MODE = "inline"
"""Where the baselines split by default (``--baseline-mode``)."""


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).parent)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--rules", default=",".join(RULES), help="plain, rules or both")
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--orders", type=int, default=100, help="orders per cell at 10x30 and 30x100")
    p.add_argument("--big-orders", type=int, default=20, help="orders per cell at 100x300")
    p.add_argument("--baselines", default=",".join(BASELINES),
                   help="comma-separated; empty for auto alone")
    p.add_argument("--baseline-mode", choices=("process", "inline"), default=BASELINE_MODE,
                   help="baselines in a worker process of their own, or in this one "
                        "between auto's splits (default %(default)s)")
    p.add_argument("--baseline-cpu", type=int, default=None, metavar="N",
                   help="with --baseline-mode process: the worker on processor N only, "
                        "this process on the others")
    p.add_argument("--auto-block", type=int, default=1, metavar="B",
                   help="auto splits B orders back to back, then the baselines the same "
                        "B orders (default 1: order by order)")
    p.add_argument("--baseline-orders", type=int, default=None,
                   help="run the baselines on the first N orders of a cell only (default all)")
    p.add_argument("--big-baseline-orders", type=int, default=None,
                   help="the same at 100x300 (default: --baseline-orders)")
    p.add_argument("--limit-ms", type=int, default=None,
                   help="auto's time_limit_ms (default 200; 2000 at 100x300)")
    p.add_argument("--baseline-limit-ms", type=int, default=None,
                   help="the baselines' time_limit_ms (default: auto's), e.g. 5000 to prove optima")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--check-cpsat", type=int, default=0, metavar="N",
                   help="re-solve N optimal auto plans per cell with the reference CP-SAT model")
    p.add_argument("--check-sizes", default="100x300", help="sizes the check samples")
    p.add_argument("--check-limit-s", type=float, default=60.0, help="the reference model's limit")
    p.add_argument("--check-auto-limit-ms", type=int, default=20_000,
                   help="auto's budget when splitting the orders to check")
    p.add_argument("--check-workers", type=int, default=1, help="CP-SAT workers of the reference")
    p.add_argument("--quick", action="store_true",
                   help="30 orders per cell (5 at 100x300, baselines on 3 of them)")
    p.add_argument("--out", help="directory for rows.csv, summary.csv, summary.json, summary.md")
    args = p.parse_args(argv)
    if args.quick:
        args.orders, args.big_orders = 30, 5
        if args.big_baseline_orders is None:
            args.big_baseline_orders = 3
    if args.big_baseline_orders is None:
        args.big_baseline_orders = args.baseline_orders
    return args


def print_table(summary: list[dict[str, Any]], goal_list: list[Goal]) -> None:
    print(f"{'cell':26} {'solver':9} {'n':>4} {'median':>8} {'cpu med':>8} {'p99':>8} {'proven':>7} "
          f"{'over p99':>8} {'ratio':>7} {'r(med)':>7} {'more':>4} {'diff':>4}")
    for s in summary:
        cell = f"{s['family']}/{s['rules']}/{s['size']}"
        ratio = (f"{s['ratio_median_of_ratios']:7.1f} {s['ratio_of_medians']:7.1f} "
                 f"{s['auto_more_children']:4d} {s['optimal_disagree']:4d}"
                 if "ratio_of_medians" in s else "")
        print(f"{cell:26} {s['solver']:9} {s['orders']:4d} {s['median_ms']:8.2f} "
              f"{s['cpu_median_ms']:8.2f} {s['p99_ms']:8.1f} "
              f"{s['proven_share']:7.1%} {s['overshoot_p99_ms']:8.1f} {ratio}")
    print("times in ms of split() end to end (wall; cpu med: the splitting process's CPU "
          "clock, every thread); ratio = median of per-order (baseline / auto), "
          "r(med) = ratio of medians; more = orders where auto has more children than the "
          "baseline's proven optimum; diff = both optimal, different objective")
    print("goals:")
    for g in goal_list:
        value = f"{g.value:.1%}" if "proven" in g.goal else f"{g.value:.2f}"
        print(f"  {'PASS' if g.passed else 'FAIL'}  {g.cell:26} {g.goal:30} {value}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args = parse_args(argv)
    baselines = [b for b in args.baselines.split(",") if b]
    load_before = os.getloadavg()
    with ExitStack() as stack:
        worker = None
        if baselines and args.baseline_mode == "process":
            cpus = None
            if args.baseline_cpu is not None:
                cpus = {args.baseline_cpu}
                os.sched_setaffinity(0, os.sched_getaffinity(0) - cpus)
            worker = stack.enter_context(BaselineWorker(baselines, cpus))
            warm_up(())
        else:
            warm_up(baselines)
        rows, checks, started = _run(args, baselines, worker)
    return _report(args, rows, checks, started, load_before)


def _mode(args: argparse.Namespace) -> str:
    """How the baselines ran: ``none``, ``inline``, ``process`` or ``process on cpu N``,
    and ``auto in blocks of B`` when not order by order."""
    if not args.baselines:
        return "none"
    mode = str(args.baseline_mode)
    if args.baseline_mode == "process" and args.baseline_cpu is not None:
        mode = f"process on cpu {args.baseline_cpu}"
    return mode if args.auto_block <= 1 else f"{mode}, auto in blocks of {args.auto_block}"


def _run(args: argparse.Namespace, baselines: list[str], worker: BaselineWorker | None,
         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Every cell's rows (and independent checks), and when the run started."""
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    started = time.perf_counter()
    for size in args.sizes.split(","):
        big = size == "100x300"
        n = args.big_orders if big else args.orders
        limit = args.limit_ms or BUDGET_MS.get(size, 200)
        for family in args.families.split(","):
            for rules in args.rules.split(","):
                cell = Cell(family, rules, size)
                reqs = cell_requests(cell, n, args.seed)
                cell_rows = run_cell(cell, reqs, baselines, limit,
                                     args.big_baseline_orders if big else args.baseline_orders,
                                     args.baseline_limit_ms, worker, args.auto_block)
                rows += cell_rows
                print(f"{cell.name}: {n} orders, {time.perf_counter() - started:.0f} s so far",
                      file=sys.stderr)
                if args.check_cpsat and size in args.check_sizes.split(","):
                    checks += _check(cell, reqs, args)
    return rows, checks, started


def _report(args: argparse.Namespace, rows: list[dict[str, Any]], checks: list[dict[str, Any]],
            started: float, load_before: tuple[float, float, float]) -> int:
    """Print the table and goals; write ``--out``."""
    summary = summarize(rows)
    goal_list = goals(summary)
    load_after = os.getloadavg()
    meta = {"commit": _commit(), "load_average_before": load_before,
            "load_average_after": load_after, "cores": os.cpu_count(),
            "args": vars(args), "seconds": time.perf_counter() - started}  # fmt: skip
    print(f"commit {meta['commit']}, {meta['cores']} cores, load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, {meta['seconds']:.0f} s; "
          f"baselines {_mode(args)}")
    print_table(summary, goal_list)
    if checks:
        unproven = sum(c["status"] != "optimal" for c in checks)
        done = [c for c in checks if c.get("reference_key") is not None]
        bad = [c for c in done if c["agree"] is False]
        print(f"independent CP-SAT check: {len(done)} optimal plans checked, {len(bad)} disagree; "
              f"{unproven} orders not proven by auto in {args.check_auto_limit_ms} ms, "
              f"{len(checks) - len(done) - unproven} undecided by the reference in "
              f"{args.check_limit_s:.0f} s")
        for c in bad:
            print(f"  DISAGREE {c['order_id']}: plan {c['plan_key']} reference {c['reference_key']}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(out / "rows.csv", index=False)
        pd.DataFrame(summary).to_csv(out / "summary.csv", index=False)
        payload = {**meta, "summary": summary, "goals": [g.__dict__ for g in goal_list],
                   "independent_check": checks}
        (out / "summary.json").write_text(json.dumps(payload, indent=2, default=str))
        mode = _mode(args)
        (out / "summary.md").write_text(f"baselines: {mode}\n\n{markdown_table(summary)}\n")
    return 0


def _check(cell: Cell, reqs: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Check up to ``--check-cpsat`` of the cell's ``optimal`` auto plans with the reference model.

    The orders are split again with ``--check-auto-limit-ms`` (a longer budget, so that a
    loaded machine still yields proven plans to check); orders ``auto`` does not prove
    are skipped and counted.
    """
    out: list[dict[str, Any]] = []
    for raw in reqs:
        if sum(c["status"] == "optimal" for c in out) >= args.check_cpsat:
            break
        req = {**raw, "options": {**raw.get("options", {}), "solver": "auto",
                                  "time_limit_ms": args.check_auto_limit_ms}}
        plan = split(json.dumps(req))
        if plan.status != "optimal":
            out.append({"cell": cell.name, "order_id": plan.order_id, "status": plan.status,
                        "agree": None, "message": "auto did not prove it"})
            continue
        result = independent_check(req, plan, args.check_limit_s, args.check_workers)
        out.append({"cell": cell.name, **result})
    return out


if __name__ == "__main__":
    sys.exit(main())
