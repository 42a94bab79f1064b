"""Joint re-allocation: the orders competing for one short SKU, solved together by CP-SAT.

The pairwise moves of :mod:`ordersplit.batch.search` re-split a few orders one after
the other, each taking what the previous ones left. Where many orders compete for a
few units (a scarce SKU), the best use of those units can need several orders to give
way at once: an order shipping two units from two locations waits whole (one child
less) so that two orders each short of one unit ship whole (one child less each).
:func:`allocate` finds such trades by solving the *allocation* of the stock among a
cluster of orders exactly, with one CP-SAT model:

* ``ship[o, k, w]``: units of SKU ``k`` order ``o`` takes from shipping location ``w``
  (within what is left there, after every order outside the cluster);
* a child per (order, rule group, location) that ships something, and a back-order
  child per rule group with units waiting, plus the store child;
* the cluster leaves no more SKU units waiting than it does now, and an order waits
  for a SKU only if no location shipping to it has any of it left (the batch never
  withholds stock from an order that ships what it can; the joint bound relies on it,
  see :func:`ordersplit.batch.bound.withholding_orders`);
* objective: children, then the sum of the orders' delivery (latest arrival).

The model only decides who gets which stock. Each order is then split again exactly
by the single split, against its allocation as its stock view, so every rule of the
order holds and its plan can only be as good or better than the model's count; the
search keeps the result only if it beats the current plans (see
:func:`ordersplit.batch.search.improve_part`).

Only orders whose children add up rule group by rule group enter a model
(:func:`joint_groups`); the others keep their plans and their stock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ordersplit.batch.bound import bound_groups
from ordersplit.batch.model import OrderPlan, OrderTemplate, World
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

JOINT_SIZE = 25
"""Most orders in one joint model (the orders of one SKU, waiting ones first)."""
JOINT_LIMIT_S = 0.1
"""CP-SAT's deterministic time limit per joint model (about seconds)."""
LINEARIZE_FROM_S = 0.5
"""A model given at least this deterministic time (the whole-part move) has CP-SAT's LP
see every linear constraint (``linearization_level`` 2): on small batches of the bound
benchmark it reaches the proven joint optimum on three batches where the default level
stopped one child above it in 1 s (and in less time). The 0.1 s SKU models keep the
default level."""


def joint_groups(tpl: OrderTemplate) -> IntArray | None:
    """The rule group of every column (``-1``: offline-store lines, which take no stock)
    when the joint model holds the order exactly, else ``None``.

    That is: the stock and warehouse rules are on, no line is bulky, no SKU serves two
    groups (:func:`~ordersplit.batch.bound.bound_groups`), no bundle ships whole (a
    bundle is one unsplittable item over several SKUs), the order ships what it can
    (``backorder: split``) and puts children first.
    """
    request = tpl.request
    if request.order.backorder != "split" or request.objective_order()[0] != "children":
        return None
    if request.rules.bundle and any(request.catalog[line.sku].components
                                    for line in request.order.lines):
        return None
    return bound_groups(tpl)


@dataclass(frozen=True)
class JointOrder:
    """One order of a joint model: its template, groups, current plan and the stock it
    may take (``avail[location, column]``, clipped to its demand; 0 where the location
    does not ship to it)."""

    tpl: OrderTemplate
    groups: IntArray
    plan: OrderPlan
    avail: IntArray


def shipping_avail(world: World, tpl: OrderTemplate, view: IntArray) -> IntArray:
    """``view`` with the locations that cannot ship to the order zeroed (stores, and
    locations without delivery hours to its destination)."""
    minutes = world.minutes(tpl.destination)
    ships = (minutes >= 0) & (world.is_store() == 0)
    return np.where(ships[:, None], view, 0)


