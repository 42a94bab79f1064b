"""Random compiled problems of every stock shape, for properties over the solvers.

Shapes: ``binary`` (quantity 1, a warehouse holds 0 or 1), ``partial`` (quantities 1-3,
some 4-12; stocked cells 5-200 or, for 15%, 1-3), ``thin`` (stock 0-4, quantities 1-3),
``multi`` (quantities 1-6, stock 0-8, several lines of one SKU), and ``unicost`` (an
OR-Library-like covering instance: rows are SKUs of quantity 1, each column covers a
few random rows, every child costs 1). ``rules`` switches bundles, the warehouse rule
and per-line reach on at random.
"""

from __future__ import annotations

import numpy as np

from ordersplit.solver.problem import SplitProblem

SHAPES = ("binary", "partial", "thin", "multi", "unicost")
OBJECTIVE = ("children", "makespan", "unit_hours", "fragments")
"""What ``compile_request`` makes of the default objective."""


def _stock(rng: np.random.Generator, shape: str, m: int, k: int) -> np.ndarray:
    present = rng.random((m, k)) < (0.5 if shape != "partial" else 0.4)
    if shape == "binary":
        return present.astype(np.int64)
    if shape == "partial":
        big = rng.integers(5, 201, (m, k))
        small = rng.integers(1, 4, (m, k))
        return np.where(rng.random((m, k)) < 0.15, small, big) * present
    if shape == "thin":
        return rng.integers(0, 5, (m, k)) * present
    return rng.integers(0, 9, (m, k)) * present


def _quantity(rng: np.random.Generator, shape: str, n: int) -> np.ndarray:
    if shape in ("binary", "unicost"):
        return np.ones(n, dtype=np.int64)
    if shape == "partial":
        return np.where(rng.random(n) < 0.2, rng.integers(4, 13, n), rng.integers(1, 4, n))
    if shape == "thin":
        return rng.integers(1, 4, n)
    return rng.integers(1, 7, n)


def random_shape_problem(rng: np.random.Generator, shape: str, rules: bool,
                         objective: tuple[str, ...] = OBJECTIVE, max_items: int = 6,
                         max_wh: int = 8) -> SplitProblem:
    """A feasible random problem of ``shape`` (see the module docstring)."""
    if shape == "unicost":
        rows, cols = int(rng.integers(6, 16)), int(rng.integers(8, 25))
        cover = rng.random((cols, rows)) < 0.2
        cover[rng.integers(0, cols, rows), np.arange(rows)] = True  # every row coverable
        return SplitProblem(
            quantity=np.ones(rows, dtype=np.int64), usage=np.eye(rows, dtype=np.int64),
            splittable=np.ones(rows, dtype=bool), group=np.zeros(rows, dtype=np.int64),
            stock=cover.astype(np.int64), allowed=np.ones((rows, cols), dtype=bool),
            hours=np.full(cols, 1440, dtype=np.int64), cost=np.ones(cols, dtype=np.int64),
            objective=tuple(t for t in objective if t not in {"makespan", "unit_hours"})
            or ("children",))
    n = int(rng.integers(1, max_items + 1))
    m = int(rng.integers(2, max_wh + 1))
    k = int(rng.integers(max(1, n // 2), n + 1)) if shape == "multi" else n
    sku = rng.integers(0, k, n) if shape == "multi" else np.arange(n)
    usage = np.zeros((n, k), dtype=np.int64)
    usage[np.arange(n), sku] = 1
    splittable = np.ones(n, dtype=bool)
    line = np.arange(n, dtype=np.int64)
    per_warehouse = True
    allowed = np.ones((n, m), dtype=bool)
    if rules:
        if rng.random() < 0.3 and k > 1:  # a bundle of two SKUs
            i = int(rng.integers(0, n))
            usage[i, (sku[i] + 1) % k] += 1
            splittable[i] = False
        if rng.random() < 0.2 and n > 1:  # a bundle's components shipped as one line
            line[1] = line[0]
        per_warehouse = bool(rng.random() < 0.8)
        if rng.random() < 0.3:
            allowed = rng.random((n, m)) < 0.8
    quantity = _quantity(rng, shape, n).astype(np.int64)
    stock = _stock(rng, shape, m, k).astype(np.int64)
    group = rng.integers(0, 2 if rules else 1, n).astype(np.int64)
    group[line != np.arange(n)] = group[0]  # one line's components share its group
    # feasible: for each item a warehouse it may use gets whatever is missing
    for i in range(n):
        w = int(np.flatnonzero(allowed[i])[0]) if allowed[i].any() else 0
        allowed[i, w] = True
        stock[w] += usage[i] * quantity[i]
    return SplitProblem(
        quantity=quantity, usage=usage, splittable=splittable, group=group, stock=stock,
        allowed=allowed, hours=(rng.integers(1, 5, m) * 360).astype(np.int64),
        cost=rng.integers(0, 4, m).astype(np.int64), objective=objective,
        per_warehouse=per_warehouse, fixed_makespan=int(rng.choice([0, 0, 720])),
        line=line,
    )
