"""A worker slot's plans by batch position, held as packed columns instead of objects.

At a million orders a worker owns about half a million orders and holds a lower-bound
plan and a current plan for each: as :class:`~ordersplit.batch.model.OrderPlan` objects
(seven or eight small numpy arrays each, about 1.5-2 KB, scattered among the solver's
short-lived objects so that freed heap cannot go back) that was several GB per worker.
:class:`PlanColumns` keeps them as :class:`~ordersplit.batch.wire.PlanPack` s - the
form they travel in, so a pack received from the driver or about to be sent is stored
as it is, without unpacking - and makes a plan object only when one is read
(:meth:`PlanColumns.many` for a part or an output chunk at a time).

Small packs (a few splits) gather in runs of :data:`SMALL_PACKS`; larger ones merge
like a binary counter (a pack joins the one before it when that one holds no more live
plans), so a slot holds O(log n) of them, and all are gathered into one when more of
their rows are stale than live. :class:`ObjectPlans` is the same
interface over plain objects, for a slot in the driver's own process (which shares the
driver's plan objects: packing them would cost a copy).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ordersplit.batch.model import OrderPlan
from ordersplit.batch.wire import (
    SCALARS,
    PlanPack,
    WirePlans,
    gather_rows,
    pack_plans,
    same_plan,
    unpack_rows,
)
from ordersplit.solver.problem import IntArray

ABSENT = -1
"""Index of an order without a plan in :attr:`PlanColumns._pack`."""
LOWER = -2
"""Index of an order whose plan is its lower-bound plan (held once, by ``lower``)."""
MIN_COMPACT = 4096
"""Stale rows a store tolerates before it gathers its packs, however few are live."""
SMALL_PACK = 256
"""Packs of fewer live plans (a sequential split message, a part's changed plans) are
left alone until :data:`SMALL_PACKS` of them follow each other: a gather costs about
0.3 ms whatever its size, and splits arrive a few at a time."""
SMALL_PACKS = 64


class PlanStore(Mapping[int, OrderPlan]):
    """Plans by batch position (what a slot reads and writes)."""

    def put(self, orders: Sequence[int], plans: WirePlans) -> None:
        """Hold ``plans`` (packed or objects, one per order) for ``orders``."""
        raise NotImplementedError

    def put_lower(self, orders: Sequence[int]) -> None:
        """Hold for each of ``orders`` its plan in :attr:`lower` (which must have it)."""
        raise NotImplementedError

    def discard(self, orders: Sequence[int]) -> None:
        """Forget the plans of ``orders`` (those it holds)."""
        raise NotImplementedError

    def many(self, orders: Sequence[int]) -> list[OrderPlan]:
        """The plans of ``orders``, in that order."""
        return [self[o] for o in orders]


class ObjectPlans(PlanStore):
    """A :class:`PlanStore` of plain plan objects (a slot in the driver's process)."""

    def __init__(self, lower: ObjectPlans | None = None) -> None:
        self.plans: dict[int, OrderPlan] = {}
        self.lower = lower

    def __getitem__(self, o: int) -> OrderPlan:
        return self.plans[o]

    def __iter__(self) -> Iterator[int]:
        return iter(self.plans)

    def __len__(self) -> int:
        return len(self.plans)

    def put(self, orders: Sequence[int], plans: WirePlans) -> None:
        if isinstance(plans, PlanPack):
            plans = unpack_rows(plans, range(len(plans)))
        self.plans.update(zip(orders, plans, strict=True))

    def put_lower(self, orders: Sequence[int]) -> None:
        assert self.lower is not None
        for o in orders:
            self.plans[o] = self.lower[o]

    def discard(self, orders: Sequence[int]) -> None:
        for o in orders:
            self.plans.pop(o, None)


class PlanColumns(PlanStore):
    """A :class:`PlanStore` of packed plans (see the module docstring). ``lower``: the
    store of the same orders' lower-bound plans, which :meth:`put_lower` refers to."""

    def __init__(self, lower: PlanColumns | None = None) -> None:
        self.lower = lower
        self._pack = np.full(0, ABSENT, dtype=np.int32)
        """Per batch position: index into :attr:`_packs`, :data:`ABSENT` or :data:`LOWER`."""
        self._row = np.zeros(0, dtype=np.int32)
        self._packs: list[PlanPack] = []
        self._orders: list[IntArray] = []
        """The position of each row of each pack."""
        self._live: list[int] = []
        self._small = 0
        """Trailing packs of fewer than :data:`SMALL_PACK` plans when they were put."""
        self._count = 0
        self._shared = 0
        """Leading packs shared with the store this one was copied from (:meth:`copy`):
        merges leave them alone (a gather would copy rows the other store keeps)."""

    def copy(self) -> PlanColumns:
        """A store holding the same plans, sharing the packs (a pack is never changed in
        place: gathers make new ones), with its own index."""
        out = PlanColumns(self.lower)
        out._pack, out._row = self._pack.copy(), self._row.copy()
        out._packs, out._orders, out._live = list(self._packs), list(self._orders), \
            list(self._live)
        out._small, out._count = 0, self._count
        out._shared = len(self._packs)
        return out

    def pack_at(self, p: int) -> PlanPack:
        """Pack ``p`` (an index :meth:`locate` gave)."""
        return self._packs[p]

    def pack_of_order(self, o: int) -> int:
        """The index of the pack holding order ``o``'s plan."""
        return int(self._pack[o])

    def row_of_order(self, o: int) -> int:
        """The row of order ``o``'s plan in its pack."""
        return int(self._row[o])

    def locate(self, orders: IntArray) -> tuple[IntArray, IntArray]:
        """The pack index and row of each of ``orders`` (which must be held in a pack)."""
        which = self._pack[orders].astype(np.int64)
        if (which < 0).any():
            raise KeyError(int(orders[which < 0][0]))
        return which, self._row[orders].astype(np.int64)

    # the mapping

    def __getitem__(self, o: int) -> OrderPlan:
        return self.many([o])[0]

    def __contains__(self, o: object) -> bool:
        return isinstance(o, int) and 0 <= o < self._pack.size and self._pack[o] != ABSENT

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self._pack != ABSENT).tolist())

    def __len__(self) -> int:
        return self._count

    def many(self, orders: Sequence[int]) -> list[OrderPlan]:
        at = np.asarray(orders, dtype=np.int64)
        if at.size and (at.max() >= self._pack.size or at.min() < 0):
            raise KeyError(int(at.max()))
        which = self._pack[at]
        if (which == ABSENT).any():
            raise KeyError(int(at[which == ABSENT][0]))
        out: list[OrderPlan | None] = [None] * at.size
        low = np.flatnonzero(which == LOWER)
        if low.size:
            assert self.lower is not None
            for i, plan in zip(low.tolist(), self.lower.many(at[low].tolist()), strict=True):
                out[i] = plan
        for p in np.unique(which[which >= 0]).tolist():
            idx = np.flatnonzero(which == p)
            rows = self._row[at[idx]].astype(np.int64)
            for i, plan in zip(idx.tolist(), unpack_rows(self._packs[p], rows), strict=True):
                out[i] = plan
        return [p for p in out if p is not None]

    @property
    def nbytes(self) -> int:
        """Bytes of the packs' arrays and of the index (drafts apart)."""
        return int(self._pack.nbytes + self._row.nbytes
                   + sum(p.nbytes + o.nbytes for p, o in zip(self._packs, self._orders,
                                                               strict=True)))

    # changes

    def put(self, orders: Sequence[int], plans: WirePlans) -> None:
        pack = plans if isinstance(plans, PlanPack) else pack_plans(plans)
        at = np.asarray(orders, dtype=np.int64)
        if at.size != len(pack):
            raise ValueError("one plan per order")
        if at.size == 0:
            return
        self.discard(at.tolist())
        self._grow(int(at.max()) + 1)
        self._pack[at] = len(self._packs)
        self._row[at] = np.arange(at.size, dtype=np.int32)
        self._packs.append(pack)
        self._orders.append(at)
        self._live.append(int(at.size))
        self._count += int(at.size)
        self._merge()

    def put_lower(self, orders: Sequence[int]) -> None:
        assert self.lower is not None
        at = np.asarray(orders, dtype=np.int64)
        if at.size == 0:
            return
        if any(o not in self.lower for o in at.tolist()):
            raise KeyError("an order without a lower-bound plan")
        self.discard(at.tolist())
        self._grow(int(at.max()) + 1)
        self._pack[at] = LOWER
        self._count += int(at.size)

    def discard(self, orders: Sequence[int]) -> None:
        at = np.asarray(orders, dtype=np.int64)
        at = at[at < self._pack.size]
        which = self._pack[at]
        held = at[which != ABSENT]
        if held.size == 0:
            return
        for p, n in zip(*np.unique(self._pack[held], return_counts=True), strict=True):
            if p >= 0:
                self._live[int(p)] -= int(n)
        self._pack[held] = ABSENT
        self._count -= int(held.size)
        stale = sum(len(p) for p in self._packs) - sum(self._live)
        if stale > max(MIN_COMPACT, sum(self._live)):
            self._gather(range(len(self._packs)))

    def gather_small(self) -> None:
        """Gather the trailing small packs (fewer than :data:`SMALL_PACK` plans each, up
        to :data:`SMALL_PACKS` - 1 of them) into one: once no more arrive (the end of the
        sequential pass), every column read would loop over each of them."""
        if self._small > 1:
            self._gather(range(len(self._packs) - self._small, len(self._packs)))

    @property
    def pack_count(self) -> int:
        """Packs held."""
        return len(self._packs)

    def _grow(self, n: int) -> None:
        if n <= self._pack.size:
            return
        size = max(n, 2 * self._pack.size, 1024)
        self._pack = np.concatenate([self._pack, np.full(size - self._pack.size, ABSENT,
                                                         dtype=np.int32)])
        self._row = np.concatenate([self._row, np.zeros(size - self._row.size, dtype=np.int32)])

    def _merge(self) -> None:
        """Join the trailing small packs into one when there are :data:`SMALL_PACKS` of
        them, then the last two packs while the one before holds no more live plans than
        the last (a binary counter: O(log n) packs, each row gathered O(log n) times)."""
        self._small = min(len(self._packs) - self._shared, self._small + 1) \
            if self._live[-1] < SMALL_PACK else 0
        if self._small >= SMALL_PACKS:
            self._gather(range(len(self._packs) - self._small, len(self._packs)))
            self._small = int(bool(self._live) and self._live[-1] < SMALL_PACK)
        while (len(self._packs) - self._shared > 1 and self._live[-1] >= SMALL_PACK
               and self._live[-2] <= self._live[-1]):
            self._gather(range(len(self._packs) - 2, len(self._packs)))

    def _gather(self, which: range) -> None:
        """Replace the packs ``which`` (a run ending at the last) by one of their live rows."""
        picks: list[tuple[PlanPack, IntArray]] = []
        orders: list[IntArray] = []
        for p in which:
            at = self._orders[p]
            live = (self._pack[at] == p) & (self._row[at] == np.arange(at.size))
            rows = np.flatnonzero(live)
            picks.append((self._packs[p], rows))
            orders.append(at[rows])
        keep = [picks[i] for i in range(len(picks)) if picks[i][1].size]
        at = np.concatenate(orders) if orders else np.zeros(0, dtype=np.int64)
        del self._packs[which.start:], self._orders[which.start:], self._live[which.start:]
        self._small = 0
        self._shared = min(self._shared, which.start)
        if at.size == 0:
            return
        self._pack[at] = len(self._packs)
        self._row[at] = np.arange(at.size, dtype=np.int32)
        self._packs.append(gather_rows(keep))
        self._orders.append(at)
        self._live.append(int(at.size))


