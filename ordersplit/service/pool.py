"""The solver pool: bounded admission in front of a process (or thread) pool.

A request is admitted only while fewer than ``limit`` requests are running or queued;
otherwise :class:`SaturatedError` is raised at once and the service answers 503 with
``Retry-After``, so no backlog builds up. A slot is freed when the work really ends
(not when the caller stops waiting), so the limit always reflects busy workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ordersplit.service.config import PoolKind
from ordersplit.service.jobs import JobResult, warm_up

log = logging.getLogger(__name__)


WORKER_NICE = 5
"""Solver processes run at a lower priority than the event loop, so that under overload
the loop still answers (503 at once) instead of starving behind the solves."""


def _lower_priority(increment: int) -> None:
    with contextlib.suppress(OSError):  # not permitted here: same priority
        os.nice(increment)


class SaturatedError(Exception):
    """Every admission slot is taken."""


class PoolTimeoutError(Exception):
    """A job ran past its deadline; it keeps its slot until it really ends."""


class SolverPool:
    """Admission control plus an executor; ``run`` is awaited on the event loop."""

    def __init__(self, workers: int, limit: int, kind: PoolKind = "process") -> None:
        if workers < 1 or limit < 1:
            raise ValueError("workers and limit must be at least 1")
        self.workers = workers
        self.limit = limit
        self.kind = kind
        self._inflight = 0
        self._lock = threading.Lock()
        self._executor: Executor | None = None

    @property
    def inflight(self) -> int:
        """Requests admitted and not yet finished."""
        return self._inflight

    @property
    def started(self) -> bool:
        """Whether the executor is up."""
        return self._executor is not None

    def start(self, warm: bool = True) -> None:
        """Create the executor; with ``warm``, load the solver stack in every worker."""
        if self._executor is not None:
            return
        if self.kind == "process":
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["ordersplit.service.jobs"])
            self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                                 initializer=_lower_priority,
                                                 initargs=(WORKER_NICE,))
        else:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="ordersplit-solve")
        if warm:
            t0 = time.perf_counter()
            pause = 0.2 if self.kind == "process" else 0.0
            try:
                pids = {f.result() for f in [self._executor.submit(warm_up, pause)
                                              for _ in range(self.workers)]}
            except BrokenProcessPool:
                log.exception("the solver pool failed to warm up; it restarts on first use")
                self._restart()
                return
            log.info("solver pool up: %d %s worker(s) (%d distinct) in %.2f s", self.workers,
                     self.kind, len(pids), time.perf_counter() - t0)

    def shutdown(self) -> None:
        """Stop the executor (waits for running jobs)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._inflight -= 1

    def _admit(self) -> None:
        with self._lock:
            if self._inflight >= self.limit:
                raise SaturatedError
            self._inflight += 1

    async def run(self, fn: Callable[..., JobResult], *args: Any, timeout: float) -> JobResult:
        """Run ``fn(*args)`` in a worker.

        Raises :class:`SaturatedError` (no slot, or a broken pool) or :class:`PoolTimeoutError`.
        """
        if self._executor is None:
            self.start(warm=False)
        assert self._executor is not None
        self._admit()
        try:
            future = self._executor.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):
            self._release_now()
            self._restart()
            raise SaturatedError from None
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            raise PoolTimeoutError from None
        except BrokenProcessPool:
            log.error("a solver worker died; restarting the pool")
            self._restart()
            raise SaturatedError from None

    def _release_now(self) -> None:
        with self._lock:
            self._inflight -= 1

    def _restart(self) -> None:
        old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self.start(warm=False)
