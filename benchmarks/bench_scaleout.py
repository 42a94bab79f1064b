"""Scale-out benchmark: one process, local processes and a Dask LocalCluster on one input.

    python benchmarks/bench_scaleout.py --orders 20000 --workers 2 --parts 4 \\
        --max-rounds 3 --repeats 2

One scenario batch is built once; then, ``--repeats`` times, the same deterministic
re-optimization (``--deterministic``, ``--parts`` fixed, ``--max-rounds``) runs with one
process, ``--workers`` local processes and a Dask LocalCluster of as many workers, one
after the other (interleaved, so that a change in the machine's load hits all three),
each in a new process (as a user's command runs: the driver then has no thread of
ours, which lets it fork its workers at the start; nothing of an earlier run lives
on). Deterministic with fixed parts, the three do the same work and must give the same
plans (checked: the digest of the final plans). Each run prints a JSON line: wall
time of the run and per stage, how the workers started, bytes through the driver
(setup, lower bound, per round, output), the serial share of a round, orders moved
per round, the peak resident memory of the run's processes (sampled from here), the
CPU of the driver and the workers (for Dask also of the cluster's start and its
background CPU per second) and the load average; then one line per mode with its
speed-ups against one process:
``wall_interleaved`` (each repeat against the one-process run next to it),
``wall_best`` (best against best; for Dask also without the cluster's start),
``cpu_projected_idle`` (the speed-up an idle machine with a core per process gives,
from the CPU seconds of the driver and of each slot per round: :func:`idle_estimate_s`;
on a loaded machine the wall figures say more about the neighbours than about the
code; for Dask also without the cluster's start), ``stage_cpu_ratio`` (per stage, the
CPU on its critical path: :func:`stage_cpu_s`), the serial fraction of a search round
(``round_serial_pct``: the driver's
seconds alone over the round; ``serial_cpu_pct``: the driver's CPU over all the
round's CPU) and ``bytes_per_round`` through the driver. The joint
bound's LP is skipped (``bound_time_limit_s=0``): it is serial and measured elsewhere
(``bench_bound_gap.py``). ``--clock`` runs within ``--time-limit-s`` instead (for
time and memory at 100,000 orders). The LocalCluster's workers are forked by default
(``--dask-start``; Dask's own default, spawn, imports everything again per worker).
Mode ``dask`` reaches its slots through sockets their Dask actors open for the
driver (``runners.DASK_VIA = "socket"``, session 13), ``dask-actor`` through an actor
call per message with a client that talks to the workers directly (sessions 11-12),
``dask-task`` through a scheduler task per message (the way before session 11), for
comparison. The LocalCluster is made by
:func:`ordersplit.batch.runners.local_cluster`: with ``--dask-config quiet`` (default)
Dask's periodic work that slots do not need is off
(:data:`~ordersplit.batch.runners.DASK_QUIET_CONFIG`), ``default`` keeps Dask's own
settings (the bench before session 12)::

    python benchmarks/bench_scaleout.py --orders 100000 --warehouses 50 --skus 20000 \
        --modes local --clock --time-limit-s 300 --parts 10 --max-rounds 0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

from ordersplit.batch import reoptimize
from ordersplit.batch.inputs import BatchInput
from ordersplit.batch.scenario import scenario_batch
from ordersplit.bench.scenario import ScenarioConfig

log = logging.getLogger("bench_scaleout")

SAMPLE_S = 0.5
"""Seconds between two samples of the processes' memory."""
MODES = ["1", "local", "dask", "dask-actor", "dask-task"]
DASK_IDLE_S = 3.0
"""Seconds a Dask cluster is watched doing nothing after a run (its background CPU)."""


