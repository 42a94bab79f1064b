"""The load generator of ``load_service.py``: keep-alive HTTP/1.1 clients in several processes.

Built so that the generator is not what the measurement shows: each process runs one
uvloop event loop with raw ``asyncio.Protocol`` connections (no stream objects, a
response parsed by ``Content-Length`` only), requests are pre-serialized apart from
their ``Idempotency-Key``, and the work is spread over ``procs`` forked processes.

Open loop: the ``i``-th request of a stream is *scheduled* at ``t0 + i / rate`` (one
schedule for all processes; process ``k`` sends the requests ``i = k (mod procs)``),
whatever the answers' pace. Latency is measured from the scheduled time, so a request
that waited in the client (for a connection, or for the generator itself) counts that
wait: no coordinated omission. Each sample also carries the generator's own lateness
(``lag_ms``: scheduled time to the moment its send began, before any connection wait),
which shows whether the generator kept its schedule.

Closed loop: ``connections`` connections (over all processes) send back to back.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import re
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from typing import NamedTuple

RUNTIME = re.compile(rb'"runtime_ms":([0-9.]+)')


class Sample(NamedTuple):
    """One answered request."""

    status: int
    latency_ms: float
    """From the scheduled send time (open loop) or the send (closed loop) to the answer."""
    lag_ms: float
    """How late the generator began the send (open loop), before any connection wait."""
    runtime_ms: float | None = None
    """The plan's own ``runtime_ms`` (200 answers of a split)."""


@dataclass(frozen=True)
class Stream:
    """One kind of request sent in a phase."""

    name: str
    path: str
    bodies: tuple[bytes, ...]
    rate: float = 0.0
    """Open loop: arrivals per second, all processes together."""
    connections: int = 0
    """Closed loop: connections, all processes together."""
    max_connections: int = 512
    """Open loop: connections one process may open."""
    spread: bool = True
    """Spread over all processes (else sent by the first process only)."""


@dataclass
class StreamResult:
    """What one stream measured, all processes together."""

    sent: int = 0
    errors: int = 0
    """Connection errors or unreadable answers (lost requests)."""
    elapsed_s: float = 0.0
    samples: list[Sample] | None = None


