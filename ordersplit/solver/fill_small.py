"""The fastest-first fill of a small group of plain lines, in plain Python.

:func:`~ordersplit.solver.group_search.fill_group` fills a group of plain lines (one
unit of one SKU each, splittable) inside its open warehouses with a dozen numpy calls;
on a 10-line order those calls cost more than the arithmetic. This is the same fill,
unit for unit: warehouses fastest first (ties to the lower index), each SKU's demand
taken from them in that order, and the units handed to the SKU's lines in item order.
"""

from __future__ import annotations

import numpy as np

from ordersplit.solver.problem import IntArray, SplitProblem

SMALL_FILL = 2048
"""Items x open warehouses up to which the fill runs in plain Python."""


def fill_small(problem: SplitProblem, items: IntArray, open_wh: IntArray,
               stock: IntArray) -> IntArray | None:
    """Assignment rows of ``items`` (plain lines) inside ``open_wh`` from ``stock``
    (consumed in place); ``None`` when the items do not fit (``stock`` untouched)."""
    hours = problem.hours
    allowed = problem.allowed[int(items[0])]
    wh = sorted((int(w) for w in open_wh.tolist() if allowed[w]),
                key=lambda w: (int(hours[w]), w))
    skus = problem.single_sku[items].tolist()
    qty = problem.quantity[items].tolist()
    lines_of: dict[int, list[int]] = {}
    for pos, k in enumerate(skus):
        lines_of.setdefault(k, []).append(pos)
    takes: dict[int, list[tuple[int, int]]] = {}
    for k, members in lines_of.items():
        need = sum(qty[p] for p in members)
        column = stock[:, k]
        taken = []
        for w in wh:
            if need == 0:
                break
            got = min(need, int(column[w]))
            if got > 0:
                taken.append((w, got))
                need -= got
        if need:
            return None
        takes[k] = taken
    rows = np.zeros((items.size, problem.n_warehouses), dtype=np.int64)
    for k, taken in takes.items():
        members = lines_of[k]
        line = 0
        left = qty[members[0]]
        for w, got in taken:
            stock[w, k] -= got
            rest = got
            while rest:
                while left == 0:  # a line of zero units takes nothing
                    line += 1
                    left = qty[members[line]]
                units = min(rest, left)
                rows[members[line], w] += units
                rest -= units
                left -= units
    return rows
