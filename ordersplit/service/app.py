"""The FastAPI application: ``create_app(config)``; ``ordersplit serve`` runs it under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Scope

from ordersplit import __version__
from ordersplit.models.bounds import MAX_ORDER_REF_LENGTH, ORDER_REF_PATTERN
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import error_message, json_path
from ordersplit.service import lifecycle as lc
from ordersplit.service.allocate import AllocateRequest, Allocation
from ordersplit.service.auth import KeyRing
from ordersplit.service.config import ServiceConfig
from ordersplit.service.fastpath import Handler, SolveRoutes, header
from ordersplit.service.guard import GuardMiddleware, is_protected
from ordersplit.service.handlers import JSON, HttpAnswer, Service
from ordersplit.service.jobs import (
    Budget,
    JobResult,
    run_allocate,
    run_echo,
    run_presplit,
    run_split,
)
from ordersplit.service.metrics import Metrics
from ordersplit.service.middleware import ARRIVAL, ObserveMiddleware
from ordersplit.service.openapi import body_of, install_openapi
from ordersplit.service.pool import SolverPool
from ordersplit.service.prices import PriceBook, install_prices
from ordersplit.service.promise import Promise

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """What is wrong: which order, which field (a JSON path), and why."""

    order_id: str | None
    field: str
    message: str


class ErrorResponse(BaseModel):
    """The contract's error object."""

    error: ErrorDetail


class Health(BaseModel):
    """Liveness and load."""

    status: str
    version: str
    pool: str
    workers: int
    inflight: int
    max_inflight: int
    lifecycle: bool