class _Http(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._head = -1
        self._end = -1
        self._status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if self._end < 0:
            head = buf.find(b"\r\n\r\n")
            if head < 0:
                return
            self._head, self._status = head + 4, int(buf[9:12])
            length = 0
            at = buf.find(b"\r\ncontent-length:", 0, head + 2)
            if at < 0:
                at = buf.find(b"\r\nContent-Length:", 0, head + 2)
            if at >= 0:
                length = int(buf[at + 17:buf.index(b"\r\n", at + 2)])
            self._end = self._head + length
        if len(buf) >= self._end:
            body = bytes(buf[self._head:self._end])
            del buf[:self._end]
            self._end = -1
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result((self._status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("closed by the server"))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self._waiter


class _Connection:
    """A keep-alive connection, reopened when the server closed it while idle."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._http: _Http | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw`` and read the answer; a request on a connection the server closed
        while idle (uvicorn does after 5 s) is sent again once on a new one: it never
        reached the server, and its Idempotency-Key makes a resend safe anyway."""
        fresh = self._http is None or self._http.closed
        if fresh:
            _, self._http = await asyncio.get_running_loop().create_connection(
                _Http, self.host, self.port)
        assert self._http is not None
        try:
            return await self._http.request(raw)
        except ConnectionError:
            self._http = None
            if fresh:
                raise
            return await self.request(raw)

    def close(self) -> None:
        if self._http is not None and self._http.transport is not None:
            self._http.transport.close()
        self._http = None


class _Requests:
    """A stream's requests, whole: its bodies in turn, each with its own key."""

    def __init__(self, stream: Stream, host: str, port: int, tag: str) -> None:
        self.bodies = stream.bodies
        self.head = (f"POST {stream.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Content-Type: application/json\r\nIdempotency-Key: ").encode()
        self.tag = tag.encode()

    def __getitem__(self, i: int) -> bytes:
        body = self.bodies[i % len(self.bodies)]
        return b"%s%s-%d\r\nContent-Length: %d\r\n\r\n%s" % (self.head, self.tag, i,
                                                               len(body), body)


def _sample(status: int, body: bytes, latency_ms: float, lag_ms: float) -> Sample:
    runtime = None
    if status == 200:
        m = RUNTIME.search(body, 0, 400)
        runtime = float(m.group(1)) if m else None
    return Sample(status, latency_ms, lag_ms, runtime)


async def _open(stream: Stream, reqs: _Requests, host: str, port: int, t0: float,
                duration: float, k: int, procs: int, out: StreamResult) -> None:
    n = int(stream.rate * duration)
    mine = range(k, n, procs) if stream.spread else range(n if k == 0 else 0)
    idle: list[_Connection] = []
    waiting: collections.deque[asyncio.Future[_Connection]] = collections.deque()
    opened = 0
    loop = asyncio.get_running_loop()
    samples = out.samples = []

    async def send(i: int, scheduled: float) -> None:
        nonlocal opened
        lag = time.perf_counter() - scheduled
        if idle:
            conn = idle.pop()
        elif opened < stream.max_connections:
            opened += 1
            conn = _Connection(host, port)
        else:
            wait: asyncio.Future[_Connection] = loop.create_future()
            waiting.append(wait)
            conn = await wait
        try:
            status, body = await conn.request(reqs[i])
        except (OSError, ValueError):
            conn.close()
            out.errors += 1
        else:
            samples.append(_sample(status, body, (time.perf_counter() - scheduled) * 1000,
                                   lag * 1000))
        if waiting:
            waiting.popleft().set_result(conn)
        else:
            idle.append(conn)

    tasks = []
    for i in mine:
        scheduled = t0 + i / stream.rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        out.sent += 1
        tasks.append(loop.create_task(send(i, scheduled)))
    await asyncio.gather(*tasks)
    out.elapsed_s = time.perf_counter() - t0
    for conn in idle:
        conn.close()


async def _closed(stream: Stream, reqs: _Requests, host: str, port: int, t0: float,
                  duration: float, k: int, procs: int, max_requests: int,
                  out: StreamResult) -> None:
    conns = stream.connections // procs + (1 if k < stream.connections % procs else 0)
    deadline = t0 + duration
    samples = out.samples = []
    counter = iter(range(k, 1 << 62, procs))
    delay = t0 - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)

    async def one() -> None:
        conn = _Connection(host, port)
        while time.perf_counter() < deadline and out.sent < max_requests:
            out.sent += 1
            t = time.perf_counter()
            try:
                status, body = await conn.request(reqs[next(counter)])
            except (OSError, ValueError):
                conn.close()
                out.errors += 1
                continue
            samples.append(_sample(status, body, (time.perf_counter() - t) * 1000, 0.0))
        conn.close()

    await asyncio.gather(*(one() for _ in range(conns)))
    out.elapsed_s = time.perf_counter() - t0


async def _part(streams: list[Stream], host: str, port: int, t0: float, duration: float,
                k: int, procs: int, max_requests: int, tag: str) -> list[StreamResult]:
    outs = [StreamResult() for _ in streams]
    runs = []
    for s, out in zip(streams, outs, strict=True):
        reqs = _Requests(s, host, port, f"{tag}-{s.name}-{k}")
        if s.rate:
            runs.append(_open(s, reqs, host, port, t0, duration, k, procs, out))
        else:
            runs.append(_closed(s, reqs, host, port, t0, duration, k, procs,
                                max_requests // procs, out))
    await asyncio.gather(*runs)
    return outs


def _child(pipe: Pipe, streams: list[Stream], host: str, port: int, t0: float,
           duration: float, k: int, procs: int, max_requests: int, tag: str) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stdlib loop works too, with more client overhead
        pass
    pipe.send(asyncio.run(_part(streams, host, port, t0, duration, k, procs, max_requests,
                                tag)))
    pipe.close()


def run_streams(streams: list[Stream], host: str, port: int, duration: float, procs: int,
                max_requests: int = 1 << 30) -> list[StreamResult]:
    """Send ``streams`` together for ``duration`` seconds from ``procs`` processes."""
    ctx = multiprocessing.get_context("fork")
    t0 = time.perf_counter() + 0.3  # every process is up before the first send
    tag = f"{time.time_ns()}"
    children = []
    for k in range(procs):
        ours, theirs = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(theirs, streams, host, port, t0, duration, k,
                                             procs, max_requests, tag), daemon=True)
        p.start()
        theirs.close()
        children.append((p, ours))
    totals = [StreamResult(samples=[]) for _ in streams]
    for p, pipe in children:
        parts: list[StreamResult] = pipe.recv()
        p.join()
        for total, part in zip(totals, parts, strict=True):
            total.sent += part.sent
            total.errors += part.errors
            total.elapsed_s = max(total.elapsed_s, part.elapsed_s)
            assert total.samples is not None
            total.samples += part.samples or []
    return totals
