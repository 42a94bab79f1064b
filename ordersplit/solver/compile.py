"""Compile a validated request into a :class:`SplitProblem` plus the layout to map back.

``compile_request`` is a pure function: request in, ``Compiled`` out. The layout keeps
what the numbers stand for (line of each item, warehouse ids, group keys) and the
parts the rules fixed before optimization (bulky, store and back-order parts), so that
the plan builder can turn an assignment into child orders without re-reading rules.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Literal, NamedTuple

import numpy as np

from ordersplit.models.request import SplitRequest, Warehouse
from ordersplit.rules.costs import cost_table_memo
from ordersplit.rules.keys import GroupKey, KeyFields, key_fields
from ordersplit.rules.presource import (
    Candidate,
    fastest_first,
    shippable_quantities,
    source_fastest,
)
from ordersplit.rules.store import place_store_lines
from ordersplit.solver.problem import UNLIMITED, IntArray, SplitProblem

FixedKind = Literal["bulky", "store", "backorder"]
PRICE_DECIMALS = 6
"""Decimals of a stock price kept by the integer price matrix (fewer on huge orders)."""
SMALL_STOCK = 1000
"""Stock cells listed by the warehouses up to which the stock matrix is filled from a
Python list (numpy's per-call cost would dominate); beyond, the walk runs in C."""
STOCK_VALUE_LIMIT = 2**50
"""The largest ``stock_value`` the scaled prices may reach: exact in int64 and in the
MIP solvers' doubles (2^53), with room for the solvers' sums."""


class ItemRef(NamedTuple):
    """What a problem item stands for: a parent line, or one component of a bundle line.

    (Named tuples, this and :class:`FixedPart`: immutable, and built in C, several
    times quicker than a frozen dataclass; a small order makes a dozen of them.)"""

    line: int
    component: str | None
    key: GroupKey


class FixedPart(NamedTuple):
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


def _arrival_minutes(warehouses: Sequence[Warehouse], destination: str) -> list[int]:
    """Minutes from each warehouse to ``destination`` (``*``: any other; -1: none)."""
    out: list[int] = []
    for wh in warehouses:
        hours = wh.delivery_hours.get(destination)
        if hours is None:
            hours = wh.delivery_hours.get("*")
        out.append(-1 if hours is None else round(hours * 60))
    return out


def _stock_matrix(warehouses: Sequence[Warehouse], sku_index: dict[str, int],
                  counted: bool) -> IntArray:
    """``[W, K]`` stock of the order's SKUs (``UNLIMITED`` where listed, when the stock
    rule is off)."""
    m, n_skus = len(warehouses), len(sku_index)
    listed = [wh.stock for wh in warehouses]
    if sum(map(len, listed)) > SMALL_STOCK or m * n_skus > 64 * SMALL_STOCK:
        return _stock_matrix_c(listed, sku_index, counted)
    # a machine-integer buffer filled cell by cell, then seen as an array without a
    # copy: quicker than numpy cell by cell, and than converting a list of ints
    flat = array("q", bytes(8 * m * n_skus))
    lookup = sku_index.get
    base = 0
    for cells in listed:
        for sku, units in cells.items():
            k = lookup(sku)
            if k is not None:
                flat[base + k] = units if counted else UNLIMITED
        base += n_skus
    return np.frombuffer(flat, dtype=np.int64).reshape(m, n_skus)


def _stock_matrix_c(listed: list[dict[str, int]], sku_index: dict[str, int],
                    counted: bool) -> IntArray:
    """:func:`_stock_matrix` from each warehouse's ``stock`` with the dict walks in C
    (``map``/``chain``/``fromiter``): a 2,500-warehouse network lists hundreds of
    thousands of cells."""
    m = len(listed)
    stock = np.zeros((m, len(sku_index)), dtype=np.int64)
    sizes = np.fromiter(map(len, listed), dtype=np.int64, count=m)
    total = int(sizes.sum())
    if not total:
        return stock
    ks = np.fromiter(map(sku_index.get, chain.from_iterable(listed), repeat(-1)),
                     dtype=np.int64, count=total)
    mine = ks >= 0
    rows = np.repeat(np.arange(m), sizes)[mine]
    if counted:
        given = np.fromiter(chain.from_iterable(map(dict.values, listed)), dtype=np.int64,
                            count=total)
        stock[rows, ks[mine]] = given[mine]
    else:  # with the stock rule off, listing a SKU is enough
        stock[rows, ks[mine]] = UNLIMITED
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
    for line in order.lines:
        comps = catalog[line.sku].components
        for sku in [c.sku for c in comps] if comps else [line.sku]:
            sku_index.setdefault(sku, len(sku_index))
    n_skus = len(sku_index)

    arrival = _arrival_minutes(warehouses, order.destination)
    minutes = np.array(arrival, dtype=np.int64)
    ships = minutes >= 0  # reaches the destination, and is no store (stores ship store lines)
    stores = [w for w, wh in enumerate(warehouses) if wh.kind == "store"]
    if stores:
        ships[stores] = False

    stock = _stock_matrix(warehouses, sku_index, rules.stock)
    price, price_scale = price_matrix(request, sku_index)

    keys: list[GroupKey] = []
    key_pos: dict[KeyFields, int] = {}
    store = place_store_lines(request, arrival)
    store_parts: list[FixedPart] = []
    cands: list[Candidate] = []
    # every key rule on (the default): a line's key is its item's four fields as they are
    every_key = rules.merchant and rules.handling and rules.temperature and rules.cross_border
    for li, line in enumerate(order.lines):
        item = catalog[line.sku]
        fields = ((item.merchant, item.handling, item.temperature, item.cross_border)
                  if every_key else key_fields(item, rules))
        if li in store.lines:  # one store that holds them all, else they wait together
            store_parts.append(FixedPart("store" if store.warehouse is not None else "backorder",
                                         li, None, line.quantity, store.warehouse,
                                         GroupKey(*fields)))
            continue
        kidx = key_pos.get(fields)
        if kidx is None:
            kidx = key_pos[fields] = len(keys)
            keys.append(GroupKey(*fields))
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
    fastest = fastest_first(arrival)
    for cand in cands:  # bulky first: fastest delivery, their own children
        if cand.bulky:
            taken, left = source_fastest(cand, stock, fastest)
            fixed += [FixedPart("bulky", cand.line, cand.component, u, w, keys[cand.key_index])
                      for w, u in taken]
            if left:
                shortages.append(FixedPart("backorder", cand.line, cand.component, left, None,
                                           keys[cand.key_index]))
    rest = [c for c in cands if not c.bulky]
    shippable = shippable_quantities(rest, stock, fastest)
    for j, cand in enumerate(rest):  # ``shippable`` has one entry per candidate of ``rest``
        units = shippable[j]
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
    rows = [(c, shippable[j]) for j, c in enumerate(rest) if shippable[j] > 0]
    cost_scale, costs = cost_table_memo(tuple([wh.child_cost for wh in warehouses]))
    group_of_key: dict[int, int] = {}
    n = len(rows)
    usage_flat = array("q", bytes(8 * n * n_skus))  # as the stock matrix
    quantity, splittable, group, line_of = [], [], [], []
    for i, (c, units) in enumerate(rows):
        for k, u in c.usage.items():
            usage_flat[i * n_skus + k] = u
        quantity.append(units)
        splittable.append(c.splittable)
        group.append(group_of_key.setdefault(c.key_index, len(group_of_key)))
        line_of.append(c.line)
    allowed = np.empty((n, m), dtype=bool)
    allowed[:] = ships  # every candidate may ship from ``ships``
    problem = SplitProblem.compiled(  # the arrays agree by construction: no checks
        quantity=np.array(quantity, dtype=np.int64),
        usage=np.frombuffer(usage_flat, dtype=np.int64).reshape(n, n_skus),
        splittable=np.array(splittable, dtype=bool),
        group=np.array(group, dtype=np.int64),
        stock=stock,
        allowed=allowed,
        hours=np.maximum(minutes, 0),
        cost=np.array(costs, dtype=np.int64),
        objective=expand_objective(request.objective_order()),
        per_warehouse=rules.warehouse,
        fixed_makespan=max((arrival[p.warehouse] for p in fixed
                            if p.kind == "bulky" and p.warehouse is not None), default=0),
        seed=request.options.seed,
        n_groups=len(group_of_key),
        line=np.array(line_of, dtype=np.int64),
        price=price,
        price_scale=price_scale,
    )
    layout = Layout(
        order_id=order.id,
        warehouse_ids=tuple([wh.id for wh in warehouses]),
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
