"""Where the worker slots run: in this process, in local processes, or on a Dask cluster.

A *transport* delivers a message to one worker slot (:func:`ordersplit.batch.slots.handle`)
and hands back a :class:`Pending` answer. Local processes and Dask both pickle every
message once into bytes and count them both ways (:attr:`Transport.bytes_out`,
:attr:`Transport.bytes_in`), so the figures in the summary are what crossed the
driver. The driver side - who owns which order, which deltas to send - is
:class:`ordersplit.batch.shards.Runner`; :func:`make_runner` builds one.

* :class:`InlineTransport`: one slot in this process; messages are not copied.
* :class:`LocalTransport`: one process per slot, each with its own pipe; a reader
  thread per pipe collects answers, so large messages both ways never deadlock. The
  processes are forked from the driver at the start of the run
  (:func:`prestart_local_workers`) when that is safe - no thread but the main one and
  the import-time pools of fork-aware libraries (:func:`fork_is_safe`), and little
  memory held - so a worker starts with the batch code imported and nothing of the
  batch; otherwise they start from a fork server that imports the batch code once.
* :class:`DaskTransport`: one slot per thread of each Dask worker, whose process keeps
  the slot's state in a :class:`SlotActor`; by default the actor opens a socket of its
  own for the driver, on which the slot's messages travel as on a local pipe (a
  message through Dask's event loops costs about ten times more CPU); else the driver
  calls the actor directly, or submits one task per message pinned to the slot's
  worker (``workers=[address]``; :data:`DASK_VIA`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import gc
import logging
import multiprocessing as mp
import os
import pickle
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from ordersplit.batch import slots as slot_code

log = logging.getLogger(__name__)

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
PROTOCOL = 5
SPLITS_PER_MESSAGE = 16
"""Most splits of the sequential pass sent to a local slot in one message."""
DASK_SPLITS_PER_MESSAGE = (32, 512)
"""Fewest and most splits of the sequential pass in one message to a Dask slot; fewer
ready ones are made by the driver itself. A task costs the driver (client and
scheduler) about 4-7 ms of CPU and the worker about as much, several splits' worth
(measured on a LocalCluster: one task per ready split tripled the pass's CPU), so only
bursts go out: at 10,000 orders about 10 % of the splits, in 12-17 tasks."""


class Pending(Protocol[R_co]):
    """A message handed to a slot: ``result()`` waits for (or computes) its answer,
    ``done()`` says whether it is ready."""

    def result(self) -> R_co: ...

    def done(self) -> bool: ...


class Transport(Protocol):
    """Delivers messages to numbered worker slots."""

    slots: int
    remote: bool
    """Whether messages are copied (pickled) on their way: plans then travel packed."""
    small_messages: bool
    """Whether a message costs little beyond its bytes (a pipe; not a scheduler's
    task): the sequential pass then sends single splits and small chunks."""
    splits_per_message: tuple[int, int]
    """Fewest and most splits of the sequential pass worth one message to a slot: a
    scheduler's task costs more than a split, so Dask sends them in batches."""
    overtakes: bool
    """Whether a slot reads every message that has arrived before it picks the next
    and lets a split overtake the lower-bound chunks queued before it
    (:func:`next_message`): the sequential pass then keeps a chunk queued on every
    slot and hands every split out instead of making it in the driver."""
    bytes_out: int
    bytes_in: int
    start_method: str
    """How the workers started: ``inline``, ``fork-early``, ``forkserver``, ``fork``,
    ``dask-actor`` (Dask, slot actors) or ``dask`` (Dask, a task per message)."""

    def send(self, slot: int, msg: Any) -> Pending[Any]: ...

    def io_cpu_s(self) -> float:
        """CPU seconds this process's own transport threads spent (reading answers)."""

    def wait(self, timeout: float) -> None:
        """Return when an answer may have arrived since the last call, or after
        ``timeout`` seconds."""

    def close(self) -> None: ...


class _Later(Generic[R]):
    """An answer computed when it is asked for (in this process)."""

    def __init__(self, fn: Callable[[], R]) -> None:
        self.fn = fn
        self.value: R | None = None
        self.ready = False

    def result(self) -> R:
        if not self.ready:
            self.value, self.ready = self.fn(), True
        return self.value  # type: ignore[return-value]

    def done(self) -> bool:
        return self.ready


class InlineTransport:
    """One slot in this process (one worker)."""

    def __init__(self) -> None:
        self.slots, self.remote, self.small_messages = 1, False, True
        self.splits_per_message = (1, SPLITS_PER_MESSAGE)
        self.overtakes = False  # an answer is computed when it is asked for
        self.bytes_out = self.bytes_in = 0
        self.start_method = "inline"
        self.key = f"inline-{uuid.uuid4().hex}"

    def send(self, slot: int, msg: Any) -> Pending[Any]:
        return _Later(lambda: slot_code.handle(self.key, msg))

    def wait(self, timeout: float) -> None:
        return None  # answers are computed when asked for

    def io_cpu_s(self) -> float:
        return 0.0

    def close(self) -> None:
        slot_code.handle(self.key, "close")


def next_message(queued: collections.deque[tuple[int, Any]]) -> tuple[int, Any]:
    """The message a slot handles next, taken out of ``queued`` (sequence number,
    message; in the order they arrived): the first, except that a sequential split
    (:class:`~ordersplit.batch.slots.Split`) overtakes the lower-bound chunks
    (:class:`~ordersplit.batch.slots.Lower`) queued before it, unless one of them
    holds one of its orders (the chunk brings the order's template: a chunk the
    driver bounded itself while the slots started is sent with its plans, and its
    orders may be split before the slot has read it). The driver keeps a chunk queued
    on every slot so that no slot waits for it, and the split of an order whose turn
    has come must not wait behind that chunk: later orders wait for it. Nothing else
    is reordered."""
    chunks: list[Any] = []
    for i, (_, msg) in enumerate(queued):
        if isinstance(msg, slot_code.Split):
            if any(np.isin(msg.orders, c, assume_unique=True).any() for c in chunks):
                break
            item = queued[i]
            del queued[i]
            return item
        if not isinstance(msg, slot_code.Lower):
            break
        chunks.append(msg.orders)
    return queued.popleft()


def _serve(conn: Any, key: str, inherited: tuple[int, ...] = ()) -> None:
    """A worker slot's loop (a local worker process, or a Dask slot's socket thread):
    answer messages until ``None`` (or the connection closes). Every message that has
    arrived is read before the next one is chosen (:func:`next_message`: a split
    overtakes queued lower-bound chunks), and every answer carries its message's
    sequence number (answers may leave out of order). ``inherited``: descriptors of
    other workers' pipes a forked worker got from the driver; closed first, or a pipe
    would outlive its worker (the driver would wait for an end-of-file that never
    comes)."""
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    queued: collections.deque[tuple[int, Any]] = collections.deque()
    received = 0
    while True:
        try:
            while not queued or conn.poll():
                queued.append((received, pickle.loads(conn.recv_bytes())))
                received += 1
        except EOFError:
            return
        seq, msg = next_message(queued)
        if msg is None:
            return
        try:
            reply: Any = ("ok", slot_code.handle(key, msg), seq)
        except Exception as exc:  # the driver raises it, with the worker's traceback
            reply = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", seq)
        conn.send_bytes(pickle.dumps(reply, protocol=PROTOCOL))


class WorkerError(RuntimeError):
    """A worker slot failed on a message (its traceback is in the message)."""


class _Inbox:
    """Answers of one slot on a connection (a local process's pipe, or a Dask slot's
    socket), collected by a reader thread, by sequence number."""

    def __init__(self, conn: Any, transport: LocalTransport | DaskTransport,
                 ended: str = "the worker process ended") -> None:
        self.conn, self.transport, self.ended = conn, transport, ended
        self.answers: dict[int, tuple[str, Any]] = {}
        """Answers not yet taken, by the sequence number of their message (-1: the
        connection ended)."""
        self.cpu_s = 0.0
        """CPU seconds of the reader thread (unpickling answers: the driver's work)."""
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.conn.recv_bytes()
            except (EOFError, OSError):
                with self.cond:
                    self.answers[-1] = ("error", self.ended)
                    self.cond.notify_all()
                return
            c0 = time.thread_time()
            status, value, seq = pickle.loads(data)  # (answers may come out of order)
            with self.cond:
                self.cpu_s += time.thread_time() - c0
                self.transport.bytes_in += len(data)
                self.answers[seq] = (status, value)
                self.cond.notify_all()
            self.transport.arrived.set()

    def wait(self, seq: int, check: Callable[[], str | None] | None = None) -> Any:
        """Answer ``seq`` (raised as :class:`WorkerError` when it is an error).
        ``check``, when given, is asked every :data:`DASK_CHECK_S` while the answer is
        awaited whether the worker is known lost (its message, raised then): a remote
        machine can vanish without closing its connection."""
        with self.cond:
            while seq not in self.answers and -1 not in self.answers:
                self.cond.wait(None if check is None else DASK_CHECK_S)
                if check is not None and seq not in self.answers and (lost := check()):
                    raise WorkerError(lost)
            status, value = self.answers.pop(seq, self.answers.get(-1, ("error", "lost")))
        if status != "ok":
            raise WorkerError(value)
        return value


class _Outbox:
    """Messages to one local process, written by a writer thread: a message larger than
    the pipe's buffer would otherwise hold the driver until the slot has finished its
    previous message and reads it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        while True:
            data = self.queue.get()
            if data is None:
                return
            try:
                self.conn.send_bytes(data)
            except OSError:
                return

    def put(self, data: bytes) -> None:
        self.queue.put(data)

    def close(self) -> None:
        self.queue.put(None)
        join_thread(self.thread, 30)


class _Reply:
    def __init__(self, inbox: _Inbox, seq: int,
                 check: Callable[[], str | None] | None = None) -> None:
        self.inbox, self.seq, self.check = inbox, seq, check

    def result(self) -> Any:
        return self.inbox.wait(self.seq, self.check)

    def done(self) -> bool:
        """Ready, or the worker ended (then ``result()`` raises)."""
        with self.inbox.cond:
            return self.seq in self.inbox.answers or -1 in self.inbox.answers


START_METHOD = "auto"
"""How local worker processes start. ``auto``: forked from the driver at the start of
the run when that is safe (:func:`prestart_local_workers`), else from a fork server
that imported the batch code (a worker then holds only what it is sent).
``forkserver``: always the fork server. ``fork``: forked when the transport starts,
whatever the threads (tests use it to carry an injected failure into the workers)."""

FORK_MAX_RSS_MB = 1024
"""Most resident memory (MB) the driver may hold for its workers to be forked from it:
a forked worker shares the driver's pages copy-on-write, so a batch the caller holds
in memory would count again in every worker's resident size (and pages written on
either side are copied)."""

FORK_AWARE_THREADS = ("jemalloc_bg_thd",)
"""Names of native threads that libraries start at import and that handle a fork
themselves (jemalloc, loaded with pyarrow and OR-Tools)."""


def _openblas_pool() -> int:
    """Threads the OpenBLAS pools loaded in this process run now (numpy and scipy load
    one each; a running pool has ``num_threads - 1`` threads besides the caller).
    OpenBLAS stops its pool before a fork and restarts it when next used, so these
    threads do not make a fork unsafe. A pool whose state cannot be read counts as
    none (its threads then make the fork look unsafe)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return 0
    libs = {line.split()[-1] for line in maps.splitlines()
            if "openblas" in line.rsplit("/", 1)[-1].lower() and line.split()[-1][0] == "/"}
    pool = 0
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same handle
            running = ctypes.c_int.in_dll(lib, "blas_server_avail").value
            threads = ctypes.c_int.in_dll(lib, "blas_num_threads").value
        except (OSError, ValueError):
            continue
        pool += max(0, threads - 1) if running else 0
    return pool


