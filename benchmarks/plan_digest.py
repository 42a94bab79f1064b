"""One digest of every plan of the split-engine cells: are two checkouts' plans identical?

Splits ``--orders`` orders of every (family, rules) cell at ``--sizes`` (the seeded
orders of :mod:`ordersplit.bench.families`, ``time_limit_ms`` raised to ``--limit-ms`` so
that a budget never binds on a loaded machine) and prints the SHA-256 over all plans'
JSON without ``runtime_ms``: children, lines, every amount to the minor unit, in order.
Run it in two checkouts; equal digests mean equal plans.

    PYTHONPATH=$PWD python3 benchmarks/plan_digest.py
    PYTHONPATH=/tmp/base python3 benchmarks/plan_digest.py
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
    p.add_argument("--orders", type=int, default=30)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--limit-ms", type=int, default=60_000)
    args = p.parse_args(argv)
    whole = hashlib.sha256()
    n = 0
    for size in args.sizes.split(","):
        for family in FAMILIES:
            for rules in RULES:
                cell = Cell(family, rules, size)
                h = hashlib.sha256()
                for req in cell_requests(cell, args.orders, args.seed):
                    req["options"] = {**req.get("options", {}), "time_limit_ms": args.limit_ms}
                    data = split(req).model_dump(mode="json")
                    data.pop("runtime_ms")
                    text = json.dumps(data, sort_keys=True).encode()
                    h.update(text)
                    whole.update(text)
                    n += 1
                print(f"{cell.name:24} {h.hexdigest()[:16]}")
    print(f"all {n} plans {whole.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
