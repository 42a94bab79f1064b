"""Contended stock made exact: split a problem into coverable cases by placing the
items that compete for a SKU.

A bundle (or an unsplittable line) that shares a SKU with other items makes the
covering search inexact: a warehouse may hold enough for each of them alone but not for
both. Such an item ships whole from one warehouse, so every plan falls into one of a
few *placement cases*:

* ``free``: it ships from a warehouse where every SKU it shares holds the whole
  order's demand of that SKU. There it takes nothing any other item could have used.
* ``at w``: it ships from one *conflicting* warehouse ``w`` (usually a handful); its
  units are taken out of ``w``'s stock before the other items are placed.

In each case the item draws on a private SKU column of its own (stock = its quantity
where the case lets it ship), so no two items share a SKU and the case is coverable:
the exact combination search solves it outright. The optimum of the order is the best
case optimum, proven when every case is. A case's plan is a plan of the original order:
``free`` placements fit by construction, ``at w`` placements were subtracted first.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass

import numpy as np

from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

MAX_CASES = 64
"""More placement cases than this and the relaxation (one search, verified) is used."""


@dataclass(frozen=True)
class PlacementCase:
    """One case: the coverable problem and, per contended item, where it may ship
    (``-1`` for the free warehouses)."""

    problem: SplitProblem
    placement: tuple[int, ...]


def _shared_skus(problem: SplitProblem) -> tuple[np.ndarray, np.ndarray]:
    """``[n, K]`` which SKUs each item uses, and ``[K]`` which of them two items use."""
    uses = problem.usage > 0
    return uses, uses.sum(axis=0) > 1


def contended_items(problem: SplitProblem) -> IntArray:
    """Items that do not merge into a SKU element (bundles, unsplittable lines) and use
    a SKU that some other item uses too."""
    uses, shared = _shared_skus(problem)
    merged = (problem.single_sku >= 0) & problem.splittable
    return np.flatnonzero(~merged & (uses & shared[None, :]).any(axis=1))


def placement_cases(problem: SplitProblem, stop: Deadline | None = None,
                    ) -> list[PlacementCase] | None:
    """The coverable cases of a non-coverable ``problem``, or ``None`` when placing
    the contended items does not make it coverable (two plain lines of one SKU in two
    groups), there would be more than :data:`MAX_CASES` cases, or ``stop`` passed
    while they were built."""
    items = contended_items(problem)
    if items.size == 0:
        return None
    uses, shared = _shared_skus(problem)
    total = (problem.usage * problem.quantity[:, None]).sum(axis=0)  # whole demand per SKU
    # a warehouse is free for an item when every SKU it shares holds the whole demand there
    roomy = problem.stock >= total[None, :]  # [W, K]
    can_ship = problem.capacity[items] >= problem.quantity[items, None]  # [n, W]
    options: list[list[int]] = []
    free: list[np.ndarray] = []
    for r, i in enumerate(items):
        mine = uses[i] & shared
        ok_free = roomy[:, mine].all(axis=1) & can_ship[r]
        free.append(ok_free)
        conflicting = np.flatnonzero(can_ship[r] & ~ok_free)
        options.append([-1, *(int(w) for w in conflicting)])
    n_cases = int(np.prod([len(o) for o in options], dtype=np.float64))
    if n_cases > MAX_CASES:
        return None
    cases: list[PlacementCase] = []
    for placement in itertools.product(*options):
        if stop is not None and stop.expired():
            return None
        case = _case_problem(problem, items, placement, free)
        if case is None:
            continue
        if not case.coverable:
            return None
        cases.append(PlacementCase(case, tuple(placement)))
    return cases


def _case_problem(problem: SplitProblem, items: IntArray, placement: tuple[int, ...],
                  free: list[np.ndarray]) -> SplitProblem | None:
    """The coverable problem of one placement, or ``None`` if it cannot hold (two
    items placed on one warehouse that cannot ship both)."""
    stock = problem.stock.copy()
    for i, w in zip(items, placement, strict=True):
        if w >= 0:
            stock[w] -= problem.usage[i] * problem.quantity[i]
    if (stock < 0).any():
        return None
    n_w = problem.n_warehouses
    private = np.zeros((n_w, items.size), dtype=np.int64)
    usage = np.concatenate([problem.usage, np.zeros((problem.n_items, items.size),
                                                    dtype=np.int64)], axis=1)
    for r, (i, w) in enumerate(zip(items, placement, strict=True)):
        where = free[r] if w < 0 else np.arange(n_w) == w
        private[where, r] = problem.quantity[i]
        usage[i] = 0
        usage[i, problem.n_skus + r] = 1
    # a placed item's private SKU is priced as the item was (its stock value unchanged)
    price = np.concatenate([problem.prices, problem.unit_value[items].T], axis=1)
    return dataclasses.replace(problem, usage=usage, price=price,
                               stock=np.concatenate([stock, private], axis=1))


def fits(problem: SplitProblem, x: IntArray) -> bool:
    """Whether plan ``x`` fits ``problem``'s stock (a case's plan in the original)."""
    return bool((x.T.astype(np.int64) @ problem.usage <= problem.stock).all())