@contextmanager
def peak_rss(pss: bool = False, root: int | None = None) -> Iterator[dict[str, float]]:
    """The peak of the summed memory of a process and all its descendants (MB) while
    the block runs, and their CPU seconds: ``out["peak_rss_mb"]`` sums resident sizes
    (pages a fork server shares with its workers count twice); with ``pss``,
    ``out["peak_pss_mb"]`` sums proportional sizes (shared pages split among their
    processes), which reads every process's page map and costs the driver CPU.
    ``root``: the process (default this one). ``cpu_driver_s``: the root process, less
    the sampling when it is this one; ``cpu_others_s``: the descendants, less what
    those alive at the start had used before."""
    out = {"peak_rss_mb": 0.0, "peak_pss_mb": 0.0, "cpu_driver_s": 0.0, "cpu_others_s": 0.0}
    stop = threading.Event()
    me = psutil.Process(root)
    here = root is None or root == psutil.Process().pid
    cpu0 = sum(me.cpu_times()[:2])
    before = {p.pid: sum(p.cpu_times()[:2]) for p in me.children(recursive=True)}
    others: dict[int, float] = {}
    sampling = [0.0]

    def sample() -> None:
        while not stop.is_set():
            c0 = time.thread_time()
            rss = pss_sum = 0
            with suppress(psutil.Error):
                tree = [me, *me.children(recursive=True)]
            for p in tree:
                with suppress(psutil.Error):
                    if pss:
                        info = p.memory_full_info()
                        pss_sum += info.pss
                    else:
                        info = p.memory_info()
                    rss += info.rss
                    if p.pid != me.pid:  # CPU seconds of each worker, as last seen
                        others[p.pid] = sum(p.cpu_times()[:2]) - before.get(p.pid, 0.0)
            out["peak_rss_mb"] = max(out["peak_rss_mb"], rss / 2**20)
            out["peak_pss_mb"] = max(out["peak_pss_mb"], pss_sum / 2**20)
            if here:
                sampling[0] += time.thread_time() - c0
            with suppress(psutil.Error):
                out["cpu_driver_s"] = sum(me.cpu_times()[:2]) - cpu0 - sampling[0]
            out["cpu_others_s"] = sum(others.values())
            stop.wait(SAMPLE_S)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        with suppress(psutil.Error):
            out["cpu_driver_s"] = sum(me.cpu_times()[:2]) - cpu0 - sampling[0]


def digest(res: Any) -> str:
    """A digest of the final plans (stock taken and objective of every order)."""
    h = hashlib.sha256()
    for p in res.solution.final:
        h.update(repr((p.key(), p.backorder_units, p.error)).encode())
        for a in (p.use_loc, p.use_col, p.use_units):
            h.update(a.astype("int64").tobytes())
    return h.hexdigest()[:16]


