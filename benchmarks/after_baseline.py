"""What ``auto`` pays for running right after a baseline: ``split()`` of the same order
timed on the CPU clock and the wall clock, with the process's minor page faults, right
after ``auto`` itself (warm) and right after each baseline on that order (as
``benchmarks/split_engine.py`` interleaves them).

The gap between the rows is what the baselines' code and data cost ``auto`` in the
processor's caches; zero page faults rule out the other suspect (copy-on-write pages
after CBC's subprocess).

    python benchmarks/after_baseline.py --orders 20 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

from ordersplit.api import split
from ordersplit.bench.engine import BASELINES, BUDGET_MS, Cell, _with_options, cell_requests, warm_up

CELLS = ("thin/rules", "uniform/plain", "partial/rules")


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default=",".join(CELLS), help="family/rules, comma-separated")
    p.add_argument("--orders", type=int, default=20, help="orders per cell")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    warm_up(BASELINES)
    requests = [r for name in args.cells.split(",")
                for r in cell_requests(Cell(*name.split("/"), "10x30"), args.orders, args.seed)]
    rows: dict[str, list[tuple[float, float, int]]] = {}
    for _ in range(args.repeat):
        for request in requests:
            auto = _with_options(request, "auto", BUDGET_MS["10x30"])
            for before in ("auto", *BASELINES):
                split(auto if before == "auto" else _with_options(request, before, BUDGET_MS["10x30"]))
                f0, c0, w0 = _faults(), time.process_time(), time.perf_counter()
                split(auto)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                rows.setdefault(before, []).append((cpu * 1e3, wall * 1e3, _faults() - f0))
    print(f"load average {os.getloadavg()[0]:.2f}; auto at 10x30 on {len(requests)} orders "
          f"x {args.repeat}, medians")
    warm = statistics.median(r[0] for r in rows["auto"])
    for before, got in rows.items():
        cpu = statistics.median(r[0] for r in got)
        print(f"right after {before:9} cpu {cpu:6.3f} ms (x{cpu / warm:4.2f})  wall "
              f"{statistics.median(r[1] for r in got):6.3f} ms  minor faults "
              f"{statistics.mean(r[2] for r in got):5.2f} per split")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
