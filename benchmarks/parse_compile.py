"""Parse and compile alone, CPU time: the 10 x 30 family orders and OR-Library covers.

``parse_request`` (JSON text to a validated request, as ``split()`` gets it) and
``compile_request`` timed with the process's CPU clock, median over the requests and
repeats; the covers are ``scp_to_request`` of scp41 (200 x 1,000) and scp51
(200 x 2,000), weighted and unicost. Compare two checkouts by running this with each on
``PYTHONPATH``, alternately.

    python benchmarks/parse_compile.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.io.datasets import data_dir
from ordersplit.io.orlib import read_scp, scp_to_request
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request


def medians(texts: list[str], repeat: int) -> tuple[float, float]:
    """Median CPU ms of parse and of compile over ``texts`` x ``repeat``."""
    parse, comp = [], []
    for _ in range(repeat):
        for text in texts:
            t0 = time.process_time()
            req = parse_request(text)
            t1 = time.process_time()
            compile_request(req)
            t2 = time.process_time()
            parse.append(t1 - t0)
            comp.append(t2 - t1)
    return statistics.median(parse) * 1e3, statistics.median(comp) * 1e3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--orders", type=int, default=30)
    p.add_argument("--covers", default="scp41,scp51")
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms, median")
    texts = [json.dumps(r) for f in FAMILIES for ru in RULES
             for r in cell_requests(Cell(f, ru, "10x30"), args.orders, 2026)]
    parse, comp = medians(texts, args.repeat)
    print(f"10x30 parse {parse:.3f} compile {comp:.3f}")
    for name in filter(None, args.covers.split(",")):
        inst = read_scp(data_dir() / "orlib_scp" / f"{name}.txt")
        for unicost in (False, True):
            text = json.dumps(scp_to_request(inst, unicost=unicost, time_limit_ms=1000,
                                             objective=("children",) if unicost else ("cost",)))
            kind = "unicost" if unicost else "weighted"
            parse, comp = medians([text], 7 * args.repeat)
            print(f"{name} {kind} parse {parse:.2f} compile {comp:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
