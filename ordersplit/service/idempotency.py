"""Idempotent replays: the same key (or the same body) gets the same answer, computed once.

Entries live in an LRU keyed by endpoint and ``Idempotency-Key`` (or, without a key, by
the body's hash), bounded both in entries and in bytes (keys plus answers: a few large
answers cannot hold more memory than ``max_bytes``). A request that arrives while the
first is still being solved waits for that answer instead of solving again. Reusing a
key with another body is an error (422), as in the IETF ``Idempotency-Key`` draft.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from ordersplit.service.jobs import JobResult


class KeyReusedError(Exception):
    """An ``Idempotency-Key`` sent again with a different body."""


ENTRY_OVERHEAD = 400
"""Bytes counted per entry beyond its key and answer (objects, dict slot, future)."""


@dataclass
class _Entry:
    digest: bytes
    answer: asyncio.Future[JobResult]
    size: int


def body_digest(body: bytes) -> bytes:
    """A fast, collision-resistant digest of a request body."""
    return hashlib.blake2b(body, digest_size=16).digest()


class IdempotencyCache:
    """An LRU of answers (or answers being computed), bounded by ``capacity`` entries and
    ``max_bytes`` bytes (keys, answer bodies and headers, and a fixed overhead each)."""

    def __init__(self, capacity: int, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.nbytes = 0
        """Bytes held now, as counted."""
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(endpoint: str, header: str | None, digest: bytes) -> str:
        """The cache key of a request."""
        if header:
            return f"{endpoint}\0k\0{header}"
        return f"{endpoint}\0b\0{digest.hex()}"

    def claim(self, key: str, digest: bytes) -> tuple[asyncio.Future[JobResult], bool]:
        """The future holding the answer for ``key``, and whether the caller must compute it.

        Raises :class:`KeyReusedError` when ``key`` was used with another body.
        """
        entry = self._entries.get(key)
        if entry is not None:
            if entry.digest != digest:
                raise KeyReusedError
            self._entries.move_to_end(key)
            return entry.answer, False
        answer: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        new = _Entry(digest, answer, len(key.encode()) + len(digest) + ENTRY_OVERHEAD)
        self._entries[key] = new
        self.nbytes += new.size
        answer.add_done_callback(lambda done: self._answered(key, new, done))
        self._evict()
        return answer, True

    def _answered(self, key: str, entry: _Entry, done: asyncio.Future[JobResult]) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        result = done.result()
        extra = len(result.body) + sum(len(k) + len(v) for k, v in result.headers)
        entry.size += extra
        if self._entries.get(key) is entry:
            self.nbytes += extra
            self._evict()

    def _evict(self) -> None:
        while self._entries and (len(self._entries) > self.capacity
                                 or self.nbytes > self.max_bytes):
            _, old = self._entries.popitem(last=False)
            self.nbytes -= old.size

    def forget(self, key: str) -> None:
        """Drop ``key`` (an answer not worth replaying, such as a 503)."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.nbytes -= old.size
