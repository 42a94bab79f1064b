"""A valid lower bound on the children of any joint plan: per-order bounds, waiting jointly.

The per-order bound (each order alone with all the stock) is *not* a bound on joint
plans when stock is short: an order that waits for some of its units can end with
fewer children than it would need to ship everything (a group that waits whole is one
back-order child). :func:`joint_bound` accounts for waiting network-wide.

**Claim.** Let ``U`` be a cap on the SKU units left waiting (we use the larger of the
sequential and the batch plans' waiting, so the bound holds for both and for every plan
that leaves no more waiting than either). Every joint plan (each order split against
stock it is given, the orders' stock together within the network's) that leaves at most
``U`` units waiting has at least ``ceil(LP)`` children, where ``LP`` is the optimum of
the linear program below.

For order ``o`` (SKU demand ``d[o,k]``, units of SKU ``k`` it needs): ``GB[o]`` is its
group bound (one child per rule group, plus the store child: true of every plan);
``P[o]`` the proven optimum of its children alone with all the stock when that split
ships everything and the objective puts children first, else ``GB[o]``. For orders of
the plain structure (``OrderTemplate.col_group``: rule groups with their own SKUs, no
bulky or store lines), ``P1[o,g]`` is 1 if one shipping location holds group ``g``'s
whole demand, else 2.

Variables in [0, 1]: ``y[o]`` (the order leaves something waiting), and for plain orders
``a[o,g]`` (group ``g`` waits whole), ``b[o,g]`` (it waits in part); waiting units
``w[o,k] >= 0`` for every SKU ``k`` in shortage (``short[k] = max(0, sum_o d[o,k] -
stock[k]) > 0``) and ``v`` for the order's (plain: the group's) other SKUs together.

* plain order: cost ``P[o] - (P[o] - sum_g P1[o,g]) y[o] - sum_g (P1[o,g] - 1) a[o,g]
  + sum_g (2 - P1[o,g]) b[o,g]``; ``a + b <= 1``; ``a, b <= y <= sum_g (a + b)``; per group
  ``d a <= w <= d (a + b)`` for each of its SKUs (``v`` likewise with the units of its
  other SKUs) and ``sum w + v >= b``;
* other order: cost ``P[o] - (P[o] - GB[o]) y[o]``; ``w <= d y``, ``v <= d y``,
  ``sum w + v >= y``; ``y = 1`` if the order waits even with all the stock;
* network: ``sum_o w[o,k] >= short[k]`` for every short SKU; all waiting ``<= U`` (less
  the units of SKUs no location lists, which always wait).

**Proof.** Take such a joint plan and set ``y``, ``a``, ``b`` to its facts and ``w``,
``v`` to its waiting units. An order that ships everything used part of the stock, so
its plan is feasible alone with all of it: children ``>= P[o]``, its cost with
``y = a = b = 0``. An order with waiting units has ``y = 1``. Its children are at least
``GB[o]``. For a plain order they add up per group: a group waiting whole is one
back-order child (1), a group waiting in part has its back-order child and at least
one shipment child (2), a group shipping whole needs ``P1`` locations (every location
is its own child); the cost is exactly the sum of those. The waiting constraints hold
by definition (a unit waits or ships; the network ships at most its stock of each SKU,
so at least ``short[k]`` units of ``k`` wait). So the plan's children are at least the
LP's value at a feasible point, hence at least its optimum; children are integers, so
``ceil`` too. The LP is solved with HiGHS; the value is rounded down by a tolerance
before ``ceil``. If HiGHS does not prove the optimum in time, the bound falls back to
the sum of group bounds (always valid).

Orders whose split failed are left out (they are not in any reported figure).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ordersplit.batch.model import OrderPlan, OrderTemplate, World
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

TOLERANCE = 1e-6
"""Relative slack taken off the LP value before rounding up (floating point)."""
LP_ROWS_PER_S = 5000
"""Rows of the LP that HiGHS solves per second of budget, roughly (10k orders: 87k rows
in 4 s; 30k: 260k rows in 44 s; 100k: 917k rows, not solved in 60 s, nor by PDLP in
250 s). A larger LP is not built: the bound falls back to the group bound at once."""


@dataclass
class JointBound:
    """The bound and how it was obtained."""

    children: int
    status: str
    """``optimal`` (the LP), ``trivial`` (nothing to relax), ``fallback`` (the LP was not
    solved in time: group bound) or ``too_large`` (the LP would exceed
    :data:`LP_ROWS_PER_S` rows per second of budget: group bound, not built)."""
    wait_cap_units: int
    short_units: int
    """Units that must wait in any plan (demand over stock, summed over SKUs)."""
    per_order: int
    group: int
    lp_rows: int = 0
    lp_cols: int = 0
    runtime_s: float = 0.0


def waiting_units(templates: Sequence[OrderTemplate], plans: Sequence[OrderPlan],
                  ok: Sequence[bool]) -> int:
    """SKU units the plans leave waiting (demand minus what they ship), planned orders only."""
    total = 0
    for tpl, plan, keep in zip(templates, plans, ok, strict=True):
        if keep:
            total += int(tpl.demand.sum()) - int(plan.use_units.sum())
    return total


def proven_children(tpl: OrderTemplate, plan: OrderPlan) -> int:
    """``P[o]``: the order's proven least children alone with all the stock, if it ships
    everything there and children come first; else its group bound."""
    if (plan.failed or plan.status != "optimal" or plan.backorder_units > 0
            or tpl.request.objective_order()[0] != "children"):
        return tpl.group_bound
    return max(plan.children, tpl.group_bound)


def _single_cover(world: World, tpl: OrderTemplate) -> IntArray:
    """``P1`` per rule group of a plain order: 1 if one shipping location holds the group's
    whole demand, else 2."""
    assert tpl.col_group is not None and tpl.group_units is not None
    minutes = world.minutes(tpl.request.order.destination)
    ships = (minutes >= 0) & (world.is_store() == 0)
    enough = world.stock[:, tpl.cols] >= tpl.demand[None, :]
    out = np.full(tpl.group_units.size, 2, dtype=np.int64)
    for g in range(out.size):
        if (ships & enough[:, tpl.col_group == g].all(axis=1)).any():
            out[g] = 1
    return out


class _LP:
    """A sparse LP in row form for HiGHS (minimize)."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def var(self, lb: float, ub: float, cost: float = 0.0) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.cost.append(cost)
        return len(self.lb) - 1

    def row(self, lo: float, hi: float, idx: list[int], val: list[float]) -> None:
        self.rows.append((lo, hi, idx, val))

    def solve(self, time_limit_s: float) -> tuple[str, float]:
        import highspy

        from ordersplit.solver.backends.milp import new_highs

        h = new_highs()
        h.setOptionValue("time_limit", max(1.0, float(time_limit_s)))
        n = len(self.lb)
        inf = highspy.kHighsInf
        h.addVars(n, np.array(self.lb), np.array([inf if math.isinf(u) else u
                                                  for u in self.ub]))
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(self.cost))
        if self.rows:
            lo = np.array([-inf if math.isinf(r[0]) else r[0] for r in self.rows])
            hi = np.array([inf if math.isinf(r[1]) else r[1] for r in self.rows])
            starts = np.cumsum([0] + [len(r[2]) for r in self.rows[:-1]]).astype(np.int32)
            idx = np.array([i for r in self.rows for i in r[2]], dtype=np.int32)
            val = np.array([v for r in self.rows for v in r[3]], dtype=np.float64)
            h.addRows(len(self.rows), lo, hi, idx.size, starts, idx, val)
        h.run()
        status = h.modelStatusToString(h.getModelStatus()).lower()
        return status, float(h.getInfo().objective_function_value)


