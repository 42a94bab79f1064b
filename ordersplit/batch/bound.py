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

For order ``o`` (``d[o,k]``: units of SKU ``k`` it takes from stock; offline-store lines
take none): ``GB[o]`` is its group bound (one child per rule group, plus the store
child: true of every plan); ``P[o]`` the proven optimum of its children alone with all
the stock when that split ships everything and the objective puts children first, else
``GB[o]``. ``short[k] = max(0, sum_o d[o,k] - stock[k])``: units of ``k`` that wait in
any plan.

**Grouped orders** (:func:`bound_groups`: stock and warehouse rules on, no bulky line, no
SKU in two groups; any objective). Their children add up over their rule groups (plus the
store child): a group has one child per location it ships from and one back-order child
if any of its units wait. Per group ``g`` (demand ``D[g]``): ``C[g]``, the shipping
locations (delivering to the destination, not a store) that hold all of it; ``P[g]``,
its least children shipping whole (proven by the order's optimal plan alone with all the
stock when children come first; else 1 if ``C[g]`` is not empty, else 2). Variables in
[0, 1], exactly one of them 1: ``x[g,w]`` (ships whole from ``w`` in ``C[g]``: cost 1),
``a[g]`` (waits whole: cost 1, ``D[g]`` units wait), ``r[g]`` (ships whole from two or
more locations: cost ``max(2, P[g])``; only if the shipping locations together hold its
demand), ``b[g]`` (waits in part: cost 2; waiting units ``w[g,k] <= d b`` per short SKU,
``v <= d b`` for its other SKUs, at least ``b`` of them). **Stock cells**: for every
(location, SKU) that the groups shipping whole from it could over-use,
``sum d[g,k] x[g,w] <= stock[w,k]``.

**Other orders**: cost ``P[o] - (P[o] - GB[o]) y[o]`` with ``y[o]`` (the order leaves
something waiting; 1 if it waits even with all the stock), waiting units
``w[o,k] <= d y`` per short SKU, ``v <= d y`` for the others, at least ``y`` of them
(unless it has a SKU no location lists, which may be all that waits).

**Network**: the units of ``k`` waiting (``d a`` and ``w`` of the groups, ``w`` of the
other orders) are at least ``short[k]``; all waiting units are at most ``U`` less the
units that take no stock in any plan (SKUs no location lists, offline-store lines),
which :func:`waiting_units` counts as waiting.

**Proof.** Take such a joint plan and set the variables to its facts. A grouped order's
group ships whole from one location (then that location holds all of it: ``x``), waits
whole, ships whole from several locations (at least ``max(2, P[g])`` children: ``P[g]``
is the least alone with all the stock, so also with less), or waits in part (a
back-order and a shipment child); the groups shipping whole from ``w`` take their whole
demand there, within its stock. The cost of the point is at most the plan's children.
An other order that ships everything used part of the stock, so its plan is feasible
alone with all of it: children ``>= P[o]``; with waiting units, ``>= GB[o]``. The waiting
constraints hold by definition (a unit waits or ships; the network ships at most its
stock of each SKU). So the plan's children are at least the LP's value at a feasible
point, hence at least its optimum; children are integers, so ``ceil`` too. The LP is
solved with HiGHS; the value is rounded down by a tolerance before ``ceil``. The
point is integral (choices are 0 or 1, waiting units are counts), so the same program
with every variable integral is a relaxation too: on small batches (at most
:data:`MIP_MAX_ROWS` rows) it is solved next with the rest of the budget, and its
optimum, or its proven dual bound when time runs out, raises the bound. If HiGHS
does not prove the optimum in time, the bound falls back to the sum of group bounds
(always valid). Tests check it against brute-force and CP-SAT joint optima on small
batches.

**Without withholding** (``no_withholding``, used when :func:`withholding_orders` finds
none in the plans the bound is compared with). A plan *withholds* when an order that
ships what it can (``backorder: split``, stock rule on) leaves units of a plain line's
SKU (no bundle, bulky or offline-store line of the order uses it) waiting while a
location shipping to it still has some of that SKU left. Sequential splitting never
does (each order ships what is left), the search's moves re-split against what is left
and the joint moves forbid it; the summary checks both plans all the same. Among plans
without withholding, a plain line's SKU ``k`` *covered* by the network (its stock at
the shipping locations that deliver to every destination of its orders is at least
the batch's demand of it) never waits: if it did, those locations would have none of
it left, so at least that stock would have shipped, which is at least the demand,
more than shipped. Those columns get no waiting variables, and a group with one cannot
wait whole.

