"""``ordersplit reoptimize INPUT --out OUTPUT``: the batch re-optimization command."""

from __future__ import annotations

import argparse
import json
import sys

from ordersplit.errors import OrderSplitError, RequestError

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def cmd_reoptimize(args: argparse.Namespace) -> int:
    """Run :func:`ordersplit.batch.reoptimize` and print the counts and the summary."""
    from ordersplit.batch import reoptimize

    try:
        result = reoptimize(
            args.input, time_limit_s=args.time_limit_s, workers=args.workers,
            scheduler=args.scheduler, out=args.out, fmt=args.format, store=args.store,
            batch_id=args.batch_id, progress=not args.no_progress, max_rounds=args.max_rounds,
            order_time_limit_s=args.order_time_limit_s,
            bound_time_limit_s=args.bound_time_limit_s, deterministic=args.deterministic,
            work_limit=args.work_limit, parts=args.parts,
            stream=args.out is not None and args.store is None,  # the tables go to files only
        )
    except RequestError as exc:
        print(json.dumps(exc.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as exc:
        err = {"error": {"order_id": None, "field": "", "message": str(exc)}}
        print(json.dumps(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OrderSplitError as exc:
        print(json.dumps({"error": {"order_id": None, "field": "", "message": str(exc)}}),
              file=sys.stderr)
        return EXIT_FAILURE
    s = result.summary
    print(f"{s['orders_input']} orders: {s['orders_planned']} plans + {s['orders_failed']} "
          f"errors (checked)")
    print(json.dumps(s, indent=2, default=str))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``reoptimize`` to the ``ordersplit`` command line."""
    p = subparsers.add_parser(
        "reoptimize", help="re-split a batch of pending orders jointly against shared stock")
    p.add_argument("input", help="folder of CSV/Parquet tables, or a JSON file of requests")
    p.add_argument("--out", help="write the tables and summary.json into this folder")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format")
    p.add_argument("--store", help="write the plans back into this database URL (lifecycle "
                   "store; needs --batch-id)")
    p.add_argument("--batch-id", help="a name for this batch: with --store, the same id again "
                   "writes nothing and returns the stored tables")
    p.add_argument("--time-limit-s", type=float, default=60.0,
                   help="budget of the whole run, input to output, in seconds (default 60)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786)")
    p.add_argument("--order-time-limit-s", type=float, default=0.2,
                   help="budget of one order's exact split inside the batch (default 0.2)")
    p.add_argument("--bound-time-limit-s", type=float, default=60.0,
                   help="budget of the joint lower bound's LP (0: skip it; default 60)")
    p.add_argument("--max-rounds", type=int, help="cap the search rounds")
    p.add_argument("--deterministic", action="store_true",
                   help="work limits instead of the wall clock: the same input (and --workers) "
                   "gives the same plans on any machine, under any load")
    p.add_argument("--work-limit", type=int,
                   help="options.work_limit of each per-order split in --deterministic mode")
    p.add_argument("--parts", type=int,
                   help="parts per search round (default: one per 10,000 orders, at least one "
                   "per worker unless --deterministic; the same --parts and --deterministic "
                   "give the same plans with any --workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reoptimize)