def joint_bound(world: World, templates: Sequence[OrderTemplate], lower: Sequence[OrderPlan],
                ok: Sequence[bool], wait_cap_units: int, time_limit_s: float = 60.0
                ) -> JointBound:
    """The bound of the module docstring over the orders with ``ok``."""
    t0 = time.perf_counter()
    orders = [o for o, keep in enumerate(ok) if keep]
    n_skus = world.stock.shape[1]
    demand = np.zeros(n_skus, dtype=np.int64)
    unknown_units = 0
    for o in orders:
        tpl = templates[o]
        known = tpl.cols >= 0
        np.add.at(demand, tpl.cols[known], tpl.demand[known])
        unknown_units += int(tpl.demand[~known].sum())
    short = np.maximum(0, demand - world.stock.sum(axis=0))
    p = {o: proven_children(templates[o], lower[o]) for o in orders}
    per_order = sum(p.values())
    group = sum(templates[o].group_bound for o in orders)
    base = JointBound(per_order, "trivial", wait_cap_units, int(short.sum()) + unknown_units,
                      per_order, group)
    lp = _LP()
    const = 0.0
    short_vars: dict[int, list[int]] = {}
    wait_vars: list[int] = []
    max_rows = int(LP_ROWS_PER_S * time_limit_s)
    for o in orders:
        if len(lp.rows) > max_rows:
            log.warning("joint bound LP: over %d rows; falling back to the group bound",
                        max_rows)
            base.children, base.status = group, "too_large"
            base.lp_rows, base.lp_cols = len(lp.rows), len(lp.lb)
            base.runtime_s = time.perf_counter() - t0
            return base
        tpl, plan = templates[o], lower[o]
        cols = tpl.cols
        is_short = (cols >= 0) & (short[np.maximum(cols, 0)] > 0)
        plain = tpl.col_group is not None and p[o] == plan.children and plan.backorder_units == 0
        forced = plan.failed or plan.backorder_units > 0
        if plain:
            p1 = _single_cover(world, tpl)
            gain = p[o] - int(p1.sum()) + int((p1 - 1).sum())
            if gain == 0 and not is_short.any():
                const += p[o]  # waiting can only cost it children and absorbs no shortage
                continue
            y = lp.var(0, 1, -(p[o] - float(p1.sum())))
            const += p[o]
            ab: list[int] = []
            assert tpl.col_group is not None
            for g in range(p1.size):
                a = lp.var(0, 1, -(float(p1[g]) - 1))
                b = lp.var(0, 1, 2 - float(p1[g]))
                ab += [a, b]
                lp.row(-math.inf, 1, [a, b], [1, 1])
                lp.row(0, math.inf, [y, a], [1, -1])
                lp.row(0, math.inf, [y, b], [1, -1])
                in_g = tpl.col_group == g
                units: list[int] = []
                for j in np.flatnonzero(in_g & is_short).tolist():
                    d = float(tpl.demand[j])
                    w = lp.var(0, d)
                    short_vars.setdefault(int(cols[j]), []).append(w)
                    lp.row(0, math.inf, [w, a], [1, -d])
                    lp.row(-math.inf, 0, [w, a, b], [1, -d, -d])
                    units.append(w)
                rest = float(tpl.demand[in_g & ~is_short].sum())
                if rest > 0:
                    v = lp.var(0, rest)
                    lp.row(0, math.inf, [v, a], [1, -rest])
                    lp.row(-math.inf, 0, [v, a, b], [1, -rest, -rest])
                    units.append(v)
                lp.row(0, math.inf, [*units, b], [1.0] * len(units) + [-1.0])
                wait_vars += units
            lp.row(-math.inf, 0, [y, *ab], [1.0] + [-1.0] * len(ab))
            continue
        gain = p[o] - tpl.group_bound
        if gain == 0 and not is_short.any() and not forced:
            const += p[o]
            continue
        y = lp.var(1 if forced else 0, 1, -float(gain))
        const += p[o]
        units = []
        for j in np.flatnonzero(is_short).tolist():
            d = float(tpl.demand[j])
            w = lp.var(0, d)
            short_vars.setdefault(int(cols[j]), []).append(w)
            lp.row(-math.inf, 0, [w, y], [1, -d])
            units.append(w)
        rest = float(tpl.demand[~is_short & (cols >= 0)].sum())
        if rest > 0:
            v = lp.var(0, rest)
            lp.row(-math.inf, 0, [v, y], [1, -rest])
            units.append(v)
        if units:
            lp.row(0, math.inf, [*units, y], [1.0] * len(units) + [-1.0])
        elif not (tpl.cols < 0).any():
            lp.row(0, 0, [y], [1.0])  # nothing can wait: it ships everything
        wait_vars += units
    for k, ws in short_vars.items():
        lp.row(float(short[k]), math.inf, ws, [1.0] * len(ws))
    if wait_vars:
        lp.row(-math.inf, float(wait_cap_units - unknown_units), wait_vars,
               [1.0] * len(wait_vars))
    base.lp_rows, base.lp_cols = len(lp.rows), len(lp.lb)
    if not lp.lb:
        base.children = round(const)
        base.runtime_s = time.perf_counter() - t0
        return base
    status, value = lp.solve(time_limit_s)
    base.runtime_s = time.perf_counter() - t0
    if status != "optimal":
        log.warning("joint bound LP: %s; falling back to the group bound", status)
        base.children, base.status = group, "fallback"
        return base
    relax = const + value  # value <= 0: what waiting can save at best
    base.children = max(group, math.ceil(relax - TOLERANCE * max(1.0, abs(value)) - 1e-9))
    base.status = "optimal"
    return base