Orders whose split failed are left out (they are not in any reported figure).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ordersplit.batch.flow_bound import (
    FLOW_COLS_PER_S,
    FLOW_MAX_COLS,
    Network,
    add_cell_rows,
    add_flow_order,
    flow_fits,
)
from ordersplit.batch.model import OrderPlan, OrderTemplate, World
from ordersplit.batch.plan_columns import Columnar, plan_cells
from ordersplit.batch.sparse_lp import SparseLP
from ordersplit.rules.keys import group_key
from ordersplit.solver.problem import BoolArray, IntArray

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
    no_withholding: bool = False
    """Whether the bound is over plans without withholding (see the module docstring)."""
    lp_children: int = 0
    """The LP's bound alone (``ceil`` of its optimum, at least the group bound)."""
    integer: str = ""
    """The integer program's part: ``optimal`` (its optimum), ``dual_bound`` (its proven
    bound when time ran out) or empty (not solved: the LP too large or no time left)."""


def waiting_units(world: World, templates: Sequence[OrderTemplate],
                  plans: Sequence[OrderPlan], ok: Sequence[bool]) -> int:
    """SKU units the plans leave waiting (demand minus what they ship), planned orders only.

    Offline-store lines count as not shipped, as :func:`joint_bound` assumes (it takes
    them off the cap): what a plan takes from a store's own stock for them is left out
    of what it ships. Counting it as shipped made the cap too small by those units, and
    the LP infeasible (it then fell back to the group bound) on scenarios with stores."""
    store = world.is_store() != 0
    keep = np.asarray(ok, dtype=bool)
    demand = sum(int(tpl.demand.sum()) for tpl, k in zip(templates, ok, strict=True) if k)
    owner, loc, units = plan_cells(plans, "use_loc", "use_units")  # (packed: no objects)
    return demand - int(units[keep[owner] & ~store[loc]].sum())


def proven_children(tpl: OrderTemplate, plan: OrderPlan) -> int:
    """``P[o]``: the order's proven least children alone with all the stock, if it ships
    everything there and children come first; else its group bound."""
    if (plan.failed or plan.status != "optimal" or plan.backorder_units > 0
            or tpl.request.objective_order()[0] != "children"):
        return tpl.group_bound
    return max(plan.children, tpl.group_bound)


GroupFacts = tuple[IntArray, IntArray, IntArray, int, IntArray, IntArray]
"""A rule group's columns, demand, ``C``, ``P``, units short in any plan and ``M`` (see
:func:`_plain_groups`)."""
ROWS_PER_ORDER = 6
"""Rows per order the LP has at least about (10k orders of the default scenario: 7), to
give up at once on an LP that would be too large (:data:`LP_ROWS_PER_S`)."""
MIP_MAX_ROWS = 5_000
"""Largest LP (rows) that is also solved as an integer program."""
MIN_MIP_S = 0.2
"""Least time left of the bound's budget for the integer program to be tried."""
CPSAT_MAX_COLS = 3_000
"""Largest exact group program solved by CP-SAT rather than HiGHS: on 25 orders CP-SAT
proves the optimum (31) in 4 s where HiGHS's bound is 29 after 30 s; on 1,000 scarce
orders (6,900 columns) HiGHS's bound is much the better one."""
MAX_CUTS = 3
"""Location-count cuts per group waiting in part (``L`` = 1..3)."""


def bound_groups(tpl: OrderTemplate) -> IntArray | None:
    """The rule group of every column of an order whose children add up group by group,
    for the bound (``-1``: a column only offline-store lines use); ``None`` when they
    need not.

    They add up when the stock and warehouse rules are on, no line is bulky and no SKU
    serves two groups: then every child is one (group, shipping location), one
    back-order child per group with waiting units, or the store child (store lines take
    no stock). Unlike :func:`~ordersplit.batch.model.fast_plan`'s groups, any objective,
    solver and unknown SKU (always waiting) is allowed: the bound only counts children.
    """
    request = tpl.request
    rules, catalog = request.rules, request.catalog
    if not rules.stock or not rules.warehouse:
        return None
    index = {s: j for j, s in enumerate(tpl.skus)}
    col_group = np.full(tpl.cols.size, -2, dtype=np.int64)
    keys: dict[object, int] = {}
    for line in request.order.lines:
        item = catalog[line.sku]
        if rules.bulky and item.bulky:
            return None
        store = rules.offline_store and item.offline_store
        g = -1 if store else keys.setdefault(group_key(item, rules), len(keys))
        for sku in [c.sku for c in item.components] if item.components else [line.sku]:
            j = index[sku]
            if col_group[j] not in (-2, g):
                return None  # a SKU in two groups (or a store line and a group)
            col_group[j] = g
    if (col_group == -2).any():
        return None
    return col_group


