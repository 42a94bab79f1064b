"""How much of a small order's compile and plan stages is the code meeting the
processor cold: each stage timed three ways on the CPU clock, in the order ``split()``
runs them (the solver and the order before in between):

* ``cold``: as ``split()`` meets it (what ``benchmarks/split_stages.py`` reports);
* ``code warm``: right after the same stage ran on another order (code warm, the
  order's objects as fresh as in ``split()``);
* ``warm``: again on the same objects.

The gap between ``cold`` and ``code warm`` is what fewer Python operations cannot buy
back; the gap between ``code warm`` and ``warm`` is the data.

    python benchmarks/stage_warmth.py --orders 10 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from ordersplit.api import split
from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models.validate import parse_request
from ordersplit.plan.build import build_plan
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.stop import Deadline

WAYS = ("cold", "code warm", "warm")


def _cpu(fn: Callable[..., Any], *args: Any) -> float:
    """CPU seconds of ``fn(*args)``."""
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10x30")
    p.add_argument("--orders", type=int, default=10, help="orders per (family, rules) cell")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    texts = [json.dumps(r) for s in args.sizes.split(",") for f in FAMILIES for ru in RULES
             for r in cell_requests(Cell(f, ru, s), args.orders, args.seed)]
    other = parse_request(texts[-1])
    other_compiled = compile_request(other)
    other_result = solve_problem(other_compiled.problem, "auto", Deadline(10.0))
    split(texts[0])  # load the kernels outside the timing
    times: dict[tuple[str, str], list[float]] = {(s, w): [] for s in ("compile", "plan")
                                                 for w in WAYS}
    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms, median over {len(texts)} orders "
          f"x {args.repeat}")
    for _ in range(args.repeat):
        for text in texts:
            req = parse_request(text)
            t0 = time.process_time()  # compile as split() meets it: right after parsing
            compiled = compile_request(req)
            times["compile", "cold"].append(time.process_time() - t0)
            compile_request(other)
            times["compile", "code warm"].append(_cpu(compile_request, req))
            times["compile", "warm"].append(_cpu(compile_request, req))
            result = solve_problem(compiled.problem, req.options.solver, Deadline(10.0))
            times["plan", "cold"].append(
                _cpu(build_plan, req, compiled, result, 0.0))
            build_plan(other, other_compiled, other_result, 0.0)
            times["plan", "code warm"].append(
                _cpu(build_plan, req, compiled, result, 0.0))
            times["plan", "warm"].append(
                _cpu(build_plan, req, compiled, result, 0.0))
            split(text)
    print(f"{'stage':10}" + "".join(f"{w:>12}" for w in WAYS))
    for stage in ("compile", "plan"):
        print(f"{stage:10}" + "".join(
            f"{statistics.median(times[stage, w]) * 1000:12.3f}" for w in WAYS))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