def join_thread(thread: threading.Thread, timeout: float | None) -> None:
    """Join ``thread``, then wait until its OS thread has left this process as well
    (``timeout`` seconds in all at most; ``None``: join without a limit, then wait up to
    10 s). ``join`` returns once the Python thread has finished, a moment before its OS
    thread exits, and :func:`fork_is_safe` counts that OS thread meanwhile: right after
    ``join`` it was still listed in 1,454 of 2,000 tries, so a run that forks its workers
    right after the last one closed its transport might not fork early."""
    end = time.monotonic() + (10.0 if timeout is None else timeout)
    thread.join(timeout)
    if thread.is_alive() or thread.native_id is None:
        return
    task = Path(f"/proc/self/task/{thread.native_id}")
    while task.exists() and time.monotonic() < end:
        time.sleep(0.001)


def fork_is_safe() -> bool:
    """Whether this process can be forked now without risk: no Python thread but this
    one, and no native thread but the pools of fork-aware libraries (OpenBLAS,
    :data:`FORK_AWARE_THREADS`). A thread pool a solver left behind (HiGHS keeps one
    after its first run), a Dask client, a server's or a sampler's thread make it
    unsafe: a lock one of them holds at the fork would never be released in the child.
    (``/proc/self/task`` alone never shows a single thread once numpy is imported:
    OpenBLAS starts its pool at import.) Not on Linux: never safe."""
    if threading.active_count() != 1:
        return False
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False
    me = threading.get_native_id()
    unknown = 0
    for tid in tasks:
        if int(tid) == me:
            continue
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
        except OSError:  # it ended meanwhile
            continue
        unknown += name not in FORK_AWARE_THREADS
    return unknown <= _openblas_pool()


