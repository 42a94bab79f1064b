"""The exact group program: the joint bound's tight relaxation on small batches.

:mod:`ordersplit.batch.bound`'s program shares stock only between rule groups that ship
whole from one location; a group that ships from several locations or waits in part
takes no stock there, which leaves the bound up to 10% under the optimum on batches
where most orders need several locations. This program models every grouped order
(:func:`~ordersplit.batch.bound.bound_groups`) unit by unit:

* ``u[g, w, k]`` (integer, at most ``min(d[g,k], stock[w,k])``): units of SKU ``k`` that
  group ``g`` ships from shipping location ``w`` (delivers to the order's destination,
  not a store); ``z[g, w]`` (0/1, cost 1): the group ships from ``w``,
  ``u <= min(d, stock) z``;
* ``t[g, k] = d[g,k] - sum_w u[g, w, k]`` (integer, at least the units of ``k`` that
  wait in any plan of the order, ``bound.alone_waiting``: e.g. a bundle that no one
  location ships whole): units waiting; ``b[g]`` (0/1,
  cost 1): the group's back-order child, ``t <= d b`` (fixed to 1 when the group has a
  SKU no location lists);
* ``sum_w z[g, w] >= P[g] (1 - b[g])``: a group that ships whole needs at least ``P[g]``
  locations (its least alone with all the stock, see ``_plain_groups``);
* **stock cells** ``sum_g u[g, w, k] <= stock[w, k]`` for every cell;
* **without withholding** (``no_withholding``): a covered plain column never waits
  (``t = 0``, the bound module's argument), and a plain column of SKU ``k`` that only
  grouped orders take waits only when every shipping location of the order has given
  out its stock of ``k``: ``s[g, k]`` (0/1), ``t <= d s`` and
  ``sum_g u[g, w, k] >= stock[w, k] s`` for those locations;
* the other orders, the shortage rows and the waiting cap exactly as in the bound's
  program.

**Claim and proof.** A joint plan of the bound's claim gives a feasible point: each
child of a grouped order is one (group, location) or a group's back-order child (the
children add up over groups, see ``bound_groups``), so ``z`` and ``b`` are its children
and ``u``, ``t`` the units it ships and leaves waiting, within each location's stock
and the order's reach; a group shipping whole has at least ``P[g]`` locations. Without
withholding, a waiting plain unit of ``k`` means no shipping location of the order has
any ``k`` left; when only grouped orders take ``k``, what they took there is all of it.
The other orders and the network rows hold as in the bound's proof. Every variable is
integral at that point, so the integer program's optimum, or the solver's proven bound
when its time runs out (CP-SAT's up to ``bound.CPSAT_MAX_COLS`` columns, else HiGHS's
dual bound), is at most the plan's children. Bundles (one location per
line) and per-order rules beyond the groups only restrict plans, so they may be
relaxed here.

The program grows with (order, group, location, SKU) cells: it is built only when it
has at most :data:`FLOW_COLS_PER_S` columns per second of the bound's budget (and at
most :data:`FLOW_MAX_COLS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ordersplit.batch.model import OrderTemplate, World
from ordersplit.batch.sparse_lp import SparseLP
from ordersplit.solver.problem import BoolArray, IntArray

FLOW_MAX_COLS = 100_000
"""Largest exact group program (columns) that is built, whatever the budget."""
FLOW_COLS_PER_S = 500
"""Columns of the exact group program per second of the bound's budget that it may have
(HiGHS may overrun its time limit on a large MIP: 1,000 orders of the default scenario,
28,700 columns, took 24 s against 7 s at load 13; the scarce ones, 6,900 columns, raise
the bound from 1,844 to 2,027 with 30 s and not with 10 s)."""


@dataclass
class Network:
    """Variables that the network rows sum: waiting units per short SKU, all waiting
    units, stock cell users, and withholding switches per cell."""

    short: dict[int, tuple[list[int], list[float]]] = field(default_factory=dict)
    wait_vars: list[int] = field(default_factory=list)
    wait_coef: list[float] = field(default_factory=list)
    cells: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    drained: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def add_short(self, k: int, var: int, coef: float) -> None:
        vs, cs = self.short.setdefault(k, ([], []))
        vs.append(var)
        cs.append(coef)

    def add_wait(self, var: int, coef: float = 1.0) -> None:
        self.wait_vars.append(var)
        self.wait_coef.append(coef)


def flow_fits(world: World, templates: Sequence[OrderTemplate],
                 grouped: dict[int, IntArray], most: float) -> bool:
    """Whether the exact group program of the ``grouped`` orders has at most ``most``
    ``u`` columns (counted until it has more)."""
    ships_base = world.is_store() == 0
    total = 0
    for o, col_group in grouped.items():
        tpl = templates[o]
        ships = ships_base & (world.minutes(tpl.destination) >= 0)
        cols = tpl.cols[(col_group >= 0) & (tpl.cols >= 0)]
        total += int((world.stock[np.ix_(ships, cols)] > 0).sum())
        if total > most:
            return False
    return True


def add_flow_order(lp: SparseLP, net: Network, world: World, tpl: OrderTemplate,
                   col_group: IntArray, least: list[int], never: IntArray, drainable: IntArray,
                   is_short: BoolArray, waits: IntArray) -> float:
    """Add one grouped order's variables (module docstring); returns its constant
    children (store child, groups that must wait). ``least[g]`` is ``P[g]``;
    ``drainable`` the columns that get withholding switches; ``waits`` the units of each
    column that wait in any plan (``bound.alone_waiting``)."""
    const = float(tpl.needs_store)
    ships = (world.minutes(tpl.destination) >= 0) & (world.is_store() == 0)
    where = np.flatnonzero(ships).tolist()
    for g in range(int(col_group.max(initial=-1)) + 1):
        pos = np.flatnonzero(col_group == g).tolist()
        known = [j for j in pos if tpl.cols[j] >= 0]
        if not known:
            const += 1  # nothing of it is stocked anywhere: it waits whole
            continue
        forced = len(known) < len(pos)  # an unknown SKU waits in any plan
        b = -1
        if forced:
            const += 1
        else:
            b = lp.var(0, 1, 1.0)
        opens: list[int] = []
        shipped: dict[int, list[int]] = {j: [] for j in known}
        for w in where:
            cells = [(j, int(tpl.cols[j])) for j in known if world.stock[w, tpl.cols[j]] > 0]
            if not cells:
                continue
            z = lp.var(0, 1, 1.0)
            opens.append(z)
            for j, k in cells:
                cap = float(min(int(tpl.demand[j]), int(world.stock[w, k])))
                u = lp.var(0, cap)
                lp.row(-math.inf, 0, [u, z], [1.0, -cap])
                shipped[j].append(u)
                net.cells.setdefault((w, k), []).append(u)
        for j in known:
            d, k = float(tpl.demand[j]), int(tpl.cols[j])
            if never[j]:
                lp.row(d, d, shipped[j], [1.0] * len(shipped[j]))
                continue
            t = lp.var(float(waits[j]), d)
            lp.row(d, d, [*shipped[j], t], [1.0] * (len(shipped[j]) + 1))
            if b >= 0:
                lp.row(-math.inf, 0, [t, b], [1.0, -d])
            if is_short[j]:
                net.add_short(k, t, 1.0)
            net.add_wait(t)
            if drainable[j]:
                s = lp.var(0, 1)
                lp.row(-math.inf, 0, [t, s], [1.0, -d])
                for w in where:
                    if world.stock[w, k] > 0:
                        net.drained.setdefault((w, k), []).append(s)
        if b >= 0 and least[g] > 0:  # shipping whole takes at least P[g] locations
            lp.row(float(least[g]), math.inf, [*opens, b], [1.0] * len(opens) + [float(least[g])])
    return const


def add_cell_rows(lp: SparseLP, net: Network, stock: IntArray) -> None:
    """Stock cells and withholding rows of the exact group program."""
    for (w, k), us in net.cells.items():
        lp.row(-math.inf, float(stock[w, k]), us, [1.0] * len(us))
    for (w, k), switches in net.drained.items():
        us = net.cells.get((w, k), [])
        cap = float(stock[w, k])
        for s in switches:
            lp.row(0, math.inf, [*us, s], [1.0] * len(us) + [-cap])