NO_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's native OpenTelemetry hooks (FastAPI 0.165 and later; older versions keep
the keyword as an extra), off: the service exports its own Prometheus metrics, and the
hooks' per-request check (global providers, the environment) cost the event loop more
than the routing of a split."""


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {404: "No such order", 409: "Conflicts with the stored order",
            413: "Body too large", 415: "The body is not application/json",
            422: "Invalid request or Idempotency-Key (contract error object)",
            501: "Lifecycle store not available", 503: "Saturated or timed out; see Retry-After"}
    return {c: {"model": ErrorResponse, "description": text[c]} for c in codes}


def create_app(config: ServiceConfig | None = None, *, pool: SolverPool | None = None) -> FastAPI:
    """The service for ``config``; ``pool`` overrides the solver pool (tests)."""
    config = config or ServiceConfig()
    pool = pool or SolverPool(config.n_workers, config.inflight_limit, config.pool,
                              max_wait_s=config.max_queue_wait_ms / 1000,
                              grace_s=config.grace_ms / 1000,
                              prepare=partial(lc.store_for, config.store_url)
                              if config.store_url else None)
    metrics = Metrics()
    service = Service(config, pool, metrics, config.store_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if config.store_url:  # create the tables once, before the workers open the store
            await asyncio.get_running_loop().run_in_executor(None, service.store)
        await asyncio.get_running_loop().run_in_executor(None, pool.start)
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
            service.close()

    app = FastAPI(title="ordersplit", version=__version__, lifespan=lifespan,
                  description="Order splitting as a service: the split contract over HTTP.",
                  telemetry=NO_TELEMETRY)
    app.state.service = service
    app.state.prices = PriceBook()
    keys = _keys(config)
    solvers = _routes(app, service, app.state.prices)
    app.add_middleware(SolveRoutes, handlers=solvers,  # innermost: after guard and observer
                       routes={r.path: r for r in app.routes
                               if isinstance(r, APIRoute) and r.path in solvers})
    app.add_middleware(GuardMiddleware, keys=keys, max_body_bytes=config.max_body_bytes,
                       public_metrics=config.public_metrics, public_docs=config.public_docs)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST"], max_age=600,
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key",
                                          "X-API-Key"],
                           expose_headers=["Retry-After", "Idempotent-Replayed",
                                           "Ordersplit-Stored"])
    app.add_middleware(ObserveMiddleware, metrics=metrics, retry_after_s=config.retry_after_s)
    install_openapi(app, [SplitRequest, AllocateRequest, lc.ResplitRequest,
                           lc.CancelRequest, lc.ReleaseRequest],
                    None if keys is None else partial(is_protected,
                                                      public_metrics=config.public_metrics,
                                                      public_docs=config.public_docs))
    install_prices(app, service, app.state.prices, _errors(413, 415, 422))
    _handlers(app, service)
    return app


def _keys(config: ServiceConfig) -> KeyRing | None:
    """The API keys in force, or ``None`` when authentication is off."""
    if config.no_auth:
        log.warning("authentication is OFF (--no-auth): anyone who can reach this port can "
                    "split, cancel and read orders; use it on a trusted host only")
        return None
    keys = KeyRing.from_sources(config.api_key_hashes, config.api_keys_file)
    if not len(keys):
        log.error("no API keys are configured: every protected request is answered 401 "
                  "(give --api-keys FILE or $ORDERSPLIT_API_KEY_HASHES, or --no-auth)")
    return keys


def _solvers(service: Service, book: PriceBook) -> dict[str, Handler]:
    """The handler of each solving endpoint's path: body in, answer out."""
    config, url = service.config, service.store_url

    def solving(endpoint: str, fn: Callable[..., JobResult], default_ms: int | None = None,
                priced: bool = False) -> Handler:
        async def handle(scope: Scope, body: bytes) -> HttpAnswer:
            job, variant = await book.pricing(body, fn) if priced else (fn, b"")
            return await service.solve(endpoint, scope.get(ARRIVAL) or time.monotonic(),
                                       body, header(scope, b"idempotency-key"), job,
                                       default_ms, variant)
        return handle

    def stored(endpoint: str, fn: Callable[..., JobResult]) -> Handler:
        if url is None:
            async def refuse(scope: Scope, body: bytes) -> HttpAnswer:
                return service.answer(_no_store(endpoint))
            return refuse
        return solving(endpoint, partial(fn, url=url))

    split_fn = partial(lc.run_stored_split, url=url) if url else run_split
    handlers = {
        "/v1/split": solving("split", split_fn, priced=True),
        "/v1/presplit": solving("presplit", run_presplit, config.presplit_time_limit_ms,
                                priced=True),
        "/v1/allocate": solving("allocate", run_allocate),
        "/v1/resplit": stored("resplit", lc.run_resplit),
        "/v1/cancel": stored("cancel", lc.run_cancel),
        "/v1/release": stored("release", lc.run_release),
    }
    if config.diagnostics:
        async def echo(scope: Scope, body: bytes) -> HttpAnswer:
            """Diagnostics only: the JSON body back (the load test's HTTP baseline)."""
            try:
                return service.answer(JobResult(200, orjson.dumps(orjson.loads(body))))
            except orjson.JSONDecodeError:
                return service.answer(service.error_result(422, "malformed JSON"))

        handlers["/v1/_echo"] = echo
        # diagnostics: the body back through admission and a pool worker
        handlers["/v1/_echo/pool"] = solving("echo", run_echo)
    return handlers


