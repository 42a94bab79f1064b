"""``split()`` end to end on each issue-13 family at 10 x 30 (pytest-benchmark).

``pytest benchmarks/bench_families.py --benchmark-only`` times 10 orders of each family
(``uniform``, ``partial``, ``thin``, ``default``; one shipping group) through
``ordersplit.split`` from their JSON text, with the default 200 ms budget.
``extra_info["optimal"]`` counts the proven plans. The full comparison against the
exact baselines, interleaved order by order, is ``benchmarks/split_engine.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ordersplit.api import split
from ordersplit.bench.families import FAMILIES, family_config
from ordersplit.bench.scenario import generate_orders

ORDERS = 10


@pytest.mark.parametrize("family", FAMILIES)
def test_split_family_10x30(benchmark: Any, family: str) -> None:
    texts = [json.dumps(r) for r in generate_orders(family_config(family, "10x30", n_orders=ORDERS))]
    statuses: list[str] = []

    def run() -> None:
        statuses.clear()
        statuses.extend(str(split(t).status) for t in texts)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(orders=ORDERS, optimal=statuses.count("optimal"))
    assert len(statuses) == ORDERS