def _rss_mb() -> float:
    """This process's resident memory in MB (0 when unknown)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


_EARLY: list[tuple[Any, Any]] = []
"""Local workers forked early (:func:`prestart_local_workers`) and not yet taken by a
transport: (process, the driver's end of its pipe)."""


def _fork_early(workers: int) -> bool:
    """Have ``workers`` processes forked from this process waiting in :data:`_EARLY`
    (forking the missing ones now, when :func:`fork_is_safe` and the driver is small);
    whether they are there."""
    for proc, conn in [(p, c) for p, c in _EARLY if not p.is_alive()]:
        _EARLY.remove((proc, conn))
        conn.close()
    need = workers - len(_EARLY)
    if need <= 0:
        return True
    if not fork_is_safe() or _rss_mb() > FORK_MAX_RSS_MB:
        return False
    ctx = mp.get_context("fork")
    gc.freeze()  # the collector would write to (and so copy) the pages the workers share
    try:
        for _ in range(need):
            ours, theirs = ctx.Pipe(duplex=True)
            inherited = (*(c.fileno() for _, c in _EARLY), ours.fileno())
            proc = ctx.Process(target=_serve, args=(theirs, f"local-{len(_EARLY)}", inherited),
                               daemon=True)
            try:
                proc.start()
            except OSError as exc:
                ours.close()
                log.warning("could not fork a worker early: %s", exc)
                return False
            finally:
                theirs.close()
            _EARLY.append((proc, ours))
    finally:
        gc.unfreeze()
    return True


def _take_early(slots: int) -> list[tuple[Any, Any]]:
    """``slots`` early workers, alive, taken out of :data:`_EARLY` (none if too few)."""
    alive = [(p, c) for p, c in _EARLY if p.is_alive()]
    if START_METHOD != "auto" or len(alive) < slots:
        return []
    taken = alive[:slots]
    for item in taken:
        _EARLY.remove(item)
    return taken


def _worker_context() -> Any:
    """The multiprocessing context of local workers started by the transport (a fork
    server preloads the batch code)."""
    method = "fork" if START_METHOD == "fork" else "forkserver"
    ctx: Any = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["ordersplit.batch.slots"])
    return ctx


