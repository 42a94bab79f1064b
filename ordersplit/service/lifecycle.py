"""Jobs over the order lifecycle store (``ordersplit.lifecycle``): stored split, re-split,
cancel, release, show.

Each worker (process or thread) opens the store once per URL. Without a store URL the
service answers these endpoints 501 with the contract's error object, never a 500.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordersplit.api import split
from ordersplit.lifecycle import open_store, show_json
from ordersplit.lifecycle.errors import (
    ConflictError,
    IdempotencyError,
    LevelError,
    LifecycleError,
    TransitionError,
    UnknownOrderError,
)
from ordersplit.lifecycle.replay import (
    Answer,
    Attempt,
    KeyReusedError,
    Record,
    ReplayError,
    RevokedError,
)
from ordersplit.lifecycle.store import CancelOutcome, Saved, Store
from ordersplit.models.bounds import Flag, Id, Note, OrderRef, Quantity, Stock
from ordersplit.models.plan import Plan
from ordersplit.models.validate import validation_error
from ordersplit.service.jobs import (
    Budget,
    JobResult,
    apply_budget,
    error_body,
    guarded,
    load_json,
    order_id_in,
)

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


def _replayed(answer: Answer) -> JobResult:
    return JobResult(answer.status, answer.body,
                     headers=(*answer.headers, ("Idempotent-Replayed", "true")))


def _durably(raw: bytes, url: str, attempt: Attempt | None,
             effect: Callable[[Store], JobResult]) -> JobResult:
    """``effect(store)`` unless ``attempt``'s key has a committed answer (returned instead).

    The effect writes ``attempt``'s record in its own transaction; a revoked attempt
    commits nothing and answers 503 (nobody is waiting for it any more).
    """
    store = store_for(url)
    try:
        if attempt is not None and (answer := store.replayed(attempt)) is not None:
            return _replayed(answer)
        return effect(store)
    except ReplayError as exc:
        return _replayed(exc.answer)
    except KeyReusedError:
        who = order_id_in(raw)
        return JobResult(422, error_body("Idempotency-Key reused with a different request body",
                                         "headers.Idempotency-Key", who), who)
    except RevokedError:
        return JobResult(503, error_body("the request timed out and was not applied; retry"))
    except LifecycleError as exc:
        return _lifecycle_error(exc)


def _record(attempt: Attempt | None, answer: Callable[[Any], Answer]) -> Record[Any] | None:
    return None if attempt is None else Record(attempt, answer)


def _stored_answer(saved: Saved) -> Answer:
    return Answer(200, saved.plan.model_dump_json().encode(), (("Ordersplit-Stored", "created"),))


def _plan_answer(plan: Plan) -> Answer:
    return Answer(200, plan.model_dump_json().encode())


def _cancel_answer(outcome: CancelOutcome) -> Answer:
    return Answer(200, orjson.dumps(outcome.to_dict()))


def run_stored_split(raw: bytes, budget: Budget, attempt: Attempt | None = None, *,
                     url: str) -> JobResult:
    """``POST /v1/split`` with a store: split under the budget, store once, answer the plan.

    The request is stored as sent (its hash decides idempotency); the plan is the one
    already stored when this order id was split before from the same request. With an
    ``attempt``, its answer is recorded in the transaction that stores the order.
    """
    def effect(store: Store) -> JobResult:
        data = load_json(raw)
        limit = apply_budget(data, budget)
        plan = split(data)
        saved = store.save_split(load_json(raw), plan, _record(attempt, _stored_answer))
        stored = saved.plan
        return JobResult(200, stored.model_dump_json().encode(), stored.order_id, stored.status,
                         stored.solver, time_limit_ms=limit,
                         headers=(("Ordersplit-Stored", "created" if saved.created
                                   else "existing"),))

    return guarded(lambda: _durably(raw, url, attempt, effect), raw)


def run_resplit(raw: bytes, budget: Budget, attempt: Attempt | None = None, *,
                url: str) -> JobResult:
    """``POST /v1/resplit``: the grandchildren's plan."""
    def effect(store: Store) -> JobResult:
        body: ResplitRequest = _model(ResplitRequest, raw)
        plan = store.resplit(body.order_id, body.shortage, body.stock,
                             _record(attempt, _plan_answer))
        return JobResult(200, plan.model_dump_json().encode(), body.order_id, plan.status,
                         plan.solver)

    return guarded(lambda: _durably(raw, url, attempt, effect), raw)


def run_cancel(raw: bytes, budget: Budget, attempt: Attempt | None = None, *,
               url: str) -> JobResult:
    """``POST /v1/cancel``: the refund per method and the linked orders' actions."""
    def effect(store: Store) -> JobResult:
        body: CancelRequest = _model(CancelRequest, raw)
        end = store.reject if body.reject else store.cancel
        outcome = end(body.order_id, body.note, gifts=body.gifts,
                      record=_record(attempt, _cancel_answer))
        return JobResult(200, orjson.dumps(outcome.to_dict()), body.order_id)

    return guarded(lambda: _durably(raw, url, attempt, effect), raw)


def _release_answer(released: tuple[str, str]) -> Answer:
    return Answer(200, orjson.dumps({"order_id": released[0], "status": released[1]}))


def run_release(raw: bytes, budget: Budget, attempt: Attempt | None = None, *,
                url: str) -> JobResult:
    """``POST /v1/release``: the held order back to the status it had before the hold."""
    def effect(store: Store) -> JobResult:
        body: ReleaseRequest = _model(ReleaseRequest, raw)
        back = store.release(body.order_id, body.note, _record(attempt, _release_answer))
        return JobResult(200, orjson.dumps({"order_id": body.order_id, "status": back}),
                         body.order_id)

    return guarded(lambda: _durably(raw, url, attempt, effect), raw)


def run_show(order_id: str, budget: Budget, url: str) -> JobResult:
    """``GET /v1/orders/{id}``: the order's tree with lineage, status, amounts, history."""
    def work() -> JobResult:
        try:
            tree = show_json(store_for(url), order_id)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return JobResult(200, orjson.dumps(tree, default=str), order_id)

    return guarded(work, None, order_id)
