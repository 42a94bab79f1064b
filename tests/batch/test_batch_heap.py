"""Freed heap memory goes back to the system between stages (``batch.heap``), and the
search's split cache keys tell every distinct view apart (``search.view_key``)."""

from __future__ import annotations

import ctypes.util

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.batch.heap import release
from ordersplit.batch.search import view_key


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no C library")
def test_release_returns_freed_heap_pages_to_the_system() -> None:
    """Mid-sized buffers freed among survivors stay resident until the heap is trimmed
    (what a worker's stage leaves behind); after :func:`release` most of them are gone."""
    me = psutil.Process()
    release("before")
    base = me.memory_info().rss
    blocks = [np.ones(6_000, dtype=np.int64) for _ in range(30_000)]  # 48 KB each
    keep = blocks[::50]  # survivors scattered through the heap
    del blocks
    held = me.memory_info().rss - base
    if held < 200 * 2**20:
        pytest.skip("this allocator returned the freed blocks by itself")
    assert release("test")
    after = me.memory_info().rss - base
    assert after < held / 2, (held, after)
    assert len(keep) == 600


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.data())
def test_view_keys_differ_exactly_when_views_differ(rows: int, cols: int,
                                                    data: st.DataObject) -> None:
    cells = st.lists(st.integers(0, 3), min_size=rows * cols, max_size=rows * cols)
    a = np.array(data.draw(cells), dtype=np.int64).reshape(rows, cols)
    b = np.array(data.draw(cells), dtype=np.int64).reshape(rows, cols)
    assert (view_key(a) == view_key(b)) == np.array_equal(a, b)
    assert view_key(a) != view_key(a.reshape(cols, rows)) or rows == cols
    assert len(view_key(a)) == 16
