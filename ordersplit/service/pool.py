"""The solver pool: admission with a bounded queue wait, in front of replaceable workers.

Admission. A request is admitted while fewer than ``limit`` requests (and fewer than
``max_bytes`` of request bodies) are running or queued *and* its expected queue wait
(jobs ahead x mean service time / workers) is at most ``max_wait_s``; otherwise
:class:`SaturatedError` is raised at once (503 with ``Retry-After``). A queued job that
still has not started ``max_wait_s`` after its arrival is withdrawn and answered 503
then, so the wait is bounded even when the estimate is wrong. A slot is freed when the
work really ends.

Budgets. Every job has a kill time: its arrival plus the service's ceiling plus
``grace_s``, tightened to the request's own budget plus ``grace_s`` as soon as the worker
has read the request (:func:`ordersplit.service.jobs.announce_deadline`). A process
worker still busy at its kill time is killed and replaced by a fresh one, and the job
fails with :class:`PoolTimeoutError`: no request holds a worker past its budget plus the
grace. (Threads cannot be killed: a thread pool answers 503 on time but the thread runs
on; it is meant for tests and development.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any

from ordersplit.service import jobs
from ordersplit.service.config import PoolKind
from ordersplit.service.jobs import JobResult, warm_up

log = logging.getLogger(__name__)


WORKER_NICE = 5
"""Solver processes run at a lower priority than the event loop, so that under overload
the loop still answers (503 at once) instead of starving behind the solves."""
EWMA_WEIGHT = 0.05
"""Weight of the newest job in the mean service time the admission estimate uses."""
MAX_QUEUED_BYTES = 64 * 1024 * 1024
"""Default bound on the request bytes admitted jobs hold (running or queued)."""
START_TIMEOUT_S = 120.0
"""How long a fresh worker may take to load and warm the solver stack."""


class SaturatedError(Exception):
    """No admission slot, or the job waited in the queue past its bounded wait."""


class PoolTimeoutError(Exception):
    """A job ran past its kill time: its worker was replaced (process) or left (thread)."""

    def __init__(self, order_id: str | None = None) -> None:
        super().__init__("the job ran past its budget")
        self.order_id = order_id
        """The order, when the worker had read the request (to name it in the 503)."""


class WorkerLostError(Exception):
    """A worker process died during a job (it was replaced)."""


@dataclass
class _Job:
    fn: Callable[..., JobResult]
    args: tuple[Any, ...]
    future: Future[JobResult]
    start_by: float
    """``time.monotonic()`` after which the job is not started any more (503)."""
    kill_at: float
    """``time.monotonic()`` at which a still-running job's worker is replaced."""


def _prepare(prepare: Callable[[], object] | None) -> None:
    if prepare is not None:
        try:
            prepare()
        except Exception:  # best effort: the first job meets the same error and answers it
            log.exception("preparing a solver worker failed")