def prestart_local_workers(workers: int, scheduler: Any = None) -> str:
    """Start the local workers :func:`make_transport` will want, now, before the input
    is read: forked from this process when :data:`START_METHOD` is ``auto`` and
    :func:`fork_is_safe` (they then need no import at all), else the fork server
    (which imports the batch code, over a second of CPU, while the input is read).
    How they start (``fork``, ``forkserver``), or ``""`` when no local worker will be
    used. Harmless when they are already waiting or the fork server runs."""
    if scheduler is not None or workers <= 1:
        return ""
    if START_METHOD == "auto" and _fork_early(workers):
        return "fork"
    if START_METHOD == "fork":
        return "fork"
    from multiprocessing import forkserver

    _worker_context()
    try:
        forkserver.ensure_running()
    except OSError as exc:  # the transport starts it (or reports why not) later
        log.warning("could not start the fork server early: %s", exc)
    return "forkserver"


class LocalTransport:
    """One local process per slot (see the module docstring): the workers forked early
    (:func:`prestart_local_workers`) when there are enough, else processes started in
    a background thread (a fork server imports the batch code: over a second of CPU):
    messages queue in their pipes meanwhile, so the driver goes on working."""

    def __init__(self, slots: int) -> None:
        self.slots, self.remote, self.small_messages = slots, True, True
        self.splits_per_message = (1, SPLITS_PER_MESSAGE)
        self.overtakes = True  # each process runs :func:`_serve`
        self.bytes_out = self.bytes_in = 0
        self.arrived = threading.Event()
        self.procs: list[Any] = []
        self.conns: list[Any] = []
        self.inboxes: list[_Inbox] = []
        self.outboxes: list[_Outbox] = []
        self.sent: list[int] = []
        early = _take_early(slots)
        ctx: Any = None if early else _worker_context()
        self.start_method = "fork-early" if early else ctx.get_start_method()
        theirs: list[Any] = []
        for s in range(slots):
            if early:
                proc, ours = early[s]
                self.procs.append(proc)
            else:
                ours, their = ctx.Pipe(duplex=True)
                theirs.append(their)
            self.conns.append(ours)
        forks = ctx is not None and ctx.get_start_method() == "fork"
        # Forked here, before this transport's threads exist and while the driver waits:
        # a child forked beside a running thread can inherit a lock it holds (logging,
        # an import) and hang on it.
        failed = self._spawn(ctx, theirs) if forks else {}
        for ours in self.conns:
            self.inboxes.append(_Inbox(ours, self))
            self.outboxes.append(_Outbox(ours))
            self.sent.append(0)
        self.starter = threading.Thread(
            target=self._fail if forks else lambda: self._fail(self._spawn(ctx, theirs)),
            args=(failed,) if forks else (), daemon=True)
        self.starter.start()

    def _spawn(self, ctx: Any, theirs: list[Any]) -> dict[int, str]:
        """Start one process per slot on its end of the pipe; the slots that could not
        start, with the reason. Forked ones close the other pipes' descriptors they
        inherit."""
        fds = [c.fileno() for c in self.conns] + [t.fileno() for t in theirs]
        failed: dict[int, str] = {}
        for s, their in enumerate(theirs):
            inherited = tuple(fd for fd in fds if fd != their.fileno()) \
                if ctx.get_start_method() == "fork" else ()
            try:
                proc = ctx.Process(target=_serve, args=(their, f"local-{s}", inherited),
                                   daemon=True)
                proc.start()
                self.procs.append(proc)
            except Exception as exc:
                failed[s] = str(exc)
            finally:
                their.close()
        return failed

    def _fail(self, failed: dict[int, str]) -> None:
        """A slot that could not start answers every message with the error."""
        for s, reason in failed.items():
            inbox = self.inboxes[s]
            with inbox.cond:
                inbox.answers[-1] = ("error", f"the worker process did not start: {reason}")
                inbox.cond.notify_all()
            self.arrived.set()

    def started(self) -> list[Any]:
        """The worker processes, once all have been started."""
        self.starter.join()
        return self.procs

    def send(self, slot: int, msg: Any) -> Pending[Any]:
        data = pickle.dumps(msg, protocol=PROTOCOL)
        self.bytes_out += len(data)
        self.outboxes[slot].put(data)
        seq = self.sent[slot]
        self.sent[slot] += 1
        return _Reply(self.inboxes[slot], seq)

    def wait(self, timeout: float) -> None:
        self.arrived.wait(timeout)
        self.arrived.clear()

    def io_cpu_s(self) -> float:
        return sum(inbox.cpu_s for inbox in self.inboxes)

    def close(self) -> None:
        join_thread(self.starter, None)
        for out in self.outboxes:
            out.put(pickle.dumps(None))
            out.close()
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
        # Each reader thread ends at its pipe's end of file, once its worker has gone;
        # joined here, so the driver is single-threaded again when the run returns (a
        # next run may then fork its workers early: :func:`fork_is_safe`).
        for inbox in self.inboxes:
            join_thread(inbox.thread, 10)
        for conn in self.conns:
            conn.close()


