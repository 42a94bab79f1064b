"""Fragments settled exactly by enumerating a group's minimum covers, when they are few.

:func:`ordersplit.solver.fragments.settle_fragments` must find the fewest fragments among
the plans that keep every earlier term at its proven optimum. For one group whose items
are plain lines (one splittable item per line, each on a SKU no other item of the group
uses), a plan is a set ``S`` of exactly ``c*`` warehouses (the group's proven child
count: a plan using fewer would beat ``c*``) and an assignment of units inside ``S``:

* every warehouse of ``S`` lies within the makespan ``M*`` (``reach``);
* the fastest-first fill inside ``S`` reaches the group's proven unit hours (it is the
  fewest unit hours any assignment inside ``S`` has), and ``S`` costs the proven cost;
* among the assignments inside ``S`` with those unit hours, each line's fewest pieces
  is the closed form of :func:`ordersplit.solver.fragments._one_line` (faster levels
  in full, the slowest level needed from the fewest warehouses, largest stock first),
  and lines do not compete (no shared SKU). With ``stock_value`` before fragments a
  level is a warehouse's (unit hours, unit price) in the objective's order, and the
  fill must reach the group's proven stock value too.

So when ``C(|candidates|, c*)`` is small, trying every ``S`` is an exact proof, and far
cheaper than the CP-SAT model for the one- to three-warehouse groups that are common.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ordersplit.solver.group_prep import fewest_pieces_fill, readonly
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.stop import Deadline

MAX_SETS = 20_000
"""Candidate sets tried at most (beyond that the CP-SAT model settles the group)."""
FEW_SETS = 1_000
"""Candidate sets up to which trying them all comes before the compiled search
(:func:`settle_by_search`); beyond it the search goes first (on 10 x 30 partial orders of
some 10^4 sets, 1 ms against 10 ms), and the sets are tried only where it does not apply."""
MAX_COVERS = 2_000
"""Covering sets scored at most, one by one."""
SMALL_GROUP = 64
"""Items up to which :func:`plain_lines` checks distinct SKUs and lines with Python sets."""


def plain_lines(problem: SplitProblem, items: IntArray) -> bool:
    """True when every item is a whole line of one splittable single-SKU item, and no two
    items of ``items`` share a SKU."""
    if items.size == 0:
        return False
    skus = problem.single_sku[items]
    if not ((skus >= 0).all() and problem.splittable[items].all()):
        return False
    n = int(items.size)
    if n <= SMALL_GROUP:  # a set of a few ints is quicker than np.unique's sort
        return len(set(skus.tolist())) == n and len(set(problem.lines[items].tolist())) == n
    return np.unique(skus).size == n and np.unique(problem.lines[items]).size == n


def settle_by_covers(problem: SplitProblem, items: IntArray, rows: IntArray,
                     reach: np.ndarray, terms: tuple[str, ...],
                     sets: tuple[int, int] = (0, MAX_SETS)) -> IntArray | None:
    """The rows of ``items`` with the fewest fragments among all plans of the group that
    keep its children and, when they are among ``terms`` (the terms before fragments),
    its unit hours and cost (those of ``rows``); ``None`` when the enumeration does not
    apply or its number of candidate sets is outside ``sets`` (above the first, at most
    the second; see the module docstring).

    ``reach[i, w]``: item ``i`` may ship from ``w`` within the makespan ``M*``.
    """
    if not plain_lines(problem, items):
        return None
    used = np.flatnonzero(rows.any(axis=0))
    c_star = int(used.size)
    q = problem.quantity[items].astype(np.int64)
    k = problem.single_sku[items]
    cap = np.minimum(problem.stock[:, k].T, q[:, None]) * reach[items]  # [item, warehouse]
    cand = np.flatnonzero(cap.any(axis=0))
    n_sets = math.comb(int(cand.size), c_star) if c_star else 0
    if c_star == 0 or cand.size < c_star or not sets[0] < n_sets <= sets[1]:
        return None
    hours, cost = problem.hours, problem.cost
    price = problem.prices[:, k].T  # [item, warehouse]: each line's unit price
    # only the targets of terms before fragments are compared (see _keeping_head)
    target_uh = int(rows.sum(axis=0) @ hours) if "unit_hours" in terms else 0
    target_sv = int((rows * price).sum()) if "stock_value" in terms else 0
    target_cost = int(cost[used].sum()) if "cost" in terms else 0
    combos = cand[np.fromiter(itertools.chain.from_iterable(itertools.combinations(
        range(cand.size), c_star)), dtype=np.int64, count=n_sets * c_star).reshape(n_sets, c_star)]
    covers = combos[(cap[:, combos].sum(axis=2) >= q[:, None]).all(axis=0)]
    if covers.shape[0] > MAX_COVERS:
        return None
    best: tuple[int, IntArray] | None = None
    for s in covers:
        out = _keeping_head(problem, s, cap, q, terms, price, target_uh, target_sv,
                            target_cost)
        if out is not None and (best is None or out[0] < best[0]):
            best = out
    return None if best is None else best[1]


def line_elements(problem: SplitProblem, items: IntArray) -> IntArray | None:
    """The item behind each cover element of the group (in
    :func:`~ordersplit.solver.group_search.elements` order) when every element is one
    whole line: each item is a line of its own, and no two splittable single-SKU items
    share a SKU (bundles and unsplittable items are elements of their own anyway);
    ``None`` otherwise."""
    if items.size == 0 or np.unique(problem.lines[items]).size != items.size:
        return None
    merged = (problem.single_sku[items] >= 0) & problem.splittable[items]
    skus = problem.single_sku[items[merged]]
    if np.unique(skus).size != skus.size:
        return None
    return np.concatenate([items[merged][np.argsort(skus, kind="stable")], items[~merged]])


def settle_by_search(problem: SplitProblem, items: IntArray, rows: IntArray,
                     reach: np.ndarray, terms: tuple[str, ...], makespan: int | None,
                     stop: Deadline) -> IntArray | None:
    """What :func:`settle_by_covers` returns, for groups with too many minimum covers
    to try, and for groups whose elements are whole lines (:func:`line_elements`:
    bundles and unsplittable lines beside plain ones): the compiled search's last stage
    again, with fragments as its last term
    (:func:`~ordersplit.solver.group_search.search_fragments`), under the makespan
    ``makespan`` (``M*``, when it is a term). Inside the set it returns, each element's
    fewest-pieces fill is the closed form of :func:`_fill`. ``None`` when it does not
    apply, or did not finish within ``stop``."""
    from ordersplit.solver.group_search import elements, search_fragments

    if "stock_value" in terms and problem.stock_value_varies:
        return None  # the kernel's fragments stage fills by hours, not by price
    owner = line_elements(problem, items)
    if owner is None:
        return None
    later = (*(t for t in terms if t not in ("children", "makespan")), "fragments")
    out = search_fragments(problem, items, later, makespan, stop, rows)
    if out is None or not out.proven or out.wh is None:
        return None
    supply, demand = elements(problem, items)
    cap = supply.T * reach[owner]  # [element, warehouse]
    used = np.flatnonzero(rows.any(axis=0))
    if out.wh.size != used.size:
        return None
    kept = _keeping_head(problem, out.wh, cap, demand, terms,
                         np.zeros_like(cap),  # unpriced here (see above)
                         int((rows.sum(axis=0) * problem.hours).sum()), 0,
                         int(problem.cost[used].sum()))
    if kept is None:
        return None
    place = np.empty(problem.n_items, dtype=np.int64)
    place[items] = np.arange(items.size)
    full = np.zeros_like(rows)
    full[place[owner]] = kept[1]
    return full


def _keeping_head(problem: SplitProblem, s: IntArray, cap: IntArray, q: IntArray,
                  terms: tuple[str, ...], price: IntArray, target_uh: int, target_sv: int,
                  target_cost: int) -> tuple[int, IntArray] | None:
    """The fewest-pieces rows of the group inside the set ``s`` and their fragments, when
    every warehouse of ``s`` ships and the unit hours, stock value and cost (those among
    ``terms``; ``price[element, warehouse]``) are the targets; ``None`` otherwise."""
    linear = [t for t in terms if t in ("unit_hours", "stock_value")]
    out = _fill(cap[:, s], q, problem.hours[s], price[:, s], linear)
    if out is None:
        return None
    part, uh = out
    if ("unit_hours" in linear and uh != target_uh) or not part.any(axis=0).all() or (
            "cost" in terms and int(problem.cost[s].sum()) != target_cost) or (
            "stock_value" in linear and int((part * price[:, s]).sum()) != target_sv):
        return None
    full = np.zeros((q.size, problem.n_warehouses), dtype=np.int64)
    full[:, s] = part
    return int((part > 0).sum() - q.size), full


def _fill(cap: IntArray, q: IntArray, hours: IntArray, price: IntArray, linear: list[str]
          ) -> tuple[IntArray, int] | None:
    """Per line inside one set: the fill with the fewest pieces among those with the
    fewest of the ``linear`` terms (unit hours, stock value) before fragments, in their
    order (the closed form: better levels in full, the rest from the fewest warehouses,
    largest stock first), and its unit hours; ``None`` when a line cannot be covered."""
    ro = readonly
    out, unit, fits = fewest_pieces_fill(
        ro(np.ascontiguousarray(cap, dtype=np.int64)), ro(np.asarray(q, dtype=np.int64)),
        ro(np.asarray(hours, dtype=np.int64)), ro(np.ascontiguousarray(price, dtype=np.int64)),
        _linear_codes(tuple(linear)))
    return (out, int(unit)) if fits else None


@functools.lru_cache(maxsize=8)
def _linear_codes(linear: tuple[str, ...]) -> np.ndarray:
    """:func:`~ordersplit.solver.group_prep.fewest_pieces_fill`'s codes of the linear terms
    (read-only, shared)."""
    return readonly(np.array([LINEAR_CODES[t] for t in linear], dtype=np.int64))


LINEAR_CODES = {"unit_hours": 0, "stock_value": 1}


def fill_numpy(cap: IntArray, q: IntArray, hours: IntArray, price: IntArray,
               linear: list[str]) -> tuple[IntArray, int] | None:
    """:func:`_fill` in numpy (its definition; the tests compare the two)."""
    n, m = cap.shape
    out = np.zeros((n, m), dtype=np.int64)
    for i in range(n):
        need = int(q[i])
        keys = {"unit_hours": hours, "stock_value": price[i]}
        levels = [keys[t] for t in reversed(linear)]  # lexsort: the last key first
        order = np.lexsort((np.arange(m), hours, -cap[i], *levels))
        for j in order.tolist():
            if need == 0:
                break
            take = min(need, int(cap[i, j]))
            out[i, j] = take
            need -= take
        if need:
            return None
    return out, int((out.sum(axis=0) * hours).sum())