def _routes(app: FastAPI, service: Service, book: PriceBook) -> dict[str, Handler]:
    """The router's routes; the solving ones' handlers (for :class:`SolveRoutes`)."""
    config = service.config
    handlers = _solvers(service, book)

    async def routed(request: Request) -> Response:
        """A solving endpoint reached through the router (the direct route answers
        first under ``create_app``; both run the same handler)."""
        handler = handlers[request.scope["route"].path]
        status, body, headers = await handler(request.scope, await request.body())
        response = Response(body, status)
        response.raw_headers = headers
        return response

    def solving_route(path: str, summary: str, doc: str, body_model: str,
                      responses: dict[int | str, dict[str, Any]], tag: str) -> None:
        app.add_api_route(path, routed, methods=["POST"], response_model=None,
                          openapi_extra=body_of(body_model), responses=responses, tags=[tag],
                          summary=summary, description=doc, name=path.rsplit("/", 1)[1])

    solving_route("/v1/split", "Split",
                  "Split a paid order (CONTRACT.md request -> plan), exactly "
                  "``ordersplit.split``.\n\nWith a store, the plan is stored once per order "
                  "id (same request: same plan).", "SplitRequest",
                  {200: {"model": Plan}, **_errors(413, 422, 503)}, "split")
    solving_route("/v1/presplit", "Presplit",
                  "Checkout: the children the order would split into and their delivery "
                  "promise.\n\nNothing is stored; the default budget is tighter than the "
                  "split's.", "SplitRequest",
                  {200: {"model": Promise}, **_errors(413, 422, 503)}, "split")
    solving_route("/v1/allocate", "Allocate",
                  "Money only: share a request's amounts over a given assignment of lines "
                  "to children.", "AllocateRequest",
                  {200: {"model": Allocation}, **_errors(413, 422, 503)}, "money")
    solving_route("/v1/resplit", "Resplit",
                  "Re-split a stored child the warehouse is short for: the grandchildren's "
                  "plan.", "ResplitRequest",
                  {200: {"model": Plan}, **_errors(404, 409, 413, 422, 501, 503)}, "lifecycle")
    solving_route("/v1/cancel", "Cancel",
                  "Cancel (or reject) a stored child: the refund per method and linked "
                  "actions.", "CancelRequest",
                  {200: {"content": {JSON: {}}, "description": "Refund, linked actions"},
                   **_errors(404, 409, 413, 422, 501, 503)}, "lifecycle")
    solving_route("/v1/release", "Release",
                  "Release a held child (a gift whose trigger was cancelled) back to work.",
                  "ReleaseRequest",
                  {200: {"content": {JSON: {}}, "description": "The status it went back to"},
                   **_errors(404, 409, 413, 422, 501, 503)}, "lifecycle")
    if config.diagnostics:
        for path in ("/v1/_echo", "/v1/_echo/pool"):
            app.add_api_route(path, routed, methods=["POST"], include_in_schema=False,
                              name=path.rsplit("/", 1)[1])

    @app.get("/v1/orders/{order_id}", response_model=None,
             responses={200: {"content": {JSON: {}}, "description": "The order's tree"},
                        **_errors(404, 422, 501, 503)},
             tags=["lifecycle"])
    async def show(order_id: Annotated[str, Path(pattern=ORDER_REF_PATTERN,
                                                 max_length=MAX_ORDER_REF_LENGTH)]) -> Response:
        """A stored order and everything below it: lineage, status, amounts, history."""
        if not service.store_url:
            return service.respond(_no_store("show", order_id))
        budget = Budget(0.0, None, config.max_time_limit_ms)
        return await service.call("show", partial(lc.run_show, url=service.store_url),
                                  order_id, budget)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Response:
        """Liveness: 200 while the solver pool is up, 503 otherwise."""
        pool = service.pool
        health = Health(status="ok" if pool.started else "starting", version=app.version,
                        pool=pool.kind, workers=pool.workers, inflight=pool.inflight,
                        max_inflight=pool.limit, lifecycle=service.store_url is not None)
        return Response(health.model_dump_json(), 200 if pool.started else 503,
                        media_type=JSON)

    @app.get("/metrics", tags=["ops"], response_model=None,
             responses={200: {"content": {"text/plain": {}}}})
    async def metrics() -> Response:
        """Prometheus metrics (text exposition format)."""
        return Response(service.metrics.render(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    return handlers


def _no_store(op: str, order_id: str | None = None) -> JobResult:
    return Service.error_result(501, f"{op}: this service runs without an order store "
                                     "(start it with --store URL)", "", order_id)


def _handlers(app: FastAPI, service: Service) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        return service.error(422, error_message(first), json_path(first.get("loc", ())))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        response = service.error(exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
