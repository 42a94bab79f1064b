"""How far parse and the compiler's warehouse reading are from their floors (CPU, warm).

Over the 10 x 30 orders of every (family, rules) cell, each way of reading a request is
looped over all of them (best of ``--loops``), CPU microseconds per request:

* the JSON alone: ``json.loads`` and pydantic-core's ``from_json``;
* the native validator of :mod:`ordersplit.models.native` as ``parse_request`` runs it,
  and the same schema with less to build: no ``Warehouse`` models (plain dicts), no
  models at all, money as validated strings instead of ``Decimal``; these variants are
  not usable requests, only what each part of the validation costs;
* the checks after it (``_keys_valid``, ``_plainly_valid``) and ``parse_request`` whole;
* the compiler's reading of the warehouses, as it is (arrival minutes, store list,
  stock matrix, costs and ids: one pass each, mostly in C) and as one Python loop over
  the warehouses that reads each once (the "read the warehouses once" idea of session 10).

    python benchmarks/parse_floor.py --orders 30 --loops 7
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from array import array
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pydantic_core
from pydantic_core import SchemaValidator

from ordersplit.bench.engine import Cell, cell_requests
from ordersplit.bench.families import FAMILIES, RULES
from ordersplit.models import validate
from ordersplit.models.native import _models, _narrowed
from ordersplit.models.request import SplitRequest, Warehouse
from ordersplit.solver import compile as comp


def _variant(edit: Callable[[Any], Any]) -> SchemaValidator:
    """The native validator's schema, changed by ``edit``, as a validator."""
    schema = SplitRequest.__pydantic_core_schema__
    complete = {cls: cls.__pydantic_complete__ for cls in _models(schema, set())}
    for cls in complete:
        cls.__pydantic_complete__ = False
    try:
        return SchemaValidator(edit(_narrowed(schema, [])))
    finally:
        for cls, was in complete.items():
            cls.__pydantic_complete__ = was


def _walk(node: Any, swap: Callable[[dict[str, Any]], Any | None]) -> Any:
    if isinstance(node, list):
        return [_walk(item, swap) for item in node]
    if not isinstance(node, dict):
        return node
    swapped = swap(node)
    if swapped is not None:
        return _walk(swapped, swap)
    return {key: _walk(value, swap) for key, value in node.items()}


def _without_models(keep: set[type]) -> Callable[[Any], Any]:
    def swap(node: dict[str, Any]) -> Any | None:
        if node.get("type") == "model" and node["cls"] not in keep:
            return node["schema"]
        return None
    return lambda schema: _walk(schema, swap)


def _without_decimals(schema: Any) -> Any:
    def swap(node: dict[str, Any]) -> Any | None:
        steps = node.get("steps") if node.get("type") == "chain" else None
        last = steps[-1] if steps else {}
        makes_decimal = last.get("type") == "decimal" or (  # the native money's last step
            last.get("type") == "function-plain"
            and last.get("function", {}).get("function") is Decimal)
        return steps[0] if steps and makes_decimal else None
    return _walk(schema, swap)


def one_pass(warehouses: list[Warehouse], destination: str, sku_index: dict[str, int]
             ) -> tuple[list[str], list[Decimal], list[int], list[int], np.ndarray]:
    """Ids, costs, arrival minutes, stores and the stock matrix in one loop (the idea
    measured here; the compiler keeps its separate passes)."""
    m, n = len(warehouses), len(sku_index)
    flat = array("q", bytes(8 * m * n))
    lookup = sku_index.get
    ids: list[str] = []
    costs: list[Decimal] = []
    minutes: list[int] = []
    stores: list[int] = []
    base = 0
    for w, wh in enumerate(warehouses):
        ids.append(wh.id)
        costs.append(wh.child_cost)
        hours = wh.delivery_hours
        h = hours.get(destination)
        if h is None:
            h = hours.get("*")
        minutes.append(-1 if h is None else round(h * 60))
        if wh.kind == "store":
            stores.append(w)
        for sku, units in wh.stock.items():
            k = lookup(sku)
            if k is not None:
                flat[base + k] = units
        base += n
    return ids, costs, minutes, stores, np.frombuffer(flat, dtype=np.int64).reshape(m, n)


def separate_passes(warehouses: list[Warehouse], destination: str,
                    sku_index: dict[str, int]) -> tuple[Any, ...]:
    """The same values, the way :func:`~ordersplit.solver.compile.compile_request` reads them."""
    return (tuple([wh.id for wh in warehouses]), tuple([wh.child_cost for wh in warehouses]),
            comp._arrival_minutes(warehouses, destination),
            [w for w, wh in enumerate(warehouses) if wh.kind == "store"],
            comp._stock_matrix(warehouses, sku_index, True))


def _sku_index(req: SplitRequest) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in req.order.lines:
        comps = req.catalog[line.sku].components
        for sku in [c.sku for c in comps] if comps else [line.sku]:
            out.setdefault(sku, len(out))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=30, help="orders per (family, rules) cell")
    p.add_argument("--loops", type=int, default=7)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    texts = [json.dumps(r) for f in FAMILIES for ru in RULES
             for r in cell_requests(Cell(f, ru, "10x30"), args.orders, args.seed)]
    reqs = [validate.parse_request(t) for t in texts]
    skus = [_sku_index(r) for r in reqs]
    for r, k in zip(reqs, skus, strict=True):  # the one pass reads what the passes read
        a, b = one_pass(r.warehouses, r.order.destination, k), separate_passes(
            r.warehouses, r.order.destination, k)
        assert (tuple(a[0]), tuple(a[1]), a[2], a[3]) == b[:4] and np.array_equal(a[4], b[4])
    all_models = _models(SplitRequest.__pydantic_core_schema__, set())
    native = validate._NATIVE.validate_json
    no_warehouses = _variant(_without_models(all_models - {Warehouse})).validate_json
    no_models = _variant(_without_models(set())).validate_json
    no_decimals = _variant(_without_decimals).validate_json
    ways: dict[str, Callable[[int], Any]] = {
        "json.loads": lambda i: json.loads(texts[i]),
        "pydantic_core.from_json": lambda i: pydantic_core.from_json(texts[i]),
        "native validate_json": lambda i: native(texts[i]),
        "  no Warehouse models": lambda i: no_warehouses(texts[i]),
        "  no models at all": lambda i: no_models(texts[i]),
        "  money as strings": lambda i: no_decimals(texts[i]),
        "_keys_valid": lambda i: validate._keys_valid(reqs[i]),
        "_plainly_valid": lambda i: validate._plainly_valid(reqs[i], bounded=True),
        "parse_request": lambda i: validate.parse_request(texts[i]),
        "warehouses, separate passes": lambda i: separate_passes(
            reqs[i].warehouses, reqs[i].order.destination, skus[i]),
        "warehouses, one Python pass": lambda i: one_pass(
            reqs[i].warehouses, reqs[i].order.destination, skus[i]),
        "compile_request": lambda i: comp.compile_request(reqs[i]),
    }
    print(f"load average {os.getloadavg()[0]:.2f}; CPU us per request, best of {args.loops} "
          f"loops over {len(texts)} requests")
    for name, fn in ways.items():
        best = float("inf")
        for _ in range(args.loops):
            t0 = time.process_time()
            for i in range(len(texts)):
                fn(i)
            best = min(best, time.process_time() - t0)
        print(f"{name:32} {best / len(texts) * 1e6:8.1f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
