"""Shopify's default order-routing rule stack: minimize split fulfillments, then closest.

Shopify ranks locations with its routing rules, in order (help.shopify.com, *Order
routing*): *Minimize split fulfillments* puts locations that have every item in stock
first and, when none has, "the locations that result in the fewest number of
packages"; *Ship from closest location* breaks the remaining ties (the rule *Stay within
the destination market* is moot with one market).

Our reading, on the compiled problem and for the order as a whole (Shopify does not see
our shipping groups): rank the locations by how many of the remaining lines each can
ship in full, then by the units it can ship, then by delivery hours (closest), then by
listing order; the top location ships everything it can; repeat on what is left. When
one location holds the whole order this is the closest such location, as documented.
"""

from __future__ import annotations

import numpy as np

from ordersplit.solver.heuristics.state import Work
from ordersplit.solver.problem import IntArray, SplitProblem


def shopify_rules(problem: SplitProblem) -> IntArray | None:
    """Locations one at a time by (full lines, units, closest, listing)."""
    work = Work(problem)
    index = np.arange(problem.n_warehouses)
    while work.rem.any():
        open_items = np.flatnonzero(work.rem)
        caps = work.caps(open_items)
        units = caps.sum(axis=0)
        if not units.any():
            return None
        full = (caps >= work.rem[open_items, None]).sum(axis=0)
        w = int(np.lexsort((index, problem.hours, -units, -full))[0])
        work.take_from(open_items, w)
    return work.x