def run_here(batch: BatchInput, args: argparse.Namespace, mode: str) -> dict[str, Any]:
    """One deterministic run in ``mode`` (``1``, ``local`` or ``dask``) in this process;
    its row without the memory and the workers' CPU (:func:`run` adds them)."""
    kwargs: dict[str, Any] = dict(time_limit_s=args.time_limit_s,
                                  max_rounds=args.max_rounds or None,
                                  deterministic=not args.clock, parts=args.parts,
                                  bound_time_limit_s=args.bound_time_limit_s,
                                  work_limit=args.work_limit)
    me = psutil.Process()
    cpu0 = sum(me.cpu_times()[:2])
    t0 = time.perf_counter()
    if mode.startswith("dask"):
        from distributed import Client

        from ordersplit.batch import runners

        # ``dask``: a slot actor per worker opens a socket of its own for the driver
        # (session 13); ``dask-actor``: every message an actor call, directly
        # (``direct_to_workers``, sessions 11-12); ``dask-task``: one scheduler task
        # per message, as before session 11
        runners.DASK_VIA = {"dask": "socket", "dask-actor": "actor"}.get(mode, "task")

        # the workers import the batch code as they start (``--preload``, as a
        # deployed cluster would), not inside the first task of the run; forked
        # (``--dask-start fork``) they are copies of this process, which has it already;
        # ``--dask-config quiet``: Dask's periodic work that slots do not need is off
        # (:data:`ordersplit.batch.runners.DASK_QUIET_CONFIG`)
        with runners.local_cluster(args.workers, start=args.dask_start,
                                   quiet=args.dask_config == "quiet") as cluster, \
                Client(cluster, direct_to_workers=mode != "dask-task") as client:
            t_cluster = time.perf_counter() - t0
            cluster_cpu = (sum(me.cpu_times()[:2]) - cpu0, _children_cpu_s(me))
            res = reoptimize(batch, scheduler=client, **kwargs)
            wall = time.perf_counter() - t0
            cpu_driver = sum(me.cpu_times()[:2]) - cpu0
            cpu_workers: float | None = _children_cpu_s(me)
            # what the cluster costs doing nothing (heartbeats, monitors), per second
            time.sleep(DASK_IDLE_S)
            background = ((sum(me.cpu_times()[:2]) - cpu0 - cpu_driver) / DASK_IDLE_S,
                          (_children_cpu_s(me) - (cpu_workers or 0.0)) / DASK_IDLE_S)
    else:
        res = reoptimize(batch, workers=1 if mode == "1" else args.workers, **kwargs)
        wall = time.perf_counter() - t0
        cpu_driver = sum(me.cpu_times()[:2]) - cpu0
        t_cluster, cluster_cpu, background, cpu_workers = 0.0, (0.0, 0.0), (0.0, 0.0), None
    s = res.summary
    keys = ("workers_start", "lower_bound_s", "sequential_s", "sequential_resolves",
            "sequential_messages",
            "sequential_driver_solves", "lower_bound_driver_chunks",
            "sequential_depth", "search_s", "optimize_s", "rounds", "parts",
            "runtime_s", "moves_accepted", "search_resolves", "children_joint_bound",
            "children_sequential", "children_batch", "bytes_setup", "bytes_lower_bound",
            "bytes_per_round", "bytes_per_round_max", "bytes_output", "orders_moved_per_round",
            "round_s_mean", "round_serial_s_mean", "round_serial_pct", "serial_work_pct",
            "slot_balance_pct", "cpu_driver_sequential_s", "round_cpu_driver_s_mean",
            "round_cpu_slots_s_mean", "round_cpu_busiest_s_mean", "serial_cpu_pct",
            "round_idle_s_mean", "slot_cpu_balance_pct", "slot_cpu_s", "slot_cpu_busiest_s")
    return {"mode": mode, "workers": 1 if mode == "1" else args.workers, "orders": args.orders,
            **({"dask_start": args.dask_start, "dask_config": args.dask_config}
               if mode.startswith("dask") else {}),
            "wall_s": round(wall, 2), "cluster_start_s": round(t_cluster, 2),
            **{k: s.get(k) for k in keys}, "stages_s": s.get("stages_s"),
            "cpu_stages_s": s.get("cpu_stages_s"),
            "plans_digest": digest(res),
            # CPU seconds (user + system) of this process (the driver, its Dask
            # scheduler and client threads included)
            "cpu_driver_s": round(cpu_driver, 1),
            # of them, and of the workers, the CPU seconds of starting the Dask cluster
            "cpu_cluster_driver_s": round(cluster_cpu[0], 2),
            "cpu_cluster_workers_s": round(cluster_cpu[1], 2),
            # the Dask workers' CPU to the end of the run (they are alive: read here)
            **({} if cpu_workers is None else {"cpu_workers_s": round(cpu_workers, 1)}),
            "background_driver_cpu_per_s": round(background[0], 4),
            "background_workers_cpu_per_s": round(background[1], 4)}


