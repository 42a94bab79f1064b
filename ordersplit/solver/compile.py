"""Compile a validated request into a :class:`SplitProblem` plus the layout to map back.

``compile_request`` is a pure function: request in, ``Compiled`` out. The layout keeps
what the numbers stand for (line of each item, warehouse ids, group keys) and the
parts the rules fixed before optimization (bulky, store and back-order parts), so that
the plan builder can turn an assignment into child orders without re-reading rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Literal

import numpy as np

from ordersplit.models.request import SplitRequest, Warehouse
from ordersplit.rules.costs import cost_decimals, cost_units
from ordersplit.rules.keys import GroupKey, group_key
from ordersplit.rules.presource import Candidate, shippable_quantities, source_fastest
from ordersplit.rules.store import place_store_lines
from ordersplit.solver.problem import UNLIMITED, IntArray, SplitProblem

FixedKind = Literal["bulky", "store", "backorder"]
MAX_COST_DECIMALS = 6
PRICE_DECIMALS = 6
"""Decimals of a stock price kept by the integer price matrix (fewer on huge orders)."""
STOCK_VALUE_LIMIT = 2**50
"""The largest ``stock_value`` the scaled prices may reach: exact in int64 and in the
MIP solvers' doubles (2^53), with room for the solvers' sums."""


@dataclass(frozen=True)
class ItemRef:
    """What a problem item stands for: a parent line, or one component of a bundle line."""

    line: int
    component: str | None
    key: GroupKey


@dataclass(frozen=True)
class FixedPart:
    """A part of a line the rules placed before optimization."""

    kind: FixedKind
    line: int
    component: str | None
    quantity: int
    warehouse: int | None
    key: GroupKey


@dataclass(frozen=True)
class Layout:
    """How to read a :class:`SplitProblem`'s rows and columns back as order data."""

    order_id: str
    warehouse_ids: tuple[str, ...]
    minutes: IntArray
    """Arrival minutes of every warehouse at the destination (-1: does not deliver there)."""
    items: tuple[ItemRef, ...]
    group_keys: tuple[GroupKey, ...]
    fixed: tuple[FixedPart, ...]
    waits: bool
    cost_scale: int
    store_warehouse: int | None
    store_lines: tuple[int, ...] = ()
    """Offline-store lines (:mod:`ordersplit.rules.store`): their back-order is their own."""
    sku_index: dict[str, int] | None = None
    """Column of each SKU in ``problem.stock`` and ``problem.price``."""


@dataclass(frozen=True)
class Compiled:
    problem: SplitProblem
    layout: Layout


def expand_objective(terms: tuple[str, ...]) -> tuple[str, ...]:
    """Request terms -> problem terms (``delivery`` is makespan, then unit hours).

    ``fragments`` is the last tie-break when the request does not place it: a line is
    kept whole whenever that costs nothing on the terms before.
    """
    out: list[str] = []
    for t in terms:
        out += ["makespan", "unit_hours"] if t == "delivery" else [t]
    if "fragments" not in out:
        out.append("fragments")
    return tuple(out)


def _cost_scale(request: SplitRequest) -> int:
    decimals = max(map(cost_decimals, {wh.child_cost for wh in request.warehouses}), default=0)
    return 10 ** min(decimals, MAX_COST_DECIMALS)


def _stock_matrix(warehouses: Sequence[Warehouse], sku_index: dict[str, int],
                  counted: bool) -> IntArray:
    """``[W, K]`` stock of the order's SKUs (``UNLIMITED`` where listed, when the stock
    rule is off). The dict walks run in C (``map``/``fromiter``): a 2,500-warehouse
    network lists hundreds of thousands of cells."""
    stock = np.zeros((len(warehouses), len(sku_index)), dtype=np.int64)
    lookup = sku_index.get
    for w, wh in enumerate(warehouses):
        n = len(wh.stock)
        if n < 64:  # a short dict is quicker walked in Python than set up for numpy
            for sku, units in wh.stock.items():
                k = lookup(sku)
                if k is not None:
                    stock[w, k] = units if counted else UNLIMITED
            continue
        ks = np.fromiter(map(lookup, wh.stock.keys(), repeat(-1, n)), dtype=np.int64, count=n)
        mine = ks >= 0
        if counted:
            given = np.fromiter(wh.stock.values(), dtype=np.int64, count=n)
            stock[w, ks[mine]] = given[mine]
        else:  # with the stock rule off, listing a SKU is enough
            stock[w, ks[mine]] = UNLIMITED
    return stock


