"""How much of the solve stage is compiled kernels, and how much the Python around them.

Every numba kernel bound in a module of :mod:`ordersplit.solver` (and its heuristics) is
wrapped by a CPU-clock timer (outermost calls only: a kernel calling another through
Python counts once). Then each order of the split-engine cells goes through the stages in
``split()``'s order (parse, compile, solve under the order's budget, plan and its JSON),
so each stage meets its code as it does in a split. Printed per cell, CPU ms medians:
the solve stage, its kernel calls (dispatch included), the rest (Python and numpy around
them), the number of kernel calls, and plan + JSON.

    PYTHONPATH=$PWD python3 benchmarks/solve_share.py --orders 30 --repeat 2
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from ordersplit.api import split
from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models.validate import parse_request
from ordersplit.plan.build import build_plan
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.stop import Deadline

_spent = [0.0, 0]  # CPU seconds in kernels, kernel calls
_depth = [0]


def _timed(kernel: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if _depth[0]:
            return kernel(*args, **kwargs)
        _depth[0] += 1
        t0 = time.process_time()
        try:
            return kernel(*args, **kwargs)
        finally:
            _spent[0] += time.process_time() - t0
            _spent[1] += 1
            _depth[0] -= 1
    return call


def wrap_kernels() -> int:
    """Time every kernel the solver's modules call through a module attribute."""
    packages = ["ordersplit.solver", "ordersplit.solver.heuristics"]
    n = 0
    for name in packages:
        pkg = importlib.import_module(name)
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{name}.{info.name}")
            for attr, value in list(vars(module).items()):
                if isinstance(value, numba.core.registry.CPUDispatcher):
                    setattr(module, attr, _timed(value))
                    n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10x30")
    p.add_argument("--orders", type=int, default=30)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    cells = [Cell(f, r, s) for s in args.sizes.split(",") for f in FAMILIES for r in RULES]
    split(json.dumps(cell_requests(cells[0], 1, args.seed)[0]))  # kernels loaded untimed
    n = wrap_kernels()
    print(f"{n} kernel bindings timed; load average {os.getloadavg()[0]:.2f}; CPU ms medians")
    print(f"{'cell':24}{'solve':>8}{'kernels':>9}{'python':>8}{'calls':>7}{'plan+json':>11}")
    every: list[tuple[float, float, int, float]] = []
    for cell in cells:
        texts = [json.dumps(r) for r in cell_requests(cell, args.orders, args.seed)]
        rows: list[tuple[float, float, int, float]] = []
        for _ in range(args.repeat):
            for text in texts:
                req = parse_request(text)
                compiled = compile_request(req)
                _spent[:] = [0.0, 0]
                t0 = time.process_time()
                result = solve_problem(compiled.problem, req.options.solver,
                                       Deadline(req.options.time_limit_ms / 1000))
                t1 = time.process_time()
                build_plan(req, compiled, result, started=t0).model_dump_json()
                rows.append((t1 - t0, _spent[0], int(_spent[1]), time.process_time() - t1))
        print(_row(cell.name, rows))
        every += rows
    print(_row("all", every))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


def _row(name: str, rows: list[tuple[float, float, int, float]]) -> str:
    a = np.array(rows, dtype=float)
    solve, kern, calls, plan = (np.median(a[:, 0]) * 1000, np.median(a[:, 1]) * 1000,
                                np.median(a[:, 2]), np.median(a[:, 3]) * 1000)
    rest = np.median((a[:, 0] - a[:, 1]) * 1000)
    return f"{name:24}{solve:8.3f}{kern:9.3f}{rest:8.3f}{calls:7.0f}{plan:11.3f}"


if __name__ == "__main__":
    sys.exit(main())
