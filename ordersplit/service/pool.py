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

Transport. The queue, the dispatch and the kill timers all live on the event loop: each
worker process is one end of a socket pair the loop reads and writes without blocking
(length-prefixed pickles: the raw request bytes in, the finished answer out). No thread
sits between a request and its worker, so a job costs the event loop one write, one
read and no thread hand-over.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any

from ordersplit.service import jobs
from ordersplit.service.config import PoolKind
from ordersplit.service.jobs import JobResult, warm_up
from ordersplit.service.profiling import profiled

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
_HEADER = struct.Struct("!Q")
"""A frame on a worker's socket: its length, then a pickle."""


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


@dataclass(eq=False)
class _Job:
    fn: Callable[..., JobResult]
    args: tuple[Any, ...]
    future: asyncio.Future[JobResult]
    start_by: float
    """``time.monotonic()`` after which the job is not started any more (503)."""
    kill_at: float
    """``time.monotonic()`` at which a still-running job's worker is replaced."""
    size: int
    """Request bytes the job holds (admission's memory bound)."""
    order_id: str | None = None
    started: float = 0.0
    """``time.monotonic()`` when a worker took it (0: still queued)."""
    released: bool = field(default=False)

    def settle(self, result: JobResult | None, error: BaseException | None = None) -> None:
        """Give the caller its answer (unless it stopped waiting)."""
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)  # type: ignore[arg-type]


# the worker process's side


def _send_frame(sock: socket.socket, message: object) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)  # one write: one wake-up of the loop


