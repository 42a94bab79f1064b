"""Where ``split()`` spends its time on small orders: per-stage medians, and a profile.

Each order of the split-engine families (:mod:`ordersplit.bench.families`) is split
``--repeat`` times through the same stages ``ordersplit.split`` runs: parse (JSON text to
a validated request), compile, solve (``auto``), plan (children and money) and the
plan's JSON (what the service sends). Printed: the median and p99 per stage and end to
end per (family, rules) cell, and over all cells. ``--clock cpu`` times with the process's
CPU clock instead of the wall clock: on a shared machine the wall clock also counts the
time the process waits for a core, the CPU clock only its own work. ``--profile FILE``
writes a cProfile of the whole run (``python -m pstats FILE``).

    python benchmarks/split_stages.py --sizes 10x30 --orders 30
    python benchmarks/split_stages.py --clock cpu --repeat 3
    python benchmarks/split_stages.py --families uniform --rules plain --profile /tmp/p.out
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ordersplit.api import split
from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models.validate import parse_request
from ordersplit.plan.build import build_plan
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.stop import Deadline

STAGES = ("parse", "compile", "solve", "plan", "json", "split")
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def time_stages(text: str, clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Seconds of each stage for one request (``split`` is ``split()`` end to end)."""
    out: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = clock()
        value = fn()
        out[name] = clock() - t0
        return value

    t0 = time.perf_counter()
    req = timed("parse", lambda: parse_request(text))
    compiled = timed("compile", lambda: compile_request(req))
    budget = req.options.time_limit_ms / 1000
    result = timed("solve", lambda: solve_problem(compiled.problem, req.options.solver,
                                                  Deadline(budget)))
    plan = timed("plan", lambda: build_plan(req, compiled, result, started=t0))
    timed("json", plan.model_dump_json)
    timed("split", lambda: split(text))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--rules", default=",".join(RULES))
    p.add_argument("--sizes", default="10x30")
    p.add_argument("--orders", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    p.add_argument("--profile", help="write a cProfile of the timed loop to this file")
    args = p.parse_args(argv)
    cells = [Cell(f, r, s) for s in args.sizes.split(",") for f in args.families.split(",")
             for r in args.rules.split(",")]
    texts = {c: [json.dumps(r) for r in cell_requests(c, args.orders, args.seed)] for c in cells}
    split(texts[cells[0]][0])  # load the kernels outside the timing
    prof = cProfile.Profile() if args.profile else None
    print(f"load average {os.getloadavg()[0]:.2f}; {args.clock} clock, ms per stage, "
          f"median (p99) over {args.orders} orders x {args.repeat}")
    print(f"{'cell':24}" + "".join(f"{s:>15}" for s in STAGES))
    every: list[dict[str, float]] = []
    for cell in cells:
        rows: list[dict[str, float]] = []
        if prof:
            prof.enable()
        for _ in range(args.repeat):
            rows += [time_stages(t, CLOCKS[args.clock]) for t in texts[cell]]
        if prof:
            prof.disable()
        print(_row(cell.name, rows))
        every += rows
    print(_row("all", every))
    print(f"load average {os.getloadavg()[0]:.2f}")
    if prof and args.profile:
        prof.dump_stats(args.profile)
    return 0


def _row(name: str, rows: list[dict[str, float]]) -> str:
    cols = []
    for s in STAGES:
        ms = np.array([r[s] for r in rows]) * 1000
        cols.append(f"{np.median(ms):7.3f} ({np.percentile(ms, 99):5.1f})")
    return f"{name:24}" + "".join(f"{c:>15}" for c in cols)


if __name__ == "__main__":
    sys.exit(main())