def _dask_call(key: str, data: bytes) -> bytes:
    """A message to slot ``key`` in this Dask worker's process; the pickled answer."""
    return pickle.dumps(slot_code.handle(key, pickle.loads(data)), protocol=PROTOCOL)


class SlotActor:
    """One slot on a Dask worker, as a Dask actor: the driver calls it directly on its
    worker (no scheduler task: about 0.5-0.8 ms of the driver's CPU a message against
    3-4 ms, and a tenth of the worker's), and it applies the messages to the slot
    ``key`` of its worker's process in the order they were sent (``seq``; calls may
    arrive out of order over several connections), one at a time, in a thread of its
    own (the worker's event loop stays free, and two slots on one worker do not share
    Dask's single actor thread). Or (:meth:`listen`) it opens a socket of its own for
    the driver, on which the slot's messages then travel as on a local pipe."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.next = 0
        self.turn: asyncio.Condition | None = None  # made on the worker's event loop
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="ordersplit-slot")

    async def call(self, seq: int, data: bytes, last: bool = False) -> bytes:
        """Message number ``seq`` (pickled) applied to the slot; its pickled answer.
        ``last``: the slot's last message (its thread ends after it)."""
        if self.turn is None:
            self.turn = asyncio.Condition()
        async with self.turn:
            await self.turn.wait_for(lambda: self.next == seq)
            answer = asyncio.get_running_loop().run_in_executor(
                self.pool, _dask_call, self.key, data)
            self.next += 1
            self.turn.notify_all()
        try:
            return await answer
        finally:
            if last:
                self.pool.shutdown(wait=False)

    def listen(self, authkey: bytes, host: str) -> tuple[str, int]:
        """Open a socket on ``host`` (this worker's interface) for the driver, which
        connects once, proving it knows ``authkey`` (sent in this call, through Dask's
        own connection: nobody else can send the slot a message); its address. A thread
        of this worker then answers the slot's messages on it, as a local worker process
        does on its pipe (:func:`_serve`), until the driver sends ``None`` or the
        connection ends."""
        from multiprocessing.connection import Listener

        listener = Listener((host, 0), "AF_INET", authkey=authkey)
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="ordersplit-slot-socket").start()
        return tuple(listener.address)

    def _accept(self, listener: Any) -> None:
        """Serve the first connection that proves the key (others are refused)."""
        from multiprocessing import AuthenticationError

        try:
            while True:
                try:
                    conn = listener.accept()
                    break
                except (AuthenticationError, EOFError, ConnectionError) as exc:
                    log.warning("slot %s refused a connection: %s", self.key, exc)
                except OSError:  # the listener was closed
                    return
        finally:
            listener.close()
        no_delay(conn.fileno())
        try:
            _serve(conn, self.key)
        finally:
            conn.close()


