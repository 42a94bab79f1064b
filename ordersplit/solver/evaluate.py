"""Objective values and feasibility of an assignment ``x[i, w]``; pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ordersplit.solver.group_prep import plan_terms, readonly
from ordersplit.solver.problem import IntArray, SplitProblem


@dataclass(frozen=True, order=True)
class Objective:
    """The scalar objective terms of one assignment."""

    children: int
    makespan: int
    unit_hours: int
    cost: int
    fragments: int = 0
    """(line, child) pieces beyond one per line."""
    stock_value: int = 0
    """The priced stock the plan uses (``problem.price``'s integer units)."""

    def key(self, terms: tuple[str, ...]) -> tuple[int, ...]:
        """The lexicographic key in the problem's objective order."""
        return tuple(getattr(self, t) for t in terms)


def used_pairs(problem: SplitProblem, x: IntArray) -> np.ndarray:
    """Boolean ``[group, warehouse]``: which children the assignment opens."""
    used = np.zeros((problem.n_groups, problem.n_warehouses), dtype=bool)
    rows, cols = np.nonzero(x)
    used[problem.group[rows], cols] = True
    return used


def fragments(problem: SplitProblem, x: IntArray) -> int:
    """(line, child) pieces of ``x`` beyond one per line that ships.

    A child is one group at one warehouse, so a line's pieces are the warehouses it
    ships from; with the warehouse rule off a group is one child and no line splits.
    """
    if not problem.per_warehouse:
        return 0
    if x.dtype == np.int64 and x.ndim == 2 and _compiled_types(problem):
        return int(_terms(problem, x)[5])  # one compiled pass
    return fragments_numpy(problem, x)


def fragments_numpy(problem: SplitProblem, x: IntArray) -> int:
    """:func:`fragments` in numpy, for any integer matrix."""
    if not problem.per_warehouse:
        return 0
    if problem.own_lines:  # pieces are nonzero cells, each shipping row one line
        nonzero = x != 0
        return int(nonzero.sum() - nonzero.any(axis=1).sum())
    rows, cols = np.nonzero(x)
    if rows.size == 0:
        return 0
    line = problem.lines[rows]
    pieces = np.unique(line * problem.n_warehouses + cols).size
    return int(pieces - np.unique(line).size)


def stock_value(problem: SplitProblem, x: IntArray) -> int:
    """Sum over shipped units of their price at the warehouse that ships them (a
    bundle's components each at theirs); 0 without prices."""
    if not problem.priced:
        return 0
    return int((x * problem.unit_value).sum())


def evaluate(problem: SplitProblem, x: IntArray) -> Objective:
    """Children, makespan (minutes), sum of unit arrival minutes, cost, fragments and
    stock value of ``x``; every term but the stock value in one compiled pass
    (:func:`~ordersplit.solver.group_prep.plan_terms`) when ``x`` is an ``int64``
    matrix, as every solver's is."""
    if x.dtype == np.int64 and x.ndim == 2 and _compiled_types(problem):
        return of_terms(problem, x, _terms(problem, x))
    return evaluate_numpy(problem, x)


def of_terms(problem: SplitProblem, x: IntArray, terms: tuple[int, ...]) -> Objective:
    """The objective of ``x`` from its :func:`~ordersplit.solver.group_prep.plan_terms`
    (``terms``, worked out by the caller's kernel) and its stock value."""
    pairs, groups, slowest, unit_hours, cost, pieces = terms
    makespan = max(int(slowest) if pairs else 0, problem.fixed_makespan)
    children = pairs if problem.per_warehouse else groups
    return Objective(int(children), makespan, int(unit_hours), int(cost),
                     int(pieces) if problem.per_warehouse else 0, stock_value(problem, x))


def line_count(problem: SplitProblem) -> int:
    """``plan_terms``'s number of lines: 0 when each item is a line of its own."""
    return 0 if problem.own_lines or problem.n_items == 0 else int(problem.lines.max()) + 1


def _terms(problem: SplitProblem, x: IntArray) -> tuple[int, int, int, int, int, int]:
    """:func:`~ordersplit.solver.group_prep.plan_terms` of ``x`` (an ``int64`` matrix)."""
    own = problem.own_lines
    n_lines = line_count(problem)
    return plan_terms(readonly(np.ascontiguousarray(x)), problem.group, problem.n_groups,
                      problem.hours, problem.cost, problem.lines, n_lines, own)


def _compiled_types(problem: SplitProblem) -> bool:
    """Whether the problem's arrays have the types :func:`plan_terms` is compiled for
    (worked out once per problem: the arrays are frozen)."""
    known = problem.__dict__.get(_TYPES_MEMO)
    if known is None:
        known = problem.__dict__[_TYPES_MEMO] = all(
            a.dtype == np.int64 for a in (problem.group, problem.hours, problem.cost,
                                          problem.lines))
    return bool(known)


_TYPES_MEMO = "_plan_terms_types"
"""Where :func:`_compiled_types` keeps its answer (in the problem instance's ``__dict__``)."""


def evaluate_numpy(problem: SplitProblem, x: IntArray) -> Objective:
    """:func:`evaluate` in numpy, for any integer matrix (the definition the compiled
    pass is tested against)."""
    used = used_pairs(problem, x)
    children = int(used.sum()) if problem.per_warehouse else int(used.any(axis=1).sum())
    open_wh = used.any(axis=0)
    makespan = int(problem.hours[open_wh].max()) if open_wh.any() else 0
    makespan = max(makespan, problem.fixed_makespan)
    unit_hours = int((x * problem.hours[None, :]).sum())
    cost = int((used * problem.cost[None, :]).sum())
    return Objective(children, makespan, unit_hours, cost, fragments_numpy(problem, x),
                     stock_value(problem, x))


def violations(problem: SplitProblem, x: IntArray) -> list[str]:
    """Everything wrong with ``x``: quantities, stock, allowed warehouses, unsplittable items."""
    out: list[str] = []
    if x.shape != (problem.n_items, problem.n_warehouses):
        return [f"assignment has shape {x.shape}, expected {(problem.n_items, problem.n_warehouses)}"]
    if (x < 0).any():
        out.append("negative quantity")
    short = np.flatnonzero(x.sum(axis=1) != problem.quantity)
    out += [f"item {i} ships {int(x[i].sum())} of {int(problem.quantity[i])}" for i in short]
    bad = np.argwhere((x > 0) & ~problem.allowed)
    out += [f"item {i} ships from warehouse {w}, which may not ship it" for i, w in bad]
    use = x.T @ problem.usage  # [w, sku]
    over = np.argwhere(use > problem.stock)
    out += [f"warehouse {w} oversells sku {k}: {int(use[w, k])} > {int(problem.stock[w, k])}"
            for w, k in over]
    for i in np.flatnonzero(~problem.splittable):
        if int((x[i] > 0).sum()) > 1:
            out.append(f"unsplittable item {i} ships from {int((x[i] > 0).sum())} warehouses")
    return out


def is_feasible(problem: SplitProblem, x: IntArray) -> bool:
    return not violations(problem, x)
