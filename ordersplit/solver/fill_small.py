"""The fastest-first fill of a small group of plain lines, in one compiled call.

:func:`~ordersplit.solver.group_search.fill_group` fills a group of plain lines (one
unit of one SKU each, splittable) inside its open warehouses with a dozen numpy calls;
on a 10-line order those calls cost more than the arithmetic. This is the same fill,
unit for unit (:func:`~ordersplit.solver.group_prep.fill_plain`): warehouses fastest
first (ties to the lower index), each SKU's demand taken from them in that order, and
the units handed to the SKU's lines in item order.
"""

from __future__ import annotations

import numpy as np

from ordersplit.solver.group_prep import fill_plain, readonly
from ordersplit.solver.problem import IntArray, SplitProblem

SMALL_FILL = 2048
"""Items x open warehouses up to which the compiled fill runs (beyond: the vectorized one)."""


def fill_small(problem: SplitProblem, items: IntArray, open_wh: IntArray,
               stock: IntArray) -> IntArray | None:
    """Assignment rows of ``items`` (plain lines) inside ``open_wh`` from ``stock``
    (consumed in place); ``None`` when the items do not fit (``stock`` untouched)."""
    rows, fits = fill_plain(problem.hours, problem.allowed[int(items[0])],
                            readonly(np.asarray(open_wh, dtype=np.int64)),
                            readonly(problem.single_sku[items]),
                            readonly(problem.quantity[items]), stock)
    return rows if fits else None
