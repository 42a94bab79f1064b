"""The ``ordersplit bench`` subcommand: strategies side by side, or the OR-Library table."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from pathlib import Path

from ordersplit.bench.scenario import PRESETS, ScenarioConfig

log = logging.getLogger(__name__)


def _strategies(text: str | None) -> list[str] | None:
    if not text or text == "all":
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write CSV and PNG files to ``--out``."""
    runner = importlib.import_module("ordersplit.bench.runner")  # heavy: loaded on use
    out = Path(args.out)
    if args.orlib is not None:
        return _cmd_orlib(args, out)
    overrides: dict[str, object] = {"n_orders": args.orders}
    if args.lines is not None:
        overrides["lines_per_order"] = args.lines
    if args.warehouses is not None:
        overrides["n_warehouses"] = args.warehouses
    try:
        cfg = ScenarioConfig.preset(args.scenario, **overrides)
        report = runner.run_benchmark(cfg, _strategies(args.strategies), args.time_limit_ms,
                                      args.seed, progress=not args.no_progress)
    except ValueError as exc:
        print(f"ordersplit bench: {exc}", file=sys.stderr)
        return 2
    paths = report.write(out)
    print(f"scenario {args.scenario}, {cfg.n_orders} orders, seed {args.seed}, "
          f"{args.time_limit_ms} ms per order and strategy")
    print(report.table())
    ratio = report.extra_ratio()
    if not math.isnan(ratio):  # auto and at least one peer ran
        print(f"extra children, auto / best peer: {ratio:.3f}")
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def _cmd_orlib(args: argparse.Namespace, out: Path) -> int:
    orlib = importlib.import_module("ordersplit.bench.orlib_table")
    try:
        report = orlib.run_orlib(args.orlib, unicost_limit_s=args.unicost_limit_s,
                                 instances=_strategies(args.instances),
                                 progress=not args.no_progress)
    except (OSError, ValueError) as exc:
        print(f"ordersplit bench --orlib: {exc}", file=sys.stderr)
        return 2
    paths = report.write(out)
    print(report.markdown())
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench`` to the ``ordersplit`` command line."""
    p = subparsers.add_parser(
        "bench", help="benchmark split strategies (ours and the peers) side by side",
        description="Generate a seeded scenario, solve every order with every strategy "
                    "under the same rules and time budget, print a table per strategy and "
                    "write CSV and PNG files. With --orlib, run the OR-Library table instead.",
    )  # fmt: skip
    p.add_argument("--scenario", choices=sorted(PRESETS), default="default",
                   help="scenario preset (default: default)")
    p.add_argument("--orders", type=int, default=1000, help="orders to generate (1000)")
    p.add_argument("--lines", type=int, help="fixed lines per order (default: the preset's)")
    p.add_argument("--warehouses", type=int, help="warehouses (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="scenario seed (0)")
    p.add_argument("--time-limit-ms", type=int, default=200,
                   help="time budget per order and strategy, ms (200)")
    p.add_argument("--strategies", help="comma-separated backend names (default: all)")
    p.add_argument("--out", default="bench-out", help="output directory (bench-out/)")
    p.add_argument("--orlib", metavar="DIR", nargs="?", const="",
                   help="run the OR-Library table on DIR (default: the repository's data/orlib_scp)")
    p.add_argument("--instances", help="with --orlib: comma-separated instance names")
    p.add_argument("--unicost-limit-s", type=float, default=10.0,
                   help="with --orlib: time limit per unicost instance and solver, s (10)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)