class _DaskReply:
    """A message's answer from a Dask worker (a task's future or an actor call's); when
    the worker leaves the cluster (it died, or its nanny restarted it: the slot's state
    is gone) the answer never comes, so ``done()`` then says yes and ``result()`` raises
    :class:`WorkerError`."""

    def __init__(self, future: Any, transport: DaskTransport, slot: int) -> None:
        self.future, self.transport, self.slot = future, transport, slot

    def result(self) -> Any:
        while True:
            try:
                data = self.future.result(timeout=DASK_CHECK_S)
                break
            except TimeoutError:
                if self.transport.lost(self.slot):
                    raise WorkerError(self.transport.lost_message(self.slot)) from None
            except Exception as exc:  # the slot's error, raised again here
                if self.transport.lost(self.slot, now=True) or (
                        isinstance(exc, OSError) and self.transport.learns_lost(self.slot)):
                    raise WorkerError(self.transport.lost_message(self.slot)) from exc
                raise WorkerError(f"{type(exc).__name__}: {exc}") from exc
        self.transport.bytes_in += len(data)
        return pickle.loads(data)

    def done(self) -> bool:
        return bool(self.future.done()) or self.transport.lost(self.slot)


class _Failed:
    """A message that could not be sent: its answer is the error."""

    def __init__(self, message: str) -> None:
        self.message = message

    def result(self) -> Any:
        raise WorkerError(self.message)

    def done(self) -> bool:
        return True


DASK_POLL_S = 0.005
"""How often the driver looks at its Dask task futures when it waits for any of them
(actor calls wake it when they end)."""
DASK_CHECK_S = 1.0
"""How often (seconds) the driver asks the scheduler whether its slots' workers are
still there while it waits for an answer."""
DASK_LOST_S = 10.0
"""How long the driver waits for the scheduler to confirm that a worker it could not
reach has left the cluster."""
DASK_VIA = "socket"
"""How messages reach a slot on a Dask cluster: ``socket`` (a :class:`SlotActor` per
slot opens a socket of its own for the driver, :meth:`SlotActor.listen`; messages
then cost what they cost on a local pipe), ``actor`` (each message an actor call on
the slot's worker: about 1 ms of CPU on each side, in Dask's event loops) or ``task``
(one scheduler task per message, pinned to the slot's worker). ``socket`` needs a
``tcp://`` cluster without required encryption; on others (TLS, UCX, in-process
workers reached through ``inproc://``) the slots take ``actor``."""
DASK_ACTOR_SPLITS_PER_MESSAGE = (1, 16)
"""Fewest and most splits of the sequential pass in one actor call: a call costs the
driver well under a split, so any waiting split goes to a free slot."""


DASK_CONNECT_S = 10.0
"""Longest the driver tries to connect to a slot's socket before it falls back to actor
calls (a driver may reach the workers only through the scheduler)."""


def no_delay(fd: int) -> None:
    """Turn Nagle's algorithm off on the TCP socket ``fd`` (a slot's socket, either end).
    A connection sends a message over 16 KB as two writes, its 4-byte length and then
    the body; with Nagle's algorithm the body waits until the length is acknowledged,
    which the other side delays (up to 40 ms on Linux): a 20 KB message took 100 ms
    for a round trip on the loopback against 0.07 ms without. A lower-bound chunk's
    answer, an output chunk and a round's part are such messages."""
    import socket

    sock = socket.socket(fileno=fd)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    finally:
        sock.detach()  # the descriptor stays the connection's


def connect_slot(address: tuple[str, int], authkey: bytes) -> Any:
    """A connection to a slot's socket (:meth:`SlotActor.listen`), the key proven both
    ways; :class:`OSError` when it cannot be reached within :data:`DASK_CONNECT_S`."""
    import socket
    from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

    sock = socket.create_connection(address, timeout=DASK_CONNECT_S)
    sock.settimeout(None)  # blocking from here on, as the connection expects
    no_delay(sock.fileno())
    conn = Connection(sock.detach())
    try:
        answer_challenge(conn, authkey)
        deliver_challenge(conn, authkey)
    except BaseException:
        conn.close()
        raise
    return conn


