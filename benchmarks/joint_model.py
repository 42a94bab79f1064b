"""The monolithic exact model of a small batch: the least children of any joint plan.

One CP-SAT model of the whole batch, built from its validated templates (not from the
bound's code): per order line a count of units per shipping location (a bundle, with
the bundle rule on, ships all its shipped units from one location), a child per (rule
group, location) that ships something, a back-order child per rule group with units
waiting, shared stock cells, at most ``cap`` SKU units waiting (units of SKUs no
location lists always wait) and no withholding (a plain line waits only when every
location shipping to its order has given out that SKU). It covers the orders
:func:`eligible` accepts; the benchmark and the tests draw only such batches.
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from ordersplit.batch.bound import bound_groups, plain_columns
from ordersplit.batch.inputs import BatchInput
from ordersplit.batch.model import OrderTemplate


def eligible(tpl: OrderTemplate) -> bool:
    """Whether the model holds the order exactly: its children add up over rule groups
    (stock and warehouse rules on, no bulky line, no SKU in two groups), no
    offline-store line, back-orders split and children first (so exact per-order splits
    against any share of the stock reach every plan of the model)."""
    request = tpl.request
    return (bound_groups(tpl) is not None and not tpl.needs_store
            and request.order.backorder == "split"
            and request.objective_order()[0] == "children")


def monolithic_optimum(batch: BatchInput, cap: int, limit_s: float = 60.0,
                       no_withholding: bool = True) -> tuple[int | None, float]:
    """``(least children or None if not proven, solve seconds)`` over the batch's
    orders, which must all be :func:`eligible` (``no_withholding=False``: plans that
    withhold count too)."""
    world = batch.world
    m = cp_model.CpModel()
    use: dict[tuple[int, int], list[cp_model.LinearExprT]] = {}
    children: list[cp_model.IntVar] = []
    waits: list[cp_model.LinearExprT] = []
    always_wait = 0
    plain_waits: list[tuple[cp_model.LinearExprT, int, list[int]]] = []
    for tpl in batch.templates:
        if not eligible(tpl):
            raise ValueError(f"order {tpl.order_id}: not held by the monolithic model")
        request = tpl.request
        col_group = bound_groups(tpl)
        assert col_group is not None
        plain = plain_columns(tpl)
        index = {s: j for j, s in enumerate(tpl.skus)}
        ships = (world.minutes(request.order.destination) >= 0) & (world.is_store() == 0)
        where = np.flatnonzero(ships).tolist()
        opened: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = {}
        waited: dict[int, list[cp_model.LinearExprT]] = {}
        col_wait: dict[int, list[cp_model.LinearExprT]] = {}
        for line in request.order.lines:
            item = request.catalog[line.sku]
            comps = ([(c.sku, c.quantity) for c in item.components] if item.components
                     else [(line.sku, 1)])
            g = int(col_group[index[comps[0][0]]])
            cols = [(index[s], int(tpl.cols[index[s]]), per) for s, per in comps]
            if item.components and request.rules.bundle:  # whole bundles, one location
                q = line.quantity
                if any(k < 0 for _, k, _ in cols):
                    always_wait += q * sum(per for *_, per in cols)
                    waited.setdefault(g, []).append(1)
                    continue
                pick = {w: m.new_bool_var("") for w in where}
                m.add(sum(pick.values()) <= 1)
                sent = []
                for w in where:
                    most = min([q] + [int(world.stock[w, k]) // per for _, k, per in cols])
                    n = m.new_int_var(0, most, "")
                    m.add(n <= most * pick[w])
                    sent.append(n)
                    opened.setdefault((g, w), []).append((n, most))
                    for _, k, per in cols:
                        use.setdefault((w, k), []).append(per * n)
                wait = q - sum(sent)
                waited.setdefault(g, []).append(wait)
                waits.append(sum(per for *_, per in cols) * wait)
                continue
            for j, k, per in cols:  # a plain line, or a bundle's components one by one
                q = line.quantity * per
                if k < 0:
                    always_wait += q
                    waited.setdefault(g, []).append(1)
                    continue
                sent = []
                for w in where:
                    most = min(q, int(world.stock[w, k]))
                    if most <= 0:
                        continue
                    n = m.new_int_var(0, most, "")
                    sent.append(n)
                    opened.setdefault((g, w), []).append((n, most))
                    use.setdefault((w, k), []).append(n)
                wait = q - sum(sent)
                m.add(wait >= 0)
                waited.setdefault(g, []).append(wait)
                waits.append(wait)
                col_wait.setdefault(j, []).append(wait)
        for sent in opened.values():
            z = m.new_bool_var("")
            for n, most in sent:  # linear, so CP-SAT's LP sees the link
                m.add(n <= most * z)
            children.append(z)
        for _, pending in waited.items():
            b = m.new_bool_var("")
            for wait in pending:
                if isinstance(wait, int):
                    m.add(b == 1)
                else:
                    m.add(wait == 0).only_enforce_if(b.Not())
            children.append(b)
        for j, ws in col_wait.items():
            if plain[j] and no_withholding:
                k = int(tpl.cols[j])
                plain_waits += [(w_, k, [w for w in where if world.stock[w, k] > 0])
                                for w_ in ws]
    for (w, k), us in use.items():
        m.add(sum(us) <= int(world.stock[w, k]))
    for wait, k, locs in plain_waits:  # no withholding
        some = m.new_bool_var("")
        m.add(wait == 0).only_enforce_if(some.Not())
        for w in locs:
            m.add(sum(use[(w, k)]) == int(world.stock[w, k])).only_enforce_if(some)
    m.add(sum(waits) <= cap - always_wait)
    m.minimize(sum(children))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = limit_s
    solver.parameters.linearization_level = 2
    status = solver.solve(m)
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"monolithic model invalid: {m.validate()}")
    seconds = float(solver.wall_time)
    return (round(solver.objective_value) if status == cp_model.OPTIMAL else None), seconds