def store_units(tpl: OrderTemplate) -> IntArray:
    """Units of every column that offline-store lines take (from no stock of the batch:
    the store child is fixed; :func:`waiting_units` counts them as not shipped)."""
    request = tpl.request
    out = np.zeros(tpl.cols.size, dtype=np.int64)
    if not tpl.needs_store:
        return out
    index = {s: j for j, s in enumerate(tpl.skus)}
    for line in request.order.lines:
        item = request.catalog[line.sku]
        if item.offline_store:
            for sku, per in ([(c.sku, c.quantity) for c in item.components]
                             if item.components else [(line.sku, 1)]):
                out[index[sku]] += line.quantity * per
    return out


def alone_waiting(tpl: OrderTemplate, plan: OrderPlan) -> IntArray:
    """Units of every column that wait in any plan of the order.

    A bundle (bundle rule on) with a component no location lists never ships: all its
    units wait. A line's units that ship are what its stock view can ship (the
    back-order rule fixes them before the optimizer runs; a bundle whole from one
    location), which can only shrink with the view; so in an order that ships what it
    can (``backorder: split``) a column only one line uses waits at least what the
    order's split alone with all the stock (``plan``, unless it failed) leaves waiting.
    Columns shared by lines get only the first count, as the split may trade units
    between the lines."""
    request = tpl.request
    index = {sku: j for j, sku in enumerate(tpl.skus)}
    lines = np.zeros(tpl.cols.size, dtype=np.int64)
    out = np.zeros(tpl.cols.size, dtype=np.int64)
    for line in request.order.lines:
        item = request.catalog[line.sku]
        parts = ([(c.sku, c.quantity) for c in item.components] if item.components
                 else [(line.sku, 1)])
        dead = (item.components and request.rules.bundle
                and any(tpl.cols[index[sku]] < 0 for sku, _ in parts))
        for sku, per in parts:
            lines[index[sku]] += 1
            if dead:
                out[index[sku]] += line.quantity * per
    if plan.failed or request.order.backorder != "split":
        return out
    used = np.zeros(tpl.cols.size, dtype=np.int64)
    pos = {int(k): j for j, k in enumerate(tpl.cols.tolist()) if k >= 0}
    for k, u in zip(plan.use_col.tolist(), plan.use_units.tolist(), strict=True):
        used[pos[int(k)]] += int(u)
    single = lines == 1
    alone = np.maximum(0, tpl.demand - used - store_units(tpl))
    out[single] = np.maximum(out[single], alone[single])
    return out


def _plain_groups(world: World, tpl: OrderTemplate, plan: OrderPlan, col_group: IntArray
                  ) -> list[GroupFacts]:
    """Per rule group of an order with :func:`bound_groups`: its columns (positions in
    ``tpl.cols``), demand, the shipping locations that hold all of it (``C``), ``P`` (its
    least children when it ships whole: proven by the order's optimal plan alone with all
    the stock when children come first, else 1 if ``C`` is not empty, else 2) and the
    units of each column that wait in any plan (over what the shipping locations hold
    together; all of an unknown SKU; at least :func:`alone_waiting`), and ``M[L - 1]``:
    at most how many of its (known) units any ``L`` shipping locations hold together."""
    minutes = world.minutes(tpl.destination)
    ships = (minutes >= 0) & (world.is_store() == 0)
    known = tpl.cols >= 0
    sub = np.zeros((int(ships.sum()), tpl.cols.size), dtype=np.int64)
    sub[:, known] = world.stock[:, tpl.cols[known]][ships]
    where = np.flatnonzero(ships)
    proven = (not plan.failed and plan.status == "optimal"
              and tpl.request.objective_order()[0] == "children")
    short = set(plan.short_cols.tolist())
    waits = alone_waiting(tpl, plan)
    out = []
    for g in range(int(col_group.max(initial=-1)) + 1):
        pos = np.flatnonzero(col_group == g)
        need = tpl.demand[pos]
        lack = np.where(known[pos], np.maximum(0, need - sub[:, pos].sum(axis=0)), need)
        lack = np.maximum(lack, waits[pos])  # e.g. a bundle no one location ships whole
        whole = not lack.any()
        cover = where[(sub[:, pos] >= need[None, :]).all(axis=1)] if whole else where[:0]
        p = 1 if cover.size else 2
        cols = set(tpl.cols[pos].tolist())
        if proven and whole and not short.intersection(cols):
            locs = {w for w, k in zip(plan.use_loc.tolist(), plan.use_col.tolist(),
                                      strict=True) if k in cols}
            p = max(p, len(locs))
        caps = np.sort(np.minimum(sub[:, pos], need[None, :])[:, known[pos]].sum(axis=1))[::-1]
        out.append((pos, need, cover, p, lack, np.cumsum(caps)))
    return out