def _children_cpu_s(me: psutil.Process) -> float:
    """CPU seconds of the descendants of ``me`` so far."""
    total = 0.0
    for child in me.children(recursive=True):
        with suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def run(args: argparse.Namespace, argv: list[str], mode: str) -> dict[str, Any]:
    """One run in ``mode`` in a new process (``--one-run``), as a user's command would
    run it: the driver has no thread of ours (a sampler thread would keep it from
    forking its workers), and nothing of an earlier run (a fork server, Dask's threads)
    lives on. Its row, with the peak memory of the run's processes and the CPU of its
    workers (sampled from here)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--one-run", mode]
    env = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "warning"}  # (its INFO lines)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    with peak_rss(args.pss, root=proc.pid) as mem:
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the {mode} run failed ({proc.returncode})")
    row: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    # the worker processes (sampled every SAMPLE_S: the last half second of a worker
    # may be missing) unless the run read them itself: the work, apart from the load
    row.setdefault("cpu_workers_s", round(mem["cpu_others_s"], 1))
    row.update(peak_rss_mb=round(mem["peak_rss_mb"]), peak_pss_mb=round(mem["peak_pss_mb"]),
               loadavg=Path("/proc/loadavg").read_text().split()[:3])
    return row


def idle_estimate_s(row: dict[str, Any], workers: int, cluster: bool = True) -> float:
    """The run's length on an idle machine with one core per process, from its CPU
    seconds (Amdahl): the driver's CPU outside the rounds is serial and the workers'
    CPU outside the rounds is shared evenly; each round takes the driver's serial CPU
    in it plus the CPU of its busiest slot (the parts of a round wait for each
    other). Conservative: the driver's work outside the rounds is not overlapped with
    the workers' (in the sequential pass it partly is). A Dask cluster's background
    CPU (heartbeats, monitors: ``background_*_cpu_per_s``, measured idle after the
    run) grows with the run's length, which the load stretches: it is counted for the
    estimated length, not for the measured one. Without ``cluster``: less the CPU of
    starting a Dask cluster (which serves many runs)."""
    if row["mode"] == "1":
        return float(row["cpu_driver_s"])
    rounds = row["rounds"] or 0
    driver_rounds = rounds * (row["round_cpu_driver_s_mean"] or 0.0)
    slots_rounds = rounds * (row["round_cpu_slots_s_mean"] or 0.0)
    idle_rounds = rounds * (row["round_idle_s_mean"] or 0.0)
    bg_driver = row.get("background_driver_cpu_per_s") or 0.0
    bg_workers = row.get("background_workers_cpu_per_s") or 0.0
    ran = row["wall_s"] - row["cluster_start_s"]
    driver = max(0.0, row["cpu_driver_s"] - driver_rounds - row.get("cpu_cluster_driver_s", 0.0)
                 - bg_driver * ran)
    others = max(0.0, row["cpu_workers_s"] - slots_rounds
                 - row.get("cpu_cluster_workers_s", 0.0) - bg_workers * ran)
    length = (driver + others / workers + idle_rounds) / max(
        0.5, 1.0 - bg_driver - bg_workers / workers)
    if cluster:
        length += row.get("cpu_cluster_driver_s", 0.0) + row.get(
            "cpu_cluster_workers_s", 0.0) / workers
    return length


def stage_cpu_s(row: dict[str, Any]) -> dict[str, float]:
    """CPU seconds of each stage on an idle machine with a core per process: in one
    process the stage's CPU; with workers the driver's CPU in it plus that of the
    busiest slot (conservative: the two overlap in the sequential pass). ``bound_seq``:
    the lower bound with the sequential pass, ``rounds``: the search rounds, ``tables``:
    the output."""
    busiest = row.get("slot_cpu_busiest_s") or {}
    rounds = row["rounds"] or 0
    tables = (row.get("cpu_stages_s") or {}).get("tables", 0.0)
    seq = row["cpu_driver_sequential_s"] or 0.0
    if row["mode"] == "1":
        return {"bound_seq": seq, "rounds": rounds * ((row["round_cpu_driver_s_mean"] or 0.0)
                                                      + (row["round_cpu_slots_s_mean"] or 0.0)),
                "tables": tables}
    return {"bound_seq": seq + busiest.get("lower", 0.0) + busiest.get("split", 0.0),
            "rounds": rounds * (row["round_idle_s_mean"] or 0.0),
            "tables": tables + busiest.get("output", 0.0)}


def speedups(rows: list[dict[str, Any]], modes: list[str], workers: int
             ) -> list[dict[str, Any]]:
    """Per mode against one process: the wall-clock speed-up of each interleaved repeat
    (the runs next to each other) and of the best runs, and the speed-up projected for
    an idle machine from CPU seconds (:func:`idle_estimate_s`), with the serial
    fraction of the search rounds (wall and CPU) and the bytes per round."""
    out: list[dict[str, Any]] = []
    ones = [r for r in rows if r["mode"] == "1"]
    if not ones:
        return out
    one_best = min(r["wall_s"] for r in ones)
    one_cpu = min(idle_estimate_s(r, 1) for r in ones)
    for mode in [m for m in modes if m != "1"]:
        mine = [r for r in rows if r["mode"] == mode]
        if not mine:
            continue
        pairs = [round(o["wall_s"] / m["wall_s"], 2) for o, m in zip(ones, mine, strict=False)]
        idle = min(idle_estimate_s(r, workers) for r in mine)
        last = mine[-1]
        one_stages = [stage_cpu_s(r) for r in ones]
        my_stages = [stage_cpu_s(r) for r in mine]
        out.append({
            "speedup": mode, "workers": workers,
            "wall_interleaved": pairs,
            "wall_best": round(one_best / min(r["wall_s"] for r in mine), 2),
            # a Dask cluster is started once for many runs: also without its start
            "wall_best_without_cluster_start": round(one_best / min(
                r["wall_s"] - r["cluster_start_s"] for r in mine), 2),
            "cpu_projected_idle": round(one_cpu / idle, 2),
            "cpu_projected_idle_without_cluster_start": round(one_cpu / min(
                idle_estimate_s(r, workers, cluster=False) for r in mine), 2),
            # per stage, best against best (CPU: little moved by the machine's load)
            "stage_cpu_ratio": {k: round(min(o[k] for o in one_stages) / max(1e-9, min(
                m[k] for m in my_stages)), 2) for k in one_stages[0]},
            "idle_estimate_s": round(idle, 2), "one_process_cpu_s": round(one_cpu, 2),
            "search_wall_best": round(min(r["search_s"] or 0 for r in ones)
                                      / max(1e-9, min(r["search_s"] or 0 for r in mine)), 2),
            "round_serial_pct": last["round_serial_pct"],
            "serial_cpu_pct": last["serial_cpu_pct"],
            "bytes_per_round": last["bytes_per_round"],
            "loadavg": [r["loadavg"] for r in mine]})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=20_000)
    p.add_argument("--warehouses", type=int, default=30)
    p.add_argument("--skus", type=int, default=2000)
    p.add_argument("--preset", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--parts", type=int, default=4)
    p.add_argument("--max-rounds", type=int, default=3, help="0: no cap")
    p.add_argument("--work-limit", type=int)
    p.add_argument("--time-limit-s", type=float, default=3600.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--verbose", action="store_true", help="log every search round")
    p.add_argument("--input-cache", help="a pickle of the generated batch: read when it "
                   "exists, else written (generating 100,000 orders takes minutes)")
    p.add_argument("--clock", action="store_true",
                   help="the whole run within --time-limit-s (not deterministic): for the "
                   "time and memory of a large batch, not for speed-ups")
    p.add_argument("--bound-time-limit-s", type=float, default=0.0,
                   help="the joint bound's LP (default 0: skipped)")
    p.add_argument("--start-method", choices=["auto", "forkserver", "fork", "spawn"],
                   help="how local worker processes start (default: the runner's)")
    p.add_argument("--dask-start", choices=["fork", "spawn", "forkserver"], default="fork",
                   help="how the LocalCluster's nannies start their workers (Dask's "
                        "distributed.worker.multiprocessing-method; Dask's default is spawn, "
                        "which imports everything again in each worker: seconds)")
    p.add_argument("--dask-config", choices=["quiet", "default"], default="quiet",
                   help="quiet: the LocalCluster without Dask's periodic work that slots do "
                        "not need (ordersplit.batch.runners.DASK_QUIET_CONFIG); default: "
                        "Dask's own settings (the bench before session 12)")
    p.add_argument("--pss", action="store_true",
                   help="also the peak proportional memory (reads every process's page "
                   "map twice a second: adds CPU to the driver)")
    p.add_argument("--modes", nargs="+", default=["1", "local", "dask"],
                   choices=MODES, help="dask: slot actors that open sockets of their own "
                   "for the driver; dask-actor: an actor call per message (sessions 11-12); "
                   "dask-task: a scheduler task per message (the way before session 11)")
    p.add_argument("--one-run", choices=MODES,
                   help="(internal) one run in this process, its row on standard output")
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    if args.start_method:
        from ordersplit.batch import runners

        runners.START_METHOD = args.start_method
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.verbose:
        logging.getLogger("ordersplit.batch").setLevel(logging.INFO)
    cfg = ScenarioConfig.preset(args.preset, n_orders=args.orders, n_warehouses=args.warehouses,
                                n_skus=args.skus, seed=args.seed)
    t0 = time.perf_counter()
    if args.one_run:
        print(json.dumps(run_here(pickle.loads(Path(args.input_cache).read_bytes()), args,
                                  args.one_run)), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.input_cache) if args.input_cache else Path(tmp) / "batch.pkl"
        if not cache.exists():
            cache.write_bytes(pickle.dumps(scenario_batch(cfg, 2), protocol=5))
        argv = [*argv, "--input-cache", str(cache)]  # (the last one given counts)
        print(json.dumps({"input_s": round(time.perf_counter() - t0, 1),
                          "orders": args.orders}), flush=True)
        rows: list[dict[str, Any]] = []
        for _ in range(args.repeats):
            for mode in args.modes:
                row = run(args, argv, mode)
                rows.append(row)
                print(json.dumps(row), flush=True)
    digests = {row["plans_digest"] for row in rows}
    for line in speedups(rows, args.modes, args.workers):
        print(json.dumps(line), flush=True)
    print(json.dumps({"same_plans": len(digests) == 1}), flush=True)
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
