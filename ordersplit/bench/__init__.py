"""Benchmarks: seeded scenarios (:mod:`.scenario`), peers (:mod:`.peers`), the runner.

``run_benchmark`` and ``BenchReport`` (:mod:`.runner`) are loaded on first use, so that
importing the generator stays light.
"""

import importlib
from typing import Any

from ordersplit.bench.network import Network, generate_network
from ordersplit.bench.scenario import (
    PRESETS,
    ScenarioConfig,
    generate_orders,
    iter_orders,
    scenario_network,
)

__all__ = [
    "PRESETS",
    "BenchReport",
    "Network",
    "ScenarioConfig",
    "generate_network",
    "generate_orders",
    "iter_orders",
    "run_benchmark",
    "scenario_network",
]


def __getattr__(name: str) -> Any:
    if name in ("run_benchmark", "BenchReport"):
        runner = importlib.import_module("ordersplit.bench.runner")  # pandas, tqdm, backends
        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