def joint_bound(world: World, templates: Sequence[OrderTemplate], lower: Sequence[OrderPlan],
                ok: Sequence[bool], wait_cap_units: int, time_limit_s: float = 60.0,
                no_withholding: bool = False) -> JointBound:
    """The bound of the module docstring over the orders with ``ok`` (``no_withholding``:
    over plans without withholding only)."""
    t0 = time.perf_counter()
    orders = [o for o, keep in enumerate(ok) if keep]
    n_skus = world.stock.shape[1]
    demand = np.zeros(n_skus, dtype=np.int64)
    unknown_units = store_total = 0
    for o in orders:
        tpl = templates[o]
        known = tpl.cols >= 0
        store = store_units(tpl)
        ships = tpl.demand - store
        np.add.at(demand, tpl.cols[known], ships[known])
        unknown_units += int(ships[~known].sum())
        store_total += int(store.sum())
    # stores ship offline-store lines only, and those take no stock
    short = np.maximum(0, demand - world.stock[world.is_store() == 0].sum(axis=0))
    covered = _covered(world, templates, orders, demand) if no_withholding else None
    if isinstance(lower, Columnar):  # the driver's packed list: read each plan once
        lower = list(lower)
    p = {o: proven_children(templates[o], lower[o]) for o in orders}
    per_order = sum(p.values())
    group = sum(templates[o].group_bound for o in orders)
    base = JointBound(per_order, "trivial", wait_cap_units, int(short.sum()) + unknown_units,
                      per_order, group, no_withholding=no_withholding)
    max_rows = int(LP_ROWS_PER_S * time_limit_s)

    def too_large(lp: SparseLP) -> JointBound:
        log.warning("joint bound LP: over %d rows; falling back to the group bound", max_rows)
        base.children = base.lp_children = group
        base.status = "too_large"
        base.lp_rows, base.lp_cols = len(lp.rows), len(lp.lb)
        base.runtime_s = time.perf_counter() - t0
        return base

    if ROWS_PER_ORDER * len(orders) > max_rows:  # not worth building: it would not be solved
        return too_large(SparseLP())
    # plain orders, group by group; first the stock cells they could contend for
    plain: dict[int, list[GroupFacts]] = {}
    grouped: dict[int, IntArray] = {}
    store_child: dict[int, int] = {}
    for o in orders:
        col_group = bound_groups(templates[o])
        if col_group is not None:
            grouped[o] = col_group
            plain[o] = _plain_groups(world, templates[o], lower[o], col_group)
            store_child[o] = int(templates[o].needs_store)
    want = np.zeros_like(world.stock)
    for o, groups in plain.items():
        cols = templates[o].cols
        for pos, need, cover, *_ in groups:
            if cover.size:
                want[np.ix_(cover, cols[pos])] += need[None, :]
    contended = want > world.stock
    lp = SparseLP()
    const = 0.0
    net = Network()
    cell_vars: dict[tuple[int, int], tuple[list[int], list[float]]] = {}
    for o in orders:
        if len(lp.rows) > max_rows:
            return too_large(lp)
        tpl, plan = templates[o], lower[o]
        cols = tpl.cols
        never = (never_waiting(tpl, covered) if covered is not None
                 else np.zeros(cols.size, dtype=bool))
        is_short = (cols >= 0) & (short[np.maximum(cols, 0)] > 0)
        if o in plain:
            const += store_child[o]
            for pos, need, cover, pg, lack, reach in plain[o]:
                whole = not lack.any()
                g_cols = cols[pos]
                g_short = is_short[pos]
                g_known = g_cols >= 0
                if not g_known.any():
                    const += 1  # nothing of it is stocked anywhere: it waits whole
                    continue
                busy = bool(cover.size) and bool(contended[np.ix_(cover, g_cols)].any())
                if whole and cover.size and pg == 1 and not busy and not g_short.any():
                    const += 1  # ships whole from one location, nothing to contend for
                    continue
                const += 1  # every group has at least one child
                choice: list[int] = []
                for w in cover.tolist():  # ships whole from w: one child
                    x = lp.var(0, 1)
                    choice.append(x)
                    for k, d in zip(g_cols.tolist(), need.tolist(), strict=True):
                        if contended[w, k]:
                            vs, cs = cell_vars.setdefault((w, k), ([], []))
                            vs.append(x)
                            cs.append(float(d))
                total = float(need[g_known].sum())  # unknown SKUs wait in any plan
                g_never = never[pos]
                if not g_never.any():  # waits whole: one back-order child
                    a = lp.var(0, 1)
                    choice.append(a)
                    net.add_wait(a, total)
                    for k, d in zip(g_cols[g_short].tolist(), need[g_short].tolist(),
                                    strict=True):
                        net.add_short(k, a, float(d))
                if whole:  # ships whole from two or more locations
                    choice.append(lp.var(0, 1, float(max(2, pg) - 1)))
                b = lp.var(0, 1, 1.0)  # waits in part: a back-order and a shipment child
                choice.append(b)
                lp.row(1, 1, choice, [1.0] * len(choice))
                units: list[int] = []
                own = g_short | ((lack > 0) & g_known)  # short, or some wait in any plan
                for k, d, f, s in zip(g_cols[own].tolist(), need[own].tolist(),
                                      lack[own].tolist(), g_short[own].tolist(), strict=True):
                    w_ = lp.var(0, float(d))
                    lp.row(-math.inf, 0, [w_, b], [1, -float(d)])
                    if f:
                        lp.row(0, math.inf, [w_, b], [1, -float(f)])
                    if s:
                        net.add_short(k, w_, 1.0)
                    units.append(w_)
                rest = float(need[~own & g_known & ~g_never].sum())
                if rest > 0:
                    v = lp.var(0, rest)
                    lp.row(-math.inf, 0, [v, b], [1, -rest])
                    units.append(v)
                if not units and g_known.all():
                    lp.row(0, 0, [b], [1.0])  # none of its units can wait
                if g_known.all():  # waiting in part: one of its (known) units waits
                    lp.row(0, math.inf, [*units, b], [1.0] * len(units) + [-1.0])
                # shipping S = total b - sum(units) > M[L-1] units takes L + 1 locations:
                # e >= L (S - M[L-1] b) / (total - M[L-1]) = L b - L sum(units) / (total -
                # M[L-1]) (at most L, the extra children, whenever S > M[L-1]; <= 0 else)
                cuts = [(L, float(m)) for L, m in enumerate(reach.tolist()[:MAX_CUTS], 1)
                        if m < total]
                if cuts and units:
                    e = lp.var(0, math.inf, 1.0)
                    for L, m in cuts:
                        lp.row(0, math.inf, [e, b, *units],
                               [1.0, -float(L)] + [L / (total - m)] * len(units))
                for u in units:
                    net.add_wait(u)
            continue
        const += _add_other(lp, net, tpl, plan, p[o], is_short, never)
    if len(lp.rows) + len(cell_vars) > max_rows:
        return too_large(lp)
    for (w, k), (vs, cs) in cell_vars.items():
        lp.row(-math.inf, float(world.stock[w, k]), vs, cs)
    cap = wait_cap_units - unknown_units - store_total
    _network_rows(lp, net, short, cap)
    flow = None
    if flow_fits(world, templates, grouped,
                    min(FLOW_MAX_COLS, FLOW_COLS_PER_S * time_limit_s)):
        flow = _flow_program(world, templates, lower, orders, grouped, plain, p, covered,
                             short, cap)
    return _finish(lp, base, const, flow, group, time_limit_s, t0)