def _worker_main(conn: Connection, nice: int, prepare: Callable[[], object] | None) -> None:
    """A worker process: warm up, then run one job at a time from ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    with contextlib.suppress(OSError):  # not permitted here: same priority
        os.nice(nice)
    jobs.deadline_hook = lambda end, order_id: conn.send(("deadline", (end, order_id)))
    pid = warm_up()
    _prepare(prepare)
    conn.send(("ready", pid))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            reply: tuple[str, Any] = ("result", fn(*args))
        except Exception as exc:  # the jobs are guarded: this is a bug, the worker lives on
            log.exception("a job raised in a solver worker")
            reply = ("error", f"{type(exc).__name__} in a solver worker")
        conn.send(reply)


class _ProcessWorker:
    """One worker process and the pipe to it; replaced whenever a job overruns or it dies."""

    def __init__(self, ctx: ForkServerContext, index: int,
                 prepare: Callable[[], object] | None) -> None:
        self.ctx = ctx
        self.index = index
        self.prepare = prepare
        self.process: ForkServerProcess | None = None
        self.conn: Connection | None = None
        self.spawn()

    def spawn(self) -> None:
        """Start a fresh process (it warms itself up before reading its first job)."""
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, args=(child, WORKER_NICE, self.prepare),
                                   name=f"ordersplit-worker-{self.index}", daemon=True)
        process.start()
        child.close()
        self.process, self.conn = process, parent

    def wait_ready(self, timeout: float) -> int | None:
        """The worker's pid once warm, or ``None`` if it is not ready in ``timeout``."""
        assert self.conn is not None
        if not self.conn.poll(timeout):
            return None
        kind, value = self.conn.recv()
        return int(value) if kind == "ready" else None

    def ensure(self) -> None:
        """After a kill: start a new process and wait until it is warm (so that the next job
        does not wait for the warm-up inside its budget)."""
        if self.process is not None:
            return
        self.spawn()
        if self.wait_ready(START_TIMEOUT_S) is None:
            log.error("a replacement solver worker did not warm up in %.0f s", START_TIMEOUT_S)

    def stop(self, kill: bool = False) -> None:
        """Stop the process: ask it to exit, or kill it."""
        process, conn, self.process, self.conn = self.process, self.conn, None, None
        if process is None or conn is None:
            return
        if not kill:
            with contextlib.suppress(OSError):
                conn.send(None)
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join(5.0)
        conn.close()

    def run(self, job: _Job, grace_s: float) -> JobResult:
        """Send ``job`` and wait for its answer until its kill time; kill the process then
        (:meth:`ensure` starts the next one)."""
        assert self.conn is not None
        kill_at, order_id = job.kill_at, None
        try:
            self.conn.send((job.fn, job.args))
            while True:
                wait = kill_at - time.monotonic()
                if wait <= 0 or not self.conn.poll(wait):
                    pid = self.process.pid if self.process else None
                    log.warning("worker %s overran its job's deadline: killed and replaced", pid)
                    self.stop(kill=True)
                    raise PoolTimeoutError(order_id)
                kind, value = self.conn.recv()
                if kind == "deadline":
                    end, order_id = value
                    kill_at = min(kill_at, float(end) + grace_s)
                elif kind == "result":
                    return value
                elif kind == "error":
                    raise RuntimeError(value)
        except (EOFError, OSError) as exc:
            log.error("a solver worker died (%s); replacing it", exc)
            self.stop(kill=True)
            raise WorkerLostError from None


class _ThreadWorker:
    """A thread runs the job itself; it cannot be stopped (the caller stops waiting)."""

    def run(self, job: _Job, grace_s: float) -> JobResult:
        return job.fn(*job.args)

    def ensure(self) -> None:
        """Always up."""

    def stop(self, kill: bool = False) -> None:
        """Nothing to stop."""


