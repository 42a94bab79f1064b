"""Batch re-optimization benchmark: sequential vs batch vs the per-order lower bound.

    python benchmarks/bench_batch.py --orders 10000 --presets default scarce --time-limit-s 120
    python benchmarks/bench_batch.py --orders 100000 --warehouses 50 --skus 20000 \
        --presets default --time-limit-s 120 --workers 2
    python benchmarks/bench_batch.py --orders 5000 --speedup --time-limit-s 60

Orders and one shared network come from the scenario generator (``ScenarioConfig.preset``
with ``n_orders``, ``n_warehouses``, ``n_skus``, ``seed``). Each run prints one JSON line
with the children of sequential splitting, the batch and the per-order lower bound, the
share of the gap closed, extra children removed, runtimes and the memory peak.
``--speedup`` runs the same instance with one process, ``--workers`` local processes
and a Dask LocalCluster of as many workers, and prints the ratios (timings on a shared
machine are noisy; compare ratios from one run).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from typing import Any

from ordersplit.batch import reoptimize
from ordersplit.batch.scenario import scenario_batch
from ordersplit.bench.scenario import ScenarioConfig

log = logging.getLogger("bench_batch")


def peak_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its finished children (MB)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(me, 1), "peak_rss_children_mb": round(kids, 1)}


def config(preset: str, args: argparse.Namespace) -> ScenarioConfig:
    """The scenario of ``preset`` at the requested size (``--stock-depth`` overrides)."""
    extra = {} if args.stock_depth is None else {"stock_depth": args.stock_depth}
    return ScenarioConfig.preset(preset, n_orders=args.orders, n_warehouses=args.warehouses,
                                 n_skus=args.skus, seed=args.seed, **extra)


def run_one(preset: str, args: argparse.Namespace, workers: int, scheduler: Any = None,
            batch: Any = None) -> dict[str, Any]:
    cfg = config(preset, args)
    t0 = time.perf_counter()
    if batch is None:
        batch = scenario_batch(cfg, workers)
    t_input = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = reoptimize(batch, time_limit_s=args.time_limit_s, workers=workers,
                     scheduler=scheduler, progress=args.progress, max_rounds=args.max_rounds,
                     bound_time_limit_s=args.bound_time_limit_s)
    wall = time.perf_counter() - t1
    s = res.summary
    row = {
        "preset": preset, "stock_depth": cfg.stock_depth, "orders": args.orders,
        "warehouses": args.warehouses, "skus": args.skus,
        "seed": args.seed, "workers": workers if scheduler is None else f"dask:{workers}",
        "children_sequential": s["children_sequential"], "children_batch": s["children_batch"],
        "children_lower_bound": s["children_lower_bound"],
        "children_joint_bound": s.get("children_joint_bound"),
        "joint_bound_status": s.get("joint_bound_status"),
        "joint_bound_s": s.get("joint_bound_s"),
        "joint_bound_no_withholding": s.get("joint_bound_no_withholding"),
        "withholding_orders_batch": s.get("withholding_orders_batch"),
        "moves_accepted_joint": s.get("moves_accepted_joint"),
        "gap_closed_per_order_pct": s.get("gap_closed_per_order_pct"),
        "units_short_in_any_plan": s.get("units_short_in_any_plan"),
        "children_group_bound": s.get("children_group_bound"),
        "gap_closed_pct": s["gap_closed_pct"], "gap_bound": s.get("gap_bound"),
        "extra_removed_vs_sequential_pct": round(
            100 * (s["children_sequential"] - s["children_batch"])
            / max(1, s["children_sequential"] - s["orders_planned"]), 2),
        "backorder_units_sequential": s["backorder_units_sequential"],
        "backorder_units_batch": s["backorder_units_batch"],
        "backorder_units_lower_bound": s["backorder_units_lower_bound"],
        "delivery_h_sequential": s["mean_delivery_hours_sequential"],
        "delivery_h_batch": s["mean_delivery_hours_batch"],
        "errors": s["orders_failed"],
        "input_build_s": round(t_input, 1), "reoptimize_s": round(wall, 1),
        "lower_bound_s": s.get("lower_bound_s"), "sequential_s": s.get("sequential_s"),
        "search_s": s.get("search_s"), "optimize_s": s.get("optimize_s"),
        "stages_s": s.get("stages_s"), "moves": s.get("moves_accepted"),
        "rounds": s.get("rounds"), **peak_mb(),
    }
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--warehouses", type=int, default=30)
    p.add_argument("--skus", type=int, default=2000)
    p.add_argument("--presets", nargs="+", default=["default", "scarce"])
    p.add_argument("--time-limit-s", type=float, default=120.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-rounds", type=int)
    p.add_argument("--stock-depth", type=float,
                   help="override the preset's stock depth (units per stocked cell scale)")
    p.add_argument("--bound-time-limit-s", type=float, default=60.0)
    p.add_argument("--speedup", action="store_true",
                   help="one process vs local processes vs Dask LocalCluster, same instance")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for preset in args.presets:
        if not args.speedup:
            print(json.dumps(run_one(preset, args, args.workers)), flush=True)
            continue
        batch = scenario_batch(config(preset, args), args.workers)
        n = max(2, args.workers)
        one = run_one(preset, args, 1, batch=batch)
        local = run_one(preset, args, n, batch=batch)
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            dask = run_one(preset, args, n, scheduler=client, batch=batch)
        for row in (one, local, dask):
            print(json.dumps(row), flush=True)
        for name, row in (("local", local), ("dask", dask)):
            ratios = {k: round(one[k] / row[k], 2) for k in ("reoptimize_s", "lower_bound_s")
                      if row.get(k)}
            print(json.dumps({"speedup": name, "workers": n, **ratios}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
