"""CPU to a proof at 100 x 300, two checkouts interleaved order by order (issue 13; h14-cover).

Each checkout answers in a worker process of its own (``PYTHONPATH`` set to it):
``split()`` of one order of a split-engine cell with a long budget (``--limit-ms``,
default 20 s), timed on the process CPU clock (``time.process_time``: both search
threads summed) and on the wall clock, with the plan's status and objective. The
driver asks both workers for the same order, alternating which goes first, so both
see the same load. Printed per order: CPU s, wall s and status of each side, and
whether the objectives agree; then per side how many orders were proven with at most
2 s and at most 4 s of CPU (an idle 2-core machine gives a 2 s budget between the two:
one thread's 2 s while the count stage waits, both threads' 4 s at most).

    python benchmarks/proof_cpu.py /work/wt/base . --families partial --rules plain \\
        --orders 20 --seed 2026
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

WORKER = "worker"


def serve(family: str, rules: str, size: str, orders: int, seed: int, limit_ms: int) -> None:
    """The worker: read an order's index, answer ``cpu wall status objective-json``."""
    from ordersplit.api import split
    from ordersplit.bench.engine import Cell, cell_requests

    reqs = cell_requests(Cell(family, rules, size), orders, seed)
    texts = [json.dumps({**r, "options": {**r.get("options", {}), "time_limit_ms": limit_ms}})
             for r in reqs]
    small = cell_requests(Cell(family, rules, "10x30"), 1, seed)[0]
    split(json.dumps(small))  # the kernels load outside the timing
    print("ready", flush=True)
    for line in sys.stdin:
        i = int(line)
        c0, w0 = time.process_time(), time.perf_counter()
        plan = split(texts[i])
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        objective = json.dumps(plan.objective.model_dump(mode="json"), sort_keys=True,
                               separators=(",", ":"))
        print(f"{cpu:.4f} {wall:.4f} {plan.status} {objective}", flush=True)


def _start(checkout: str, args: argparse.Namespace) -> subprocess.Popen[str]:
    # imported here: the workers run this file on another checkout's code, which may
    # predate it
    from benchmarks.checkout_ab import start_worker

    return start_worker(checkout, __file__, [WORKER, args.families, args.rules, args.size,
                                             str(args.orders), str(args.seed),
                                             str(args.limit_ms)])


def _ask(proc: subprocess.Popen[str], i: int) -> list[str]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{i}\n")
    proc.stdin.flush()
    return proc.stdout.readline().split(maxsplit=3)


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == WORKER:
        family, rules, size, orders, seed, limit = sys.argv[2:8]
        serve(family, rules, size, int(orders), int(seed), int(limit))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="the checkout to compare against (A)")
    p.add_argument("branch", help="the checkout measured (B)")
    p.add_argument("--families", default="partial", help="one family")
    p.add_argument("--rules", default="plain", help="plain or rules")
    p.add_argument("--size", default="100x300")
    p.add_argument("--orders", type=int, default=20)
    p.add_argument("--first", type=int, default=0, help="the first order asked")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--limit-ms", type=int, default=20_000)
    args = p.parse_args(argv)
    workers = {"A": _start(args.base, args), "B": _start(args.branch, args)}
    print(f"load average {os.getloadavg()[0]:.2f}; {args.families} {args.rules} {args.size} "
          f"seed {args.seed}, budget {args.limit_ms} ms; A = {args.base}, B = {args.branch}")
    cpu: dict[str, list[float]] = {"A": [], "B": []}
    proven: dict[str, list[bool]] = {"A": [], "B": []}
    differ = 0
    for i in range(args.first, args.orders):
        first = ("A", "B") if i % 2 == 0 else ("B", "A")
        out = {name: _ask(workers[name], i) for name in first}
        for name in "AB":
            cpu[name].append(float(out[name][0]))
            proven[name].append(out[name][2] == "optimal")
        same = out["A"][3] == out["B"][3]
        differ += not same
        print(f"order {i:3}  A {float(out['A'][0]):6.2f} s CPU {float(out['A'][1]):6.2f} s wall "
              f"{out['A'][2]:9}  B {float(out['B'][0]):6.2f} s CPU {float(out['B'][1]):6.2f} s "
              f"wall {out['B'][2]:9}  {'same objective' if same else 'OBJECTIVES DIFFER'}  "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    for name in "AB":
        c, ok = np.array(cpu[name]), np.array(proven[name])
        print(f"{name}: proven {ok.sum()} of {ok.size}; within 2 s CPU {(ok & (c <= 2)).sum()}, "
              f"within 4 s CPU {(ok & (c <= 4)).sum()}; CPU median {np.median(c):.2f} s, "
              f"max {c.max():.2f} s")
    print(f"objectives that differ: {differ}; load average {os.getloadavg()[0]:.2f}")
    for proc in workers.values():
        proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