class SolverPool:
    """Admission control plus replaceable workers; ``run`` is awaited on the event loop."""

    def __init__(self, workers: int, limit: int, kind: PoolKind = "process", *,
                 max_wait_s: float = 0.2, grace_s: float = 0.5,
                 prepare: Callable[[], object] | None = None,
                 max_bytes: int = MAX_QUEUED_BYTES) -> None:
        if workers < 1 or limit < 1:
            raise ValueError("workers and limit must be at least 1")
        if max_wait_s < 0 or grace_s < 0:
            raise ValueError("max_wait_s and grace_s must not be negative")
        self.workers = workers
        self.limit = limit
        self.kind = kind
        self.max_wait_s = max_wait_s
        self.grace_s = grace_s
        self.prepare = prepare
        """Run once in every fresh worker after the warm-up (e.g. open the store)."""
        self.service_s = 0.0
        """Mean time a job holds a worker (exponentially weighted)."""
        self.replaced = 0
        """Workers killed and replaced since start."""
        self.max_bytes = max_bytes
        """Bound on the request bytes held by admitted jobs (memory)."""
        self._inflight = 0
        self._bytes = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._workers: list[_ProcessWorker | _ThreadWorker] = []

    @property
    def inflight(self) -> int:
        """Requests admitted and not yet finished (running or queued)."""
        return self._inflight

    @property
    def started(self) -> bool:
        """Whether the workers are up."""
        return bool(self._threads)

    def start(self, warm: bool = True) -> None:
        """Start the workers; with ``warm``, wait until each has loaded the solver stack."""
        with self._lock:
            if self._threads:
                return
            t0 = time.perf_counter()
            if self.kind == "process":
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["ordersplit.service.jobs"])
                self._workers = [_ProcessWorker(ctx, i, self.prepare)
                                 for i in range(self.workers)]
            else:
                if warm:
                    warm_up()
                    _prepare(self.prepare)
                self._workers = [_ThreadWorker() for _ in range(self.workers)]
            self._threads = [threading.Thread(target=self._serve, args=(w,), daemon=True,
                                              name=f"ordersplit-slot-{i}")
                             for i, w in enumerate(self._workers)]
        if warm:
            pids = [w.wait_ready(START_TIMEOUT_S) for w in self._workers
                    if isinstance(w, _ProcessWorker)]
            if None in pids:
                log.error("a solver worker did not warm up in %.0f s", START_TIMEOUT_S)
        for thread in self._threads:
            thread.start()
        log.info("solver pool up: %d %s worker(s) in %.2f s", self.workers, self.kind,
                 time.perf_counter() - t0)

    def shutdown(self) -> None:
        """Stop the workers after the jobs already queued (each bounded by its kill time)."""
        with self._lock:
            threads, self._threads = self._threads, []
            workers, self._workers = self._workers, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join()
        for worker in workers:
            worker.stop()

    def _admit(self, size: int) -> None:
        with self._lock:
            ahead = self._inflight - self.workers + 1
            if (self._inflight >= self.limit or self._bytes + size > self.max_bytes
                    or (ahead > 0 and ahead * self.service_s / self.workers > self.max_wait_s)):
                raise SaturatedError
            self._inflight += 1
            self._bytes += size

    def _release(self, size: int, _: Future[JobResult]) -> None:
        with self._lock:
            self._inflight -= 1
            self._bytes -= size

    def _serve(self, worker: _ProcessWorker | _ThreadWorker) -> None:
        """One slot: take queued jobs in order and run them on ``worker``."""
        while (job := self._queue.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue  # the caller stopped waiting before the job started
            t0 = time.monotonic()
            if t0 > job.start_by:
                job.future.set_exception(SaturatedError("waited too long in the queue"))
                continue
            try:
                result = worker.run(job, self.grace_s)
            except BaseException as exc:  # the job's failure is the caller's answer
                job.future.set_exception(exc)
                if isinstance(exc, PoolTimeoutError | WorkerLostError):
                    self.replaced += 1
                    worker.ensure()
            else:
                job.future.set_result(result)
                # the mean of jobs that finished: an overrun is rare and bounded by its
                # kill time, and the start-by check above catches the wait it causes
                held = time.monotonic() - t0
                self.service_s += EWMA_WEIGHT * (held - self.service_s)

    async def run(self, fn: Callable[..., JobResult], *args: Any, arrival: float,
                  budget_s: float, size: int = 0) -> JobResult:
        """Run ``fn(*args)`` on a worker, killed ``budget_s + grace_s`` after ``arrival``.

        ``size``: the bytes the job holds while queued (its request body). Raises
        :class:`SaturatedError` (no slot, or the queue wait ran out),
        :class:`PoolTimeoutError` or :class:`WorkerLostError`.
        """
        if not self.started:
            self.start(warm=False)
        self._admit(size)
        future: Future[JobResult] = Future()
        future.add_done_callback(partial(self._release, size))
        start_by, kill_at = arrival + self.max_wait_s, arrival + budget_s + self.grace_s
        self._queue.put(_Job(fn, args, future, start_by, kill_at))
        # still queued at its start-by time: withdrawn and answered now, not when a
        # worker frees up (a no-op once the job has started)
        expire = asyncio.get_running_loop().call_later(max(0.0, start_by - time.monotonic()),
                                                       future.cancel)
        # a process slot fails the job at its kill time itself; this is the thread
        # pool's deadline (and a safety net for the process pool)
        margin = 0.0 if self.kind == "thread" else 1.0
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future),
                                          max(0.0, kill_at - time.monotonic()) + margin)
        except TimeoutError:
            raise PoolTimeoutError from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and task is not None and not task.cancelling():
                raise SaturatedError("waited too long in the queue") from None
            raise
        finally:
            expire.cancel()
