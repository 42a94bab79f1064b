"""The split engine's figures (issue 2): time per order, proofs, and the CBC ratio.

Runs uniform orders (fewest children first, seeded) of three sizes through the
compiled-problem solver exactly as ``ordersplit.split`` does, and prints one row per
(family, size, solver): median and p99 ms per order, share proven optimal, and children
against plain greedy. Two families: ``one-group`` (every line in one shipping group, as
the issue's prototypes measured) and ``all-rules`` (the same sizes with the scenario's
special goods: merchants, temperature zones, bulky, cross-border, bundles). At 10 x 30
the direct PuLP/CBC model (``milp_cbc``) runs on the same orders in the same run, so the
speed ratio does not depend on how busy the machine is. ``by comb.`` is the share of
orders the exact combination search settled.

    python benchmarks/split_engine.py                      # all sizes, 300 orders each
    python benchmarks/split_engine.py --sizes 10x30 --orders 300 --json out.json

Time is the solve of the compiled problem; compiling (rules, numpy arrays) is reported
separately.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from ordersplit.bench.scenario import ScenarioConfig, generate_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.heuristics import greedy
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline

BUDGET_S = {"10x30": 0.2, "30x100": 0.2, "100x300": 2.0}
SOLVERS = {"10x30": ["auto", "milp_cbc"], "30x100": ["auto"], "100x300": ["auto"]}


FAMILIES = ("one-group", "all-rules")


def problems(lines: int, warehouses: int, n: int, seed: int,
             family: str = "one-group") -> tuple[list[SplitProblem], float]:
    cfg = ScenarioConfig.uniform(lines, warehouses, n_orders=n, seed=seed, fastest_share=0.0,
                                 backorder_wait_share=0.0, single_group=family == "one-group")
    reqs = [parse_request(r) for r in generate_orders(cfg)]
    t0 = time.perf_counter()
    out = [compile_request(r).problem for r in reqs]
    return out, (time.perf_counter() - t0) / n


def run(size: str, n: int, seed: int, cbc_orders: int, family: str = "one-group",
        ) -> list[dict[str, Any]]:
    lines, warehouses = (int(v) for v in size.split("x"))
    probs, compile_s = problems(lines, warehouses, n, seed, family)
    greedy_children = [evaluate(p, x).children for p in probs if (x := greedy(p)) is not None]
    rows = []
    for solver in SOLVERS[size]:
        subset = probs if solver == "auto" else probs[:cbc_orders]
        times, proven, children, worse, exact = [], 0, [], 0, 0
        for p, g in zip(subset, greedy_children, strict=False):
            t0 = time.perf_counter()
            res = solve_problem(p, solver, Deadline(BUDGET_S[size]))
            times.append(time.perf_counter() - t0)
            proven += res.status.value == "optimal"
            exact += res.backend == "combination"
            assert res.objective is not None
            children.append(res.objective.children)
            worse += res.objective.children > g
        ms = np.array(times) * 1000
        rows.append({
            "family": family, "size": size, "solver": solver, "orders": len(subset),
            "combination_share": exact / len(subset),
            "median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "proven_share": proven / len(subset),
            "children": int(sum(children)), "greedy_children": int(sum(greedy_children[:len(subset)])),
            "worse_than_greedy": worse, "compile_ms": compile_s * 1000, "budget_ms": BUDGET_S[size] * 1000,
        })
    if "milp_cbc" in SOLVERS[size]:
        auto = next(r for r in rows if r["solver"] == "auto")
        cbc = next(r for r in rows if r["solver"] == "milp_cbc")
        # same orders for both: the first cbc_orders
        cbc["auto_speedup_median"] = cbc["median_ms"] / auto["median_ms"]
        cbc["auto_speedup_mean"] = cbc["mean_ms"] / auto["mean_ms"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10x30,30x100,100x300")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--big-orders", type=int, default=60, help="orders at 100x300")
    parser.add_argument("--cbc-orders", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help=f"comma-separated, of {FAMILIES}")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for family in args.families.split(","):
        for size in args.sizes.split(","):
            n = args.big_orders if size == "100x300" else args.orders
            rows += run(size, n, args.seed, min(args.cbc_orders, n), family)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f}")
    print(f"{'family':10} {'size':8} {'solver':9} {'orders':>6} {'median ms':>10} {'p99 ms':>8} "
          f"{'proven':>7} {'by comb.':>8} {'children':>9} {'greedy':>7} {'compile ms':>10}")
    for r in rows:
        print(f"{r['family']:10} {r['size']:8} {r['solver']:9} {r['orders']:6d} "
              f"{r['median_ms']:10.2f} {r['p99_ms']:8.1f} {r['proven_share']:7.1%} "
              f"{r['combination_share']:8.1%} {r['children']:9d} {r['greedy_children']:7d} "
              f"{r['compile_ms']:10.2f}")
        if "auto_speedup_median" in r:
            print(f"         auto is {r['auto_speedup_median']:.0f}x faster than a direct PuLP/CBC "
                  f"model (median; mean {r['auto_speedup_mean']:.0f}x), same orders, same run")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"load_average": load, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