def _add_other(lp: SparseLP, net: Network, tpl: OrderTemplate, plan: OrderPlan, p_o: int,
               is_short: BoolArray, never: IntArray) -> float:
    """Add an order whose children need not add up over groups (module docstring:
    "Other orders"); returns its constant children."""
    cols = tpl.cols
    forced = plan.failed or plan.backorder_units > 0
    gain = p_o - tpl.group_bound
    if gain == 0 and not is_short.any() and not forced:
        return float(p_o)
    y = lp.var(1 if forced else 0, 1, -float(gain))
    units = []
    for j in np.flatnonzero(is_short).tolist():
        d = float(tpl.demand[j])
        w_ = lp.var(0, d)
        net.add_short(int(cols[j]), w_, 1.0)
        lp.row(-math.inf, 0, [w_, y], [1, -d])
        units.append(w_)
    rest = float(tpl.demand[~is_short & (cols >= 0) & ~never].sum())
    if rest > 0:
        v = lp.var(0, rest)
        lp.row(-math.inf, 0, [v, y], [1, -rest])
        units.append(v)
    unknown = bool((tpl.cols < 0).any())  # then it may wait for those units alone
    if units and not unknown:
        lp.row(0, math.inf, [*units, y], [1.0] * len(units) + [-1.0])
    elif not units and not unknown:
        lp.row(0, 0, [y], [1.0])  # nothing can wait: it ships everything
    for u in units:
        net.add_wait(u)
    return float(p_o)


