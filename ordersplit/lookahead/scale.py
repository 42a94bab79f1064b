"""Synthetic pricing instances and the scale measurement of :func:`price_stock`.

The instance mirrors the scenario generator's defaults (stock density 0.35, geometric
depth with mean 8, Zipf popularity) at any size; expected demand over the horizon is
``demand_ratio`` of the total stock, spread over regions by weights decreasing like the
Olist state shares. ``main()`` measures one size per process (time and peak RSS).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time

import numpy as np

from ordersplit.lookahead.forecast import Forecast
from ordersplit.lookahead.network import PricingNetwork
from ordersplit.lookahead.prices import PricingParams, price_stock

log = logging.getLogger(__name__)


def synthetic_instance(n_skus: int, n_warehouses: int, n_regions: int, seed: int = 0,
                       density: float = 0.35, depth: float = 8.0, demand_ratio: float = 0.6
                       ) -> tuple[Forecast, PricingNetwork]:
    """A seeded (forecast, network) pair of the given size."""
    rng = np.random.default_rng(seed)
    stocked = rng.random((n_warehouses, n_skus)) < density
    stock = np.where(stocked, rng.geometric(1.0 / depth, (n_warehouses, n_skus)), 0).astype(np.int64)
    home = np.arange(n_warehouses) % n_regions
    hours = rng.uniform(24.0, 96.0, (n_warehouses, n_regions))
    hours[np.arange(n_warehouses), home] = rng.uniform(6.0, 24.0, n_warehouses)
    hours[rng.random(hours.shape) < 0.05] = np.nan
    hours[np.arange(n_warehouses), home] = np.nan_to_num(hours[np.arange(n_warehouses), home], nan=12.0)
    child_cost = rng.uniform(5.0, 30.0, n_warehouses)
    pop = 1.0 / rng.permutation(np.arange(1, n_skus + 1))
    region_w = 1.0 / np.arange(1, n_regions + 1) ** 0.8
    total = demand_ratio * float(stock.sum())
    units = np.outer(region_w / region_w.sum(), pop / pop.sum()) * total
    units[units < 0.05] = 0.0
    regions = tuple(f"R{i + 1:03d}" for i in range(n_regions))
    net = PricingNetwork(tuple(f"W{i + 1:04d}" for i in range(n_warehouses)),
                         tuple(f"S{i + 1:06d}" for i in range(n_skus)), regions, stock, hours,
                         child_cost)
    return Forecast(regions, net.sku_ids, units, 24.0), net


def measure(n_skus: int, n_warehouses: int, n_regions: int, chunk_skus: int, seed: int = 0
            ) -> dict[str, float]:
    """Build and price one synthetic instance; seconds of each step, LP stats, peak RSS."""
    t0 = time.perf_counter()
    forecast, net = synthetic_instance(n_skus, n_warehouses, n_regions, seed)
    t1 = time.perf_counter()
    prices = price_stock(forecast, net, PricingParams(chunk_skus=chunk_skus))
    t2 = time.perf_counter()
    return {"skus": n_skus, "warehouses": n_warehouses, "regions": n_regions,
            "chunk_skus": chunk_skus, "build_s": round(t1 - t0, 2), "price_s": round(t2 - t1, 2),
            "lp_solve_s": round(prices.stats["solve_s"], 2), "lps": prices.stats["lps"],
            "arcs": prices.stats["arcs"], "priced_pairs": int(prices.prices.nnz),
            "gap": abs(prices.objective - prices.dual_objective) / max(1.0, abs(prices.objective)),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    """``python -m ordersplit.lookahead.scale --skus 10000``: one JSON line of figures."""
    ap = argparse.ArgumentParser(description="time the stock-pricing LP on a synthetic instance")
    ap.add_argument("--skus", type=int, default=1000)
    ap.add_argument("--warehouses", type=int, default=200)
    ap.add_argument("--regions", type=int, default=30)
    ap.add_argument("--chunk", type=int, default=PricingParams().chunk_skus)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    figures = measure(args.skus, args.warehouses, args.regions, args.chunk, args.seed)
    with open("/proc/loadavg") as f:
        figures["loadavg"] = float(f.read().split()[0])
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
