"""Store fixtures: the same tests on SQLite (always) and PostgreSQL (when available).

PostgreSQL: ``$ORDERSPLIT_TEST_PG_URL``, else the URL ``.ci/services`` wrote to
``.ci/pg_url``; without either, the PostgreSQL variants are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordersplit.lifecycle import Store, open_store
from ordersplit.lifecycle import schema as t

ROOT = Path(__file__).resolve().parents[2]


def pg_url() -> str | None:
    """The test PostgreSQL URL, or ``None``."""
    url = os.environ.get("ORDERSPLIT_TEST_PG_URL")
    if not url and (ROOT / ".ci" / "pg_url").is_file():
        url = (ROOT / ".ci" / "pg_url").read_text().strip()
    return url or None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'orders.db'}"
        return
    url = pg_url()
    if url is None:
        pytest.skip("no PostgreSQL: set ORDERSPLIT_TEST_PG_URL or run .ci/services")
    store = open_store(url, create=False)
    t.metadata.drop_all(store.engine)
    store.close()
    yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()