def _flow_program(world: World, templates: Sequence[OrderTemplate],
                  lower: Sequence[OrderPlan], orders: Sequence[int],
                  grouped: dict[int, IntArray], facts: dict[int, list[GroupFacts]],
                  p: dict[int, int], covered: IntArray | None, short: IntArray, cap: int
                  ) -> tuple[SparseLP, float]:
    """The exact group program of :mod:`ordersplit.batch.flow_bound` and its constant."""
    lp, net = SparseLP(), Network()
    const = 0.0
    # SKUs some non-grouped order takes: their cells may hold units the program ignores
    other = {int(k) for o in orders if o not in grouped for k in templates[o].cols if k >= 0}
    for o in orders:
        tpl = templates[o]
        cols = tpl.cols
        never = (never_waiting(tpl, covered) if covered is not None
                 else np.zeros(cols.size, dtype=bool))
        is_short = (cols >= 0) & (short[np.maximum(cols, 0)] > 0)
        if o not in grouped:
            const += _add_other(lp, net, tpl, lower[o], p[o], is_short, never)
            continue
        drainable = np.zeros(cols.size, dtype=bool)
        if covered is not None:
            drainable = plain_columns(tpl) & ~never & np.array(
                [int(k) not in other for k in cols.tolist()], dtype=bool)
        const += add_flow_order(lp, net, world, tpl, grouped[o],
                                [f[3] for f in facts[o]], never, drainable, is_short,
                                alone_waiting(tpl, lower[o]))
    add_cell_rows(lp, net, world.stock)
    _network_rows(lp, net, short, cap)
    return lp, const


def _network_rows(lp: SparseLP, net: Network, short: IntArray, cap: int) -> None:
    """The shortage rows per SKU and the waiting cap."""
    for k, (vs, cs) in net.short.items():
        lp.row(float(short[k]), math.inf, vs, cs)
    if net.wait_vars:
        lp.row(-math.inf, float(cap), net.wait_vars, net.wait_coef)


def _covered(world: World, templates: Sequence[OrderTemplate], orders: Sequence[int],
             demand: IntArray) -> IntArray:
    """Per SKU column: whether its stock at the shipping locations that deliver to every
    destination of the orders using it covers the batch's ``demand`` of it."""
    reach_loc = np.repeat((world.is_store() == 0)[:, None], world.stock.shape[1], axis=1)
    by_dest: dict[str, list[IntArray]] = {}
    for o in orders:
        tpl = templates[o]
        by_dest.setdefault(tpl.destination, []).append(tpl.cols[tpl.cols >= 0])
    for dest, cols in by_dest.items():
        used = np.unique(np.concatenate(cols))
        reach_loc[np.ix_(world.minutes(dest) < 0, used)] = False
    return np.asarray((world.stock * reach_loc).sum(axis=0) >= demand, dtype=bool)


