"""Benchmark scenarios: seeded, data-shaped split requests (see :mod:`.scenario`)."""

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
    "Network",
    "ScenarioConfig",
    "generate_network",
    "generate_orders",
    "iter_orders",
    "scenario_network",
]
