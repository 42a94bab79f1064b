"""How tight the batch's joint bound is, and how much of the gap the batch closes, on
small batches whose joint optimum one monolithic CP-SAT model proves.

For each random batch (three generators: ``plain`` - one rule group per order;
``rules`` - two temperature zones, so orders split by rule; ``scarce`` - two zones and
short stock), ``reoptimize`` gives the sequential and the batch children and the joint
bound with its wait cap; the monolithic model gives the least children of any joint
plan that leaves at most that many units waiting and withholds nothing (no line waits
for a SKU a location still has: the plans the bound covers when it reports
``joint_bound_no_withholding``, and what the batch's moves produce). Every order puts
children first and splits its back-orders, so per-order exact splits can reach every
joint plan of the model. Prints one JSON row per batch and a summary row:

* ``bound_gap_pct`` = (optimum - bound) / optimum (goal: <= 3%);
* ``closed_pct`` = (sequential - batch) / (sequential - optimum) (goal: >= 90%).

    python benchmarks/bench_bound_gap.py --batches 8 --orders 6 10
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from ordersplit.batch import reoptimize

SKUS = ("A", "B", "C", "D", "E", "F", "G")


def batch(kind: str, n_orders: int, rng: np.random.Generator) -> dict[str, Any]:
    """A random batch of ``kind`` (see the module docstring)."""
    zones = {s: "ambient" if kind == "plain" or i % 2 == 0 else "chilled"
             for i, s in enumerate(SKUS)}
    top = 2 if kind == "scarce" else 4
    whs = [{"id": f"W{w}", "delivery_hours": {"*": int(rng.integers(5, 40))},
            "stock": {s: int(rng.integers(1, top + 1)) for s in SKUS if rng.random() < 0.5}}
           for w in range(int(rng.integers(3, 6)))]
    reqs = []
    for o in range(n_orders):
        chosen = rng.choice(SKUS, size=int(rng.integers(1, 5)), replace=False).tolist()
        lines = [{"id": f"L{i}", "sku": s, "quantity": int(rng.integers(1, 4)),
                  "unit_price": "1.00"} for i, s in enumerate(chosen)]
        total = sum(ln["quantity"] for ln in lines)
        reqs.append({"order": {"id": f"O{o}", "currency": "USD", "destination": "city",
                               "lines": lines,
                               "payments": [{"method": "cash", "amount": f"{total}.00"}]},
                     "catalog": {s: {"temperature": zones[s]} for s in chosen},
                     "warehouses": []})
    return {"requests": reqs, "warehouses": whs}


def joint_optimum(data: dict[str, Any], cap: int, limit_s: float = 60.0) -> int | None:
    """Least children of any joint plan leaving at most ``cap`` units waiting without
    withholding (one CP-SAT model of the whole batch); ``None`` if not proven."""
    m = cp_model.CpModel()
    stock = {(w["id"], s): q for w in data["warehouses"] for s, q in w["stock"].items()}
    locs = [w["id"] for w in data["warehouses"]]
    children, waits = [], []
    use: dict[tuple[str, str], list[cp_model.IntVar]] = {}
    waiting: list[tuple[str, cp_model.IntVar]] = []
    for r in data["requests"]:
        groups: dict[str, list[tuple[int, dict[str, cp_model.IntVar], cp_model.IntVar]]] = {}
        for ln in r["order"]["lines"]:
            q, sku = ln["quantity"], ln["sku"]
            ship = {w: m.new_int_var(0, min(q, stock.get((w, sku), 0)), "") for w in locs}
            wait = m.new_int_var(0, q, "")
            m.add(sum(ship.values()) + wait == q)
            waits.append(wait)
            waiting.append((sku, wait))
            for w, u in ship.items():
                use.setdefault((w, sku), []).append(u)
            zone = r["catalog"][sku].get("temperature", "ambient")
            groups.setdefault(zone, []).append((q, ship, wait))
        for members in groups.values():
            for w in [*locs, None]:
                z = m.new_bool_var("")
                for q, ship, wait in members:
                    m.add((wait if w is None else ship[w]) <= q * z)
                children.append(z)
    for cell, us in use.items():
        m.add(sum(us) <= stock.get(cell, 0))
    for sku, wait in waiting:  # no withholding: a line waits only for what is all taken
        some = m.new_bool_var("")
        m.add(wait == 0).only_enforce_if(some.Not())
        for w in locs:
            if stock.get((w, sku), 0):
                m.add(sum(use[(w, sku)]) == stock[(w, sku)]).only_enforce_if(some)
    m.add(sum(waits) <= cap)
    m.minimize(sum(children))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = limit_s
    status = solver.solve(m)
    return round(solver.objective_value) if status == cp_model.OPTIMAL else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=7, help="batches per generator")
    p.add_argument("--orders", type=int, nargs=2, default=[6, 10], help="orders: min max")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="also write the rows as JSON lines here")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    for kind in ("plain", "rules", "scarce"):
        for i in range(args.batches):
            data = batch(kind, int(rng.integers(args.orders[0], args.orders[1] + 1)), rng)
            s = reoptimize(data, time_limit_s=30, deterministic=True,
                           bound_time_limit_s=10).summary
            cap = int(s["joint_bound_wait_cap_units"])
            opt = joint_optimum(data, cap)
            seq, fin, bound = s["children_sequential"], s["children_batch"], \
                s["children_joint_bound"]
            row = {"kind": kind, "batch": i, "orders": len(data["requests"]),
                   "sequential": seq, "batch_children": fin, "bound": bound, "optimum": opt,
                   "wait_cap": cap, "no_withholding": s["joint_bound_no_withholding"],
                   "withholding_batch": s["withholding_orders_batch"],
                   "bound_gap_pct": None if not opt else round(100 * (opt - bound) / opt, 2),
                   "closed_pct": None if opt is None or seq <= opt
                   else round(100 * (seq - fin) / (seq - opt), 1),
                   "reported_closed_pct": s["gap_closed_pct"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    solved = [r for r in rows if r["optimum"] is not None]
    gapped = [r for r in solved if r["sequential"] > r["optimum"]]
    total = {
        "batches": len(rows), "proven": len(solved),
        "bound_at_optimum": sum(r["bound"] == r["optimum"] for r in solved),
        "bound_gap_pct_mean": round(float(np.mean([r["bound_gap_pct"] for r in solved])), 2),
        "bound_gap_pct_max": max(r["bound_gap_pct"] for r in solved),
        "bound_gap_pct_total": round(100 * sum(r["optimum"] - r["bound"] for r in solved)
                                     / sum(r["optimum"] for r in solved), 2),
        "batches_with_a_gap": len(gapped),
        "closed_pct_total": round(100 * sum(r["sequential"] - r["batch_children"]
                                            for r in gapped)
                                  / max(1, sum(r["sequential"] - r["optimum"] for r in gapped)),
                                  1),
        "closed_pct_min": min((r["closed_pct"] for r in gapped), default=None),
        "batch_above_optimum": sum(r["batch_children"] > r["optimum"] for r in solved),
    }
    print(json.dumps(total))
    if args.out is not None:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in [*rows, total]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
