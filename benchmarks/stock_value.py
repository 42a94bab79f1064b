"""What the ``stock_value`` term costs a split (issue #17), order by order.

On the engine's seeded cells (``ordersplit.bench.engine.cell_requests``) each order is
split three ways, interleaved order by order on the same input, each by its own worker
process: ``plain`` (the default objective) and ``priced`` (``children, stock_value,
delivery`` with LP-like sparse prices: 30% of the (warehouse, SKU) cells priced
uniformly in [0, 50)) by this checkout, and ``base`` (the default objective) by the
checkout given with ``--baseline`` (e.g. main, to see what the kernels' extra argument
costs unpriced splits). Prints the median and p90 split time per way, the ratios of the
medians of per-order times, the proven share and the children of each way.

    python benchmarks/stock_value.py --sizes 10x30,30x100 --orders 30 --baseline /work/main
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ordersplit.bench.engine import Cell, cell_requests

HERE = Path(__file__).resolve().parents[1]
WORKER = """
import json, sys, time
from ordersplit.api import split
for line in sys.stdin:
    t0 = time.perf_counter()
    plan = split(line)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms, "status": plan.status, "children": plan.objective.children}),
          flush=True)
"""


class Worker:
    """A split process on one checkout: a request line in, a result line out."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def split(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def priced(request: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """``request`` with ``children, stock_value, delivery`` and sparse random prices."""
    skus = sorted(request["catalog"])
    prices = {}
    for wh in request["warehouses"]:
        cells = {s: round(float(rng.uniform(0, 50)), 4) for s in skus if rng.random() < 0.3}
        if cells:
            prices[wh["id"]] = cells
    out = dict(request)
    out["options"] = {**request.get("options", {}),
                      "objective": ["children", "stock_value", "delivery"],
                      "stock_prices": {"version": "bench", "prices": prices}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="uniform,partial,thin")
    parser.add_argument("--sizes", default="10x30")
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--limit-ms", type=int, default=2000)
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args(argv)
    ways = {"plain": Worker(HERE), "priced": Worker(HERE)}
    if args.baseline is not None:
        ways["base"] = Worker(args.baseline)
    print(f"load average at start: {os.getloadavg()}")
    try:
        for family in args.families.split(","):
            for size in args.sizes.split(","):
                cell = Cell(family, "plain", size)
                rng = np.random.default_rng(0)
                rows: dict[str, list[dict[str, Any]]] = {w: [] for w in ways}
                for k, request in enumerate(cell_requests(cell, args.orders, 2026)):
                    request["options"] = {**request.get("options", {}),
                                          "time_limit_ms": args.limit_ms}
                    inputs = {"plain": request, "priced": priced(request, rng),
                              "base": request}
                    names = list(ways)
                    for name in names[k % len(names):] + names[:k % len(names)]:
                        rows[name].append(ways[name].split(inputs[name]))
                _report(family, size, rows)
    finally:
        for worker in ways.values():
            worker.close()
    print(f"load average at end: {os.getloadavg()}")
    return 0


def _report(family: str, size: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    ms = {w: np.array([r["ms"] for r in rs]) for w, rs in rows.items()}
    parts = []
    for w, times in ms.items():
        proven = np.mean([r["status"] == "optimal" for r in rows[w]])
        children = sum(r["children"] for r in rows[w])
        parts.append(f"{w}: median {np.median(times):.1f} / p90 {np.percentile(times, 90):.1f} "
                     f"ms, proven {proven:.0%}, children {children}")
    ratios = [f"priced/plain {np.median(ms['priced'] / ms['plain']):.2f}x"]
    if "base" in ms:
        ratios.append(f"plain/base {np.median(ms['plain'] / ms['base']):.2f}x")
    print(f"{family} {size} ({len(ms['plain'])} orders): " + "; ".join(parts)
          + " | " + ", ".join(ratios), flush=True)


if __name__ == "__main__":
    sys.exit(main())
