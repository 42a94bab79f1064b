"""Batch memory benchmark: peak memory of all processes, and a digest of the tables.

    python benchmarks/bench_batch_memory.py --orders 10000 --warehouses 50 --skus 20000 \\
        --workers 2 --max-rounds 1 --out /tmp/mem10k

Builds one scenario batch (timed, with the peak memory of the generation), then runs
one deterministic re-optimization (``--deterministic``, ``--parts`` fixed, joint bound
skipped) with ``--workers`` local processes, writing the tables to ``--out``. Prints a
JSON line: seconds per stage, the peak resident memory of this process and all its
descendants (summed RSS, and PSS: shared pages split), the driver's own peak, and a
digest of the written tables (the same batch gives the same digest before and after a
change that must not alter plans or tables), the CPU seconds of the driver and of the
slots, the driver's seconds in the garbage collector, and the serial share of the
search rounds (:data:`SERIAL_KEYS`). ``--max-rounds 0`` runs no search round. The
order tables are written while they are built (``stream=True``) unless
``--whole-tables``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import pickle
import resource
import time
from pathlib import Path
from threading import Thread

import psutil
from bench_scaleout import peak_rss

from ordersplit.batch import reoptimize
from ordersplit.batch.clock import Clock
from ordersplit.batch.scenario import scenario_batch
from ordersplit.bench.scenario import ScenarioConfig

SERIAL_KEYS = ("rounds", "round_s_mean", "round_serial_s_mean", "round_serial_pct",
               "serial_work_pct", "round_cpu_driver_s_mean", "round_cpu_slots_s_mean",
               "serial_cpu_pct", "bytes_per_round", "cpu_driver_sequential_s",
               "sequential_resolves", "sequential_driver_solves")
"""Summary figures of the search rounds' serial share (the driver's work over the
round's, by wall time and by CPU) and of the sequential pass, printed as they are."""


def tables_digest(folder: Path) -> str:
    """sha256 of every table file but the summary, by name."""
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.csv")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def driver_peak(samples: list[tuple[float, float]]) -> Thread:
    """Sample this process's resident memory (seconds, MB) every half second into
    ``samples`` until the main thread ends (a daemon thread)."""
    me, t0 = psutil.Process(), time.perf_counter()

    def sample() -> None:
        while True:
            samples.append((time.perf_counter() - t0, me.memory_info().rss / 2**20))
            time.sleep(0.5)

    thread = Thread(target=sample, daemon=True)
    thread.start()
    return thread


def gc_seconds(total: list[float]) -> None:
    """Add the seconds this process spends in the cyclic garbage collector to
    ``total[0]`` (a ``gc`` callback: with millions of live objects a full collection
    walks them all)."""
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            total[0] += time.perf_counter() - started[0]

    gc.callbacks.append(callback)


def process_peaks(samples: list[tuple[float, dict[int, float]]]) -> Thread:
    """Sample the resident memory (MB) of this process and of each descendant every
    second into ``samples`` as (seconds, {pid: MB}) until the main thread ends."""
    me, t0 = psutil.Process(), time.perf_counter()

    def sample() -> None:
        while True:
            now: dict[int, float] = {}
            for proc in [me, *me.children(recursive=True)]:
                try:
                    now[proc.pid] = proc.memory_info().rss / 2**20
                except psutil.Error:
                    continue
            samples.append((time.perf_counter() - t0, now))
            time.sleep(1.0)

    thread = Thread(target=sample, daemon=True)
    thread.start()
    return thread


def stage_laps(laps: list[tuple[float, str]]) -> None:
    """Record (seconds since now, stage) each time the run's clock books a stage."""
    t0, lap = time.perf_counter(), Clock.lap

    def booked(self: Clock, stage: str) -> float:
        laps.append((time.perf_counter() - t0, stage))
        return lap(self, stage)

    Clock.lap = booked  # type: ignore[method-assign]


