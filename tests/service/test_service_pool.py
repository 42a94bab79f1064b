"""The process pool's transport: jobs and answers of any size reach the right caller."""

from __future__ import annotations

import asyncio
import os
import time
import zlib

import pytest

from ordersplit.service.pool import SaturatedError, SolverPool


def test_large_jobs_and_answers_reach_their_callers() -> None:
    """More jobs than workers at once, each megabytes both ways: every caller gets the
    answer to its own job (the socket's byte stream is framed, never mixed up)."""
    payloads = [os.urandom(3 * 1024 * 1024 + i) for i in range(6)]  # incompressible
    pool = SolverPool(2, 16, "process", max_wait_s=600)
    pool.start(warm=True)

    async def go() -> list[bytes]:
        return list(await asyncio.gather(*(
            pool.run(zlib.compress, p, arrival=time.monotonic(), budget_s=600, size=len(p))
            for p in payloads)))

    try:
        answers = asyncio.run(go())
    finally:
        pool.shutdown()
    assert [zlib.decompress(a) for a in answers] == payloads
    assert pool.inflight == 0 and pool.replaced == 0


def test_a_queued_job_past_its_wait_is_withdrawn_and_never_run() -> None:
    """One worker busy; the next job's queue wait runs out: 503 (SaturatedError), the
    busy job still answers, and nothing is left in flight."""
    pool = SolverPool(1, 4, "process", max_wait_s=0.05)
    pool.start(warm=True)

    async def go() -> tuple[object, BaseException | None]:
        busy = asyncio.ensure_future(pool.run(time.sleep, 3, arrival=time.monotonic(),
                                              budget_s=60))
        await asyncio.sleep(0)  # the first job has the worker
        late: BaseException | None = None
        try:
            await pool.run(os.getpid, arrival=time.monotonic(), budget_s=60)
        except SaturatedError as exc:
            late = exc
        return await busy, late

    try:
        first, late = asyncio.run(go())
    finally:
        pool.shutdown()
    assert first is None and isinstance(late, SaturatedError)
    assert pool.inflight == 0


def test_a_pool_belongs_to_one_event_loop() -> None:
    pool = SolverPool(1, 4, "thread")

    async def one() -> int:
        return await pool.run(os.getpid, arrival=time.monotonic(), budget_s=60)

    try:
        assert asyncio.run(one()) == os.getpid()
        with pytest.raises(RuntimeError, match="one event loop"):
            asyncio.run(one())
    finally:
        pool.shutdown()