class DaskTransport:
    """One slot per thread of each worker of a Dask cluster at ``address`` (or a
    ``Client`` given directly), reached through a socket its actor opens for the driver
    (``via="socket"``, where :meth:`sockets_reach`; else actor calls), an actor call
    per message (``via="actor"``) or one task per message (``via="task"``). Actor calls
    go to the workers directly when
    the client says so (``direct_to_workers``, or Dask's setting
    ``distributed.client.direct-to-workers``), else through the scheduler (about 50 %
    more of the driver's CPU a call; the way that works when the driver cannot reach
    the workers)."""

    def __init__(self, address: Any, via: str | None = None) -> None:
        from distributed import Client

        if isinstance(address, Client):
            self.client, self.own = address, False
        else:
            self.client, self.own = Client(address), True
        self.via = via or DASK_VIA
        if self.via not in ("socket", "actor", "task"):
            raise ValueError(f"via: 'socket', 'actor' or 'task', not {self.via!r}")
        threads = self.client.nthreads()
        self.addresses = [a for a in sorted(threads) for _ in range(max(1, threads[a]))]
        self.slots, self.remote = max(1, len(self.addresses)), True
        if self.via == "socket" and not self.sockets_reach():
            self.via = "actor"
        actors = self.via != "task"
        self.small_messages = actors  # else every message is a task of the scheduler
        self.splits_per_message = (1, SPLITS_PER_MESSAGE) if self.via == "socket" else \
            DASK_ACTOR_SPLITS_PER_MESSAGE if actors else DASK_SPLITS_PER_MESSAGE
        # a slot's socket thread runs :func:`_serve`; actor calls and tasks run in order
        self.overtakes = self.via == "socket"
        self.bytes_out = self.bytes_in = 0
        self.start_method = {"socket": "dask-socket", "actor": "dask-actor",
                             "task": "dask"}[self.via]
        self.token = uuid.uuid4().hex
        self.gone: set[str] = set()
        """Addresses of the slots' workers that left the cluster."""
        self.checked = time.monotonic()
        self.arrived = threading.Event()
        self.sent = [0] * self.slots
        self.actor_futures: list[Any] = []
        self.actors: list[Any] = []
        self.inboxes: list[_Inbox] = []
        self.outboxes: list[_Outbox] = []
        self.conns: list[Any] = []
        self.loop: Any = self.client.loop  # the client's event loop (its own thread)
        if actors:
            self.actor_futures = [
                self.client.submit(SlotActor, f"{self.token}-{s}", workers=[a],
                                   allow_other_workers=False, actor=True, pure=False)
                for s, a in enumerate(self.addresses)]
            self.actors = [f.result() for f in self.actor_futures]
        if self.via == "socket":
            self._connect()

    def sockets_reach(self) -> bool:
        """Whether the slots can open sockets of their own for the driver: every
        worker is reached over plain TCP (not TLS, UCX or in-process) and the cluster
        does not require encryption (the socket is not encrypted)."""
        from distributed.comm import parse_address

        security = getattr(self.client, "security", None)
        if security is not None and getattr(security, "require_encryption", False):
            return False
        return all(parse_address(a)[0] == "tcp" for a in self.addresses)

    def _connect(self) -> None:
        """Have every slot's actor open its socket (:meth:`SlotActor.listen`) and
        connect to it, with a reader and a writer thread per slot as for local
        processes. The key that proves the driver is made here and travels only
        through Dask's own connection."""
        from distributed.comm import parse_address, parse_host_port

        authkey = os.urandom(32)
        listening = [actor.listen(authkey, parse_host_port(parse_address(a)[1])[0])
                     for actor, a in zip(self.actors, self.addresses, strict=True)]
        try:
            for answer in listening:
                host, port = answer.result()
                self.conns.append(connect_slot((host, int(port)), authkey))
        except OSError as exc:  # e.g. the driver reaches the cluster through its scheduler
            log.warning("could not reach a Dask worker slot's socket (%s): the slots take "
                        "actor calls", exc)
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.send_bytes(pickle.dumps(None))  # its thread on the worker ends
                conn.close()
            self.conns, self.via, self.start_method = [], "actor", "dask-actor"
            self.splits_per_message = DASK_ACTOR_SPLITS_PER_MESSAGE
            self.overtakes = False
            return
        for s, conn in enumerate(self.conns):
            self.inboxes.append(_Inbox(conn, self, ended=self.lost_message(s)))
            self.outboxes.append(_Outbox(conn))

    def send(self, slot: int, msg: Any) -> Pending[Any]:
        data = pickle.dumps(msg, protocol=PROTOCOL)
        self.bytes_out += len(data)
        if self.via == "socket":
            seq = self.sent[slot]
            self.sent[slot] += 1
            self.outboxes[slot].put(data)
            return _Reply(self.inboxes[slot], seq, lambda: self._lost_now(slot))
        if self.via == "task":
            future = self.client.submit(_dask_call, f"{self.token}-{slot}", data,
                                        workers=[self.addresses[slot]],
                                        allow_other_workers=False, pure=False)
            return _DaskReply(future, self, slot)
        seq = self.sent[slot]
        self.sent[slot] += 1
        try:  # the handle refuses calls once its worker is known lost
            call = self.actors[slot].call(seq, data, isinstance(msg, str) and msg == "close")
        except RuntimeError as exc:
            return _Failed(f"{self.lost_message(slot)} ({exc})")
        self.loop.add_callback(self._wake, call)
        return _DaskReply(call, self, slot)

    async def _wake(self, call: Any) -> None:
        """Wake the driver when the actor call ``call`` ends (on the client's loop)."""
        with contextlib.suppress(Exception):
            await call
        self.arrived.set()

    def lost(self, slot: int, now: bool = False) -> bool:
        """Whether ``slot``'s worker has left the cluster (asked of the scheduler at most
        every :data:`DASK_CHECK_S`, or at once with ``now``)."""
        if self.addresses[slot] in self.gone:
            return True
        t = time.monotonic()
        if now or t - self.checked >= DASK_CHECK_S:
            self.checked = t
            alive = set(self.client.scheduler_info()["workers"])
            self.gone.update(a for a in self.addresses if a not in alive)
        return self.addresses[slot] in self.gone

    def learns_lost(self, slot: int) -> bool:
        """Whether the scheduler learns within :data:`DASK_LOST_S` that ``slot``'s worker
        left (an actor call that could not reach its worker: the scheduler may not know
        yet)."""
        end = time.monotonic() + DASK_LOST_S
        while not self.lost(slot, now=True):
            if time.monotonic() >= end:
                return False
            time.sleep(0.1)
        return True

    def _lost_now(self, slot: int) -> str | None:
        """Why ``slot`` cannot answer, when its worker has left the cluster."""
        return self.lost_message(slot) if self.lost(slot) else None

    def lost_message(self, slot: int) -> str:
        return (f"the Dask worker {self.addresses[slot]} of slot {slot} left the cluster "
                "(it died or was restarted): its orders' state is gone")

    def wait(self, timeout: float) -> None:
        if self.via == "task":
            time.sleep(min(timeout, DASK_POLL_S))
            return
        self.arrived.wait(min(timeout, DASK_CHECK_S))
        self.arrived.clear()

    def io_cpu_s(self) -> float:
        # the reader threads of the slots' sockets (unpickling answers); the client's
        # and the scheduler's threads are Dask's, not counted
        return sum(inbox.cpu_s for inbox in self.inboxes)

    def close(self) -> None:
        try:
            for s in range(self.slots):
                if self.addresses[s] in self.gone:
                    continue
                try:
                    self.send(s, "close").result()
                except WorkerError as exc:  # the run's own error, if any, is the one raised
                    log.warning("could not close slot %d: %s", s, exc)
            for out in self.outboxes:  # the slots' socket threads end
                out.put(pickle.dumps(None))
                out.close()
            for inbox in self.inboxes:
                inbox.thread.join(timeout=10)
            for conn in self.conns:
                conn.close()
        finally:
            if self.actor_futures:
                with contextlib.suppress(Exception):
                    self.client.cancel(self.actor_futures)
            if self.own:
                self.client.close()


