"""Cheap lower bounds on the number of children.

Per group, every SKU's demand must be covered by warehouses that stock it; the
fewest warehouses that can cover one SKU alone (largest stocks first) is a lower
bound for the group, and groups add up. It is the bound the portfolio compares its
heuristics against before it decides whether an exact backend is needed at all.
"""

from __future__ import annotations

import numpy as np

from ordersplit.solver.problem import IntArray, SplitProblem


def min_cover_count(supply: IntArray, demand: int) -> int:
    """Fewest entries of ``supply`` whose sum reaches ``demand`` (a large number if none)."""
    if demand <= 0:
        return 0
    ordered = np.sort(supply[supply > 0])[::-1]
    reach = np.searchsorted(np.cumsum(ordered), demand)  # first index whose prefix >= demand
    return int(reach) + 1 if reach < ordered.size else 1 << 30


def group_lower_bound(problem: SplitProblem, items: IntArray) -> int:
    """Lower bound on the children one group needs (0 for an empty group)."""
    if items.size == 0 or not problem.quantity[items].any():
        return 0
    if not problem.per_warehouse:
        return 1
    usage = problem.usage[items]
    demand = (usage * problem.quantity[items, None]).sum(axis=0)  # per SKU
    reach = problem.allowed[items].any(axis=0)  # warehouses that may ship any of these
    best = 1
    for k in np.flatnonzero(demand):
        supply = np.where(reach, problem.stock[:, k], 0)
        best = max(best, min_cover_count(supply, int(demand[k])))
    return best


def children_lower_bound(problem: SplitProblem) -> int:
    """A valid lower bound on the children of any feasible assignment."""
    return sum(group_lower_bound(problem, items) for items in problem.groups())


def fastest_fill_bounds(problem: SplitProblem) -> tuple[int, int]:
    """Lower bounds on (makespan, unit_hours) for single-SKU problems, ignoring children.

    Every unit ships from the fastest warehouses that have its SKU (per group reach),
    which no plan can beat on unit minutes; the slowest warehouse such a fill must touch
    bounds the makespan. Bundles make the bound ``(fixed_makespan, 0)``.
    """
    if problem.n_items == 0:
        return problem.fixed_makespan, 0
    if not problem.simple:
        return problem.fixed_makespan, 0
    makespan, unit = problem.fixed_makespan, 0
    order = np.lexsort((np.arange(problem.n_warehouses), problem.hours))
    for items in problem.groups():
        skus = problem.single_sku[items]
        local, inverse = np.unique(skus, return_inverse=True)
        demand = np.bincount(inverse, weights=problem.quantity[items]).astype(np.int64)
        reach = np.asarray(problem.allowed[items].any(axis=0))[order]
        sup = np.where(reach[:, None], problem.stock[order][:, local], 0)
        before = np.cumsum(sup, axis=0) - sup
        take = np.clip(demand[None, :] - before, 0, sup)
        hrs = problem.hours[order]
        unit += int((take.sum(axis=1) * hrs).sum())
        used = take.any(axis=1)
        if used.any():
            makespan = max(makespan, int(hrs[used].max()))
    return makespan, unit
