"""Jobs over the order lifecycle store (``ordersplit.lifecycle``): stored split, re-split,
cancel, release, show.

Each worker (process or thread) opens the store once per URL. Without a store URL the
service answers these endpoints 501 with the contract's error object, never a 500.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordersplit.api import split
from ordersplit.errors import RequestError
from ordersplit.lifecycle import cancel, open_store, reject, release, resplit, show_json
from ordersplit.lifecycle.errors import (
    ConflictError,
    IdempotencyError,
    LevelError,
    LifecycleError,
    TransitionError,
    UnknownOrderError,
)
from ordersplit.lifecycle.store import Store
from ordersplit.models.bounds import Flag, Id, Note, OrderRef, Quantity, Stock
from ordersplit.models.validate import validation_error
from ordersplit.service.jobs import Budget, JobResult, apply_budget, error_body, guarded, load_json

log = logging.getLogger(__name__)

_stores: dict[str, Store] = {}
_lock = threading.Lock()


def store_for(url: str) -> Store:
    """This worker's store at ``url`` (opened, tables created, on first use)."""
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = open_store(url)
        return store


def close_stores() -> None:
    """Close every store this process opened."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


STATUS_OF: tuple[tuple[type[LifecycleError], int], ...] = (
    (UnknownOrderError, 404),
    (IdempotencyError, 409),
    (ConflictError, 409),
    (TransitionError, 409),
    (LevelError, 409),
    (LifecycleError, 409),
)


def _lifecycle_error(exc: LifecycleError) -> JobResult:
    status = next(code for kind, code in STATUS_OF if isinstance(exc, kind))
    return JobResult(status, error_body(exc.message, "", exc.order_id), exc.order_id)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResplitRequest(_Strict):
    """Re-split a stored child the warehouse is short for."""

    order_id: OrderRef
    """The child (level 2) to re-split."""
    shortage: dict[Id, Quantity] = Field(default_factory=dict)
    """Units per SKU the child's warehouse cannot ship after all."""
    stock: dict[Id, dict[Id, Stock]] | None = None
    """Current units per warehouse id and SKU (default: the stored snapshot, less what the
    live orders hold)."""


class CancelRequest(_Strict):
    """Cancel an unshipped child, or (``reject``) record that the customer rejected it."""

    order_id: OrderRef
    note: Note | None = None
    reject: Flag = False
    gifts: Literal["hold", "cancel"] = "hold"
    """What happens to its unshipped linked gift children, in the same transaction."""


class ReleaseRequest(_Strict):
    """Release a held child (e.g. a gift whose trigger was cancelled) back to work."""

    order_id: OrderRef
    note: Note | None = None


def _model(kind: type[BaseModel], raw: bytes) -> Any:
    data = load_json(raw)
    order_id = data.get("order_id") if isinstance(data, dict) else None
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, order_id if isinstance(order_id, str) else None) from None


def run_stored_split(raw: bytes, budget: Budget, url: str) -> JobResult:
    """``POST /v1/split`` with a store: split under the budget, store once, answer the plan.

    The request is stored as sent (its hash decides idempotency); the plan is the one
    already stored when this order id was split before from the same request.
    """
    def work() -> JobResult:
        data = load_json(raw)
        limit = apply_budget(data, budget)
        plan = split(data)
        try:
            saved = store_for(url).save_split(load_json(raw), plan)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        stored = saved.plan
        return JobResult(200, stored.model_dump_json().encode(), stored.order_id, stored.status,
                         stored.solver, time_limit_ms=limit,
                         headers=(("Ordersplit-Stored", "created" if saved.created
                                   else "existing"),))

    return guarded(work, raw)


def run_resplit(raw: bytes, budget: Budget, url: str) -> JobResult:
    """``POST /v1/resplit``: the grandchildren's plan."""
    def work() -> JobResult:
        body: ResplitRequest = _model(ResplitRequest, raw)
        try:
            plan = resplit(store_for(url), body.order_id, body.shortage, body.stock)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return JobResult(200, plan.model_dump_json().encode(), body.order_id, plan.status,
                         plan.solver)

    return guarded(work, raw)


def run_cancel(raw: bytes, budget: Budget, url: str) -> JobResult:
    """``POST /v1/cancel``: the refund per method and the linked orders' actions."""
    def work() -> JobResult:
        body: CancelRequest = _model(CancelRequest, raw)
        end = reject if body.reject else cancel
        try:
            outcome = end(store_for(url), body.order_id, body.note, body.gifts)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return JobResult(200, orjson.dumps(outcome.to_dict()), body.order_id)

    return guarded(work, raw)


def run_release(raw: bytes, budget: Budget, url: str) -> JobResult:
    """``POST /v1/release``: the held order back to the status it had before the hold."""
    def work() -> JobResult:
        body: ReleaseRequest = _model(ReleaseRequest, raw)
        try:
            back = release(store_for(url), body.order_id, body.note)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return JobResult(200, orjson.dumps({"order_id": body.order_id, "status": back}),
                         body.order_id)

    return guarded(work, raw)


def run_show(order_id: str, budget: Budget, url: str) -> JobResult:
    """``GET /v1/orders/{id}``: the order's tree with lineage, status, amounts, history."""
    def work() -> JobResult:
        try:
            tree = show_json(store_for(url), order_id)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return JobResult(200, orjson.dumps(tree, default=str), order_id)

    return guarded(work, None, order_id)