def allocate(world: World, orders: list[JointOrder], cols: IntArray, residual: IntArray,
             limit_s: float = JOINT_LIMIT_S) -> list[IntArray] | None:
    """Stock views (``[location, column]`` per order) of the best joint allocation, or
    ``None`` when the model finds nothing better than the current plans (in children,
    then delivery) or no solution in time.

    ``residual[location, c]`` is the stock of global SKU column ``cols[c]`` (sorted) left
    with the cluster's plans released; the orders' ``avail`` are clipped views of it.
    """
    from ortools.sat.python import cp_model

    def left(w: int, k: int) -> int:
        return int(residual[w, int(np.searchsorted(cols, k))])

    m = cp_model.CpModel()
    ship: list[dict[tuple[int, int], cp_model.IntVar]] = []
    cells: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    children: list[cp_model.IntVar] = []
    waits: list[cp_model.LinearExprT] = []
    spans: list[cp_model.IntVar] = []
    withheld: list[tuple[cp_model.IntVar, int, int, int]] = []
    const_children = 0
    hint_children = 0
    hint_span = 0
    wait_now = 0
    for jo in orders:
        tpl, plan = jo.tpl, jo.plan
        minutes = world.minutes(tpl.destination)
        used = {(w, k): u for w, k, u in zip(plan.use_loc.tolist(), plan.use_col.tolist(),
                                              plan.use_units.tolist(), strict=True)}
        span = m.new_int_var(0, int(max(0, minutes.max())), "")
        spans.append(span)
        hint_span += plan.makespan
        hint_children += plan.children
        const_children += int(tpl.needs_store)
        own: dict[tuple[int, int], cp_model.IntVar] = {}
        groups = jo.groups
        for g in range(int(groups.max(initial=-1)) + 1):
            members = np.flatnonzero(groups == g).tolist()
            if not members:
                continue
            backorder = m.new_bool_var("")
            children.append(backorder)
            at: dict[int, cp_model.IntVar] = {}
            for j in members:
                k, d = int(tpl.cols[j]), int(tpl.demand[j])
                if k < 0:  # stocked nowhere: waits in any plan
                    m.add(backorder == 1)
                    continue
                wait_now += d - sum(u for (w, kk), u in used.items() if kk == k)
                terms = []
                for w in np.flatnonzero(jo.avail[:, j]).tolist():
                    units = int(jo.avail[w, j])
                    v = m.new_int_var(0, units, "")
                    m.add_hint(v, used.get((w, k), 0))
                    own[(w, j)] = v
                    cells.setdefault((w, k), []).append(v)
                    if w not in at:
                        at[w] = m.new_bool_var("")
                        children.append(at[w])
                        m.add(span >= int(minutes[w]) * at[w])
                    m.add(v <= units * at[w])
                    terms.append(v)
                waiting = d - sum(terms)
                waits.append(waiting)
                m.add(waiting >= 0)
                m.add(waiting <= d * backorder)
                if terms:  # it waits only for units no location shipping to it has left
                    short = m.new_bool_var("")
                    m.add(waiting <= d * short)
                    withheld += [(short, w, k, left(w, k))
                                 for w in np.flatnonzero(jo.avail[:, j]).tolist()]
        ship.append(own)
    for (w, k), vs in cells.items():
        if len(vs) > 1:
            m.add(sum(vs) <= left(w, k))
    for short, w, k, units in withheld:
        m.add(sum(cells[(w, k)]) >= units).only_enforce_if(short)
    m.add(sum(waits) <= wait_now)
    scale = sum(int(max(0, world.minutes(jo.tpl.destination).max()))
                for jo in orders) + 1
    m.minimize(scale * sum(children) + sum(spans))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    if limit_s >= LINEARIZE_FROM_S:
        solver.parameters.linearization_level = 2
    solver.parameters.max_deterministic_time = limit_s
    solver.parameters.max_time_in_seconds = 10 * limit_s  # a guard; the deterministic limit decides
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    found = round(solver.objective_value)
    new_children = const_children + found // scale
    if (new_children, found % scale) >= (hint_children, hint_span):
        return None
    views = []
    for jo, own in zip(orders, ship, strict=True):
        view = np.zeros_like(jo.avail)
        for (w, j), v in own.items():
            view[w, j] = solver.value(v)
        views.append(view)
    return views
