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


def dual_cover_bound(share: np.ndarray) -> int:
    """Lower bound from a feasible dual of the covering LP.

    ``share[w, k]`` in [0, 1] is the part of SKU ``k``'s demand warehouse ``w`` can
    supply; every SKU needs a total share of 1. Giving SKU ``k`` the dual value
    ``1 / max over its candidates w of sum_k' share[w, k']`` keeps every warehouse's
    dual constraint at most 1, so the sum of these values bounds the warehouses needed.
    """
    if share.size == 0:
        return 0
    reach = share.sum(axis=1)
    best = np.where(share > 0, reach[:, None], 0.0).max(axis=0)
    if not best.all():
        return 1 << 30
    return int(np.ceil((1.0 / best).sum() - 1e-9))


def group_lower_bound(problem: SplitProblem, items: IntArray) -> int:
    """Lower bound on the children one group needs (0 for an empty group).

    The larger of two bounds: the fewest warehouses that cover the hardest SKU alone,
    and the covering LP's dual bound (:func:`dual_cover_bound`).
    """
    if items.size == 0 or not problem.quantity[items].any():
        return 0
    if not problem.per_warehouse:
        return 1
    usage = problem.usage[items]
    demand = (usage * problem.quantity[items, None]).sum(axis=0)  # per SKU
    reach = np.asarray(problem.allowed[items].any(axis=0))  # warehouses that may ship any
    need = np.flatnonzero(demand)
    supply = np.where(reach[:, None], problem.stock[:, need], 0)
    best = 1
    for j, k in enumerate(need):
        best = max(best, min_cover_count(supply[:, j], int(demand[k])))
    share = np.minimum(supply, demand[need][None, :]) / demand[need][None, :]
    return max(best, dual_cover_bound(share[share.any(axis=1)]))


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


def stock_value_lower_bound(problem: SplitProblem) -> int:
    """Each item's units at the cheapest unit value among the warehouses that hold some
    (stock coupling only adds): a lower bound on ``stock_value``."""
    if not problem.priced:
        return 0
    big = np.iinfo(np.int64).max
    cheapest = np.where(problem.capacity > 0, problem.unit_value, big).min(axis=1, initial=big)
    counted = (problem.quantity > 0) & (cheapest < big)  # an uncoverable item: no bound
    return int((np.where(counted, cheapest, 0) * problem.quantity).sum())
