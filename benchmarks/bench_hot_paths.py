"""Microbenchmarks of the hot paths (pytest-benchmark).

Run with ``pytest benchmarks/ --benchmark-only`` (not collected by the default ``pytest``
run: ``testpaths`` is ``tests``; ``python_files`` includes ``bench_*.py``). Each
benchmark works on a small fixed batch of generated orders (seeded) and reports the time
of the whole batch; divide by the batch size (``extra_info["orders"]``) for a per-order
figure. Speed on the shared 2-core machine is noisy: compare benchmarks of the same run, not runs.

* generate: 1,000 uniform 10 x 30 orders;
* parse and compile: 50 orders of the ``default`` scenario;
* each heuristic and each peer: 20 uniform single-group orders of 30 lines x 100
  warehouses;
* exact solve: ``auto`` and ``combination`` at 10 x 30 and 30 x 100 (uniform,
  single group, fewest children first), proven optimal;
* money allocation (``ordersplit.money.allocate_plan``; skipped when absent): the 50
  default orders, each line to one of two children.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import numpy as np
import pytest

import ordersplit.bench.peers  # registers the peer backends
from ordersplit.bench.scenario import ScenarioConfig, generate_orders
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

SEED = 2024


def uniform(lines: int, warehouses: int, n: int) -> list[SplitProblem]:
    """Compiled uniform single-group orders that put children first."""
    cfg = ScenarioConfig.uniform(lines, warehouses, n_orders=n, seed=SEED, fastest_share=0.0,
                                 backorder_wait_share=0.0)
    return [compile_request(parse_request(r)).problem for r in generate_orders(cfg)]


@pytest.fixture(scope="module")
def default_raw() -> list[dict[str, Any]]:
    return generate_orders(ScenarioConfig.preset("default", n_orders=50, seed=SEED))


@pytest.fixture(scope="module")
def default_parsed(default_raw: list[dict[str, Any]]) -> list[SplitRequest]:
    return [parse_request(r) for r in default_raw]


SIZES = {"10x30": (10, 30, 20), "30x100": (30, 100, 5)}
_PROBLEMS: dict[str, list[SplitProblem]] = {}


def problems(size: str) -> list[SplitProblem]:
    if size not in _PROBLEMS:
        _PROBLEMS[size] = uniform(*SIZES[size])
    return _PROBLEMS[size]


def test_generate(benchmark: Any) -> None:
    """1,000 uniform 10 x 30 orders from the scenario generator (its data cache warm)."""
    cfg = ScenarioConfig.uniform(10, 30, n_orders=1000, seed=SEED)
    generate_orders(cfg.replace(n_orders=1))
    benchmark.extra_info["orders"] = cfg.n_orders
    reqs = benchmark(generate_orders, cfg)
    assert len(reqs) == cfg.n_orders


def test_parse(benchmark: Any, default_raw: list[dict[str, Any]]) -> None:
    benchmark.extra_info["orders"] = len(default_raw)
    benchmark(lambda: [parse_request(r) for r in default_raw])


def test_compile(benchmark: Any, default_parsed: list[SplitRequest]) -> None:
    benchmark.extra_info["orders"] = len(default_parsed)
    benchmark(lambda: [compile_request(r) for r in default_parsed])


@pytest.mark.parametrize("name", [*HEURISTICS, *ordersplit.bench.peers.PEERS])
def test_heuristic_30x100(benchmark: Any, name: str) -> None:
    batch = uniform(30, 100, 20)
    method = HEURISTICS.get(name) or ordersplit.bench.peers.PEERS[name]
    benchmark.extra_info["orders"] = len(batch)
    out = benchmark(lambda: [method(p) for p in batch])
    assert all(x is not None for x in out)


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("solver", ["auto", "combination"])
def test_exact(benchmark: Any, solver: str, size: str) -> None:
    batch = problems(size)
    benchmark.extra_info["orders"] = len(batch)

    def run() -> list[Status]:
        return [solve_problem(p, solver, Deadline(20.0)).status for p in batch]

    statuses = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert all(s == Status.OPTIMAL for s in statuses)


def test_allocation(benchmark: Any, default_parsed: list[SplitRequest]) -> None:
    money = importlib.import_module("ordersplit.money")
    allocate_plan = getattr(money, "allocate_plan", None)
    if allocate_plan is None:
        pytest.skip("ordersplit.money.allocate_plan is not available")
    cases = []
    for req in default_parsed:
        n = len(req.order.lines)
        line = np.arange(n, dtype=np.int64)
        child = line % 2 if n > 1 else np.zeros(1, dtype=np.int64)
        weight = np.array([ln.quantity for ln in req.order.lines], dtype=np.int64)
        cases.append((req, child, line, weight, ["shipment"] * (2 if n > 1 else 1)))
    benchmark.extra_info["orders"] = len(cases)
    benchmark(lambda: [allocate_plan(*c) for c in cases])
