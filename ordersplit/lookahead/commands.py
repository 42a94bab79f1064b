"""``ordersplit simulate`` and ``ordersplit prices``: the look-ahead commands.

``register(subparsers)`` adds both to the ``ordersplit`` command line (as
:mod:`ordersplit.batch.commands` does for ``reoptimize``); ``main(argv)`` runs them
without it (``python -m ordersplit.lookahead.commands simulate ...``). Bad input prints
the contract's error object on standard error and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ordersplit.errors import RequestError
from ordersplit.lookahead.reserve import DEFAULT_RESERVE_RATIO

EXIT_BAD_INPUT = 2


def _error(message: str, field: str = "") -> int:
    sys.stderr.write(json.dumps({"error": {"order_id": None, "field": field,
                                           "message": message}}) + "\n")
    return EXIT_BAD_INPUT


def _write(df: pd.DataFrame, out: str) -> None:
    if out.endswith(".parquet"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)


def cmd_simulate(args: argparse.Namespace) -> int:
    """The policies over a scenario day: the summary as JSON on standard output, the
    per-order rows to ``--out``, every table, the summary and the plot to ``--out-dir``."""
    from ordersplit.bench.scenario import ScenarioConfig
    from ordersplit.lookahead.forecasters import parse_kinds
    from ordersplit.lookahead.simulate import SimulationConfig
    from ordersplit.lookahead.study import StudyConfig, run_study

    try:
        scenario = ScenarioConfig.preset(args.preset, n_orders=args.orders, seed=args.seed)
        config = SimulationConfig(scenario, args.horizon_hours, args.replenish_every_hours,
                                  args.seed)
        study = StudyConfig(config, policies=_names(args.policies), forecasts=parse_kinds(args.forecast),
                            refresh_orders=args.refresh_orders or None, refresh_hours=args.refresh_hours,
                            noise_sigma=args.noise_sigma, stale_shift=args.stale_shift,
                            position=args.stock_value_position,
                            reserve_ratio=args.reserve_ratio or None,
                            batch_time_limit_s=args.batch_time_limit_s,
                            batch_workers=args.batch_workers,
                            batch_deterministic=args.batch_deterministic,
                            batch_max_rounds=args.batch_max_rounds)
    except ValueError as exc:
        return _error(str(exc))
    result = run_study(study)
    if args.out:
        _write(result.orders, args.out)
    if args.out_dir:
        result.write(args.out_dir)
    sys.stdout.write(json.dumps({"policies": result.summary["policies"],
                                 "batch": result.summary["batch"],
                                 "table": result.summary["table"],
                                 "skipped": result.summary["skipped"]}, default=str) + "\n")
    return 0


def _names(text: str) -> tuple[str, ...]:
    from ordersplit.lookahead.simulate import POLICY_NAMES

    names = tuple(dict.fromkeys(["myopic", *(n.strip() for n in text.split(",") if n.strip())]))
    bad = [n for n in names if n not in POLICY_NAMES]
    if bad:
        raise ValueError(f"unknown policy {bad[0]!r}; known: {list(POLICY_NAMES)}")
    return names


def cmd_prices(args: argparse.Namespace) -> int:
    """Price a batch folder's stock against its forecast; the table to ``--out``."""
    from ordersplit.batch.tables import batch_from_tables, read_tables
    from ordersplit.lookahead.forecast import forecast_for_folder, load_forecast
    from ordersplit.lookahead.network import network_from_world
    from ordersplit.lookahead.prices import PricingParams, price_stock

    try:
        params = PricingParams(hour_cost=args.hour_cost, split_weight=args.split_weight,
                               unmet_penalty=args.unmet_penalty, chunk_skus=args.chunk_skus)
        forecast = (load_forecast(args.forecast, args.horizon_hours) if args.forecast else
                    forecast_for_folder(args.folder, args.history_hours, args.horizon_hours))
        world = batch_from_tables(read_tables(args.folder)).world
        prices = price_stock(forecast, network_from_world(world, forecast.regions), params)
    except RequestError as exc:
        sys.stderr.write(json.dumps(exc.to_dict()) + "\n")
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as exc:
        return _error(str(exc))
    if args.out:
        _write(prices.to_frame(), args.out)
    summary = {"version": prices.version, "inputs_hash": prices.inputs_hash,
               "objective": prices.objective, "dual_objective": prices.dual_objective,
               "priced_pairs": int(prices.prices.nnz), **dict(prices.stats)}
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


