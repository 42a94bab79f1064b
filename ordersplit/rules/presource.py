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

SMALL_SUPPLY = 16_384
"""Stock cells up to which :class:`_Held` sums the allowed warehouses' stock by one
vector-matrix product (2.5 us against 9.5 on 30 x 10); beyond, numpy's integer
``matmul`` loses to copying the allowed rows and summing them (24 ms against 5.5 on
2,500 x 1,000)."""


@dataclass(slots=True)
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
    """Units of a candidate each warehouse could ship from ``stock`` alone (a new array).

    ``usage`` is never empty (a line uses its SKU, a bundle at least one component):
    the first SKU's column starts the minimum, no array of int64's largest value to
    fill first (``np.iinfo`` alone costs several microseconds a call)."""
    cap: IntArray | None = None
    for k, u in usage.items():
        col = stock[:, k] // u
        cap = col if cap is None else np.minimum(cap, col, out=cap)
    if cap is None:
        raise ValueError("a candidate uses at least one SKU")
    cap[~allowed] = 0
    return cap


def take(stock: IntArray, usage: dict[int, int], w: int, units: int) -> None:
    """Remove ``units`` of a candidate's SKUs from warehouse ``w``'s stock, in place."""
    for k, u in usage.items():
        stock[w, k] -= u * units


def fastest_first(minutes: list[int]) -> list[int]:
    """Warehouses by arrival minutes, ties by position (the order bulky lines and
    bundles are sourced in)."""
    return sorted(range(len(minutes)), key=minutes.__getitem__)


def source_fastest(
    cand: Candidate, stock: IntArray, order: list[int]
) -> tuple[list[tuple[int, int]], int]:
    """Fastest-first sourcing of one candidate from ``stock`` (consumed in place), along
    ``order`` (:func:`fastest_first`).

    Returns the ``(warehouse, units)`` taken and the units left short. An unsplittable
    candidate ships whole from the fastest warehouse that has it all, or not at all.
    """
    cap = capacity_of(stock, cand.usage, cand.allowed).tolist()
    taken: list[tuple[int, int]] = []
    left = cand.quantity
    for w in order:
        if left == 0:
            break
        if cap[w] <= 0:
            continue
        if not cand.splittable:
            if cap[w] >= left:
                taken.append((w, left))
                take(stock, cand.usage, w, left)
                left = 0
            continue
        units = min(left, cap[w])
        taken.append((w, units))
        take(stock, cand.usage, w, units)
        left -= units
    return taken, left


def shippable_quantities(cands: list[Candidate], stock: IntArray, order: list[int]) -> list[int]:
    """How much of each (non-bulky) candidate the network can ship together.

    Bundles first, each placed on the fastest warehouse that still has all of it (on a
    scratch copy of the stock); then plain lines share what is left of each SKU in line
    order, each taking from the allowed warehouses that hold the most first. The result
    is feasible by construction. ``stock`` is not changed.
    """
    plain = _plain_shippable(cands, stock)
    if plain is not None:
        return plain
    out = [0] * len(cands)
    held = _Held(stock)  # copies the stock before it first takes from it
    for idx, cand in enumerate(cands):
        if not cand.splittable:
            taken, _ = source_fastest(cand, held.writable(), order)
            out[idx] = sum(u for _, u in taken)
    readers: dict[int, int] = {}  # plain lines still to come, per SKU
    for cand in cands:
        if cand.splittable:
            (k, _), = cand.usage.items()
            readers[k] = readers.get(k, 0) + 1
    for idx, cand in enumerate(cands):
        if not cand.splittable:
            continue
        (k, u), = cand.usage.items()
        units = min(cand.quantity, held.supply(cand.allowed, k) // u)
        out[idx] = units
        readers[k] -= 1
        if readers[k]:  # a later line reads this SKU: take from the network as a whole
            held.take(cand.allowed, k, units * u)
    return out


def _plain_shippable(cands: list[Candidate], stock: IntArray) -> list[int] | None:
    """:func:`shippable_quantities` of the usual order in one pass, or ``None``: every
    candidate a plain line (splittable, one SKU) of its own SKU, all allowed the same
    warehouses. Then no line takes from another's column, and each ships what the
    allowed warehouses hold of its SKU, up to its quantity (what the general way's
    :class:`_Held` works out, without its per-line bookkeeping)."""
    if not cands or stock.size > SMALL_SUPPLY:
        return None
    allowed = cands[0].allowed
    skus: set[int] = set()
    for cand in cands:
        if not cand.splittable or cand.allowed is not allowed or len(cand.usage) != 1:
            return None
        skus.update(cand.usage)
    if len(skus) != len(cands):
        return None
    sums = (allowed @ stock).tolist()
    out = []
    for cand in cands:
        (k, u), = cand.usage.items()
        out.append(min(cand.quantity, sums[k] // u))
    return out


class _Held:
    """What the allowed warehouses hold of each SKU, read and taken column by column.

    The first read of each SKU comes from one sum per allowed set (lines usually share
    one), made before any plain line takes from its column.
    """

    def __init__(self, stock: IntArray) -> None:
        self.scratch = stock
        self.own = False
        self.seen: set[int] = set()
        self.totals: dict[int, tuple[np.ndarray, list[int]]] = {}

    def writable(self) -> IntArray:
        """The scratch stock, copied from the caller's on first use."""
        if not self.own:
            self.scratch = self.scratch.copy()
            self.own = True
        return self.scratch

    def supply(self, allowed: np.ndarray, k: int) -> int:
        """Units of SKU ``k`` the allowed warehouses hold now."""
        scratch = self.scratch
        if k in self.seen:
            return int(np.where(allowed, scratch[:, k], 0).sum())
        self.seen.add(k)
        held = self.totals.get(id(allowed))
        if held is None or held[0] is not allowed:
            if scratch.size <= SMALL_SUPPLY:  # one vector-matrix product: no copy
                sums = allowed @ scratch
            else:
                sums = scratch.sum(axis=0) if allowed.all() else scratch[allowed].sum(axis=0)
            held = (allowed, sums.tolist())
            self.totals[id(allowed)] = held
        return int(held[1][k])

    def take(self, allowed: np.ndarray, k: int, need: int) -> None:
        """Take ``need`` units of SKU ``k``: allowed warehouses holding most first (ties
        by position)."""
        column = self.writable()[:, k]
        for w in np.argsort(-np.where(allowed, column, -1), kind="stable").tolist():
            if need == 0:
                break
            if not allowed[w]:
                continue
            got = min(need, int(column[w]))
            column[w] -= got
            need -= got