class PartPlans(MutableSequence[OrderPlan]):
    """The plans of a part being searched, read from packed columns: a plan object is
    made the first time the search reads it (most of a large part's orders are never
    moved, only indexed), while :meth:`ints` and :meth:`cells` give every plan's
    scalars and stock cells from the pack at once. Plans set by the search are kept
    as objects; :meth:`changed` says which differ from what the part started with.

    ``same``: where position ``j`` has no row (``rows[j] < 0``), its plan is ``same[j]``
    (a current plan that is the order's lower-bound plan: one object for both)."""

    def __init__(self, pack: PlanPack, rows: IntArray, same: PartPlans | None = None) -> None:
        if (rows < 0).any() and same is None:
            raise ValueError("a position without a row needs the plans it refers to")
        self.pack, self.rows, self.same = pack, rows, same
        self._read: dict[int, OrderPlan] = {}
        self._set: dict[int, OrderPlan] = {}

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, j: int) -> OrderPlan:  # type: ignore[override]
        plan = self._set.get(j)
        return plan if plan is not None else self.original(j)

    def __setitem__(self, j: int, plan: OrderPlan) -> None:  # type: ignore[override]
        if not 0 <= j < self.rows.size:
            raise IndexError(j)
        self._set[j] = plan

    def __delitem__(self, j: int) -> None:  # type: ignore[override]
        raise TypeError("a part's plans keep one per order")

    def insert(self, j: int, plan: OrderPlan) -> None:
        raise TypeError("a part's plans keep one per order")

    def __iter__(self) -> Iterator[OrderPlan]:
        return (self[j] for j in range(len(self)))

    def original(self, j: int) -> OrderPlan:
        """The plan position ``j`` started with (made on the first read, then kept)."""
        plan = self._read.get(j)
        if plan is None:
            if not 0 <= j < self.rows.size:
                raise IndexError(j)
            r = int(self.rows[j])
            if r < 0:
                assert self.same is not None
                plan = self.same.original(j)
            else:
                plan = unpack_rows(self.pack, [r])[0]
            self._read[j] = plan
        return plan

    def changed(self) -> list[int]:
        """Positions the search set to a plan other than the one they started with."""
        return [j for j in sorted(self._set)
                if not same_plan(self.original(j), self._set[j])]

    def ints(self, name: str) -> IntArray:
        """Field ``name`` (one of :data:`~ordersplit.batch.wire.SCALARS`) of every
        position's original plan."""
        col = SCALARS.index(name)
        out = np.zeros(self.rows.size, dtype=np.int64)
        own = self.rows >= 0
        out[own] = self.pack.ints[self.rows[own].astype(np.int64), col]
        if not own.all():
            assert self.same is not None
            out[~own] = self.same.ints(name)[~own]
        return out

    def failed(self) -> npt.NDArray[np.bool_]:
        """Whether each position's original plan failed (has an error)."""
        errors = np.array([bool(t) for t in self.pack.strings] or [False], dtype=bool)
        out = np.zeros(self.rows.size, dtype=bool)
        own = self.rows >= 0
        out[own] = errors[self.pack.text[self.rows[own].astype(np.int64), 2].astype(np.int64)]
        if not own.all():
            assert self.same is not None
            out[~own] = self.same.failed()[~own]
        return out

    def cells(self, *names: str) -> tuple[IntArray, ...]:
        """The positions' original plans' arrays of the fields ``names`` (of
        :data:`~ordersplit.batch.wire.FLAT`, all of one length per plan), joined in
        position order, with the position each element belongs to first."""
        base = self if self.same is None else self.same
        pos = np.arange(self.rows.size, dtype=np.int64)
        own = self.rows >= 0
        src_rows = np.where(own, self.rows, -1).astype(np.int64)
        parts: list[list[IntArray]] = [[] for _ in range(len(names) + 1)]
        for plans, pick in ((self, own), (base, ~own)):
            if not pick.any():
                continue
            rows = (src_rows if plans is self else base.rows.astype(np.int64))[pick]
            off = plans.pack.offsets[names[0]].astype(np.int64)
            lo, n = off[rows], off[rows + 1] - off[rows]
            owner = np.repeat(pos[pick], n)
            idx = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
            parts[0].append(owner)
            for i, name in enumerate(names):
                parts[i + 1].append(plans.pack.flat[name][idx].astype(np.int64))
        if not parts[0]:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(len(names) + 1))
        owner = np.concatenate(parts[0])
        order = np.argsort(owner, kind="stable")
        return tuple(np.concatenate(p)[order] for p in parts)


