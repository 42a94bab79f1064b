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
    p.add_argument("--idempotency-bytes", type=int, default=64 * 1024 * 1024,
                   help="bytes the replay cache may hold, keys and answers (default 64 MiB)")
    auth = p.add_argument_group("authentication (docs/service.md)")
    auth.add_argument("--api-keys", metavar="FILE",
                      help="file of SHA-256 digests of the valid API keys, one per line "
                           "(printf %%s KEY | sha256sum); re-read when it changes "
                           "(default: $ORDERSPLIT_API_KEYS_FILE; digests may also be given "
                           "in $ORDERSPLIT_API_KEY_HASHES)")
    auth.add_argument("--no-auth", action="store_true",
                      help="serve without API keys (local use only; logged as a warning)")
    auth.add_argument("--public-metrics", action="store_true",
                      help="serve /metrics without a key")
    auth.add_argument("--public-docs", action="store_true",
                      help="serve /docs and /openapi.json without a key")
    auth.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                      help="allow browser calls from ORIGIN (repeatable; default: no CORS)")
    limits = p.add_argument_group("request limits")
    limits.add_argument("--max-body-bytes", type=int, default=4 * 1024 * 1024,
                        help="request body limit, answered 413 (default 4 MiB)")
    limits.add_argument("--max-header-bytes", type=int, default=16 * 1024,
                        help="request line and headers limit, answered 431 (default 16 KiB)")
    limits.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time to send a request's headers, then 408 (default 10)")
    limits.add_argument("--body-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="time to send a request's body, then 408 (default 30)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Build the app from the flags and serve it until interrupted."""
    import uvicorn

    from ordersplit.service.app import create_app
    from ordersplit.service.auth import KeyRing
    from ordersplit.service.limits import ConnectionLimits, limited_protocol
    from ordersplit.service.profiling import profiled

    try:
        config = ServiceConfig(
            workers=args.workers, pool=args.pool, max_inflight=args.max_inflight,
            max_time_limit_ms=args.max_time_limit_ms,
            presplit_time_limit_ms=args.presplit_time_limit_ms,
            max_queue_wait_ms=args.max_queue_wait_ms, grace_ms=args.grace_ms,
            diagnostics=args.diagnostics,
            idempotency_entries=args.idempotency_entries,
            idempotency_bytes=args.idempotency_bytes, store_url=args.store,
            api_keys_file=args.api_keys, no_auth=args.no_auth,
            public_metrics=args.public_metrics, public_docs=args.public_docs,
            cors_origins=tuple(args.cors_origin), max_body_bytes=args.max_body_bytes,
            max_header_bytes=args.max_header_bytes, header_timeout_s=args.header_timeout,
            body_timeout_s=args.body_timeout)
        if not config.no_auth and not len(KeyRing.from_sources((), config.api_keys_file)):
            raise ValueError("no API keys: give --api-keys FILE (or $ORDERSPLIT_API_KEYS_FILE "
                             "or $ORDERSPLIT_API_KEY_HASHES), or --no-auth for local use")
        app = create_app(config)
    except (OSError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    protocol = limited_protocol(ConnectionLimits(
        config.max_header_bytes, config.header_timeout_s, config.body_timeout_s))
    log.warning("serving on http://%s:%d (%d %s worker(s), %d in flight at most)", args.host,
                args.port, config.n_workers, config.pool, config.inflight_limit)
    with profiled("loop"):  # diagnostics: only with $ORDERSPLIT_PROFILE_DIR
        uvicorn.run(app, host=args.host, port=args.port, access_log=args.access_log,
                    log_level="warning", timeout_graceful_shutdown=5, http=protocol,
                    ws="none",  # no WebSocket routes: refuse upgrades
                    proxy_headers=False,  # no client address is used: no layer to trust it
                    server_header=False)  # do not name the server software
    return 0