def _recv_exactly(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise EOFError
        got += k
    return buf


def _recv_frame(sock: socket.socket) -> Any:
    (n,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return pickle.loads(_recv_exactly(sock, n))


def _prepare(prepare: Callable[[], object] | None) -> None:
    if prepare is not None:
        try:
            prepare()
        except Exception:  # best effort: the first job meets the same error and answers it
            log.exception("preparing a solver worker failed")


def _worker_main(sock: socket.socket, nice: int, prepare: Callable[[], object] | None) -> None:
    """A worker process: warm up, then run one job at a time from ``sock``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    with contextlib.suppress(OSError):  # not permitted here: same priority
        os.nice(nice)
    jobs.deadline_hook = lambda end, order_id: _send_frame(sock, ("deadline", (end, order_id)))
    pid = warm_up()
    _prepare(prepare)
    _send_frame(sock, ("ready", pid))
    with profiled("worker"):
        _serve_jobs(sock)


def _serve_jobs(sock: socket.socket) -> None:
    """Run jobs from ``sock`` until it closes or says stop."""
    while True:
        try:
            message = _recv_frame(sock)
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
        _send_frame(sock, reply)


# the event loop's side


class _Link(asyncio.Protocol):
    """The loop's end of one worker's socket: splits the byte stream into messages."""

    def __init__(self, worker: _ProcessWorker) -> None:
        self.worker = worker
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while len(buf) >= _HEADER.size and self.worker.link is self:
            (n,) = _HEADER.unpack_from(buf)
            end = _HEADER.size + n
            if len(buf) < end:
                return
            with memoryview(buf) as view:
                message = pickle.loads(view[_HEADER.size:end])
            del buf[:end]
            self.worker.received(message)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.worker.link is self:
            self.worker.lost()

    def send(self, message: object) -> None:
        assert self.transport is not None
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        self.transport.write(_HEADER.pack(len(data)) + data)  # one send, not two


class _ProcessWorker:
    """One worker process and the socket to it; replaced whenever a job overruns or it dies."""

    def __init__(self, pool: SolverPool, ctx: ForkServerContext, index: int) -> None:
        self.pool = pool
        self.ctx = ctx
        self.index = index
        self.process: ForkServerProcess | None = None
        self.sock: socket.socket | None = None
        self.link: _Link | None = None
        self.ready = False
        self.job: _Job | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.spawn()

    def spawn(self) -> None:
        """Start a fresh process (it warms itself up before reading its first job)."""
        parent, child = socket.socketpair()
        process = self.ctx.Process(target=_worker_main,
                                   args=(child, WORKER_NICE, self.pool.prepare),
                                   name=f"ordersplit-worker-{self.index}", daemon=True)
        process.start()
        child.close()
        self.process, self.sock, self.ready = process, parent, False

    def wait_ready(self, timeout: float) -> int | None:
        """Before the loop takes the socket: the worker's pid once warm, or ``None``."""
        assert self.sock is not None
        self.sock.settimeout(timeout)
        try:
            kind, value = _recv_frame(self.sock)
        except (OSError, EOFError):
            return None
        finally:
            self.sock.settimeout(None)
        self.ready = kind == "ready"
        return int(value) if self.ready else None

    async def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the socket to ``loop``: from now on the loop reads and writes it."""
        assert self.sock is not None
        link = _Link(self)
        self.link = link
        await loop.connect_accepted_socket(lambda: link, self.sock)
        if self.ready:
            self.pool.idle(self)

    def dispatch(self, job: _Job) -> None:
        """Send ``job`` to the (idle, ready) process and arm its kill timer."""
        assert self.link is not None
        self.job = job
        self.link.send((job.fn, job.args))
        self._arm(job.kill_at)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.pool.loop.call_later(max(0.0, at - time.monotonic()), self._overran)

    def received(self, message: tuple[str, Any]) -> None:
        kind, value = message
        job = self.job
        if kind == "ready":
            self.ready = True
            self.pool.idle(self)
        elif kind == "deadline" and job is not None:
            end, job.order_id = value
            job.kill_at = min(job.kill_at, float(end) + self.pool.grace_s)
            self._arm(job.kill_at)
        elif kind in ("result", "error") and job is not None:
            self._end_job()
            error = RuntimeError(value) if kind == "error" else None
            self.pool.finished(self, job, value if error is None else None, error)
            self.pool.idle(self)

    def _end_job(self) -> None:
        self.job = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _overran(self) -> None:
        self._timer = None
        job = self.job
        if job is None:
            return
        pid = self.process.pid if self.process else None
        log.warning("worker %s overran its job's deadline: killed and replaced", pid)
        self._end_job()
        self.replace()
        self.pool.finished(self, job, None, PoolTimeoutError(job.order_id))

    def lost(self) -> None:
        """The socket closed under us: the process died (or was stopped)."""
        job, starting = self.job, not self.ready
        self._end_job()
        if self.pool.owns(self):
            log.error("a solver worker died; replacing it")
            self.replace(backoff_s=1.0 if starting else 0.0)  # no tight crash loop
        if job is not None:
            self.pool.finished(self, job, None, WorkerLostError())

    def replace(self, backoff_s: float = 0.0) -> None:
        """Kill the process now; start a fresh one off the loop (it joins when warm)."""
        process, link = self.process, self.link
        self.process, self.sock, self.link, self.ready = None, None, None, False
        self.pool.replaced += 1
        self.pool.busy(self)
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
        if link is not None and link.transport is not None:
            link.transport.abort()
        self.pool.background(self._respawn(process, backoff_s))

    async def _respawn(self, old: ForkServerProcess | None, backoff_s: float) -> None:
        loop = asyncio.get_running_loop()
        if old is not None:
            await loop.run_in_executor(None, old.join, 5.0)
        await asyncio.sleep(backoff_s)
        if self.pool.stopping:
            return
        await loop.run_in_executor(None, self.spawn)
        await self.attach(loop)

    def stop(self) -> None:
        """Ask the process to exit (kill it if it does not), from any thread.

        The loop keeps reading the socket meanwhile: a job still running gets its
        answer, or :class:`WorkerLostError` if the process has to be killed.
        """
        process, sock, link = self.process, self.sock, self.link
        self.process = self.sock = None
        if process is None:
            return
        loop = self.pool.loop_or_none
        transport = link.transport if link is not None else None
        live = loop is not None and loop.is_running() and transport is not None
        if live:
            assert loop is not None and link is not None
            loop.call_soon_threadsafe(link.send, None)
        elif sock is not None and sock.fileno() >= 0:
            with contextlib.suppress(OSError):  # a tiny frame: never blocks for long
                _send_frame(sock, None)
        process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join(5.0)
        if live:
            assert loop is not None and transport is not None
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(transport.abort)
        elif sock is not None:
            sock.close()


class _ThreadWorker:
    """A thread runs the job itself; it cannot be stopped (the caller stops waiting)."""

    ready = True

    def __init__(self, pool: SolverPool) -> None:
        self.pool = pool
        self.job: _Job | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pool.idle(self)

    def dispatch(self, job: _Job) -> None:
        self.job = job
        loop = self.pool.loop
        done = loop.run_in_executor(self.pool.executor, job.fn, *job.args)
        self._timer = loop.call_later(max(0.0, job.kill_at - time.monotonic()),
                                      job.settle, None, PoolTimeoutError())
        done.add_done_callback(lambda f: self._ended(job, f))

    def _ended(self, job: _Job, done: asyncio.Future[JobResult]) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.job = None
        error = WorkerLostError() if done.cancelled() else done.exception()
        self.pool.finished(self, job, None if error else done.result(), error)
        self.pool.idle(self)

    def stop(self) -> None:
        """Nothing to stop (the executor is shut down by the pool)."""


class SolverPool:
    """Admission control plus replaceable workers; ``run`` is awaited on the event loop.

    Once started, the pool belongs to the first event loop that runs a job on it.
    """

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
        self.stopping = False
        self.executor: ThreadPoolExecutor | None = None
        """Runs the jobs of a thread pool."""
        self._inflight = 0
        self._bytes = 0
        self._lock = threading.Lock()
        self._workers: list[_ProcessWorker | _ThreadWorker] = []
        self._idle: collections.deque[_ProcessWorker | _ThreadWorker] = collections.deque()
        self._queue: collections.deque[_Job] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._attached: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def inflight(self) -> int:
        """Requests admitted and not yet finished (running or queued)."""
        return self._inflight

    @property
    def started(self) -> bool:
        """Whether the workers are up."""
        return bool(self._workers)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the pool runs on (once a job was run)."""
        assert self._loop is not None
        return self._loop

    @property
    def loop_or_none(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def start(self, warm: bool = True) -> None:
        """Start the workers; with ``warm``, wait until each has loaded the solver stack."""
        with self._lock:
            if self._workers:
                return
            t0 = time.perf_counter()
            self.stopping = False
            self._loop = self._attached = None  # started again: any loop may take it
            self._idle.clear()
            if self.kind == "process":
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["ordersplit.service.warm"])
                self._workers = [_ProcessWorker(self, ctx, i) for i in range(self.workers)]
            else:
                if warm:
                    warm_up()
                    _prepare(self.prepare)
                self.executor = ThreadPoolExecutor(self.workers, "ordersplit-slot")
                self._workers = [_ThreadWorker(self) for _ in range(self.workers)]
        if warm:
            pids = [w.wait_ready(START_TIMEOUT_S) for w in self._workers
                    if isinstance(w, _ProcessWorker)]
            if None in pids:
                log.error("a solver worker did not warm up in %.0f s", START_TIMEOUT_S)
        log.info("solver pool up: %d %s worker(s) in %.2f s", self.workers, self.kind,
                 time.perf_counter() - t0)

    def shutdown(self) -> None:
        """Stop the workers (each running job is bounded by its kill time); from any thread."""
        with self._lock:
            self.stopping = True
            workers, self._workers = self._workers, []
            executor, self.executor = self.executor, None
        for worker in workers:
            worker.stop()
        if executor is not None:
            executor.shutdown(wait=True)

    async def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the pool to ``loop`` (once): the loop takes every worker's socket."""
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("a solver pool runs on one event loop")
        if self._attached is None:
            self._loop = loop
            self._attached = loop.create_future()
            try:
                for worker in list(self._workers):
                    await worker.attach(loop)
            finally:
                self._attached.set_result(None)
        await asyncio.shield(self._attached)

    def background(self, coro: Any) -> None:
        """Run ``coro`` on the pool's loop, keeping a reference until it ends."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("replacing a solver worker failed", exc_info=task.exception())

    def _admit(self, size: int) -> None:
        with self._lock:
            ahead = self._inflight - self.workers + 1
            if (self._inflight >= self.limit or self._bytes + size > self.max_bytes
                    or (ahead > 0 and ahead * self.service_s / self.workers > self.max_wait_s)):
                raise SaturatedError
            self._inflight += 1
            self._bytes += size

    def _release(self, job: _Job) -> None:
        if job.released:
            return
        job.released = True
        with self._lock:
            self._inflight -= 1
            self._bytes -= job.size

    def owns(self, worker: _ProcessWorker | _ThreadWorker) -> bool:
        """Whether ``worker`` is one of the running pool's (not stopped, not left over)."""
        return not self.stopping and any(w is worker for w in self._workers)

    def idle(self, worker: _ProcessWorker | _ThreadWorker) -> None:
        """``worker`` can take a job: give it the next one still worth starting."""
        if not self.owns(worker):
            return
        now = time.monotonic()
        while self._queue:
            job = self._queue.popleft()
            if job.future.done():  # the caller stopped waiting before the job started
                self._release(job)
                continue
            if now > job.start_by:
                job.settle(None, SaturatedError("waited too long in the queue"))
                self._release(job)
                continue
            job.started = now
            try:
                worker.dispatch(job)
            except Exception as exc:  # e.g. an argument that cannot be pickled
                worker.job = None
                job.settle(None, exc)
                self._release(job)
                continue
            return
        self._idle.append(worker)

    def busy(self, worker: _ProcessWorker | _ThreadWorker) -> None:
        """``worker`` cannot take jobs any more (it is being replaced)."""
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)

    def finished(self, worker: _ProcessWorker | _ThreadWorker, job: _Job,
                 result: JobResult | None, error: BaseException | None) -> None:
        """``job``'s work really ended (answer, bug, kill or death): answer and free its slot."""
        if error is None:
            # the mean of jobs that finished: an overrun is rare and bounded by its
            # kill time, and the start-by check catches the wait it causes
            held = time.monotonic() - job.started
            self.service_s += EWMA_WEIGHT * (held - self.service_s)
        job.settle(result, error)
        self._release(job)

    def _expire(self, job: _Job) -> None:
        """Still queued at its start-by time: withdrawn and answered now."""
        if not job.started and job in self._queue:
            self._queue.remove(job)
            job.settle(None, SaturatedError("waited too long in the queue"))
            self._release(job)

    async def run(self, fn: Callable[..., JobResult], *args: Any, arrival: float,
                  budget_s: float, size: int = 0) -> JobResult:
        """Run ``fn(*args)`` on a worker, killed ``budget_s + grace_s`` after ``arrival``.

        ``size``: the bytes the job holds while queued (its request body). Raises
        :class:`SaturatedError` (no slot, or the queue wait ran out),
        :class:`PoolTimeoutError` or :class:`WorkerLostError`.
        """
        loop = asyncio.get_running_loop()
        if not self.started:
            self.start(warm=False)
        if self._loop is not loop or self._attached is None or not self._attached.done():
            await self._attach(loop)
        self._admit(size)
        start_by, kill_at = arrival + self.max_wait_s, arrival + budget_s + self.grace_s
        job = _Job(fn, args, loop.create_future(), start_by, kill_at, size)
        expire = None
        if self._idle:
            worker = self._idle.popleft()
            self._queue.append(job)
            self.idle(worker)
        else:
            self._queue.append(job)
            expire = loop.call_later(max(0.0, start_by - time.monotonic()), self._expire, job)
        try:
            return await job.future
        finally:
            if expire is not None:
                expire.cancel()
            if not job.started and job in self._queue:  # the caller was cancelled
                self._queue.remove(job)
                self._release(job)
