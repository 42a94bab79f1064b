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
import functools
import itertools
import logging

import numpy as np

from ordersplit.solver.group_search import NO_COVER
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

MAX_CASES = 256
"""More placement cases than this and the relaxation (one search, verified) is used."""


class PlacementCase:
    """One case: per contended item, where it may ship (``-1`` for the free
    warehouses), and the coverable problem, built when first asked for (a search
    leaves most cases of a large order out by their bound alone)."""

    def __init__(self, placement: tuple[int, ...], shape: _CaseShape) -> None:
        self.placement = placement
        self._shape = shape

    @functools.cached_property
    def problem(self) -> SplitProblem:
        built = self._shape.case(self.placement)
        assert built is not None, "a case that cannot hold is never made"
        return built

    def floor(self) -> int:
        """:func:`placement_floor`."""
        return self._shape.floor(self.placement)


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
    shape = _CaseShape(problem, items, free)
    for placement in itertools.product(*options):
        if stop is not None and stop.expired():
            return None
        if not shape.holds(placement):
            continue
        case = PlacementCase(tuple(placement), shape)
        if not cases and not case.problem.coverable:  # the same in every case
            return None
        cases.append(case)
    return cases


USAGE_DERIVED = ("single_sku", "coverable", "simple", "own_lines", "lone_lines")
"""Cached properties of a :class:`SplitProblem` that depend on its usage, groups and
lines only: the same in every placement case of an order."""


class _CaseShape:
    """What every placement case of an order shares: the usage with each contended
    item moved to a private SKU column, the prices, and what derives from them; and,
    per contended item, the items its SKUs touch (whose capacity at the warehouse it
    is placed on changes)."""

    def __init__(self, problem: SplitProblem, items: IntArray, free: list[np.ndarray]) -> None:
        self.problem, self.items, self.free = problem, items, free
        n_k = problem.n_skus
        usage = np.concatenate([problem.usage, np.zeros((problem.n_items, items.size),
                                                        dtype=np.int64)], axis=1)
        for r, i in enumerate(items):
            usage[i] = 0
            usage[i, n_k + r] = 1
        usage.setflags(write=False)  # shared by every case
        self.usage = usage
        # a placed item's private SKU is priced as the item was (its stock value unchanged)
        self.price = np.concatenate([problem.prices, problem.unit_value[items].T], axis=1)
        self.price.setflags(write=False)
        uses = problem.usage > 0
        self.touched = [np.flatnonzero(uses[:, uses[i]].any(axis=1)) for i in items]
        self.first: SplitProblem | None = None

    def holds(self, placement: tuple[int, ...]) -> bool:
        """Whether the warehouses the items are placed on can ship them all (two items
        placed on one warehouse may not fit together)."""
        problem = self.problem
        taken: dict[int, IntArray] = {}
        for i, w in zip(self.items.tolist(), placement, strict=True):
            if w >= 0:
                taken[w] = taken.get(w, 0) + problem.usage[i] * problem.quantity[i]
        return all(bool((problem.stock[w] >= units).all()) for w, units in taken.items())

    def floor(self, placement: tuple[int, ...]) -> int:
        """See :func:`placement_floor`."""
        problem = self.problem
        floor = problem.fixed_makespan
        for r, (i, w) in enumerate(zip(self.items.tolist(), placement, strict=True)):
            if problem.quantity[i] == 0:
                continue  # nothing to ship: no warehouse needed
            where = self.free[r] if w < 0 else np.arange(problem.n_warehouses) == w
            if not where.any():
                return NO_COVER
            floor = max(floor, int(problem.hours[where].min()))
        return floor

    def case(self, placement: tuple[int, ...]) -> SplitProblem | None:
        """The coverable problem of one placement, or ``None`` if it cannot hold (two
        items placed on one warehouse that cannot ship both)."""
        problem, items = self.problem, self.items
        stock = problem.stock.copy()
        for i, w in zip(items, placement, strict=True):
            if w >= 0:
                stock[w] -= problem.usage[i] * problem.quantity[i]
        if (stock < 0).any():
            return None
        n_w = problem.n_warehouses
        private = np.zeros((n_w, items.size), dtype=np.int64)
        for r, (i, w) in enumerate(zip(items, placement, strict=True)):
            where = self.free[r] if w < 0 else np.arange(n_w) == w
            private[where, r] = problem.quantity[i]
        case = dataclasses.replace(problem, usage=self.usage, price=self.price,
                                   stock=np.concatenate([stock, private], axis=1))
        if self.first is None:
            self.first = case
        else:
            for name in USAGE_DERIVED:
                if name in self.first.__dict__:
                    case.__dict__[name] = self.first.__dict__[name]
        case.__dict__["capacity"] = self._capacity(placement, stock, private)
        return case

    def _capacity(self, placement: tuple[int, ...], stock: IntArray, private: IntArray
                  ) -> IntArray:
        """The case's :attr:`SplitProblem.capacity` from the order's: only the placed
        items' rows (their private columns) and, at each warehouse an item is placed
        on, the rows of the items that share its SKUs change."""
        problem, items = self.problem, self.items
        cap = problem.capacity.copy()
        big = np.iinfo(np.int64).max
        for r, w in enumerate(placement):
            if w < 0:
                continue
            js = self.touched[r]
            use = problem.usage[js]
            can = np.where(use > 0, stock[w][None, :] // np.maximum(use, 1), big).min(axis=1)
            cap[js, w] = np.where(problem.allowed[js, w],
                                  np.minimum(can, problem.quantity[js]), 0)
        cap[items] = np.where(problem.allowed[items], np.minimum(
            private.T, problem.quantity[items, None]), 0)
        cap.setflags(write=False)
        return cap


def placement_floor(case: PlacementCase) -> int:
    """A lower bound on the makespan of any plan of a placement case: each placed item
    ships from the warehouse it is placed on, or from one of its free warehouses, so
    from the fastest of them at best;
    :data:`~ordersplit.solver.group_search.NO_COVER` when it has none (no plan)."""
    return case.floor()


def fits(problem: SplitProblem, x: IntArray) -> bool:
    """Whether plan ``x`` fits ``problem``'s stock (a case's plan in the original)."""
    return bool((x.T.astype(np.int64) @ problem.usage <= problem.stock).all())
