"""How well ``--time-limit-s`` bounds a whole batch run, input (a folder of tables) to
output (tables written), with the time of each stage.

Writes a scenario's tables once into a folder, then runs ``reoptimize`` on the folder
(with ``--out``, and optionally ``--store``) for each time limit; prints one JSON row per
run: the limit, the run's time from the call to the return, their ratio, the stages
and the load average before and after.

    python benchmarks/bench_clock.py --orders 2000 --limits 20 40 --workers 2
    python benchmarks/bench_clock.py --orders 500 --limits 10 --store sqlite:///clock.db
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from ordersplit.batch import reoptimize
from ordersplit.batch.scenario import scenario_requests, scenario_world
from ordersplit.batch.tables import tables_from_requests, write_tables
from ordersplit.bench.scenario import ScenarioConfig


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--preset", default="default")
    p.add_argument("--warehouses", type=int, default=30)
    p.add_argument("--skus", type=int, default=2000)
    p.add_argument("--limits", type=float, nargs="+", default=[20.0])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--store", help="also write back into this store URL (a new batch id per run)")
    args = p.parse_args(argv)
    cfg = ScenarioConfig.preset(args.preset, n_orders=args.orders,
                                n_warehouses=args.warehouses, n_skus=args.skus, seed=0)
    world = scenario_world(cfg)
    warehouses = [{**loc.model_dump(mode="json"), "stock": {
        world.sku_ids[k]: int(q) for k, q in enumerate(world.stock[w].tolist()) if q}}
        for w, loc in enumerate(world.locations)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        write_tables(tables_from_requests(list(scenario_requests(cfg)), warehouses), folder)
        for run, limit in enumerate(args.limits):
            before = load()
            t0 = time.perf_counter()
            res = reoptimize(folder, time_limit_s=limit, workers=args.workers,
                             out=Path(tmp) / f"out{run}", store=args.store,
                             batch_id=f"clock-{os.getpid()}-{run}" if args.store else None)
            wall = time.perf_counter() - t0
            s = res.summary
            print(json.dumps({
                "orders": args.orders, "preset": args.preset, "workers": args.workers,
                "store": bool(args.store), "time_limit_s": limit, "wall_s": round(wall, 2),
                "ratio": round(wall / limit, 3), "stages_s": s["stages_s"],
                "reserved_for_output_s": s["reserved_for_output_s"],
                "rounds": s.get("rounds"), "children_sequential": s.get("children_sequential"),
                "children_batch": s.get("children_batch"), "load_before": before,
                "load_after": load()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
