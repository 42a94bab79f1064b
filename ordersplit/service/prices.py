"""The stock prices the service holds (issue #17's look-ahead objective).

``PUT /v1/prices`` loads (or replaces) them: the body is ``options.stock_prices``'s shape,
``{"version": "...", "prices": {"<warehouse_id>": {"<sku>": <number>}}}``, validated
field by field like a split request and bounded by the service's body limit.
``GET /v1/prices`` says which prices are held (version, priced cells, warehouses, when
loaded). Both need an API key, as every ``/v1/`` path does.

A split (or presplit) whose ``options.objective`` lists ``stock_value`` and that brings no
``options.stock_prices`` is priced with the held prices: the event loop picks out the
cells of the request's warehouses and catalog SKUs (a scan of the body's bytes first,
so other requests are not parsed there) and the job injects them into the request's
options in the worker, so the plan echoes their version (``stock_prices_version``). Without
held prices such a request is answered 422 by the request's own validation. A replay
by ``Idempotency-Key`` returns the plan first computed, with the version it was priced
with; the same body without a key is priced anew once the held version changed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.responses import Response

from ordersplit.errors import RequestError
from ordersplit.models.request import StockPriceTable
from ordersplit.models.validate import validation_error
from ordersplit.service.handlers import JSON, Service
from ordersplit.service.jobs import JobResult, load_json
from ordersplit.service.openapi import body_of

log = logging.getLogger(__name__)

PARSE_ON_LOOP_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the event loop; larger ones in a thread."""


class PriceBook:
    """The prices currently held; replaced whole by each load (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prices: StockPriceTable | None = None
        self._cells = 0
        self._loaded_at: str | None = None

    def load(self, prices: StockPriceTable) -> dict[str, Any]:
        """Hold ``prices`` from now on; their summary."""
        cells = sum(len(row) for row in prices.prices.values())
        with self._lock:
            self._prices, self._cells = prices, cells
            self._loaded_at = datetime.now(UTC).isoformat(timespec="seconds")
        log.info("stock prices %s loaded: %d cells over %d warehouses", prices.version, cells,
                 len(prices.prices))
        return self.summary()

    def summary(self) -> dict[str, Any]:
        """``version`` (``None`` when none are held), priced ``count``, ``warehouses``,
        ``loaded_at`` (UTC)."""
        with self._lock:
            held = self._prices
            return {"version": held.version if held else None, "count": self._cells,
                    "warehouses": len(held.prices) if held else 0,
                    "loaded_at": self._loaded_at}

    def for_request(self, data: Any) -> dict[str, Any] | None:
        """The held prices of the request's warehouses and catalog SKUs, in the shape of
        ``options.stock_prices``, when the request asks for ``stock_value`` and brings no
        prices of its own; ``None`` otherwise (or when nothing is held: the request's
        validation then says what is missing)."""
        with self._lock:
            held = self._prices
        if held is None or not _wants_prices(data):
            return None
        skus = set(data.get("catalog") or {}) if isinstance(data.get("catalog"), Mapping) \
            else set()
        table: dict[str, dict[str, float]] = {}
        for wh in data.get("warehouses") or []:
            wid = wh.get("id") if isinstance(wh, Mapping) else None
            row = held.prices.get(wid) if isinstance(wid, str) else None
            if row:  # walk the smaller side: a held row may list 100,000 SKUs
                mine = ({sku: row[sku] for sku in skus if sku in row} if len(skus) < len(row)
                        else {sku: price for sku, price in row.items() if sku in skus})
                if mine:
                    table[wid] = mine  # type: ignore[index]
        return {"version": held.version, "prices": table}

    async def pricing(self, body: bytes, job: Callable[..., JobResult],
                      ) -> tuple[Callable[..., JobResult], bytes]:
        """``job``, or ``job`` with the held prices injected when the request asks for
        them (see the module docstring), and the variant the answer depends on (the
        held version: a body sent again after a refresh is priced anew, not replayed).
        The body is parsed only when its bytes mention ``stock_value`` without
        ``stock_prices``."""
        if self._prices is None:
            return job, b""
        if b'"stock_value"' not in body or b'"stock_prices"' in body:
            return job, b""
        if len(body) <= PARSE_ON_LOOP_BYTES:
            prices = self._cells_of(body)
        else:  # a large order: parsed and looked up off the event loop
            prices = await asyncio.to_thread(self._cells_of, body)
        if prices is None:
            return job, b""
        return partial(priced_job, job=job, prices=prices), prices["version"].encode()


    def _cells_of(self, body: bytes) -> dict[str, Any] | None:
        """:meth:`for_request` of a body; ``None`` for one that cannot be read (the
        job answers it)."""
        try:
            data = load_json(body)
        except RequestError:
            return None
        return self.for_request(data) if isinstance(data, Mapping) else None


def _wants_prices(data: Mapping[str, Any]) -> bool:
    options = data.get("options")
    if not isinstance(options, Mapping) or options.get("stock_prices") is not None:
        return False
    objective = options.get("objective")
    return isinstance(objective, list) and "stock_value" in objective


def priced_job(raw: bytes, *args: Any, job: Callable[..., JobResult],
               prices: dict[str, Any]) -> JobResult:
    """Run ``job`` on ``raw`` with ``options.stock_prices`` set to ``prices`` (in the
    worker; a body that cannot be read is handed over unchanged for the job to answer)."""
    try:
        data = load_json(raw)
    except RequestError:
        return job(raw, *args)
    options = data.get("options") if isinstance(data, dict) else None
    if isinstance(options, dict):
        options["stock_prices"] = prices
        raw = orjson.dumps(data)
    return job(raw, *args)


def parse_prices(body: bytes) -> StockPriceTable:
    """A ``PUT /v1/prices`` body as :class:`StockPriceTable`; :class:`RequestError` naming the
    field (``prices.W1.SKU9``) otherwise."""
    data = load_json(body)
    if not isinstance(data, Mapping):
        raise RequestError("the body must be a JSON object {version, prices}", field="")
    try:
        return StockPriceTable.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def install_prices(app: FastAPI, service: Service, book: PriceBook,
                   errors: dict[int | str, dict[str, Any]]) -> None:
    """Add ``GET`` and ``PUT /v1/prices`` to ``app`` (``errors``: the documented error
    answers of the ``PUT``)."""

    @app.put("/v1/prices", response_model=None, tags=["look-ahead"],
             openapi_extra=body_of("StockPriceTable"),
             responses={200: {"content": {JSON: {}}, "description": "The prices now held"},
                        **errors})
    async def put_prices(request: Request) -> Response:
        """Load or replace the stock prices splits with ``stock_value`` use."""
        t0 = time.perf_counter()
        body = await request.body()  # bounded while it streams (GuardMiddleware)
        try:
            prices = await asyncio.to_thread(parse_prices, body)
        except RequestError as exc:
            service.metrics.invalid.labels("prices").inc()
            return service.error(422, exc.message, exc.field)
        summary = book.load(prices)
        summary["load_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        return Response(orjson.dumps(summary), 200, media_type=JSON)

    @app.get("/v1/prices", response_model=None, tags=["look-ahead"],
             responses={200: {"content": {JSON: {}}, "description": "Version and count"}})
    async def get_prices() -> Response:
        """Which stock prices are held: version (null when none), priced cells,
        warehouses, when loaded."""
        return Response(orjson.dumps(book.summary()), 200, media_type=JSON)
