"""Load test of ``ordersplit serve`` on loopback: throughput, latency, and overload behaviour.

Requests are 10-line orders against 30 warehouses (``ScenarioConfig.uniform(10, 30)``),
each sent with its own ``Idempotency-Key`` so that no answer is replayed from the cache.
The client is a small raw HTTP/1.1 keep-alive client on asyncio (so it costs the 2-core
machine little CPU); latency is measured from each request's *scheduled* send time, so
queueing in the client is not hidden (no coordinated omission).

Phases (each bounded in time and in count):

* ``solver``: ``ordersplit.split`` in this process, one request at a time (the solver's
  own cost, no HTTP);
* ``echo``: closed loop on the diagnostics endpoints (the server runs with
  ``--diagnostics``): ``/v1/_echo`` (JSON back from the event loop, the HTTP baseline)
  and ``/v1/_echo/pool`` (JSON back through admission and a pool worker);
* ``closed``: ``--concurrency`` connections send back to back: the capacity, and its
  ratios to both echoes and to workers x the in-process solver rate;
* ``open``: fixed arrival rates of 50 % and 80 % of that capacity (p50/p99, 503 share);
* ``overload``: twice the capacity; every request must come back 200 or 503;
* ``stress``: normal orders at twice the capacity *and* huge orders (``--huge-size``,
  default 1000 lines x 2500 warehouses, about 2.5 MB, ``time_limit_ms: 1``) at
  ``--huge-rate`` per second, for ``--stress-duration`` (default 60 s): the p99 of the
  normal orders' answers against their budget (the contract default) + 100 ms, the
  workers replaced, and ``/healthz`` inflight back to 0 afterwards.

Usage::

    python benchmarks/load_service.py --workers 2 --duration 8 --json out.json

It starts the server itself (``ordersplit serve --no-auth`` on 127.0.0.1, a free port:
loopback only, so no key is needed) and stops it at the end; ``--url`` targets a server
that is already running instead (started with ``--diagnostics``); ``--server-arg``
passes more flags to the server it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from ordersplit.bench.scenario import ScenarioConfig, generate_orders
from ordersplit.service.jobs import CONTRACT_TIME_LIMIT_MS

RUNTIME = re.compile(rb'"runtime_ms":([0-9.]+)')


@dataclass
class Sample:
    """One answered (or failed) request."""

    status: int
    latency_ms: float
    runtime_ms: float | None = None


@dataclass
class PhaseResult:
    """What one phase measured."""

    name: str
    sent: int = 0
    elapsed_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    """Connection errors or unreadable answers (lost requests)."""

    def summary(self) -> dict[str, Any]:
        """Counts, throughput and latency percentiles (ms)."""
        by_status: dict[str, int] = {}
        for s in self.samples:
            by_status[str(s.status)] = by_status.get(str(s.status), 0) + 1
        ok = sorted(s.latency_ms for s in self.samples if s.status == 200)
        solver = sorted(s.runtime_ms for s in self.samples if s.runtime_ms is not None)
        rej = sorted(s.latency_ms for s in self.samples if s.status == 503)
        return {
            "phase": self.name, "sent": self.sent, "answered": len(self.samples),
            "errors": self.errors, "status": by_status, "elapsed_s": round(self.elapsed_s, 2),
            "ok_per_s": round(len(ok) / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "ok_ms": _pcts(ok), "solver_runtime_ms": _pcts(solver), "rejected_ms": _pcts(rej),
        }


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {}

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 2)

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(values[-1], 2),
            "mean": round(sum(values) / len(values), 2)}


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reconnects = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw`` (a whole request) and read the answer's status and body.

        A kept-alive connection the server closed while idle (uvicorn closes them after
        5 s) is reopened once and the request sent again, as HTTP clients do; the request
        never reached the server (and its Idempotency-Key makes a resend safe anyway).
        """
        fresh = self.writer is None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError):
            if fresh:
                raise
            self.close()
            self.reconnects += 1
            return await self.request(raw)
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Requests:
    """Pre-serialized request bodies, each sent with a fresh ``Idempotency-Key``."""

    def __init__(self, host: str, port: int, path: str, orders: list[dict[str, Any]]) -> None:
        self.bodies = [orjson.dumps(o) for o in orders]
        self.orders = orders
        self.host, self.port = host, port
        self.run = f"{os.getpid()}-{time.time_ns()}"
        self.count = 0
        self.to(path)

    def to(self, path: str) -> Requests:
        """Send to ``path`` from now on."""
        self.head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                     "Content-Type: application/json\r\n").encode()
        return self

    def next(self) -> bytes:
        """The next request, whole."""
        i = self.count
        self.count += 1
        body = self.bodies[i % len(self.bodies)]
        return (self.head + f"Idempotency-Key: {self.run}-{i}\r\nContent-Length: {len(body)}"
                "\r\n\r\n".encode() + body)


