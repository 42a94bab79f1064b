"""Exact split time by order size, and ``auto`` against a direct PuLP/CBC model.

``pytest benchmarks/bench_split_sizes.py --benchmark-only`` solves uniform
single-group orders (fewest children first, seeded) of three sizes:

* 10 lines x 30 warehouses: ``auto`` and ``milp_cbc`` (a plain PuLP/CBC model of the
  same problem) on the same orders in the same run; the CBC benchmark logs and stores
  the ratio ``auto_speedup`` = CBC time / auto time (ratios survive the noisy shared
  machine better than absolute times);
* 30 x 100 and 100 x 300: ``auto`` only. At 100 x 300 the budget (2 s per order) is
  usually not enough for a proof; ``extra_info["optimal"]`` says how many were proven.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from ordersplit.bench.scenario import ScenarioConfig, generate_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

SEED = 2024
CASES = [  # solver, lines, warehouses, orders, seconds per order, rounds
    ("auto", 10, 30, 10, 20.0, 3),
    ("milp_cbc", 10, 30, 10, 20.0, 3),
    ("auto", 30, 100, 5, 20.0, 2),
    ("auto", 100, 300, 2, 2.0, 1),
]
_MEAN_PER_ORDER: dict[tuple[str, int, int], float] = {}
_PROBLEMS: dict[tuple[int, int, int], list[SplitProblem]] = {}


def batch(lines: int, warehouses: int, n: int) -> list[SplitProblem]:
    key = (lines, warehouses, n)
    if key not in _PROBLEMS:
        cfg = ScenarioConfig.uniform(lines, warehouses, n_orders=n, seed=SEED,
                                     fastest_share=0.0, backorder_wait_share=0.0)
        _PROBLEMS[key] = [compile_request(parse_request(r)).problem
                          for r in generate_orders(cfg)]
    return _PROBLEMS[key]


@pytest.mark.parametrize(("solver", "lines", "warehouses", "orders", "seconds", "rounds"), CASES,
                         ids=[f"{c[0]}-{c[1]}x{c[2]}" for c in CASES])
def test_split_size(benchmark: Any, solver: str, lines: int, warehouses: int, orders: int,
                    seconds: float, rounds: int) -> None:
    problems = batch(lines, warehouses, orders)
    statuses: list[Status] = []

    def run() -> None:
        statuses.clear()
        statuses.extend(solve_problem(p, solver, Deadline(seconds)).status for p in problems)

    t0 = time.perf_counter()
    benchmark.pedantic(run, rounds=rounds, iterations=1)
    per_order = (time.perf_counter() - t0) / (rounds * orders)
    _MEAN_PER_ORDER[(solver, lines, warehouses)] = per_order
    optimal = sum(s == Status.OPTIMAL for s in statuses)
    benchmark.extra_info.update(orders=orders, optimal=optimal, ms_per_order=1000 * per_order)
    log.info("%s %dx%d: %.2f ms per order, %d/%d optimal", solver, lines, warehouses,
             1000 * per_order, optimal, orders)
    assert all(s.has_solution for s in statuses)
    auto = _MEAN_PER_ORDER.get(("auto", lines, warehouses))
    if solver != "auto" and auto:
        ratio = per_order / auto
        benchmark.extra_info["auto_speedup"] = ratio
        log.warning("auto is %.1fx faster than %s at %dx%d", ratio, solver, lines, warehouses)
