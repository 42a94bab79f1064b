"""Start-up benchmark of the command line (hyperfine-like: repeated runs, medians).

    python benchmarks/bench_startup.py                 # 10 runs of each command
    python benchmarks/bench_startup.py --runs 20 --exe ordersplit

Each command runs ``--warmup`` times unmeasured (the numba kernel's cache and the OS page
cache get warm), then ``--runs`` times; the table gives the median, min and max wall
time and the median CPU time (user + system of the child) against the targets: ``--help``
<= 0.3 s and a warm split of the bundled example <= 1 s wall on an idle machine. CPU
time is printed beside wall time because on a loaded machine wall time includes waiting
for a core. The 1-minute load average is printed before and after.

The commands: ``--help``; ``split examples/contract_order.json``; and two refused
requests (malformed JSON, and a request that fails validation), which must be answered
(exit 2) without loading the solver stack.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "contract_order.json"


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def run_once(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit status of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def measure(cmd: list[str], runs: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        run_once(cmd)
    walls, cpus, codes = [], [], set()
    for _ in range(runs):
        wall, cpu, code = run_once(cmd)
        walls.append(wall)
        cpus.append(cpu)
        codes.add(code)
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
            "cpu": statistics.median(cpus), "exit": float(max(codes))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--exe", default=f"{shlex.quote(sys.executable)} -m ordersplit.cli",
                    help="how to start the CLI (default: this Python, -m ordersplit.cli)")
    args = ap.parse_args(argv)
    exe = shlex.split(args.exe)
    with tempfile.TemporaryDirectory() as tmp:
        malformed = Path(tmp) / "malformed.json"
        malformed.write_text('{"order": ')
        invalid = Path(tmp) / "invalid.json"
        invalid.write_text('{"order": {"id": "X", "lines": []}}')
        cases = [
            ("--help", [*exe, "--help"], 0.3),
            ("split example (warm)", [*exe, "split", str(EXAMPLE)], 1.0),
            ("malformed JSON (exit 2)", [*exe, "split", str(malformed)], None),
            ("invalid request (exit 2)", [*exe, "split", str(invalid)], None),
        ]
        print(f"load average before: {_load()}  ({os.cpu_count()} cores, {args.runs} runs, "
              f"{args.warmup} warm-up)")
        print(f"{'command':<26} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu s':>7} "
              f"{'exit':>4}  target")
        for name, cmd, target in cases:
            m = measure(cmd, args.runs, args.warmup)
            verdict = "" if target is None else (
                f"<= {target} s: {'ok' if m['median'] <= target else 'over'}")
            print(f"{name:<26} {m['median']:>9.3f} {m['min']:>7.3f} {m['max']:>7.3f} "
                  f"{m['cpu']:>7.3f} {int(m['exit']):>4}  {verdict}")
        print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
