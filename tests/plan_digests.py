"""Stored digests of the plans of a few hundred generated orders (the fast-path guard).

Every (family, rules) cell of the split-engine benchmark at 10 x 30 (and a few orders
at 30 x 100), on its own seed, plus variants of some orders that take other paths
(delivery first, cost first, the shipping fee on the first child, the warehouse or
stock rule off, ``backorder: wait``). A plan's digest is the SHA-256 of its JSON
without ``runtime_ms``: the children, their lines and every amount to the minor unit.

``tests/test_plan_digests.py`` splits them again and compares. When a change is *meant*
to alter plans, regenerate the file and say why in the commit:

    PYTHONPATH=$PWD python3 tests/plan_digests.py --write
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models.plan import Plan

DIGESTS = Path(__file__).resolve().parent / "data" / "plan_digests.json"
SEED = 4242
TIME_LIMIT_MS = 60_000
"""Generous, so that every plan is proven on a loaded machine (a budget that binds
would make a plan depend on the load)."""

VARIANTS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "fastest": (("order", "preference", "fastest"),),
    "cost_first": (("options", "objective", ["children", "cost", "delivery"]),),
    "first_child_fee": (("options", "shipping_fee", "first_child"),
                        ("options", "invoice_methods", ["cash", "coupon"])),
    "no_warehouse_rule": (("rules", "warehouse", False),),
    "no_stock_rule": (("rules", "stock", False),),
    "wait": (("order", "backorder", "wait"),),
}


def _variant(request: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(request)
    out["order"]["id"] = f"{out['order']['id']}-{name}"
    for section, key, value in VARIANTS[name]:
        out.setdefault(section, {})[key] = value
    return out


def cases() -> list[tuple[str, dict[str, Any]]]:
    """``(case id, request)`` pairs, deterministic."""
    out: list[tuple[str, dict[str, Any]]] = []
    for size, n in (("10x30", 30), ("30x100", 3)):
        for family in FAMILIES:
            for rules in RULES:
                for k, raw in enumerate(cell_requests(Cell(family, rules, size), n, SEED)):
                    req = copy.deepcopy(raw)
                    req["options"] = {**req.get("options", {}), "time_limit_ms": TIME_LIMIT_MS}
                    out.append((f"{family}/{rules}/{size}/{k}", req))
                    if size == "10x30" and k < len(VARIANTS):
                        name = list(VARIANTS)[k]
                        out.append((f"{family}/{rules}/{size}/{k}/{name}", _variant(req, name)))
    return out


def plan_digest(plan: Plan) -> str:
    """SHA-256 of the plan's JSON without its run time."""
    data = plan.model_dump(mode="json")
    data.pop("runtime_ms")
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def load() -> dict[str, str]:
    return dict(json.loads(DIGESTS.read_text()))


def main(argv: list[str]) -> int:
    from ordersplit.api import split

    if "--write" not in argv:
        print(__doc__)
        return 2
    digests = {case: plan_digest(split(req)) for case, req in cases()}
    DIGESTS.parent.mkdir(parents=True, exist_ok=True)
    DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"{len(digests)} digests written to {DIGESTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
