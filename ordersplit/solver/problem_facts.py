"""What the solve stage asks of a fresh problem first, worked out in one compiled call.

A freshly compiled :class:`~ordersplit.solver.problem.SplitProblem` works out its
derived facts when first asked: :attr:`~SplitProblem.single_sku`,
:attr:`~SplitProblem.coverable` and :attr:`~SplitProblem.one_reach` (a kernel call
each), :attr:`~SplitProblem.own_lines`, :attr:`~SplitProblem.lone_lines` (an
``np.unique``) and :attr:`~SplitProblem.priced` (numpy reductions). On a 10 x 30
order that is 30-50 us of dispatch and numpy set-up for a few hundred integer reads,
every split. :func:`derive` fills those memos from
:func:`facts`, one pass, before the portfolio starts; each value is what the property
computes (``tests/test_problem_facts.py`` compares them on random problems).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.solver import clock, cover_kernel, group_prep, partial_kernel
from ordersplit.solver.group_prep import (
    independent_elements,
    one_reach_per_group,
    single_skus,
)
from ordersplit.solver.problem import SplitProblem

NAMES = ("single_sku", "own_lines", "lone_lines", "coverable", "priced", "one_reach")
"""The memos :func:`derive` fills (cached properties of :class:`SplitProblem`)."""
_NAMES = frozenset(NAMES)


@nb.njit(cache=True, nogil=True)
def facts(usage: np.ndarray, splittable: np.ndarray, group: np.ndarray, lines: np.ndarray,
          prices: np.ndarray, allowed: np.ndarray, n_groups: int, out: np.ndarray
          ) -> np.ndarray:
    """``single_sku`` (returned), and in ``out``: ``own_lines`` (every line one item),
    ``lone_lines`` (those items splittable, of one SKU each, no two the same),
    ``coverable`` (:func:`~ordersplit.solver.group_prep.independent_elements`),
    ``priced`` (some price positive) and ``one_reach``
    (:func:`~ordersplit.solver.group_prep.one_reach_per_group`), as 0 or 1."""
    n, n_k = usage.shape
    sku = single_skus(usage)
    own = True
    if n >= 2:
        increasing = True
        for i in range(1, n):
            if lines[i] <= lines[i - 1]:
                increasing = False
                break
        if not increasing:
            ranked = np.sort(lines)
            for i in range(1, n):
                if ranked[i] == ranked[i - 1]:
                    own = False
                    break
    lone = own
    if lone:
        seen = np.zeros(n_k, dtype=np.bool_)
        for i in range(n):
            if not splittable[i] or sku[i] < 0 or seen[sku[i]]:
                lone = False
                break
            seen[sku[i]] = True
    priced = False
    for w in range(prices.shape[0]):
        for k in range(prices.shape[1]):
            if prices[w, k] != 0:
                priced = True
                break
        if priced:
            break
    out[0] = own
    out[1] = lone
    out[2] = independent_elements(usage, sku, splittable, group)
    out[3] = priced
    out[4] = one_reach_per_group(allowed, group, n_groups)
    return sku


def derive(problem: SplitProblem) -> None:
    """Fill ``problem``'s memos of :data:`NAMES` that are not there yet, in one call; a
    problem whose arrays are of other types than the kernel was compiled for is left to
    work them out itself."""
    known = problem.__dict__
    if known.keys() >= _NAMES:
        return
    out = np.zeros(5, dtype=np.int64)
    try:
        sku = facts(problem.usage, problem.splittable, problem.group, problem.lines,
                    problem.prices, problem.allowed, problem.n_groups, out)
    except TypeError:  # other array types: not compiled for them
        return
    sku.setflags(write=False)
    own, lone, coverable, priced, reach = out.tolist()
    found = {"single_sku": sku, "own_lines": own != 0, "lone_lines": lone != 0,
             "coverable": coverable != 0, "priced": priced != 0, "one_reach": reach != 0}
    if known.keys().isdisjoint(found):  # a fresh problem (the usual case)
        known.update(found)
    else:  # a memo already there is kept
        for name, value in found.items():
            known.setdefault(name, value)


def _warm_up() -> None:
    """Compile (or load from numba's cache) with the problem's read-only arrays."""
    def ro(a: np.ndarray) -> np.ndarray:
        a.setflags(write=False)
        return a

    facts(ro(np.eye(2, dtype=np.int64)), ro(np.ones(2, dtype=np.bool_)),
          ro(np.zeros(2, dtype=np.int64)), ro(np.array([1, 0], dtype=np.int64)),
          ro(np.zeros((3, 2), dtype=np.int64)), ro(np.ones((2, 3), dtype=np.bool_)), 1,
          np.zeros(5, dtype=np.int64))


drop_if_changed(facts, (clock, cover_kernel, partial_kernel, group_prep))
COMPILED_ON_IMPORT = load_kernels("problem facts", (facts,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
facts.disable_compile()  # other array types would compile it in an order's budget: they
# raise a TypeError instead, and the properties work themselves out
