"""Idempotency records: committed with the effect, replayed, revoked (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from lifecycle_data import gift_request
from sqlalchemy import select

from ordersplit import split
from ordersplit.lifecycle import IdempotencyError, Store
from ordersplit.lifecycle import schema as t
from ordersplit.lifecycle.replay import (
    Answer,
    Attempt,
    KeyReusedError,
    Record,
    ReplayError,
    RevokedError,
)
from ordersplit.lifecycle.store import CancelOutcome, Saved


def _attempt(key: str = "k", request_hash: str = "h1") -> Attempt:
    return Attempt(key, request_hash, uuid.uuid4().hex, "split")


def _saved(saved: Saved) -> Answer:
    return Answer(200, saved.plan.model_dump_json().encode(), (("Ordersplit-Stored", "created"),))


def _cancelled(outcome: CancelOutcome) -> Answer:
    return Answer(200, f'{{"refund": "{outcome.refund_total}"}}'.encode())


def test_the_answer_is_committed_with_the_split_and_replayed(store: Store) -> None:
    req, first = gift_request(), _attempt()
    saved = store.save_split(req, split(req), Record(first, _saved))
    assert saved.created
    replay = store.replayed(_attempt())  # another attempt, same key and body
    assert replay == _saved(saved)
    counts = store.row_counts()
    with pytest.raises(ReplayError) as caught:  # applied again: nothing written
        store.save_split(req, split(req), Record(_attempt(), _saved))
    assert caught.value.answer == replay and store.row_counts() == counts
    with pytest.raises(KeyReusedError):
        store.replayed(_attempt(request_hash="other"))


def test_no_record_without_the_effect(store: Store) -> None:
    req = gift_request()
    store.save_split(req, split(req))
    other = gift_request(shipping_fee="0.00", payments=[{"method": "cash", "amount": "49.01"}])
    attempt = _attempt()
    with pytest.raises(IdempotencyError):  # refused: the key stays free
        store.save_split(other, split(other), Record(attempt, _saved))
    assert store.replayed(attempt) is None
    assert store.row_counts()["idempotency_records"] == 0


def test_a_revoked_attempt_commits_nothing_and_a_retry_does(store: Store) -> None:
    req, late = gift_request(), _attempt()
    assert store.revoke(late) is None  # the service gave up on it first
    counts = store.row_counts()
    with pytest.raises(RevokedError):
        store.save_split(req, split(req), Record(late, _saved))
    assert store.row_counts() == counts
    retry = _attempt()  # the client's retry, same key and body
    assert store.replayed(retry) is None
    assert store.save_split(req, split(req), Record(retry, _saved)).created
    assert store.revoke(_attempt()) == store.replayed(_attempt())  # now answered
    with pytest.raises(ReplayError):  # the late attempt wakes up after the retry
        store.save_split(req, split(req), Record(late, _saved))


def test_revoked_tokens_accumulate(store: Store) -> None:
    req, a, b = gift_request(), _attempt(), _attempt()
    store.revoke(a)
    store.revoke(b)
    for late in (a, b):
        with pytest.raises(RevokedError):
            store.save_split(req, split(req), Record(late, _saved))
    with store.engine.connect() as conn:
        revoked = conn.execute(select(t.idempotency.c.revoked)).scalar_one()
    assert revoked == [a.token, b.token]


def test_revoke_after_the_commit_returns_the_answer(store: Store) -> None:
    req = gift_request()
    store.save_split(req, split(req))
    attempt = _attempt(key="cancel-1")
    outcome = store.cancel("G-1-1", "test", record=Record(attempt, _cancelled))
    assert store.revoke(attempt) == _cancelled(outcome)  # delivered, not a failure
    assert store.replayed(_attempt(key="cancel-1")) == _cancelled(outcome)
    assert store.order("G-1-1").status == "cancelled"