def add_simulate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", "--scenario", dest="preset", default="default",
                   help="scenario preset (default, scarce, ...)")
    p.add_argument("--orders", type=int, default=500)
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the scenario, the arrival times and the forecasts' errors")
    p.add_argument("--horizon-hours", type=float, default=24.0)
    p.add_argument("--replenish-every-hours", type=float, default=None,
                   help="refill every location up to its starting stock this often")
    p.add_argument("--policies", default="myopic",
                   help="comma list of myopic, lookahead (one per forecast kind), batch "
                        "(the offline reference); myopic is always run")
    p.add_argument("--forecast", default="perfect",
                   help="forecast kinds of the look-ahead policy: comma list of perfect, noisy, stale")
    p.add_argument("--refresh-orders", type=int, default=250,
                   help="re-price the stock every N orders (0: only by --refresh-hours)")
    p.add_argument("--refresh-hours", type=float, default=None,
                   help="re-price the stock every H simulated hours")
    p.add_argument("--noise-sigma", type=float, default=0.5,
                   help="the noisy forecast's log-normal error per (region, SKU)")
    p.add_argument("--stale-shift", type=float, default=0.25,
                   help="share of SKUs whose demand the stale forecast moves to others")
    p.add_argument("--stock-value-position", choices=["before_delivery", "after_delivery"],
                   default="after_delivery",
                   help="stock_value after delivery (ties between equally fast plans) or "
                        "right after children")
    p.add_argument("--reserve-ratio", type=float, default=DEFAULT_RESERVE_RATIO,
                   help="back-order reservation: an order short anyway leaves its lines of SKUs "
                        "whose forecast reaches this many times the units left to wait "
                        "(0: no reservation)")
    p.add_argument("--batch-time-limit-s", type=float, default=120.0,
                   help="the offline batch's time limit (whole run)")
    p.add_argument("--batch-workers", type=int, default=1)
    p.add_argument("--batch-deterministic", action="store_true",
                   help="the batch with work limits instead of the clock (same result under any load)")
    p.add_argument("--batch-max-rounds", type=int, default=None)
    p.add_argument("--out", default=None, help="per-order rows of every policy (.csv or .parquet)")
    p.add_argument("--out-dir", default=None,
                   help="folder for policies.csv, orders.csv, summary.json, over_time.png")
    p.set_defaults(func=cmd_simulate)


def add_prices_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, help="batch table folder (examples/batch form)")
    p.add_argument("--forecast", help="forecast table (.csv/.parquet; default: the folder's "
                                      "forecast table, else fitted from its orders)")
    p.add_argument("--history-hours", type=float, default=24.0,
                   help="hours the folder's orders span, when the forecast is fitted")
    p.add_argument("--horizon-hours", type=float, default=24.0)
    p.add_argument("--hour-cost", type=float, default=1.0)
    p.add_argument("--split-weight", type=float, default=1.0)
    p.add_argument("--unmet-penalty", type=float, default=None)
    p.add_argument("--chunk-skus", type=int, default=20)
    p.add_argument("--out", help="prices table (warehouse_id, sku, price; .csv or .parquet)")
    p.set_defaults(func=cmd_prices)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate`` and ``prices`` to the ``ordersplit`` command line."""
    add_simulate_arguments(subparsers.add_parser(
        "simulate", help="split a scenario's orders in arrival order against depleting stock"))
    add_prices_arguments(subparsers.add_parser(
        "prices", help="shadow prices of stock from a demand forecast (LP duals)"))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ordersplit.lookahead.commands {simulate,prices} ...``."""
    ap = argparse.ArgumentParser(prog="ordersplit")
    register(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
