"""API keys: SHA-256 digests at rest, constant-time checks, several valid at once, reloadable.

The service never holds a key, only its SHA-256 digest. Keys are long random tokens
(``python -c "import secrets; print(secrets.token_urlsafe(32))"``), so an unsalted
digest is enough: nobody can guess a 256-bit token from its digest. A client presents
its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

Digests come from a file (one per line, ``sha256sum`` output or ``sha256:<hex>``, ``#``
comments; ``printf %s "$KEY" | sha256sum >> keys.txt`` adds one) and from the
environment variable ``ORDERSPLIT_API_KEY_HASHES`` (digests separated by commas or
white space). Rotation: add the new digest, move clients over, remove the old one; the
file is read again when its modification time, size or inode changes (checked at most
once a second, on requests), so no restart or signal is needed. A file that cannot be
read or parsed is reported in the log and the keys already loaded stay in force.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

ENV_HASHES = "ORDERSPLIT_API_KEY_HASHES"
"""Environment variable holding SHA-256 digests of the valid keys."""
ENV_FILE = "ORDERSPLIT_API_KEYS_FILE"
"""Environment variable naming the digest file (as ``--api-keys``)."""
MAX_KEY_BYTES = 512
"""Longer presented keys are refused without hashing."""

_DIGEST = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


class KeyFileError(ValueError):
    """A key file that is not a list of SHA-256 digests."""


def key_digest(key: str | bytes) -> str:
    """The hex SHA-256 digest of a key: what the key file and the environment hold."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()


def parse_digests(text: str, source: str) -> set[bytes]:
    """The digests listed in ``text`` (one per line or separated by commas)."""
    out: set[bytes] = set()
    for number, line in enumerate(text.splitlines(), 1):
        for item in line.split("#", 1)[0].replace(",", " ").split():
            match = _DIGEST.fullmatch(item)
            if match is None:
                if item == "-" or item.startswith("*"):  # sha256sum's file name column
                    continue
                raise KeyFileError(
                    f"{source}, line {number}: expected a SHA-256 hex digest (store digests, "
                    "not keys: printf %s KEY | sha256sum)")
            out.add(bytes.fromhex(match.group(1)))
    return out


class KeyRing:
    """The digests of the keys valid now; :meth:`verify` checks a presented key."""

    def __init__(self, digests: Iterable[bytes] = (), path: str | Path | None = None,
                 check_every_s: float = 1.0) -> None:
        self._fixed = frozenset(digests)
        self._from_file: frozenset[bytes] = frozenset()
        self.path = Path(path) if path else None
        self.check_every_s = check_every_s
        self._stamp: tuple[int, int, int] | None = None
        self._next_check = 0.0
        if self.path is not None:
            self._from_file = frozenset(self._read())
        self._all = self._fixed | self._from_file

    @classmethod
    def from_sources(cls, hashes: Iterable[str] = (), path: str | Path | None = None,
                     environ: dict[str, str] | None = None) -> KeyRing:
        """Digests given directly, in ``$ORDERSPLIT_API_KEY_HASHES`` and in a file."""
        env = os.environ if environ is None else environ
        digests = parse_digests("\n".join(hashes), "api key hashes")
        digests |= parse_digests(env.get(ENV_HASHES, ""), ENV_HASHES)
        return cls(digests, path or env.get(ENV_FILE) or None)

    def __len__(self) -> int:
        return len(self._all)

    def _read(self) -> set[bytes]:
        assert self.path is not None
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        return parse_digests(self.path.read_text(encoding="utf-8"), str(self.path))

    def reload_if_changed(self, now: float | None = None) -> None:
        """Read the key file again if it changed (at most once per ``check_every_s``)."""
        if self.path is None:
            return
        now = time.monotonic() if now is None else now
        if now < self._next_check:
            return
        self._next_check = now + self.check_every_s
        try:
            st = self.path.stat()
            if (st.st_mtime_ns, st.st_size, st.st_ino) == self._stamp:
                return
            digests = self._read()
        except (OSError, UnicodeError, KeyFileError) as exc:
            log.error("API key file not reloaded, the keys loaded before stay valid: %s", exc)
            return
        self._from_file = frozenset(digests)
        self._all = self._fixed | self._from_file
        log.warning("API key file %s reloaded: %d key(s) valid", self.path, len(self._all))

    def verify(self, key: bytes) -> bool:
        """Whether ``key`` is valid; compares with every digest in constant time."""
        if not key or len(key) > MAX_KEY_BYTES:
            return False
        digest = hashlib.sha256(key).digest()
        found = False
        for known in self._all:
            found |= hmac.compare_digest(digest, known)
        return found


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The key a request carries (``Authorization: Bearer`` or ``X-API-Key``), or ``b""``."""
    bearer = api_key = b""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer":
                bearer = token.strip()
        elif name == b"x-api-key":
            api_key = value.strip()
    return bearer or api_key
