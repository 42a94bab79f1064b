"""Two checkouts of ordersplit side by side on the CPU clock, interleaved order by order.

Each checkout runs in a worker process of its own (``PYTHONPATH`` set to it) that
builds the split-engine families' orders (:mod:`ordersplit.bench.families`, the same
seed in both) and answers one order at a time: the solve stage alone (``solve``: parse
and compile untimed, then ``solve_problem`` under the order's deadline), ``split()``
end to end (``split``), or parse and compile as ``split()`` meets them (``front``: each
timed, the solve after them untimed), or the plan stage as ``split()`` meets it
(``back``: parse, compile and solve untimed, then ``build_plan`` timed). The driver
asks both workers for the same order, one after the other, alternating which goes
first, so both see the same machine load. Printed per
(size, family, rules) cell: both medians and p99 on the process CPU clock, their ratio,
and with ``solve`` how many answers differed in status or plan (a plan that hit its
time budget may differ between any two runs).

    git archive <base-commit> | tar -x -C /tmp/base   # the base checkout
    python benchmarks/checkout_ab.py /tmp/base . --mode solve
    python benchmarks/checkout_ab.py /tmp/base . --mode split --sizes 30x100 \\
        --families thin --rules rules
    python benchmarks/checkout_ab.py /tmp/base . --mode front --repeat 2
    python benchmarks/checkout_ab.py /tmp/base . --mode back --repeat 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

WORKER = "worker"


def serve(sizes: str, families: str, rules: str, orders: int, seed: int) -> None:
    """The worker: read ``cell order mode`` lines, answer ``cpu_ms status digest``."""
    from ordersplit.api import split
    from ordersplit.bench.engine import Cell, cell_requests
    from ordersplit.models.validate import parse_request
    from ordersplit.plan.build import build_plan
    from ordersplit.solver.compile import compile_request
    from ordersplit.solver.portfolio import solve_problem
    from ordersplit.solver.stop import Deadline

    cells = [Cell(f, r, s) for s in sizes.split(",") for f in families.split(",")
             for r in rules.split(",")]
    texts = [[json.dumps(r) for r in cell_requests(c, orders, seed)] for c in cells]
    split(texts[0][0])  # the kernels load outside the timing
    print("ready", flush=True)
    for line in sys.stdin:
        c, i, mode = line.split()
        text = texts[int(c)][int(i)]
        if mode == "split":
            t0 = time.process_time()
            split(text)
            print(f"{(time.process_time() - t0) * 1000:.4f} - -", flush=True)
            continue
        if mode == "front":  # parse and compile timed, as split() meets them
            t0 = time.process_time()
            req = parse_request(text)
            t1 = time.process_time()
            compiled = compile_request(req)
            t2 = time.process_time()
            solve_problem(compiled.problem, req.options.solver,
                          Deadline(req.options.time_limit_ms / 1000))
            print(f"{(t2 - t0) * 1000:.4f} {(t1 - t0) * 1000:.4f} {(t2 - t1) * 1000:.4f}",
                  flush=True)
            continue
        if mode == "back":  # the plan (children, money, models) timed as split() meets it
            t0 = time.perf_counter()
            req = parse_request(text)
            compiled = compile_request(req)
            res = solve_problem(compiled.problem, req.options.solver,
                                Deadline(req.options.time_limit_ms / 1000))
            t1 = time.process_time()
            build_plan(req, compiled, res, started=t0)
            print(f"{(time.process_time() - t1) * 1000:.4f} - -", flush=True)
            continue
        req = parse_request(text)
        problem = compile_request(req).problem
        t0 = time.process_time()
        res = solve_problem(problem, req.options.solver,
                            Deadline(req.options.time_limit_ms / 1000))
        ms = (time.process_time() - t0) * 1000
        plan = "-" if res.assignment is None else \
            hashlib.sha1(res.assignment.tobytes()).hexdigest()[:12]
        print(f"{ms:.4f} {res.status.value} {plan}", flush=True)


def start_worker(checkout: str, script: str, argv: list[str]) -> subprocess.Popen[str]:
    """``script`` run as a worker on ``checkout``'s code (its own ``PYTHONPATH``), once it
    has said it is ready: it answers one question per line on its stdin."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(script), *argv],
        cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"the worker of {checkout} did not start")
    return proc


def _start(checkout: str, args: argparse.Namespace) -> subprocess.Popen[str]:
    return start_worker(checkout, __file__, [WORKER, args.sizes, args.families, args.rules,
                                             str(args.orders), str(args.seed)])


def _ask(proc: subprocess.Popen[str], question: str) -> list[str]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(question + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().split()


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == WORKER:
        sizes, families, rules, orders, seed = sys.argv[2:7]
        serve(sizes, families, rules, int(orders), int(seed))
        return 0
    from ordersplit.bench.families import FAMILIES, RULES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="the checkout to compare against (A)")
    p.add_argument("branch", help="the checkout measured (B)")
    p.add_argument("--mode", choices=("solve", "split", "front", "back"), default="solve")
    p.add_argument("--sizes", default="10x30")
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--rules", default=",".join(RULES))
    p.add_argument("--orders", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    workers = {"A": _start(args.base, args), "B": _start(args.branch, args)}
    cells = [(s, f, r) for s in args.sizes.split(",") for f in args.families.split(",")
             for r in args.rules.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}; {args.mode}, CPU ms, median (p99); "
          f"A = {args.base}, B = {args.branch}")
    every: dict[str, list[float]] = {"A": [], "B": []}
    stages: dict[str, list[float]] = {f"{n} {s}": [] for n in "AB" for s in ("parse", "compile")}
    differ = 0
    for c, cell in enumerate(cells):
        ms: dict[str, list[float]] = {"A": [], "B": []}
        for rep in range(args.repeat):
            for i in range(args.orders):
                first = ("A", "B") if (i + rep) % 2 == 0 else ("B", "A")
                out = {name: _ask(workers[name], f"{c} {i} {args.mode}") for name in first}
                for name in first:
                    ms[name].append(float(out[name][0]))
                    if args.mode == "front":
                        stages[f"{name} parse"].append(float(out[name][1]))
                        stages[f"{name} compile"].append(float(out[name][2]))
                differ += args.mode == "solve" and out["A"][1:] != out["B"][1:]
        a, b = np.median(ms["A"]), np.median(ms["B"])
        print(f"{'/'.join(cell):24} A {a:7.3f} ({np.percentile(ms['A'], 99):6.2f})  "
              f"B {b:7.3f} ({np.percentile(ms['B'], 99):6.2f})  A/B {a / b:.2f}")
        for name, values in ms.items():
            every[name] += values
    a, b = np.median(every["A"]), np.median(every["B"])
    print(f"{'all':24} A {a:7.3f}  B {b:7.3f}  A/B {a / b:.2f}"
          + (f"; answers that differ: {differ}" if args.mode == "solve" else ""))
    if args.mode == "front":
        for s in ("parse", "compile"):
            a, b = np.median(stages[f"A {s}"]), np.median(stages[f"B {s}"])
            print(f"{s:24} A {a:7.3f}  B {b:7.3f}  A/B {a / b:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    for proc in workers.values():
        proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
