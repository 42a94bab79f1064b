"""Benchmark of the stock-pricing LP (pytest-benchmark).

``pytest benchmarks/bench_lookahead.py --benchmark-only`` prices a synthetic 2,000 SKUs x
200 warehouses x 30 regions instance (:func:`ordersplit.lookahead.scale.synthetic_instance`)
in blocks of 20 SKUs (the default) and as one sparse LP of 2,000 SKUs, alternating round
by round so load on the shared machine hits both alike; both must find the same optimum.
The 1k/10k/100k scale figures come from ``python -m ordersplit.lookahead.scale`` (one
size per process, peak RSS included); see docs/lookahead.md.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ordersplit.lookahead import PricingParams, price_stock
from ordersplit.lookahead.scale import synthetic_instance


def test_pricing_blocks_against_one_lp(benchmark: Any) -> None:
    forecast, net = synthetic_instance(2000, 200, 30, seed=1)
    seconds: dict[int, list[float]] = {20: [], 2000: []}
    objective: dict[int, float] = {}

    def both() -> None:
        for chunk, times in seconds.items():
            t0 = time.perf_counter()
            objective[chunk] = price_stock(forecast, net, PricingParams(chunk_skus=chunk)).objective
            times.append(time.perf_counter() - t0)

    benchmark.pedantic(both, rounds=2, iterations=1)
    assert objective[20] == pytest.approx(objective[2000], rel=1e-9)
    benchmark.extra_info.update({f"chunk_{c}_best_s": min(s) for c, s in seconds.items()})
    benchmark.extra_info["one_lp_over_blocks"] = min(seconds[2000]) / min(seconds[20])