async def _one(conn: Connection, raw: bytes, scheduled: float, out: PhaseResult) -> None:
    try:
        status, body = await conn.request(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        conn.close()
        out.errors += 1
        return
    latency = (time.perf_counter() - scheduled) * 1000
    runtime = None
    if status == 200:
        m = RUNTIME.search(body, 0, 400)
        runtime = float(m.group(1)) if m else None
    out.samples.append(Sample(status, latency, runtime))


async def closed_loop(host: str, port: int, reqs: Requests, concurrency: int, duration: float,
                      max_requests: int) -> PhaseResult:
    """``concurrency`` connections, each sending back to back."""
    out = PhaseResult(f"closed x{concurrency}")
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        conn = Connection(host, port)
        while time.perf_counter() < deadline and out.sent < max_requests:
            out.sent += 1
            await _one(conn, reqs.next(), time.perf_counter(), out)
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    out.elapsed_s = time.perf_counter() - t0
    return out


async def open_loop(host: str, port: int, reqs: Requests, rate: float, duration: float,
                    max_conns: int, name: str) -> PhaseResult:
    """Requests arrive at ``rate`` per second whatever the answers' pace (open model)."""
    out = PhaseResult(name)
    idle: list[Connection] = []
    opened = 0
    free = asyncio.Condition()
    n = int(rate * duration)
    t0 = time.perf_counter()

    async def send(scheduled: float) -> None:
        nonlocal opened
        async with free:
            while not idle and opened >= max_conns:
                await free.wait()
            if idle:
                conn = idle.pop()
            else:
                opened += 1
                conn = Connection(host, port)
        try:
            await _one(conn, reqs.next(), scheduled, out)
        finally:
            async with free:
                idle.append(conn)
                free.notify()

    tasks = []
    for i in range(n):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        out.sent += 1
        tasks.append(asyncio.create_task(send(scheduled)))
    await asyncio.gather(*tasks)
    out.elapsed_s = time.perf_counter() - t0
    for conn in idle:
        conn.close()
    return out


def solver_phase(reqs: Requests, count: int) -> PhaseResult:
    """``ordersplit.split`` in this process, one request at a time."""
    from ordersplit.api import split

    out = PhaseResult("solver (in process)")
    t0 = time.perf_counter()
    for order in reqs.orders[:count]:
        t = time.perf_counter()
        plan = split(order)
        out.samples.append(Sample(200, (time.perf_counter() - t) * 1000, plan.runtime_ms))
        out.sent += 1
    out.elapsed_s = time.perf_counter() - t0
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not become healthy in {timeout} s")


def _scrape(url: str) -> dict[str, float]:
    """Sums of the service's solve and wait histograms (to split the latency)."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        for name in ("ordersplit_solve_duration_seconds", "ordersplit_pool_wait_seconds"):
            for suffix in ("_sum", "_count"):
                if line.startswith(name + suffix + '{endpoint="split"}'):
                    out[name + suffix] = float(line.rsplit(" ", 1)[1])
    return out


def _served_within(url: str, seconds: float) -> tuple[float, float]:
    """(answers of ``/v1/split`` the server timed at most ``seconds``, all its answers)."""
    within = total = 0.0
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if (line.startswith("ordersplit_http_request_duration_seconds_bucket{")
                    and 'route="/v1/split"' in line):
                count = float(line.rsplit(" ", 1)[1])
                if f'le="{seconds}"' in line:
                    within += count
                elif 'le="+Inf"' in line:
                    total += count
    return within, total


def _server_split(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    res = {}
    for name in ("ordersplit_solve_duration_seconds", "ordersplit_pool_wait_seconds"):
        n = after.get(name + "_count", 0) - before.get(name + "_count", 0)
        s = after.get(name + "_sum", 0) - before.get(name + "_sum", 0)
        res[name.removeprefix("ordersplit_").removesuffix("_seconds") + "_mean_ms"] = (
            round(s / n * 1000, 2) if n else 0.0)
    return res


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
        return dict(json.loads(r.read()))


def settle(url: str, timeout: float = 15.0) -> dict[str, Any]:
    """Wait until the pool is idle again: seconds it took and ``inflight`` at the end."""
    t0 = time.monotonic()
    inflight = _health(url)["inflight"]
    while inflight and time.monotonic() - t0 < timeout:
        time.sleep(0.05)
        inflight = _health(url)["inflight"]
    return {"settled_s": round(time.monotonic() - t0, 2), "inflight_after": inflight}


def _gauge(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def huge_orders(lines: int, warehouses: int, seed: int) -> list[dict[str, Any]]:
    """One order too big to solve in time (``time_limit_ms: 1``), as in issue #14."""
    cfg = ScenarioConfig.uniform(lines, warehouses, n_orders=1, seed=seed, stock_density=0.05)
    order = generate_orders(cfg)[0]
    order.setdefault("options", {})["time_limit_ms"] = 1
    return [order]


async def stress(host: str, port: int, normal: Requests, huge: Requests, rate: float,
                 huge_rate: float, duration: float) -> tuple[PhaseResult, PhaseResult]:
    """Normal orders at ``rate`` and huge ones at ``huge_rate``, both open loop, together."""
    return tuple(await asyncio.gather(  # type: ignore[return-value]
        open_loop(host, port, normal, rate, duration, 64, f"stress normal {rate:.0f}/s"),
        open_loop(host, port, huge, huge_rate, duration, 16, f"stress huge {huge_rate:g}/s")))


def _share_503(summary: dict[str, Any]) -> float:
    sent = summary["sent"]
    return round(100 * summary["status"].get("503", 0) / sent, 2) if sent else 0.0


def _all_ms(res: PhaseResult) -> dict[str, float]:
    return _pcts(sorted(s.latency_ms for s in res.samples))


def main(argv: list[str] | None = None) -> int:
    """Run the phases and print one JSON summary per phase."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="target a running server started with --diagnostics "
                                  "(default: start one)")
    ap.add_argument("--workers", type=int, default=2, help="server solver workers")
    ap.add_argument("--max-inflight", type=int, default=0, help="server admission limit")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="one more argument for `ordersplit serve` (repeatable)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per phase (max 120)")
    ap.add_argument("--stress-duration", type=float, default=60.0,
                    help="seconds of the huge + normal stress phase (max 120)")
    ap.add_argument("--huge-rate", type=float, default=1.0,
                    help="huge orders per second in the stress phase")
    ap.add_argument("--huge-size", default="1000x2500", help="LINESxWAREHOUSES of a huge order")
    ap.add_argument("--max-requests", type=int, default=20_000, help="cap per phase")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="closed-loop connections (default: 4 x workers)")
    ap.add_argument("--capacity", type=float, default=0.0,
                    help="splits per second to base the rates on (default: the closed phase's)")
    ap.add_argument("--orders", type=int, default=2000, help="distinct orders generated")
    ap.add_argument("--phases", default="solver,echo,closed,open,overload,stress")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", help="also write the summaries here")
    args = ap.parse_args(argv)
    duration = min(args.duration, 120.0)
    phases = args.phases.split(",")

    server: subprocess.Popen[bytes] | None = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "ordersplit.cli", "serve", "--port", str(port),
               "--workers", str(args.workers), "--max-inflight", str(args.max_inflight),
               "--diagnostics", "--no-auth", *args.server_arg]  # loopback only
        server = subprocess.Popen(cmd)
    results: list[dict[str, Any]] = []
    try:
        _wait_healthy(url)
        health = _health(url)
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        orders = generate_orders(ScenarioConfig.uniform(10, 30, n_orders=args.orders,
                                                        seed=args.seed))
        reqs = Requests(host, port, "/v1/split", orders)
        concurrency = args.concurrency or 4 * int(health["workers"])
        print(json.dumps({"server": health, "cpus": os.cpu_count(),
                          "loadavg": os.getloadavg()}), flush=True)

        def record(res: PhaseResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
            summary = {**res.summary(), "loadavg_1m": os.getloadavg()[0], **(extra or {})}
            results.append(summary)
            print(json.dumps(summary), flush=True)
            return summary

        def closed(path: str) -> dict[str, Any]:
            before = _scrape(url)
            res = asyncio.run(closed_loop(host, port, reqs.to(path), concurrency, duration,
                                          args.max_requests))
            return record(res, {"path": path, **_server_split(before, _scrape(url))})

        def opened(rate: float, name: str, conns: int = 64) -> dict[str, Any]:
            n = min(int(rate * duration), args.max_requests)
            before = _scrape(url)
            res = asyncio.run(open_loop(host, port, reqs.to("/v1/split"), rate, n / rate,
                                        conns, f"{name} {rate:.0f}/s"))
            s = res.summary()
            accounted = s["status"].get("200", 0) + s["status"].get("503", 0)
            return record(res, {"rate": round(rate, 1), "share_503_pct": _share_503(s),
                                "sent_equals_200_plus_503": accounted == res.sent,
                                **_server_split(before, _scrape(url))})

        solver = 0.0
        if "solver" in phases:
            solver = record(solver_phase(reqs, min(300, args.orders)))["ok_per_s"]
        # warm the server's workers, not measured
        asyncio.run(closed_loop(host, port, reqs, concurrency, 2.0, 200))
        echo = echo_pool = 0.0
        if "echo" in phases:
            echo = closed("/v1/_echo")["ok_per_s"]
            echo_pool = closed("/v1/_echo/pool")["ok_per_s"]
        capacity = args.capacity or 200.0
        if "closed" in phases and not args.capacity:
            capacity = closed("/v1/split")["ok_per_s"]
            ratios = {"split_per_s": capacity, "echo_per_s": echo,
                      "echo_pool_per_s": echo_pool, "solver_in_process_per_s": solver}
            for name, base in (("ratio_to_echo", echo), ("ratio_to_echo_pool", echo_pool),
                               ("ratio_to_workers_x_solver", solver * int(health["workers"]))):
                if base:
                    ratios[name] = round(capacity / base, 3)
            results.append({"phase": "capacity", **ratios})
            print(json.dumps(results[-1]), flush=True)
        if "open" in phases:
            opened(0.5 * capacity, "open 50%")
            opened(0.8 * capacity, "open 80%")
        if "closed" in phases and "open" in phases and not args.capacity:
            # the machine is shared: measure again to see whether the capacity drifted
            again = closed("/v1/split")["ok_per_s"]
            results.append({"phase": "capacity drift", "before_per_s": capacity,
                            "after_per_s": again,
                            "drift_pct": round(100 * (again - capacity) / capacity, 1)})
            print(json.dumps(results[-1]), flush=True)
        if "overload" in phases:
            opened(2 * capacity, "overload 2x")
        if "stress" in phases:
            lines, warehouses = (int(x) for x in args.huge_size.split("x"))
            huge = Requests(host, port, "/v1/split", huge_orders(lines, warehouses, args.seed)
                            if args.huge_rate > 0 else orders[:1])
            span = min(args.stress_duration, 120.0)
            replaced = _gauge(url, "ordersplit_workers_replaced")
            goal_s = (CONTRACT_TIME_LIMIT_MS + 100) / 1000
            served = _served_within(url, goal_s)
            normal, big = asyncio.run(stress(host, port, reqs.to("/v1/split"), huge,
                                             2 * capacity, args.huge_rate, span))
            after = settle(url)
            within, total = (b - a for a, b in zip(served, _served_within(url, goal_s),
                                                    strict=True))
            all_ms = _all_ms(normal)
            record(normal, {"answered_ms": all_ms, "goal_p99_ms": goal_s * 1000,
                            "p99_within_goal": all_ms.get("p99", 0) <= goal_s * 1000,
                            "server_timed_within_goal_pct": round(
                                100 * within / max(1.0, total - len(big.samples)), 2),
                            "share_503_pct": _share_503(normal.summary())})
            record(big, {"answered_ms": _all_ms(big), **after, "workers_replaced":
                         _gauge(url, "ordersplit_workers_replaced") - replaced,
                         "huge_bytes": len(huge.bodies[0])})
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stdlib loop works too, with more client overhead
        pass
    sys.exit(main())