def peaks_by_stage(samples: list[tuple[float, dict[int, float]]],
                   laps: list[tuple[float, str]], sequential_s: float | None
                   ) -> dict[str, dict[str, int]]:
    """Per stage (as the clock booked them; the search's lap cut after
    ``sequential_s``, the bound and sequential pass): the driver's peak, the largest
    worker's peak and the peak of the sum over every process (MB)."""
    me = psutil.Process().pid
    laps = list(laps)
    for i, (_, stage) in enumerate(laps):
        if stage == "search" and sequential_s is not None and i > 0:
            laps.insert(i, (laps[i - 1][0] + sequential_s, "bound_and_sequential"))
            break
    out: dict[str, dict[str, int]] = {}
    start = 0.0
    for end, stage in laps:
        window = [procs for t, procs in samples if start <= t <= end + 1.0]
        start = end
        if not window:
            continue
        cur = out.setdefault(stage, {"driver": 0, "worker": 0, "sum": 0})
        for procs in window:
            others = [mb for pid, mb in procs.items() if pid != me]
            cur["driver"] = max(cur["driver"], round(procs.get(me, 0.0)))
            cur["worker"] = max(cur["worker"], round(max(others, default=0.0)))
            cur["sum"] = max(cur["sum"], round(sum(procs.values())))
    return out


def timeline(samples: list[tuple[float, float]], points: int = 40) -> list[list[int]]:
    """``samples`` (seconds, MB) as at most ``points`` pairs, each the largest of its
    window: where in the run the driver's memory went up."""
    step = max(1, -(-len(samples) // points))
    windows = [samples[i:i + step] for i in range(0, len(samples), step)]
    return [[round(t), round(mb)] for t, mb in (max(w, key=lambda s: s[1]) for w in windows)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--warehouses", type=int, default=50)
    p.add_argument("--skus", type=int, default=20_000)
    p.add_argument("--preset", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--parts", type=int, default=2)
    p.add_argument("--max-rounds", type=int, default=1)
    p.add_argument("--out", required=True)
    p.add_argument("--whole-tables", action="store_true",
                   help="hold the order tables whole and write them at the end (before "
                        "stream=True)")
    p.add_argument("--input-cache",
                   help="a pickle of the generated batch: read when it exists, else written "
                        "(generating 100,000 orders takes minutes; base and branch then "
                        "read the same input)")
    args = p.parse_args(argv)
    config = ScenarioConfig.preset(args.preset, n_orders=args.orders,
                                   n_warehouses=args.warehouses, n_skus=args.skus,
                                   seed=args.seed)
    with peak_rss() as gen_mem:
        t0 = time.perf_counter()
        cache = Path(args.input_cache) if args.input_cache else None
        if cache is not None and cache.exists():
            batch = pickle.loads(cache.read_bytes())
        else:
            batch = scenario_batch(config, workers=args.workers)
            if cache is not None:
                cache.write_bytes(pickle.dumps(batch, protocol=5))
        gen_s = time.perf_counter() - t0
    samples: list[tuple[float, float]] = []
    in_gc = [0.0]
    gc_seconds(in_gc)
    procs: list[tuple[float, dict[int, float]]] = []
    laps: list[tuple[float, str]] = []
    with peak_rss() as mem:
        driver_peak(samples)
        process_peaks(procs)
        stage_laps(laps)
        t0, cpu0 = time.perf_counter(), time.process_time()
        res = reoptimize(batch, workers=args.workers, time_limit_s=36000.0,
                         max_rounds=args.max_rounds, deterministic=True, parts=args.parts,
                         bound_time_limit_s=0.0, out=args.out, stream=not args.whole_tables)
        wall = time.perf_counter() - t0
    s = res.summary
    print(json.dumps({
        "orders": args.orders, "warehouses": args.warehouses, "skus": args.skus,
        "workers": args.workers, "max_rounds": args.max_rounds,
        "generate_s": round(gen_s, 1), "generate_peak_rss_mb": round(gen_mem["peak_rss_mb"]),
        "reoptimize_s": round(wall, 1), "stages_s": s.get("stages_s"),
        "children_sequential": s.get("children_sequential"),
        "children_batch": s.get("children_batch"),
        "peak_rss_mb": round(mem["peak_rss_mb"]), "peak_pss_mb": round(mem["peak_pss_mb"]),
        "driver_peak_mb_at_s": [round(x) for x in max(samples, key=lambda s: s[1])],
        "driver_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "driver_mb_timeline": timeline(samples),
        "peaks_by_stage_mb": peaks_by_stage(procs, laps,
                                            (s.get("stages_s") or {}).get("bound_and_sequential")),
        "tables_digest": tables_digest(Path(args.out)),
        **{k: s.get(k) for k in SERIAL_KEYS if k in s},
        "cpu_driver_s": round(time.process_time() - cpu0, 1),
        "driver_gc_s": round(in_gc[0], 1),
        "cpu_slots_s": s.get("slot_cpu_s"),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
