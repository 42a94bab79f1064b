"""How tight the batch's joint bound is, and how much of the gap the batch closes, on
small batches whose joint optimum one monolithic CP-SAT model proves.

Families (``--families``; 8 by default):

* ``plain`` / ``rules`` / ``scarce``: the simple generator below (one rule group per
  order; two temperature zones; two zones and short stock), 3-5 locations, 7 SKUs;
* ``scn-default`` / ``scn-scarce``: the batch scenario's presets on a small network
  (5 locations, 15 SKUs), with regions, merchants, zones, bundles, drop-ship suppliers;
* ``scn-thin`` / ``scn-partial``: the split-engine stock shapes of
  :mod:`ordersplit.bench.families` (every cell 0-4 units; cells of 5-200 units or 1-3
  for 15%), three lines per order, one group per order;
* ``scn-all-rules``: ``scn-default`` with every grouping rule busy (20% multi-merchant
  orders, cross-border, luxury, groceries in three zones, bundles), three lines.

Scenario orders the monolithic model does not hold exactly are left out
(:func:`benchmarks.joint_model.eligible`: bulky or offline-store lines, ``backorder:
wait``, delivery first; the generator is told to make none). ``reoptimize`` gives the
sequential and the batch children, the joint bound (and the LP's part of it) with its
wait cap and its time; the monolithic model (:mod:`benchmarks.joint_model`) gives the
least children of any joint plan leaving at most that many units waiting without
withholding. Optima are cached in ``benchmarks/bound_optima.json`` by family, seed,
batch and wait cap. Prints one JSON row per batch, one per family and a total row:

* ``bound_gap_pct`` = (optimum - bound) / optimum (goal: <= 3% on every family);
* ``closed_pct`` = (sequential - batch) / (sequential - optimum) (goal: >= 90%).

    python benchmarks/bench_bound_gap.py --batches 5 --orders 8 12
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from benchmarks.joint_model import eligible, monolithic_optimum
from ordersplit.batch import batch_from_json, reoptimize
from ordersplit.batch import bound as bound_module
from ordersplit.batch.inputs import BatchInput, templates_from_requests
from ordersplit.batch.scenario import scenario_requests, scenario_world
from ordersplit.bench.families import _SHAPES
from ordersplit.bench.scenario import ScenarioConfig

SIMPLE = ("plain", "rules", "scarce")
SCENARIO = ("scn-default", "scn-scarce", "scn-thin", "scn-partial", "scn-all-rules")
CACHE = Path(__file__).with_name("bound_optima.json")
_SMALL: dict[str, Any] = {
    "n_warehouses": 5, "n_skus": 15, "n_stores": 0, "fastest_share": 0.0,
    "bulky_share": 0.0, "offline_store_share": 0.0, "backorder_wait_share": 0.0,
}  # fmt: skip

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


def scenario_config(kind: str, n_orders: int, seed: int) -> ScenarioConfig:
    """The small scenario of a ``scn-*`` family (module docstring)."""
    common = dict(_SMALL, n_orders=n_orders, seed=seed)
    if kind == "scn-default":
        return ScenarioConfig.preset("default", **common)
    if kind == "scn-scarce":
        return ScenarioConfig.preset("scarce", **common)
    if kind == "scn-all-rules":
        return ScenarioConfig.preset(
            "default", lines_per_order=3, multi_merchant_share=0.2, cross_border_share=0.1,
            luxury_share=0.1, grocery_share=0.4, bundle_share=0.1, **common)
    shape = _SHAPES[kind.removeprefix("scn-")]
    return ScenarioConfig.uniform(3, common.pop("n_warehouses"), **common, **shape)


def scenario_input(kind: str, n_orders: int, seed: int) -> BatchInput:
    """A validated small batch of a ``scn-*`` family, its orders all :func:`eligible`."""
    config = scenario_config(kind, n_orders, seed)
    world = scenario_world(config)
    requests = list(scenario_requests(config))
    templates, errors, _ = templates_from_requests(world, requests)
    if errors or len(templates) != len(requests):
        raise RuntimeError(f"{kind} seed {seed}: invalid generated orders {errors[:1]}")
    keep = [r for r, t in zip(requests, templates, strict=True) if eligible(t)]
    templates, errors, n = templates_from_requests(world, keep)
    return BatchInput(world, templates, errors, n)


def instance(kind: str, n_orders: int, rng: np.random.Generator, seed: int
             ) -> tuple[Any, BatchInput]:
    """The batch to re-optimize and its validated form (for the monolithic model)."""
    if kind in SIMPLE:
        data = batch(kind, n_orders, rng)
        return data, batch_from_json(data)
    work = scenario_input(kind, n_orders, seed)
    return work, work


def _pct(num: float, den: float) -> float | None:
    return round(100 * num / den, 2) if den > 0 else None


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over rows: bound gaps (the bound and the LP alone), gap closed, bound time."""
    solved = [r for r in rows if r["optimum"] is not None]
    gapped = [r for r in solved if r["sequential"] > r["optimum"]]
    opt = sum(r["optimum"] for r in solved)
    return {
        "batches": len(rows), "proven": len(solved),
        "bound_at_optimum": sum(r["bound"] == r["optimum"] for r in solved),
        "bound_gap_pct_total": _pct(sum(r["optimum"] - r["bound"] for r in solved), opt),
        "bound_gap_pct_max": max((r["bound_gap_pct"] for r in solved), default=None),
        "lp_gap_pct_total": _pct(sum(r["optimum"] - r["lp_bound"] for r in solved), opt),
        "batches_with_a_gap": len(gapped),
        "closed_pct_total": _pct(sum(r["sequential"] - r["batch_children"] for r in gapped),
                                 sum(r["sequential"] - r["optimum"] for r in gapped)),
        "closed_pct_min": min((r["closed_pct"] for r in gapped), default=None),
        "batch_above_optimum": sum(r["batch_children"] > r["optimum"] for r in solved),
        "bound_above_optimum": sum(r["bound"] > r["optimum"] for r in solved),
        "bound_s_mean": round(float(np.mean([r["bound_s"] for r in rows])), 3) if rows else None,
        "bound_s_max": max((r["bound_s"] for r in rows), default=None),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=5, help="batches per family")
    p.add_argument("--orders", type=int, nargs=2, default=[8, 12], help="orders: min max")
    p.add_argument("--families", nargs="+", default=[*SIMPLE, *SCENARIO],
                   choices=[*SIMPLE, *SCENARIO])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bound-time-limit-s", type=float, default=10.0)
    p.add_argument("--optimum-limit-s", type=float, default=120.0)
    p.add_argument("--out", type=Path, help="also write the rows as JSON lines here")
    p.add_argument("--no-flow", action="store_true",
                   help="the bound as before the exact group program (LP + integer step)")
    args = p.parse_args(argv)
    if args.no_flow:
        bound_module.FLOW_MAX_COLS = -1
    cache: dict[str, Any] = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    rows = []
    for f, kind in enumerate(args.families):
        rng = np.random.default_rng([args.seed, f] if kind not in SIMPLE
                                    else args.seed + SIMPLE.index(kind))
        for i in range(args.batches):
            seed = 1000 * args.seed + i
            source, work = instance(kind, int(rng.integers(args.orders[0], args.orders[1] + 1)),
                                    rng, seed)
            t0 = time.perf_counter()
            s = reoptimize(source, time_limit_s=30, deterministic=True,
                           bound_time_limit_s=args.bound_time_limit_s).summary
            run_s = time.perf_counter() - t0
            cap = int(s["joint_bound_wait_cap_units"])
            key = f"{kind}:{args.seed}:{i}:{args.orders[0]}-{args.orders[1]}:cap{cap}"
            if key not in cache or cache[key]["optimum"] is None:
                opt, opt_s = monolithic_optimum(work, cap, args.optimum_limit_s)
                cache[key] = {"optimum": opt, "orders": len(work.templates),
                              "solve_s": round(opt_s, 2)}
                CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
            opt = cache[key]["optimum"]
            seq, fin, bound = (s["children_sequential"], s["children_batch"],
                               s["children_joint_bound"])
            row = {"kind": kind, "batch": i, "orders": len(work.templates),
                   "sequential": seq, "batch_children": fin, "bound": bound,
                   "lp_bound": s["children_joint_bound_lp"], "optimum": opt, "wait_cap": cap,
                   "no_withholding": s["joint_bound_no_withholding"],
                   "integer": s["joint_bound_integer"], "bound_s": s["joint_bound_s"],
                   "run_s": round(run_s, 2),
                   "bound_gap_pct": None if not opt else round(100 * (opt - bound) / opt, 2),
                   "closed_pct": None if opt is None or seq <= opt
                   else round(100 * (seq - fin) / (seq - opt), 1),
                   "reported_closed_pct": s["gap_closed_pct"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = [{"family": kind, **aggregate([r for r in rows if r["kind"] == kind])}
               for kind in args.families]
    summary.append({"family": "total", **aggregate(rows)})
    for line in summary:
        print(json.dumps(line))
    if args.out is not None:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in [*rows, *summary]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