@runtime_checkable
class Columnar(Protocol):
    """Plans that read their fields for all of them at once, from packed columns
    (:class:`PartPlans`, and the driver's :class:`~ordersplit.batch.plan_list.PlanList`)."""

    def ints(self, name: str) -> IntArray: ...

    def failed(self) -> npt.NDArray[np.bool_]: ...

    def cells(self, *names: str) -> tuple[IntArray, ...]: ...


def plan_ints(plans: Sequence[OrderPlan], name: str) -> IntArray:
    """The scalar field ``name`` of every plan (of a :class:`PartPlans`: from its pack,
    the plans as they started)."""
    if isinstance(plans, Columnar):
        return plans.ints(name)
    return np.fromiter((getattr(p, name) for p in plans), dtype=np.int64, count=len(plans))


def plan_failed(plans: Sequence[OrderPlan]) -> npt.NDArray[np.bool_]:
    """Whether each plan failed."""
    if isinstance(plans, Columnar):
        return plans.failed()
    return np.fromiter((p.failed for p in plans), dtype=bool, count=len(plans))


def plan_cells(plans: Sequence[OrderPlan], *names: str) -> tuple[IntArray, ...]:
    """Every plan's arrays of the fields ``names`` (one length per plan), joined in plan
    order, after the index of the plan each element belongs to."""
    if isinstance(plans, Columnar):
        return plans.cells(*names)
    sizes = np.fromiter((getattr(p, names[0]).size for p in plans), dtype=np.int64,
                        count=len(plans))
    owner = np.repeat(np.arange(len(plans), dtype=np.int64), sizes)
    return (owner, *(np.concatenate([getattr(p, name) for p in plans]).astype(np.int64)
                     if len(plans) else np.zeros(0, dtype=np.int64) for name in names))


