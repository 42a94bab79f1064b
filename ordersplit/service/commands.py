"""``ordersplit serve``: run the HTTP service under uvicorn."""

from __future__ import annotations

import argparse
import logging

from ordersplit.service.config import ServiceConfig

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand."""
    p = subparsers.add_parser("serve", help="run the HTTP service (POST /v1/split, ...)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=0,
                   help="solver workers (default: one per core)")
    p.add_argument("--pool", choices=("process", "thread"), default="process",
                   help="solver workers are processes (default) or threads")
    p.add_argument("--max-inflight", type=int, default=0,
                   help="requests admitted at once, running or queued; more get 503 "
                        "(default: 64 x workers)")
    p.add_argument("--max-queue-wait-ms", type=int, default=200,
                   help="longest wait for a worker before a request gets 503 (default 200)")
    p.add_argument("--grace-ms", type=int, default=500,
                   help="time past its budget before a job's worker is replaced and the "
                        "request answered 503 (default 500)")
    p.add_argument("--diagnostics", action="store_true",
                   help="also serve POST /v1/_echo and /v1/_echo/pool (the load test's "
                        "baselines)")
    p.add_argument("--max-time-limit-ms", type=int, default=1000,
                   help="ceiling on a request's options.time_limit_ms (default 1000)")
    p.add_argument("--presplit-time-limit-ms", type=int, default=50,
                   help="default budget of /v1/presplit (default 50)")
    p.add_argument("--idempotency-entries", type=int, default=10_000,
                   help="answers kept for Idempotency-Key replays (default 10000)")
    p.add_argument("--store", metavar="URL",
                   help="lifecycle store (SQLAlchemy URL, e.g. sqlite:///orders.db): split "
                        "stores plans; resplit, cancel and orders/{id} work (default: none)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Build the app from the flags and serve it until interrupted."""
    import uvicorn

    from ordersplit.service.app import create_app

    try:
        config = ServiceConfig(
            workers=args.workers, pool=args.pool, max_inflight=args.max_inflight,
            max_time_limit_ms=args.max_time_limit_ms,
            presplit_time_limit_ms=args.presplit_time_limit_ms,
            max_queue_wait_ms=args.max_queue_wait_ms, grace_ms=args.grace_ms,
            diagnostics=args.diagnostics,
            idempotency_entries=args.idempotency_entries, store_url=args.store)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    app = create_app(config)
    log.warning("serving on http://%s:%d (%d %s worker(s), %d in flight at most)", args.host,
                args.port, config.n_workers, config.pool, config.inflight_limit)
    uvicorn.run(app, host=args.host, port=args.port, access_log=args.access_log,
                log_level="warning", timeout_graceful_shutdown=5)
    return 0