def price_matrix(request: SplitRequest, sku_index: dict[str, int]) -> tuple[IntArray, float]:
    """``[W, K]`` integer unit prices of the order's SKUs and their scale, for the
    ``stock_value`` term (zeros and 1 when it is not an objective term).

    A price ``p`` becomes ``round(p * 10^d)`` (numpy's round half to even, in binary
    floating point), with ``d`` the largest of 6, 5, ... such that the dearest price
    times the order's units (a bundle counted by its components) stays within
    ``STOCK_VALUE_LIMIT``; ``d`` may go negative on absurd orders. The scale ``10^d``
    depends on the request alone, so the same request always gets the same matrix;
    ``stock_value`` in the plan is the optimized integer divided by the scale.
    """
    prices = request.options.stock_prices
    out = np.zeros((len(request.warehouses), len(sku_index)), dtype=np.int64)
    if prices is None or "stock_value" not in request.objective_order():
        return out, 1.0
    real = np.zeros(out.shape, dtype=np.float64)
    for w, wh in enumerate(request.warehouses):
        for sku, price in prices.prices.get(wh.id, {}).items():
            k = sku_index.get(sku)
            if k is not None:
                real[w, k] = price
    units = 0
    for line in request.order.lines:
        comps = request.catalog[line.sku].components
        units += line.quantity * (sum(c.quantity for c in comps) if comps else 1)
    top = float(real.max(initial=0.0))
    decimals = PRICE_DECIMALS
    while decimals > -PRICE_DECIMALS and top * 10.0**decimals * max(units, 1) > STOCK_VALUE_LIMIT:
        decimals -= 1
    scale = 10.0**decimals
    out[:] = np.rint(real * scale)
    return out, scale