def part_plans(store: PlanColumns, orders: Sequence[int], same: PartPlans | None = None
               ) -> PartPlans:
    """The plans ``store`` holds for ``orders`` as one :class:`PartPlans` (their rows
    gathered into one pack; an order whose plan is its lower-bound plan refers to
    ``same``, the part's lower-bound plans)."""
    at = np.asarray(orders, dtype=np.int64)
    if at.size and (at.max() >= store._pack.size or at.min() < 0):
        raise KeyError(int(at.max()))
    which = store._pack[at]
    if (which == ABSENT).any():
        raise KeyError(int(at[which == ABSENT][0]))
    picks: list[tuple[PlanPack, IntArray]] = []
    placed: list[IntArray] = []
    for p in np.unique(which[which >= 0]).tolist():
        idx = np.flatnonzero(which == p)
        rows = store._row[at[idx]].astype(np.int64)
        order = np.argsort(rows, kind="stable")  # ascending rows gather without an index
        picks.append((store._packs[p], rows[order]))
        placed.append(idx[order])
    rows_of = np.full(at.size, -1, dtype=np.int64)
    if placed:
        where = np.concatenate(placed)
        rows_of[where] = np.arange(where.size, dtype=np.int64)
    return PartPlans(gather_rows(picks), rows_of, same)


