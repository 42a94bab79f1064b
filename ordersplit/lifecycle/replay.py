"""Durable idempotency records: a mutating request's answer, committed with its effect.

A service request that changes the store (split stored, re-split, cancel) is one
:class:`Attempt`: its idempotency key, the hash of its body and a fresh token. The
store writes the answer (status, body, headers) into ``idempotency_records`` in the
same transaction as the effect (:func:`record`), after checking the key's row under a
write lock (:func:`check`). So after a restart the same key and body get the original
answer (:func:`lookup`), never a conflict.

Timeouts. When the service gives up on an attempt it revokes the token
(:func:`revoke`), in its own transaction that conflicts with the attempt's: whichever
commits first wins. Either the attempt had committed (the service then delivers the
stored answer instead of a 503), or the row lists the token as revoked and the
attempt, if it is still running somewhere, rolls back (:class:`RevokedError`). A later
attempt with the same key (the client's retry) runs normally.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from ordersplit.lifecycle import schema as t
from ordersplit.lifecycle.rows import now

log = logging.getLogger(__name__)

T = TypeVar("T")

DONE = "done"
FAILED = "failed"
MAX_REVOKED = 64
"""Revoked tokens kept per key (the newest): attempts a timeout gave up on."""


@dataclass(frozen=True)
class Attempt:
    """One attempt at a mutating request."""

    key: str
    """The idempotency key, qualified by endpoint (stored hashed)."""
    request_hash: str
    """Hash of the request body: the same key with another body is refused."""
    token: str
    """Unique to this attempt; revoked when the service gives up on it."""
    endpoint: str = ""


@dataclass(frozen=True)
class Answer:
    """A stored answer, replayed byte for byte."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Record(Generic[T]):
    """What a store write records beside its effect: the attempt, and its answer."""

    attempt: Attempt
    answer: Callable[[T], Answer]
    """The answer of the effect's outcome (computed inside the transaction)."""


class ReplayError(Exception):
    """The key already has a committed answer: return it, apply nothing."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("replayed")
        self.answer = answer


class RevokedError(Exception):
    """This attempt was given up on (the client got a 503): nothing may be committed."""


class KeyReusedError(Exception):
    """The key was used before with a different request body."""


def key_hash(key: str) -> str:
    """The stored form of an idempotency key (any length, any characters)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _answer(row: RowMapping) -> Answer:
    headers = tuple((str(k), str(v)) for k, v in row["headers"] or ())
    return Answer(int(row["status"]), (row["body"] or "").encode(), headers)


def _judge(row: RowMapping, attempt: Attempt) -> None:
    """Raise unless ``attempt`` may go on with its effect given the key's ``row``."""
    if row["request_hash"] != attempt.request_hash:
        raise KeyReusedError
    if row["state"] == DONE:
        raise ReplayError(_answer(row))
    if attempt.token in (row["revoked"] or []):
        raise RevokedError


def _row(conn: Connection, attempt: Attempt, lock: bool) -> RowMapping | None:
    r = t.idempotency
    query = select(r).where(r.c.key_hash == key_hash(attempt.key))
    return conn.execute(query.with_for_update() if lock else query).mappings().first()


def lookup(engine: Engine, attempt: Attempt) -> Answer | None:
    """The committed answer for ``attempt``'s key, or ``None`` when it must run.

    Raises :class:`KeyReusedError` or :class:`RevokedError`.
    """
    with engine.connect() as conn:
        row = _row(conn, attempt, lock=False)
    if row is None:
        return None
    try:
        _judge(row, attempt)
    except ReplayError as replay:
        return replay.answer
    return None


def check(conn: Connection, attempt: Attempt) -> None:
    """In the effect's write transaction, before the effect: may it go on?

    Raises :class:`ReplayError`, :class:`RevokedError` or :class:`KeyReusedError`.
    """
    row = _row(conn, attempt, lock=True)
    if row is not None:
        _judge(row, attempt)


def record(conn: Connection, rec: Record[T], outcome: T) -> None:
    """In the effect's write transaction, after the effect: store its answer.

    A revocation or another attempt committed meanwhile (another process) raises, which
    rolls the effect back.
    """
    attempt, answer = rec.attempt, rec.answer(outcome)
    r = t.idempotency
    values: dict[str, Any] = {
        "state": DONE, "token": attempt.token, "status": answer.status,
        "body": answer.body.decode(), "headers": [list(h) for h in answer.headers],
        "updated_at": now()}
    row = _row(conn, attempt, lock=True)
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(r).values(
                    key_hash=key_hash(attempt.key), endpoint=attempt.endpoint[:32],
                    request_hash=attempt.request_hash, revoked=[],
                    created_at=values["updated_at"], **values))
            return
        except IntegrityError:  # a concurrent attempt or revocation wrote the key first
            row = _row(conn, attempt, lock=True)
            if row is None:
                raise
    _judge(row, attempt)  # an earlier attempt failed: this one takes the key over
    conn.execute(update(r).where(r.c.key_hash == row["key_hash"]).values(**values))


def revoke(write: Callable[[], AbstractContextManager[Connection]],
           attempt: Attempt) -> Answer | None:
    """Give up on ``attempt``: its late effect can never commit.

    Returns the committed answer when the attempt (or another with the same key and
    body) committed first: that answer must be delivered, not a failure. ``write()``
    opens the store's write transaction.
    """
    for _ in range(3):
        try:
            with write() as conn:
                row = _row(conn, attempt, lock=True)
                if row is None:
                    with conn.begin_nested():
                        conn.execute(insert(t.idempotency).values(
                            key_hash=key_hash(attempt.key), endpoint=attempt.endpoint[:32],
                            request_hash=attempt.request_hash, state=FAILED,
                            revoked=[attempt.token], created_at=now(), updated_at=now()))
                    return None
                if row["state"] == DONE:
                    return _answer(row) if row["request_hash"] == attempt.request_hash else None
                revoked = [*(row["revoked"] or []), attempt.token][-MAX_REVOKED:]
                conn.execute(update(t.idempotency).where(
                    t.idempotency.c.key_hash == row["key_hash"]).values(
                        revoked=revoked, updated_at=now()))
                return None
        except IntegrityError:  # the attempt committed its row meanwhile: read it
            log.info("idempotency key written concurrently with its revocation; re-reading")
    raise RuntimeError("could not revoke an attempt")  # pragma: no cover - 3 races in a row