def compile_request(request: SplitRequest) -> Compiled:
    """Apply the rules and freeze what remains to optimize into numpy arrays."""
    order, rules, catalog = request.order, request.rules, request.catalog
    warehouses = request.warehouses
    m = len(warehouses)

    # SKUs that lines use (bundles through their components, which are what is stocked).
    sku_index: dict[str, int] = {}

    def sku_id(sku: str) -> int:
        return sku_index.setdefault(sku, len(sku_index))

    for line in order.lines:
        comps = catalog[line.sku].components
        for sku in [c.sku for c in comps] if comps else [line.sku]:
            sku_id(sku)
    n_skus = len(sku_index)

    arrival = []
    for wh in warehouses:
        hours = wh.delivery_hours.get(order.destination, wh.delivery_hours.get("*"))
        arrival.append(-1 if hours is None else round(hours * 60))
    minutes = np.array(arrival, dtype=np.int64)
    is_store = np.array([wh.kind == "store" for wh in warehouses], dtype=bool)
    ships = (minutes >= 0) & ~is_store

    stock = _stock_matrix(warehouses, sku_index, rules.stock)
    price, price_scale = price_matrix(request, sku_index)

    keys: list[GroupKey] = []
    key_pos: dict[GroupKey, int] = {}
    store = place_store_lines(request, minutes.tolist())
    store_parts: list[FixedPart] = []
    cands: list[Candidate] = []
    for li, line in enumerate(order.lines):
        item = catalog[line.sku]
        key = group_key(item, rules)
        if li in store.lines:  # one store that holds them all, else they wait together
            store_parts.append(FixedPart("store" if store.warehouse is not None else "backorder",
                                         li, None, line.quantity, store.warehouse, key))
            continue
        kidx = key_pos.setdefault(key, len(key_pos))
        if kidx == len(keys):
            keys.append(key)
        bulky = rules.bulky and item.bulky
        if item.components and rules.bundle:
            usage = {sku_index[c.sku]: c.quantity for c in item.components}
            cands.append(Candidate(li, None, line.quantity, usage, False, bulky, kidx, ships))
        elif item.components:
            for comp in item.components:
                cands.append(Candidate(li, comp.sku, line.quantity * comp.quantity,
                                       {sku_index[comp.sku]: 1}, True, bulky, kidx, ships))
        else:
            cands.append(Candidate(li, None, line.quantity, {sku_index[line.sku]: 1}, True,
                                   bulky, kidx, ships))

    fixed: list[FixedPart] = []
    shortages: list[FixedPart] = []
    for cand in cands:  # bulky first: fastest delivery, their own children
        if cand.bulky:
            taken, left = source_fastest(cand, stock, minutes)
            fixed += [FixedPart("bulky", cand.line, cand.component, u, w, keys[cand.key_index])
                      for w, u in taken]
            if left:
                shortages.append(FixedPart("backorder", cand.line, cand.component, left, None,
                                           keys[cand.key_index]))
    rest = [c for c in cands if not c.bulky]
    shippable = shippable_quantities(rest, stock, minutes)
    for cand, units in zip(rest, shippable, strict=True):
        if units < cand.quantity:
            shortages.append(FixedPart("backorder", cand.line, cand.component,
                                       cand.quantity - units, None, keys[cand.key_index]))

    store_short = bool(store.lines) and store.warehouse is None
    waits = order.backorder == "wait" and (bool(shortages) or store_short)
    if waits:  # nothing ships until everything can: every non-store line waits
        fixed = [FixedPart("backorder", c.line, c.component, c.quantity, None,
                           keys[c.key_index]) for c in cands]
        rest, shippable = [], []
    else:
        fixed += shortages

    # Problem items: the non-bulky candidates' shippable units, groups renumbered densely.
    rows = [(c, u) for c, u in zip(rest, shippable, strict=True) if u > 0]
    cost_scale = _cost_scale(request)
    group_of_key: dict[int, int] = {}
    for c, _ in rows:
        group_of_key.setdefault(c.key_index, len(group_of_key))
    n = len(rows)
    usage_matrix = np.zeros((n, n_skus), dtype=np.int64)
    for i, (c, _) in enumerate(rows):
        for k, u in c.usage.items():
            usage_matrix[i, k] = u
    problem = SplitProblem(
        quantity=np.array([u for _, u in rows], dtype=np.int64),
        usage=usage_matrix,
        splittable=np.array([c.splittable for c, _ in rows], dtype=bool),
        group=np.array([group_of_key[c.key_index] for c, _ in rows], dtype=np.int64),
        stock=stock,
        allowed=np.array([c.allowed for c, _ in rows], dtype=bool).reshape(n, m),
        hours=np.where(minutes >= 0, minutes, 0),
        cost=np.array([cost_units(wh.child_cost, cost_scale) for wh in warehouses],
                      dtype=np.int64),
        objective=expand_objective(request.objective_order()),
        per_warehouse=rules.warehouse,
        fixed_makespan=max((int(minutes[p.warehouse]) for p in fixed
                            if p.kind == "bulky" and p.warehouse is not None), default=0),
        seed=request.options.seed,
        n_groups=len(group_of_key),
        line=np.array([c.line for c, _ in rows], dtype=np.int64),
        price=price,
        price_scale=price_scale,
    )
    layout = Layout(
        order_id=order.id,
        warehouse_ids=tuple(wh.id for wh in warehouses),
        minutes=minutes,
        items=tuple(ItemRef(c.line, c.component, keys[c.key_index]) for c, _ in rows),
        group_keys=tuple(keys[k] for k in group_of_key),
        fixed=tuple(fixed + store_parts),
        waits=waits,
        cost_scale=cost_scale,
        store_warehouse=store.warehouse,
        store_lines=store.lines,
        sku_index=sku_index,
    )
    return Compiled(problem, layout)
