"""The look-ahead study (issue 17): myopic, look-ahead per forecast kind, and the offline batch.

On each scenario (``default``, ``scarce``) one day of ``--orders`` orders arrives over 24 h
(Olist-shaped); the online policies split each order in turn, interleaved order by order
on the same order, each against its own stock (:func:`ordersplit.lookahead.study.run_study`):
``myopic`` (``split`` as is) and ``lookahead_<kind>`` (the ``stock_value`` objective term,
stock priced by the LP over a ``perfect``, ``noisy`` or ``stale`` forecast of the rest of
the day, re-priced every ``--refresh-orders`` orders). The batch re-optimization runs on
the same stream offline: its children are the reference, its joint lower bound the
clairvoyant bound. Printed: one row per scenario and policy, then the issue's goals
(>= 40 % of the children gap closed, delivery hours within +2 % of myopic, split latency
within 1.5x of myopic). ``--out`` writes per scenario ``SCENARIO/policies.csv``,
``orders.csv``, ``summary.json``, ``over_time.png`` and overall ``summary.json`` and
``summary.md``, after each scenario (a scenario that fails is reported, the others run).

Without the ``stock_value`` term in the solver the look-ahead policies are skipped and
said so (``--require-term`` makes that an error).

    python benchmarks/lookahead_study.py --quick --out bench-out/lookahead
    python benchmarks/lookahead_study.py --orders 10000 --out bench-out/lookahead-10k
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pandas as pd

from ordersplit.bench.scenario import ScenarioConfig
from ordersplit.lookahead.forecasters import parse_kinds
from ordersplit.lookahead.policy import POSITIONS, stock_value_available
from ordersplit.lookahead.prices import PricingParams
from ordersplit.lookahead.reserve import DEFAULT_RESERVE_RATIO
from ordersplit.lookahead.simulate import SimulationConfig
from ordersplit.lookahead.study import StudyConfig, run_study

sys.path.insert(0, str(Path(__file__).resolve().parent))
from split_engine import _commit  # the runners' one way to name the commit measured

log = logging.getLogger("lookahead_study")

GOAL_GAP_PCT = 40.0
GOAL_DELIVERY_PCT = 2.0
GOAL_LATENCY_RATIO = 1.5
QUICK_ORDERS = 300
QUICK_BATCH_S = 20.0
STUDY_BATCH_ROUNDS = 20
"""Rounds of the deterministic reference: 12 (the batch's default) found 847 of the 1,032
children the best batch known found on default at 10,000 orders."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--quick", action="store_true",
                   help=f"CI scale: {QUICK_ORDERS} orders, the batch {QUICK_BATCH_S:.0f} s")
    p.add_argument("--presets", default="default,scarce")
    p.add_argument("--forecasts", default="perfect,noisy,stale")
    p.add_argument("--refresh-orders", type=int, default=250,
                   help="re-price every N orders (0: only by --refresh-hours)")
    p.add_argument("--refresh-hours", type=float, default=None)
    p.add_argument("--position", choices=POSITIONS, default="after_delivery",
                   help="where stock_value goes: after delivery (default), or right after children")
    p.add_argument("--hour-cost", type=float, default=PricingParams.hour_cost,
                   help="pricing LP: cost of one delivery hour of one unit")
    p.add_argument("--split-weight", type=float, default=PricingParams.split_weight,
                   help="pricing LP: weight of the extra-child proxy (0: hours only)")
    p.add_argument("--reserve-ratio", type=float, default=DEFAULT_RESERVE_RATIO,
                   help="back-order reservation: a SKU is contested when its forecast reaches "
                        "this many times the units left (0: no reservation)")
    p.add_argument("--noise-sigma", type=float, default=0.5)
    p.add_argument("--stale-shift", type=float, default=0.25)
    p.add_argument("--replenish-every-hours", type=float, default=None)
    p.add_argument("--batch-time-limit-s", type=float, default=300.0)
    p.add_argument("--batch-workers", type=int, default=1)
    p.add_argument("--batch-deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="the batch with work limits instead of the clock: the same reference "
                        "under any load, run beside the policies (--no-batch-deterministic: "
                        "the batch on the clock, after them)")
    p.add_argument("--batch-max-rounds", type=int, default=STUDY_BATCH_ROUNDS,
                   help="search rounds of the deterministic batch (each at most 2,000 moves)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--require-term", action="store_true",
                   help="fail when the solver has no stock_value term (instead of skipping)")
    p.add_argument("--out", help="directory for the tables, summaries and plots")
    args = p.parse_args(argv)
    if args.quick:
        args.orders = min(args.orders, QUICK_ORDERS)
        args.batch_time_limit_s = min(args.batch_time_limit_s, QUICK_BATCH_S)
    return args


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def study_config(args: argparse.Namespace, preset: str) -> StudyConfig:
    scenario = ScenarioConfig.preset(preset, n_orders=args.orders, seed=args.seed)
    sim = SimulationConfig(scenario, 24.0, args.replenish_every_hours, args.seed)
    return StudyConfig(sim, ("myopic", "lookahead", "batch"), parse_kinds(args.forecasts),
                       refresh_orders=args.refresh_orders or None,
                       refresh_hours=args.refresh_hours, noise_sigma=args.noise_sigma,
                       stale_shift=args.stale_shift, position=args.position,
                       pricing=PricingParams(hour_cost=args.hour_cost,
                                             split_weight=args.split_weight),
                       reserve_ratio=args.reserve_ratio or None,
                       batch_time_limit_s=args.batch_time_limit_s,
                       batch_workers=args.batch_workers,
                       batch_deterministic=args.batch_deterministic,
                       batch_max_rounds=args.batch_max_rounds)