SplitKey = tuple[int, bytes]
"""An exact split's key in a :class:`SplitCache`: the order's batch position and the
digest of the clipped view it was split against."""
FRESH_SPLITS = 1024
"""Splits a :class:`SplitCache` keeps as objects before it packs them."""


class SplitCache:
    """A process's cache of exact splits (:attr:`~ordersplit.batch.search.BatchState.solved`)
    whose plans are held packed: the newest :data:`FRESH_SPLITS` as objects, the older
    ones in :class:`~ordersplit.batch.wire.PlanPack` s of that many (a solved plan with
    its clipped view is about 3.5 KB as an object and half that packed, and a full cache
    holds 50,000). A hit on a packed split is read back as an equal plan (tens of
    microseconds, against milliseconds for the split)."""

    def __init__(self) -> None:
        self._fresh: dict[SplitKey, OrderPlan] = {}
        self._packed: dict[SplitKey, tuple[int, int]] = {}
        self._packs: list[PlanPack] = []

    def __len__(self) -> int:
        return len(self._fresh) + len(self._packed)

    def __contains__(self, key: object) -> bool:
        return key in self._fresh or key in self._packed

    def __iter__(self) -> Iterator[SplitKey]:
        return iter([*self._packed, *self._fresh])

    def get(self, key: SplitKey) -> OrderPlan | None:
        """The split kept for ``key``, or ``None``."""
        plan = self._fresh.get(key)
        if plan is None and key in self._packed:
            p, r = self._packed[key]
            plan = unpack_rows(self._packs[p], [r])[0]
        return plan

    def __getitem__(self, key: SplitKey) -> OrderPlan:
        plan = self.get(key)
        if plan is None:
            raise KeyError(key)
        return plan

    def __setitem__(self, key: SplitKey, plan: OrderPlan) -> None:
        self._packed.pop(key, None)
        self._fresh[key] = plan
        if len(self._fresh) >= FRESH_SPLITS:
            keys = list(self._fresh)
            self._packs.append(pack_plans(list(self._fresh.values())))
            at = len(self._packs) - 1
            self._packed.update({k: (at, r) for r, k in enumerate(keys)})
            self._fresh.clear()

    def __delitem__(self, key: SplitKey) -> None:
        if self._fresh.pop(key, None) is not None:
            return
        del self._packed[key]
        # a packed row stays until more rows are stale than live: then the live ones
        # are gathered into one pack
        stale = sum(len(p) for p in self._packs) - len(self._packed)
        if stale > max(FRESH_SPLITS, len(self._packed)):
            keys = sorted(self._packed, key=self._packed.__getitem__)
            rows: list[list[int]] = [[] for _ in self._packs]
            for k in keys:
                rows[self._packed[k][0]].append(self._packed[k][1])
            picks = [(pack, np.array(r, dtype=np.int64))
                     for pack, r in zip(self._packs, rows, strict=True)]
            self._packs = [gather_rows(picks)] if keys else []
            self._packed = {k: (0, r) for r, k in enumerate(keys)}

    def clear(self) -> None:
        self._fresh.clear()
        self._packed.clear()
        self._packs.clear()


def plan_store(packed: bool, lower: PlanStore | None = None) -> PlanStore:
    """A :class:`PlanColumns` (``packed``: the slot is in another process) or an
    :class:`ObjectPlans`; ``lower``: the store :meth:`PlanStore.put_lower` refers to."""
    if packed:
        assert lower is None or isinstance(lower, PlanColumns)
        return PlanColumns(lower)
    assert lower is None or isinstance(lower, ObjectPlans)
    return ObjectPlans(lower)
