"""Idempotent replays: the same key (or the same body) gets the same answer, computed once.

Entries live in a bounded LRU keyed by endpoint and ``Idempotency-Key`` (or, without a
key, by the body's hash). A request that arrives while the first is still being solved
waits for that answer instead of solving again. Reusing a key with another body is an
error (422), as in the IETF ``Idempotency-Key`` draft.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from ordersplit.service.jobs import JobResult


class KeyReusedError(Exception):
    """An ``Idempotency-Key`` sent again with a different body."""


@dataclass
class _Entry:
    digest: bytes
    answer: asyncio.Future[JobResult]


def body_digest(body: bytes) -> bytes:
    """A fast, collision-resistant digest of a request body."""
    return hashlib.blake2b(body, digest_size=16).digest()


class IdempotencyCache:
    """An LRU of answers (or answers being computed), bounded by ``capacity`` entries."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
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
        self._entries[key] = _Entry(digest, answer)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return answer, True

    def forget(self, key: str) -> None:
        """Drop ``key`` (an answer not worth replaying, such as a 503)."""
        self._entries.pop(key, None)