def goals(preset: str, table: pd.DataFrame) -> list[dict[str, Any]]:
    """The issue's three goals for each look-ahead policy of one scenario."""
    out = []
    for _, row in table[table["policy"].str.startswith("lookahead_")].iterrows():
        gap, dh, lat = row["gap_closed_pct"], row["delivery_vs_myopic_pct"], row["latency_ratio"]
        out.append({"preset": preset, "policy": row["policy"],
                    "gap_closed_pct": gap, "gap_ok": bool(pd.notna(gap) and gap >= GOAL_GAP_PCT),
                    "delivery_vs_myopic_pct": dh,
                    "delivery_ok": bool(pd.notna(dh) and dh <= GOAL_DELIVERY_PCT),
                    "latency_ratio": lat,
                    "latency_ok": bool(pd.notna(lat) and lat <= GOAL_LATENCY_RATIO),
                    "bound_share_pct": row["bound_share_pct"]})
    return out


def markdown(rows: pd.DataFrame) -> str:
    """The table of BENCHMARKS.md: one row per scenario and policy."""
    def f(v: Any, fmt: str) -> str:
        return "" if v is None or pd.isna(v) else format(v, fmt)

    lines = ["| scenario | policy | children | extra / order | gap closed % | bound share % "
             "| delivery h | vs myopic % | units waiting (vs myopic) | mean / p95 ms "
             "| latency x (mean, median) | refreshes (s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for _, r in rows.iterrows():
        lines.append(
            f"| {r['preset']} | {r['policy']} | {f(r['children'], ',.0f')} "
            f"| {f(r['extra_children_per_order'], '.3f')} | {f(r['gap_closed_pct'], '.1f')} "
            f"| {f(r['bound_share_pct'], '.1f')} | {f(r['mean_delivery_hours'], '.2f')} "
            f"| {f(r['delivery_vs_myopic_pct'], '+.2f')} "
            f"| {_waiting(r)} "
            f"| {f(r['mean_latency_ms'], '.1f')} / {f(r['p95_latency_ms'], '.1f')} "
            f"| {f(r['latency_ratio'], '.2f')}, {f(r['median_latency_ratio'], '.2f')} "
            f"| {f(r['price_refreshes'], '.0f')} ({f(r['price_refresh_s'], '.1f')}) |")
    return "\n".join(lines) + "\n"


def _waiting(row: pd.Series) -> str:
    """Units waiting and the difference to myopic's (empty for the batch: not measured)."""
    units, delta = row["backorder_units"], row["backorder_units_vs_myopic"]
    if units is None or pd.isna(units):
        return ""
    return f"{units:,.0f} ({delta:+,.0f})"


def batch_line(batch: dict[str, Any] | None) -> str:
    """The offline reference in one line: its sequential pass, its result, its bound."""
    if not batch:
        return "batch: not run"
    status = ",".join(sorted({str(p["joint_bound_status"]) for p in batch["periods"]}))
    return (f"batch: sequential {batch['sequential_children']:,} -> {batch['children']:,} "
            f"children in {batch['runtime_s']:.0f} s; joint bound {batch['joint_bound']} "
            f"({status}; 'fallback'/'too_large' mean the weaker group bound)")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.require_term and not stock_value_available():
        sys.stderr.write("the solver of this build has no stock_value objective term\n")
        return 2
    try:
        presets = [p.strip() for p in args.presets.split(",") if p.strip()]
        configs = {p: study_config(args, p) for p in presets}
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    out = Path(args.out) if args.out else None
    summary: dict[str, Any] = {"orders": args.orders, "commit": _commit(),
                               "stock_value_term": stock_value_available(),
                               "args": vars(args), "scenarios": {}, "goals": [],
                               "failed": {}}
    tables = []
    for preset, cfg in configs.items():
        load, t0 = _loadavg(), time.perf_counter()
        try:
            res = run_study(cfg)
        except Exception as exc:  # one scenario failing must not lose the others
            log.error("%s failed: %s", preset, exc)
            summary["failed"][preset] = "".join(traceback.format_exception(exc))
            continue
        if out is not None:
            res.write(out / preset)
        table = res.table.assign(preset=preset)
        tables.append(table)
        summary["scenarios"][preset] = {"load_average_start": load, "load_average_end": _loadavg(),
                                        "wall_s": time.perf_counter() - t0,
                                        "batch": res.summary["batch"],
                                        "skipped": res.summary["skipped"],
                                        "table": res.summary["table"]}
        summary["goals"] += goals(preset, res.table)
        print(f"{preset}: {len(res.orders)} order rows, load {load} -> {_loadavg()}, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        for name, why in res.summary["skipped"].items():
            print(f"  {name} skipped: {why}", flush=True)
        print("  " + batch_line(res.summary["batch"]), flush=True)
        summary["scenarios"][preset]["batch_line"] = batch_line(res.summary["batch"])
        if out is not None:
            _write(out, summary, tables)
    if tables:
        print(markdown(pd.concat(tables, ignore_index=True)))
    for g in summary["goals"]:
        print(f"{g['preset']:8} {g['policy']:18} gap closed {g['gap_closed_pct']} "
              f"({'ok' if g['gap_ok'] else 'MISSED'}), delivery {g['delivery_vs_myopic_pct']} % "
              f"({'ok' if g['delivery_ok'] else 'MISSED'}), latency x{g['latency_ratio']} "
              f"({'ok' if g['latency_ok'] else 'MISSED'}), bound share {g['bound_share_pct']}")
    if out is not None:
        _write(out, summary, tables)
    return 1 if summary["failed"] else 0


def _write(out: Path, summary: dict[str, Any], tables: list[pd.DataFrame]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if tables:
        notes = "".join(f"\n- {name}: {sc.get('batch_line', '')} (load {sc['load_average_start']} "
                        f"-> {sc['load_average_end']})" for name, sc in summary["scenarios"].items())
        (out / "summary.md").write_text(markdown(pd.concat(tables, ignore_index=True)) + notes + "\n")


if __name__ == "__main__":
    sys.exit(main())
