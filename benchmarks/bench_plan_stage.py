"""The plan stage of ``split()``: children, money and the plan's JSON, after the solve.

pytest-benchmark cases (no timed assertion): the 10 x 30 orders of every split-engine
family and rules set, and an OR-Library cover (200 elements x 1000 columns) as one big
order. Run as a script for per-stage medians on the CPU clock, so that two code trees
can be compared by alternating runs on the same inputs:

    PYTHONPATH=$PWD python3 benchmarks/bench_plan_stage.py --repeat 5
    PYTHONPATH=$PWD python3 benchmarks/bench_plan_stage.py --orlib scp41,scp51 --repeat 20
    PYTHONPATH=$PWD python3 -m pytest benchmarks/bench_plan_stage.py --benchmark-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.io.datasets import data_dir
from ordersplit.io.orlib import read_scp, scp_to_request
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import parse_request
from ordersplit.plan.build import build_plan
from ordersplit.solver.compile import Compiled, compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.result import SolveResult
from ordersplit.solver.stop import Deadline

Case = tuple[SplitRequest, Compiled, SolveResult]


def solved(raw: dict[str, Any], seconds: float = 10.0) -> Case:
    """A request, compiled and solved (``auto``): the plan stage's inputs."""
    req = parse_request(json.dumps(raw))
    compiled = compile_request(req)
    return req, compiled, solve_problem(compiled.problem, req.options.solver, Deadline(seconds))


def family_cases(size: str = "10x30", orders: int = 10, seed: int = 2026) -> list[Case]:
    """``orders`` solved orders of every (family, rules) cell at ``size``."""
    return [solved(raw) for f in FAMILIES for r in RULES
            for raw in cell_requests(Cell(f, r, size), orders, seed)]


def orlib_case(name: str = "scp41", seconds: float = 2.0) -> Case:
    """An OR-Library cover as one order (every element a line, every column a warehouse)."""
    inst = read_scp(data_dir() / "orlib_scp" / f"{name}.txt")
    return solved(scp_to_request(inst, unicost=False, objective=("cost",),
                                 time_limit_ms=round(seconds * 1000)), seconds)


def plan_stage(case: Case) -> bytes:
    """The plan and its JSON, as ``split()`` and the service make them."""
    return build_plan(*case, runtime_ms=1.0).model_dump_json().encode()


def test_plan_stage_10x30(benchmark: Any) -> None:
    cases = family_cases(orders=3)
    benchmark(lambda: [plan_stage(c) for c in cases])


def test_plan_stage_orlib_cover(benchmark: Any) -> None:
    case = orlib_case("scp41")
    benchmark(lambda: plan_stage(case))


def medians(cases: list[Case], repeat: int) -> tuple[float, float]:
    """Median CPU ms of the plan (children and money) and of its JSON, per order."""
    plan_ms: list[float] = []
    json_ms: list[float] = []
    for _ in range(repeat):
        for case in cases:
            t0 = time.process_time()
            plan = build_plan(*case, runtime_ms=1.0)
            t1 = time.process_time()
            plan.model_dump_json()
            t2 = time.process_time()
            plan_ms.append((t1 - t0) * 1000)
            json_ms.append((t2 - t1) * 1000)
    return statistics.median(plan_ms), statistics.median(json_ms)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10x30")
    p.add_argument("--orders", type=int, default=10)
    p.add_argument("--orlib", default="", help="comma-separated OR-Library covers, e.g. scp41")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    groups = {size: family_cases(size, args.orders) for size in args.sizes.split(",") if size}
    groups |= {name: [orlib_case(name)] for name in args.orlib.split(",") if name}
    print(f"load average {os.getloadavg()[0]:.2f}; cpu clock, median ms per order")
    for name, cases in groups.items():
        plan, text = medians(cases, args.repeat)
        print(f"{name:10} plan {plan:7.3f}  json {text:7.3f}  plan+json {plan + text:7.3f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