DASK_QUIET_CONFIG: dict[str, Any] = {
    # every event loop (scheduler, client, each worker and nanny) wakes every 20 ms by
    # default only to warn when it was blocked
    "distributed.admin.tick.interval": "1s",
    # psutil's CPU, memory, network and disk counters of each server, every 500 ms
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
    # the statistical profiler walks every thread's stack every 10 ms (the slot
    # threads' stacks are deep)
    "distributed.worker.profile.enabled": False,
    # slots are actors pinned to their workers: nothing to steal, nothing replicated
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
}
"""Dask settings for a cluster that only runs worker slots (:class:`SlotActor`): the
periodic work of Dask's servers that serves tasks, data and the dashboard is turned off
or slowed down. An idle LocalCluster of 2 forked workers on this 2-core machine then
takes 0.005-0.006 CPU seconds per second in the driver (its in-process scheduler and
client) instead of 0.025-0.031, and 0.004-0.005 in the workers with their nannies
instead of 0.044-0.060: CPU the slots get back. The tick and the profiler make nearly
all of it (each alone put back: 0.025 / 0.028, 0.006 / 0.046), the system monitor a
little (0.011 / 0.006); stealing and the memory manager nothing measurable."""


@contextlib.contextmanager
def local_cluster(workers: int, start: str | None = None, quiet: bool = True,
                  **kwargs: Any) -> Iterator[Any]:
    """A Dask ``LocalCluster`` of ``workers`` processes with one thread each (one slot
    per worker), no dashboard, the batch code preloaded, and (``quiet``)
    :data:`DASK_QUIET_CONFIG`. ``start``: how the nannies start their
    workers (Dask's ``distributed.worker.multiprocessing-method``; ``fork`` starts
    them as copies of this process in a fraction of a second, Dask's default ``spawn``
    imports everything again). ``kwargs`` go to ``LocalCluster``."""
    import dask
    from distributed import LocalCluster

    config: dict[str, Any] = dict(DASK_QUIET_CONFIG) if quiet else {}
    if start is not None:
        config["distributed.worker.multiprocessing-method"] = start
    options: dict[str, Any] = dict(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, preload=["ordersplit.batch.slots"])
    options.update(kwargs)
    # held while the cluster lives: the servers read their settings as they start
    with dask.config.set(config), LocalCluster(**options) as cluster:
        yield cluster


def make_transport(workers: int, scheduler: Any = None) -> Transport:
    """Dask when a scheduler (address or client) is given, else local processes, else inline."""
    if scheduler is not None:
        return DaskTransport(scheduler)
    if workers > 1:
        return LocalTransport(workers)
    return InlineTransport()
