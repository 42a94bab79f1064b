"""Partial- and thin-stock orders for timing ``ordersplit.split`` end to end (issue 13).

``partial``: quantities 1-3 with 20% of lines 4-12; stocked cells hold 5-200 units, or
1-3 units for 15% of them. ``thin``: every cell holds 0-4 units, quantities 1-3. With
``rules`` the SKUs get temperature zones and merchants, so an order has several groups.

    python benchmarks/partial_orders.py --family partial --size 10x30 --orders 100
    python benchmarks/partial_orders.py --family thin --size 30x100 --compare cpsat
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

import ordersplit

HOURS = (12, 24, 36, 48, 72)


def make_order(family: str, lines: int, warehouses: int, seed: int,
               rules: bool = False, density: float = 0.2) -> dict[str, Any]:
    """One request of ``family`` as the contract's JSON mapping."""
    rng = np.random.default_rng(abs(seed) + (1 << 20 if seed < 0 else 0))
    skus = [f"S{k}" for k in range(lines)]
    qty = rng.integers(1, 4, size=lines)
    if family == "partial":
        big = rng.random(lines) < 0.2
        qty[big] = rng.integers(4, 13, size=int(big.sum()))
    catalog: dict[str, Any] = {}
    for s in skus:
        item: dict[str, Any] = {"merchant": "self"}
        if rules:
            item["temperature"] = str(rng.choice(["ambient", "ambient", "ambient", "chilled",
                                                  "frozen"]))
            item["merchant"] = str(rng.choice(["self", "self", "m2"]))
        catalog[s] = item
    whs = []
    for w in range(warehouses):
        stock: dict[str, int] = {}
        for s in skus:
            if family == "thin":
                units = int(rng.integers(0, 5)) if rng.random() < 0.5 else 0
            else:
                if rng.random() >= density:
                    continue
                units = int(rng.integers(1, 4)) if rng.random() < 0.15 else int(
                    rng.integers(5, 201))
            if units:
                stock[s] = units
        whs.append({"id": f"W{w}", "stock": stock,
                    "delivery_hours": {"city": int(rng.choice(HOURS))}})
    order_lines = [{"id": f"L{i}", "sku": s, "quantity": int(q), "unit_price": "1.00"}
                   for i, (s, q) in enumerate(zip(skus, qty, strict=True))]
    total = f"{int(qty.sum())}.00"
    return {"order": {"id": f"O-{seed}", "currency": "CNY", "destination": "city",
                      "lines": order_lines, "shipping_fee": "0.00",
                      "payments": [{"method": "cash", "amount": total}]},
            "catalog": catalog, "warehouses": whs,
            "options": {"solver": "auto", "time_limit_ms": 200}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", default="partial", choices=["partial", "thin"])
    ap.add_argument("--size", default="10x30")
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rules", action="store_true")
    ap.add_argument("--limit-ms", type=int, default=200)
    ap.add_argument("--compare", default="", help="a solver run on the same orders (long limit)")
    ap.add_argument("--compare-limit-ms", type=int, default=20000)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    lines, warehouses = (int(v) for v in args.size.split("x"))
    times, proven, children, worse, over, rows = [], 0, [], 0, 0, []
    ordersplit.split(make_order(args.family, lines, warehouses, -1, args.rules))  # imports
    for o in range(args.orders):
        req = make_order(args.family, lines, warehouses, args.seed + o, args.rules)
        req["options"]["time_limit_ms"] = args.limit_ms
        text = json.dumps(req)
        t0 = time.perf_counter()
        plan = ordersplit.split(text)
        dt = time.perf_counter() - t0
        times.append(dt)
        proven += plan.status == "optimal"
        over += dt > args.limit_ms / 1000 * 1.1 + 0.005
        row = {"order": o, "ms": dt * 1000, "status": str(plan.status),
               "children": plan.objective.children, "solver": plan.solver}
        if args.compare:
            req["options"].update(solver=args.compare, time_limit_ms=args.compare_limit_ms)
            ref = ordersplit.split(json.dumps(req))
            row.update(ref_children=ref.objective.children, ref_status=str(ref.status))
            if ref.status == "optimal" and plan.objective.children > ref.objective.children:
                worse += 1
            if ref.status == "optimal" and plan.status == "optimal" and (
                    plan.objective.children, plan.objective.delivery_hours) != (
                    ref.objective.children, ref.objective.delivery_hours):
                print("DISAGREE", row, ref.objective, plan.objective)
        children.append(plan.objective.children)
        rows.append(row)
    ms = np.array(times) * 1000
    print(f"{args.family}{'+rules' if args.rules else ''} {args.size} n={args.orders} "
          f"median {np.median(ms):.2f} ms p99 {np.percentile(ms, 99):.1f} ms "
          f"max {ms.max():.1f} proven {proven}/{args.orders} over-budget {over} "
          f"worse-than-{args.compare or '-'} {worse} load {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)


if __name__ == "__main__":
    main()
