"""One digest of every plan of the split-engine families at one size: a check that a
change meant to be faster changed no plan (run it with each checkout on ``PYTHONPATH``
and compare the two lines).

Each (family, rules) cell's orders (:mod:`ordersplit.bench.families`, ``--seed``) are
split as JSON text with a generous time budget (a budget that binds would make a plan
depend on the machine's load); the digest is the SHA-256 over every plan's JSON without
``runtime_ms``, in cell and order order. Printed: the digest, the plans and how many
were proven optimal.

    PYTHONPATH=/tmp/base python3 benchmarks/plans_digest.py --orders 90
    PYTHONPATH=$PWD python3 benchmarks/plans_digest.py --orders 90
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

from ordersplit.api import split
from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10x30")
    p.add_argument("--orders", type=int, default=90, help="orders per (family, rules) cell")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--time-limit-ms", type=int, default=60_000)
    args = p.parse_args(argv)
    digest = hashlib.sha256()
    plans = proven = 0
    for size in args.sizes.split(","):
        for family in FAMILIES:
            for rules in RULES:
                for req in cell_requests(Cell(family, rules, size), args.orders, args.seed):
                    req["options"] = {**req.get("options", {}),
                                      "time_limit_ms": args.time_limit_ms}
                    data = split(json.dumps(req)).model_dump(mode="json")
                    data.pop("runtime_ms")
                    digest.update(json.dumps(data, sort_keys=True).encode())
                    plans += 1
                    proven += data["status"] == "optimal"
    print(f"{digest.hexdigest()}  {plans} plans, {proven} optimal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
