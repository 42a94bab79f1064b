"""Load test of ``ordersplit serve`` on loopback: throughput, latency, and overload behaviour.

Requests are 10-line orders against 30 warehouses (``ScenarioConfig.uniform(10, 30)``),
each sent with its own ``Idempotency-Key`` so that no answer is replayed from the cache.
The load generator (``load_client.py``) is raw HTTP/1.1 keep-alive connections on uvloop
in ``--clients`` processes; latency is measured from each request's *scheduled* send
time, so queueing in the client is not hidden (no coordinated omission), and every phase
also reports the generator's own lateness (``generator_lag_ms``), the server's own
latency histogram (``server_200_ms``, ``server_answered_ms``) and the CPU per request
of the server's event loop, its solver workers and the generator.

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
  normal orders' answers against their budget (the contract default) + 100 ms, as the
  client and as the server timed them, the workers replaced, and ``/healthz`` inflight back to 0 afterwards.

Usage::

    python benchmarks/load_service.py --workers 2 --duration 8 --json out.json

It starts the server itself (``ordersplit serve --no-auth`` on 127.0.0.1, a free port:
loopback only, so no key is needed) and stops it at the end; ``--url`` targets a server
that is already running instead (started with ``--diagnostics``); ``--server-arg``
passes more flags to the server it starts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
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
from load_client import Sample, Stream, StreamResult, run_streams

from ordersplit.bench.scenario import ScenarioConfig, generate_orders
from ordersplit.service.jobs import CONTRACT_TIME_LIMIT_MS


@dataclass
class PhaseResult:
    """What one phase measured."""

    name: str
    sent: int = 0
    elapsed_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    """Connection errors or unreadable answers (lost requests)."""

    @classmethod
    def of(cls, name: str, res: StreamResult) -> PhaseResult:
        return cls(name, res.sent, res.elapsed_s, res.samples or [], res.errors)

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
            "generator_lag_ms": _pcts(sorted(s.lag_ms for s in self.samples)),
        }


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {}

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 2)

    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": round(values[-1], 2),
            "mean": round(sum(values) / len(values), 2)}


def solver_phase(orders: list[dict[str, Any]], count: int) -> tuple[PhaseResult, float]:
    """``ordersplit.split`` in this process, one request at a time; and its CPU ms per
    request (what the service cannot do without: the rest is its overhead)."""
    from ordersplit.api import split

    out = PhaseResult("solver (in process)")
    t0, c0 = time.perf_counter(), time.process_time()
    for order in orders[:count]:
        t = time.perf_counter()
        plan = split(order)
        out.samples.append(Sample(200, (time.perf_counter() - t) * 1000, 0.0, plan.runtime_ms))
        out.sent += 1
    out.elapsed_s = time.perf_counter() - t0
    return out, 1000 * (time.process_time() - c0) / max(1, out.sent)


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


HISTOGRAM = "ordersplit_http_request_duration_seconds_bucket{"
LABEL = re.compile(r'(\w+)="([^"]*)"')


def _histogram(url: str) -> dict[tuple[str, str], dict[float, float]]:
    """The server's own request latency histogram: cumulative counts per bucket, per
    (route, status)."""
    out: dict[tuple[str, str], dict[float, float]] = {}
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(HISTOGRAM):
                labels_text, value = line[len(HISTOGRAM):].rsplit("} ", 1)
                labels = dict(LABEL.findall(labels_text))
                le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
                out.setdefault((labels["route"], labels["status"]), {})[le] = float(value)
    return out


def server_latency(before: dict[tuple[str, str], dict[float, float]],
                   after: dict[tuple[str, str], dict[float, float]], route: str,
                   statuses: tuple[str, ...] = ("200",), drop_slowest: int = 0,
                   goal_s: float | None = None) -> dict[str, float]:
    """p50/p90/p99 (ms) of the requests the server timed between two scrapes, read from
    its histogram (linear within a bucket), leaving out the ``drop_slowest`` slowest
    (the huge orders of the stress phase); with ``goal_s`` (a bucket bound), the share
    timed within it."""
    cum: dict[float, float] = {}
    for (r, status), buckets in after.items():
        if r == route and status in statuses:
            old = before.get((r, status), {})
            for le, count in buckets.items():
                cum[le] = cum.get(le, 0.0) + count - old.get(le, 0.0)
    bounds = sorted(cum)
    total = cum.get(float("inf"), 0.0) - drop_slowest
    if total <= 0:
        return {}
    out: dict[str, float] = {"count": total}

    def q(p: float) -> float:
        target, lo, below = p * total, 0.0, 0.0
        for le in bounds:
            if cum[le] >= target:
                if le == float("inf"):
                    return float("inf")
                return round(1000 * (lo + (le - lo) * (target - below) / (cum[le] - below)), 2)
            lo, below = le, cum[le]
        return float("inf")

    for name, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        out[name] = q(p)
    if goal_s is not None:
        out["within_goal_pct"] = round(100 * min(total, cum.get(goal_s, 0.0)) / total, 2)
    return out


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int, reaped: bool = False) -> float:
    """CPU seconds of ``pid`` (with ``reaped``: plus those of its children it has reaped)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])
    if reaped:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for kid in kids.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