def plain_columns(tpl: OrderTemplate) -> IntArray:
    """Columns of an order that ships what it can (``backorder: split``, stock rule on)
    that only plain lines use (no bundle, bulky or offline-store line); none for other
    orders."""
    request = tpl.request
    out = np.zeros(tpl.cols.size, dtype=bool)
    if request.order.backorder != "split" or not request.rules.stock:
        return out
    rules, index = request.rules, {s: j for j, s in enumerate(tpl.skus)}
    out[tpl.cols >= 0] = True
    for line in request.order.lines:
        item = request.catalog[line.sku]
        if ((item.components and rules.bundle) or (rules.bulky and item.bulky)
                or (rules.offline_store and item.offline_store)):
            for sku in [c.sku for c in item.components] if item.components else [line.sku]:
                out[index[sku]] = False
    return out


def never_waiting(tpl: OrderTemplate, covered: IntArray) -> IntArray:
    """Columns of ``tpl`` that wait in no plan without withholding: plain columns
    (:func:`plain_columns`) of a ``covered`` SKU."""
    out = plain_columns(tpl)
    out[out] = covered[tpl.cols[out]]
    return out


def withholding_orders(world: World, templates: Sequence[OrderTemplate],
                       plans: Sequence[OrderPlan], ok: Sequence[bool]) -> int:
    """Orders of ``plans`` that wait for a plain column's SKU while a location shipping to
    them has some of it left (after every plan): 0 means no withholding."""
    used = np.zeros_like(world.stock)
    keep = np.asarray(ok, dtype=bool)
    owner, loc, col, units = plan_cells(plans, "use_loc", "use_col", "use_units")
    live = keep[owner] if owner.size else np.zeros(0, dtype=bool)
    if live.any():
        np.add.at(used, (loc[live], col[live]), units[live])
    left = world.stock - used
    ships_base = world.is_store() == 0
    count = 0
    s_owner, s_cols = plan_cells(plans, "short_cols")  # each plan's, in plan order
    starts = np.flatnonzero(np.r_[True, s_owner[1:] != s_owner[:-1]])
    pieces = np.split(s_cols, starts[1:]) if s_owner.size else []
    for o, short in zip(s_owner[starts].tolist() if s_owner.size else [], pieces, strict=True):
        if not keep[o]:
            continue
        tpl = templates[o]
        plain = set(tpl.cols[plain_columns(tpl)].tolist())
        waiting = [k for k in short.tolist() if k in plain]
        if not waiting:
            continue
        ships = ships_base & (world.minutes(tpl.destination) >= 0)
        count += bool(left[np.ix_(ships, np.array(waiting))].any())
    return count


def _finish(lp: SparseLP, base: JointBound, const: float,
            flow: tuple[SparseLP, float] | None, group: int, time_limit_s: float,
            t0: float) -> JointBound:
    """Solve the LP, round up; then, with the time left, the exact group program
    (``flow``) or else the LP as an integer program, each of which may raise it."""
    base.lp_rows, base.lp_cols = len(lp.rows), len(lp.lb)
    if not lp.lb:
        base.children = base.lp_children = round(const)
        base.runtime_s = time.perf_counter() - t0
        return base
    status, value = lp.solve(time_limit_s)
    base.runtime_s = time.perf_counter() - t0
    if status != "optimal":
        log.warning("joint bound LP: %s; falling back to the group bound", status)
        base.children, base.status = group, "fallback"
        base.lp_children = group
        return base
    relax = const + value
    base.children = base.lp_children = max(group, _round_up(relax))
    base.status = "optimal"
    steps: list[tuple[str, SparseLP, float]] = []
    if flow is not None:
        steps.append(("flow", *flow))
    if len(lp.rows) <= MIP_MAX_ROWS:
        # every variable is a count or a choice in the proof, so the integer program is
        # a valid relaxation too, and on small batches much tighter than the LP
        steps.append(("", lp, const))
    for name, program, offset in steps:
        left = time_limit_s - (time.perf_counter() - t0)
        if left < MIN_MIP_S:
            break
        if name and len(program.lb) <= CPSAT_MAX_COLS and program.integral():
            status, value = program.solve_cpsat(left)  # proves small ones faster
        else:
            status, value = program.solve(left, integer=True)
        if math.isfinite(value) and _round_up(offset + value) > base.children:
            base.children = _round_up(offset + value)
            base.integer = ("optimal" if status == "optimal" else "dual_bound") + (
                f" ({name})" if name else "")
        if status == "optimal":
            break
        base.runtime_s = time.perf_counter() - t0
    base.runtime_s = time.perf_counter() - t0
    return base


def _round_up(value: float) -> int:
    """``ceil`` after taking off the floating-point tolerance."""
    return math.ceil(value - TOLERANCE * max(1.0, abs(value)) - 1e-9)
