"""The rules that decide before any optimization: store lines, bulky lines, back-orders.

* Offline-store lines (rule ``offline_store``) form one ``store`` child, never split.
* Bulky lines (rule ``bulky``) ship in children of their own and follow fastest
  delivery, not fewest children: each is sourced fastest-first, and the stock it takes
  is gone before the rest of the order is optimized.
* Stock (rule ``stock``): with ``backorder: split`` only what the network cannot supply
  becomes a back-order; with ``wait`` any shortage holds the whole order.

Bundles compete for stock as whole units from one warehouse; when several bundles need
the same components, which of them can ship is decided greedily in line order (the
plain lines are then sized against what the bundles leave), which keeps the problem
handed to the solver feasible by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ordersplit.solver.problem import IntArray


@dataclass
class Candidate:
    """One unit of sourcing before the rules run: a line, or one component of a bundle line."""

    line: int
    component: str | None
    quantity: int
    usage: dict[int, int]
    splittable: bool
    bulky: bool
    key_index: int
    allowed: np.ndarray


def capacity_of(stock: IntArray, usage: dict[int, int], allowed: np.ndarray) -> IntArray:
    """Units of a candidate each warehouse could ship from ``stock`` alone."""
    cap = np.full(stock.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    for k, u in usage.items():
        cap = np.minimum(cap, stock[:, k] // u)
    cap[~allowed] = 0
    return cap


def take(stock: IntArray, usage: dict[int, int], w: int, units: int) -> None:
    """Remove ``units`` of a candidate's SKUs from warehouse ``w``'s stock, in place."""
    for k, u in usage.items():
        stock[w, k] -= u * units


def source_fastest(
    cand: Candidate, stock: IntArray, minutes: IntArray
) -> tuple[list[tuple[int, int]], int]:
    """Fastest-first sourcing of one candidate from ``stock`` (consumed in place).

    Returns the ``(warehouse, units)`` taken and the units left short. An unsplittable
    candidate ships whole from the fastest warehouse that has it all, or not at all.
    """
    cap = capacity_of(stock, cand.usage, cand.allowed)
    order = np.lexsort((np.arange(minutes.size), minutes))
    taken: list[tuple[int, int]] = []
    left = cand.quantity
    for w in order:
        if left == 0:
            break
        if cap[w] <= 0:
            continue
        if not cand.splittable:
            if cap[w] >= left:
                taken.append((int(w), left))
                take(stock, cand.usage, int(w), left)
                left = 0
            continue
        units = int(min(left, cap[w]))
        taken.append((int(w), units))
        take(stock, cand.usage, int(w), units)
        left -= units
    return taken, left


def shippable_quantities(cands: list[Candidate], stock: IntArray, minutes: IntArray) -> list[int]:
    """How much of each (non-bulky) candidate the network can ship together.

    Bundles first, each placed on the fastest warehouse that still has all of it (on a
    scratch copy of the stock); then plain lines share what is left of each SKU in line
    order. The result is feasible by construction.
    """
    scratch = stock.copy()
    out = [0] * len(cands)
    for idx, cand in enumerate(cands):
        if not cand.splittable:
            taken, _ = source_fastest(cand, scratch, minutes)
            out[idx] = sum(u for _, u in taken)
    readers: dict[int, int] = {}  # plain lines still to come, per SKU
    for cand in cands:
        if cand.splittable:
            (k, _), = cand.usage.items()
            readers[k] = readers.get(k, 0) + 1
    # what the allowed warehouses hold of each SKU before any plain line takes from it,
    # summed once per allowed set (lines usually share one) for each SKU's first line
    totals: dict[int, tuple[np.ndarray, list[int]]] = {}
    seen: set[int] = set()
    for idx, cand in enumerate(cands):
        if cand.splittable:
            (k, u), = cand.usage.items()
            if k not in seen:
                seen.add(k)
                held = totals.get(id(cand.allowed))
                if held is None or held[0] is not cand.allowed:
                    held = (cand.allowed, np.where(cand.allowed[:, None], scratch, 0)
                            .sum(axis=0).tolist())
                    totals[id(cand.allowed)] = held
                supply = held[1][k] // u
            else:
                supply = int(np.where(cand.allowed, scratch[:, k], 0).sum()) // u
            units = min(cand.quantity, supply)
            out[idx] = units
            readers[k] -= 1
            if not readers[k]:  # no later line reads this SKU: nothing to take
                continue
            # take from the network as a whole: any allowed warehouses, largest first
            need = units * u
            for w in np.argsort(-np.where(cand.allowed, scratch[:, k], -1), kind="stable"):
                if need == 0:
                    break
                if not cand.allowed[w]:
                    continue
                got = min(need, int(scratch[w, k]))
                scratch[w, k] -= got
                need -= got
    return out