class CpuMeter:
    """CPU seconds of the server's main process, of its workers (every process below it,
    replaced workers included), and of this process's finished children (the load
    generator's processes)."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid

    def read(self) -> tuple[float, float, float]:
        clients = resource.getrusage(resource.RUSAGE_CHILDREN)
        if self.pid is None:
            return 0.0, 0.0, clients.ru_utime + clients.ru_stime
        workers = 0.0
        for kid in _descendants(self.pid):
            with contextlib.suppress(OSError):
                workers += _cpu_s(kid, reaped=True)
        return _cpu_s(self.pid), workers, clients.ru_utime + clients.ru_stime

    def per_request(self, before: tuple[float, float, float],
                    requests: int) -> dict[str, float]:
        """CPU ms per request since ``before``: server event loop, workers, generator."""
        if not requests:
            return {}
        main, workers, clients = self.read()
        res = {"client_cpu_ms_per_req": round(1000 * (clients - before[2]) / requests, 3)}
        if self.pid is not None:
            res["server_loop_cpu_ms_per_req"] = round(1000 * (main - before[0]) / requests, 3)
            res["server_workers_cpu_ms_per_req"] = round(
                1000 * max(0.0, workers - before[1]) / requests, 3)
        return res


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
    ap.add_argument("--clients", type=int, default=2,
                    help="load generator processes (default 2)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per phase (max 120)")
    ap.add_argument("--stress-duration", type=float, default=60.0,
                    help="seconds of the huge + normal stress phase (max 120)")
    ap.add_argument("--huge-rate", type=float, default=1.0,
                    help="huge orders per second in the stress phase")
    ap.add_argument("--huge-size", default="1000x2500", help="LINESxWAREHOUSES of a huge order")
    ap.add_argument("--max-requests", type=int, default=50_000, help="cap per closed phase")
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
    cpu = CpuMeter(server.pid if server is not None else None)
    try:
        _wait_healthy(url)
        health = _health(url)
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        orders = generate_orders(ScenarioConfig.uniform(10, 30, n_orders=args.orders,
                                                        seed=args.seed))
        bodies = tuple(orjson.dumps(o) for o in orders)
        concurrency = args.concurrency or 4 * int(health["workers"])
        print(json.dumps({"server": health, "cpus": os.cpu_count(), "clients": args.clients,
                          "loadavg": os.getloadavg()}), flush=True)

        def record(res: PhaseResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
            summary = {**res.summary(), "loadavg_1m": os.getloadavg()[0], **(extra or {})}
            results.append(summary)
            print(json.dumps(summary), flush=True)
            return summary

        def measured(streams: list[Stream], span: float, names: list[str]
                     ) -> list[tuple[PhaseResult, dict[str, Any]]]:
            """Run ``streams`` together; per stream its result and the server's view."""
            hist, scrape, used = _histogram(url), _scrape(url), cpu.read()
            outs = run_streams(streams, host, port, span, args.clients, args.max_requests)
            hist2, scrape2 = _histogram(url), _scrape(url)
            total = sum(len(o.samples or []) for o in outs)
            common = {**cpu.per_request(used, total), **_server_split(scrape, scrape2)}
            return [(PhaseResult.of(name, out),
                     {"server_200_ms": server_latency(hist, hist2, stream.path), **common})
                    for name, stream, out in zip(names, streams, outs, strict=True)]

        def closed(path: str) -> dict[str, Any]:
            stream = Stream("closed", path, bodies, connections=concurrency)
            [(res, extra)] = measured([stream], duration, [f"closed x{concurrency}"])
            return record(res, {"path": path, **extra})

        def opened(rate: float, name: str) -> dict[str, Any]:
            stream = Stream("open", "/v1/split", bodies, rate=rate)
            [(res, extra)] = measured([stream], duration, [f"{name} {rate:.0f}/s"])
            s = res.summary()
            accounted = s["status"].get("200", 0) + s["status"].get("503", 0)
            return record(res, {"rate": round(rate, 1), "share_503_pct": _share_503(s),
                                "sent_equals_200_plus_503": accounted == res.sent, **extra})

        solver = solver_cpu = 0.0
        if "solver" in phases:
            res, solver_cpu = solver_phase(orders, min(300, args.orders))
            solver = record(res, {"cpu_ms_per_req": round(solver_cpu, 3)})["ok_per_s"]
        # warm the server's workers, not measured
        run_streams([Stream("warm", "/v1/split", bodies, connections=concurrency)], host,
                    port, 2.0, args.clients, 400)
        echo = echo_pool = 0.0
        if "echo" in phases:
            echo = closed("/v1/_echo")["ok_per_s"]
            echo_pool = closed("/v1/_echo/pool")["ok_per_s"]
        capacity = args.capacity or 200.0
        if "closed" in phases and not args.capacity:
            measured_split = closed("/v1/split")
            capacity = measured_split["ok_per_s"]
            ratios = {"split_per_s": capacity, "echo_per_s": echo,
                      "echo_pool_per_s": echo_pool, "solver_in_process_per_s": solver}
            for name, base in (("ratio_to_echo", echo), ("ratio_to_echo_pool", echo_pool),
                               ("ratio_to_workers_x_solver", solver * int(health["workers"]))):
                if base:
                    ratios[name] = round(capacity / base, 3)
            served = (measured_split.get("server_loop_cpu_ms_per_req", 0.0)
                      + measured_split.get("server_workers_cpu_ms_per_req", 0.0))
            if served and solver_cpu:  # the service's own CPU around split(), per request
                ratios["server_cpu_ms_per_split"] = round(served, 3)
                ratios["split_cpu_ms_in_process"] = round(solver_cpu, 3)
                ratios["overhead_cpu_ms_per_split"] = round(served - solver_cpu, 3)
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
            huge = tuple(orjson.dumps(o) for o in huge_orders(lines, warehouses, args.seed))
            span = min(args.stress_duration, 120.0)
            replaced = _gauge(url, "ordersplit_workers_replaced")
            goal_s = (CONTRACT_TIME_LIMIT_MS + 100) / 1000
            streams = [Stream("normal", "/v1/split", bodies, rate=2 * capacity),
                       Stream("huge", "/v1/split", huge, rate=args.huge_rate, spread=False,
                              max_connections=64)]
            hist = _histogram(url)
            (normal, n_extra), (big, _) = measured(
                streams, span, [f"stress normal {2 * capacity:.0f}/s",
                                f"stress huge {args.huge_rate:g}/s"])
            after = settle(url)
            answered = _pcts(sorted(s.latency_ms for s in normal.samples))
            server_all = server_latency(hist, _histogram(url), "/v1/split", ("200", "503"),
                                        drop_slowest=len(big.samples), goal_s=goal_s)
            record(normal, {**n_extra, "answered_ms": answered, "goal_p99_ms": goal_s * 1000,
                            "client_p99_within_goal": answered.get("p99", 0) <= goal_s * 1000,
                            "server_answered_ms": server_all,
                            "server_p99_within_goal": server_all.get("p99", 1e9)
                            <= goal_s * 1000,
                            "share_503_pct": _share_503(normal.summary())})
            record(big, {"answered_ms": _pcts(sorted(s.latency_ms for s in big.samples)),
                         **after, "workers_replaced":
                         _gauge(url, "ordersplit_workers_replaced") - replaced,
                         "huge_bytes": len(huge[0])})
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
    sys.exit(main())
