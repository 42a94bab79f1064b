"""The driver's plan lists held packed: every order's plan by batch position, as columns.

At a million orders the driver holds the lower-bound plan, the sequential plan and the
search's current plan of every order. As :class:`~ordersplit.batch.model.OrderPlan`
objects a lower-bound plan costs about 1.95 KB (seven or eight small numpy arrays and
their headers) against about 0.24 KB packed, and a sequential re-split (with its clipped
view) about 3.5 KB against 1.7 KB. :class:`PlanList` is a ``Sequence[OrderPlan]`` of
``n`` positions that keeps each plan in one of three ways:

* *packed*: a row of a :class:`~ordersplit.batch.wire.PlanPack` as it arrived from a
  slot (a lower-bound chunk, a split message, a part's changed plans), stored as it is
  in a :class:`~ordersplit.batch.plan_columns.PlanColumns`;
* *object*: a plan object (one made in the driver, or every plan of a batch whose slot
  shares the driver's process, which shares the objects);
* *lower*: the same plan as the order's plan in the ``lower`` list (held once).

Reading ``plans[o]`` makes an object (about 19 us from a pack); the driver's stages read
the batch through :meth:`PlanList.ints`, :meth:`PlanList.failed`,
:meth:`PlanList.cells` and :meth:`PlanList.uses` instead, without objects, and send
plans on as packs gathered from the rows they hold (:meth:`PlanList.pack_of`), without
packing objects again. A plan equal to the order's lower-bound plan is known by
:meth:`PlanList.is_lower` (the objects' identity said it before).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

from ordersplit.batch.model import OrderPlan
from ordersplit.batch.plan_columns import PlanColumns
from ordersplit.batch.wire import SCALARS, PlanPack, WirePlans, gather_rows, pack_plans
from ordersplit.solver.problem import IntArray

ABSENT, PACKED, OBJECT, LOWER = 0, 1, 2, 3
"""How a :class:`PlanList` holds each position's plan (:attr:`PlanList.kind`)."""
BLOCK = 4096
"""Plans made at a time when a :class:`PlanList` is iterated."""
USES = ("use_loc", "use_col", "use_units")
"""A plan's stock cells (location, global SKU column, units): one length per plan."""


class PlanList(Sequence[OrderPlan]):
    """``n`` plans by batch position, packed where they arrived packed (see the module
    docstring). ``lower``: the list :meth:`put_lower` refers to."""

    def __init__(self, n: int, lower: PlanList | None = None) -> None:
        if lower is not None and len(lower) != n:
            raise ValueError("the lower-bound list must have as many positions")
        self.n, self.lower = n, lower
        self.kind = np.zeros(n, dtype=np.int8)
        """:data:`PACKED`, :data:`OBJECT`, :data:`LOWER` or :data:`ABSENT` per position."""
        self.packs = PlanColumns()
        self.objects: dict[int, OrderPlan] = {}

    @classmethod
    def of(cls, plans: Sequence[OrderPlan], lower: PlanList | None = None) -> PlanList:
        """A list holding ``plans`` (a :class:`PlanList` is copied)."""
        if isinstance(plans, PlanList):
            return plans.copy()
        out = cls(len(plans), lower)
        out.put(np.arange(len(plans), dtype=np.int64), list(plans))
        return out

    # the sequence

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, o: int) -> OrderPlan: ...

    @overload
    def __getitem__(self, o: slice) -> list[OrderPlan]: ...

    def __getitem__(self, o: int | slice) -> OrderPlan | list[OrderPlan]:
        if isinstance(o, slice):
            return self.many(range(self.n)[o])
        o = int(o)
        if o < 0:
            o += self.n
        if not 0 <= o < self.n:
            raise IndexError(o)
        kind = self.kind[o]
        if kind == OBJECT:
            return self.objects[o]
        if kind == PACKED:
            return self.packs.many([o])[0]
        if kind == LOWER:
            assert self.lower is not None
            return self.lower[o]
        raise KeyError(f"order {o} has no plan yet")

    def __setitem__(self, o: int, plan: OrderPlan) -> None:
        self.put(np.array([o], dtype=np.int64), [plan])

    def __iter__(self) -> Iterator[OrderPlan]:
        for lo in range(0, self.n, BLOCK):
            yield from self.many(range(lo, min(self.n, lo + BLOCK)))

    def many(self, orders: Sequence[int] | IntArray) -> list[OrderPlan]:
        """The plans of ``orders``, in that order."""
        at = self._at(orders)
        kind = self.kind[at]
        if (kind == ABSENT).any():
            raise KeyError(f"order {int(at[kind == ABSENT][0])} has no plan yet")
        out: list[OrderPlan | None] = [None] * at.size
        for k, read in ((PACKED, self.packs.many), (LOWER, self._lower_many)):
            idx = np.flatnonzero(kind == k)
            if idx.size:
                for i, plan in zip(idx.tolist(), read(at[idx].tolist()), strict=True):
                    out[i] = plan
        for i in np.flatnonzero(kind == OBJECT).tolist():
            out[i] = self.objects[int(at[i])]
        return [p for p in out if p is not None]

    def _lower_many(self, orders: Sequence[int]) -> list[OrderPlan]:
        assert self.lower is not None
        return self.lower.many(orders)

    def _at(self, orders: Sequence[int] | IntArray | None) -> IntArray:
        if orders is None:
            return np.arange(self.n, dtype=np.int64)
        at = np.asarray(orders, dtype=np.int64).reshape(-1)
        if at.size and (int(at.min()) < 0 or int(at.max()) >= self.n):
            raise IndexError("a position outside the list")
        return at

    # changes

    def put(self, orders: Sequence[int] | IntArray, plans: WirePlans) -> None:
        """Hold ``plans`` (a pack, kept as it is, or objects) for ``orders``."""
        at = self._at(orders)
        if at.size != len(plans):
            raise ValueError("one plan per order")
        if np.unique(at).size != at.size:
            raise ValueError("an order twice")
        self._forget_objects(at)
        if isinstance(plans, PlanPack):
            self.packs.put(at.tolist(), plans)
            self.kind[at] = PACKED
            return
        self.packs.discard(at[self.kind[at] == PACKED])
        self.objects.update(zip(at.tolist(), plans, strict=True))
        self.kind[at] = OBJECT

    def pack_objects(self) -> None:
        """Hold every plan kept as an object in one pack: a plan takes about half the
        memory packed, and a column read loops over packs, so one pack beats many small."""
        if self.objects:
            orders = sorted(self.objects)
            self.put(orders, pack_plans([self.objects[o] for o in orders]))

    def gather_small(self) -> None:
        """Gather the trailing small packs into one (:meth:`PlanColumns.gather_small`):
        the sequential pass leaves up to 63 packs of a few splits each, which every
        column read of the search's rounds would loop over."""
        self.packs.gather_small()

    def put_lower(self, orders: Sequence[int] | IntArray) -> None:
        """Hold for each of ``orders`` its plan in :attr:`lower`."""
        if self.lower is None:
            raise ValueError("no lower-bound list to refer to")
        at = self._at(orders)
        if (self.lower.kind[at] == ABSENT).any():
            raise KeyError("an order without a lower-bound plan")
        self._forget_objects(at)
        self.packs.discard(at[self.kind[at] == PACKED])
        self.kind[at] = LOWER

    def _forget_objects(self, at: IntArray) -> None:
        if self.objects:
            for o in at[self.kind[at] == OBJECT].tolist():
                del self.objects[o]

    def copy(self) -> PlanList:
        """A list of the same plans (packs shared: they never change in place)."""
        out = PlanList(self.n, self.lower)
        out.kind = self.kind.copy()
        out.packs = self.packs.copy()
        out.objects = dict(self.objects)
        return out

    # reading without objects

    def is_lower(self, orders: Sequence[int] | IntArray | None = None) -> npt.NDArray[np.bool_]:
        """Whether each of ``orders`` holds its lower-bound plan (by reference)."""
        return np.asarray(self.kind[self._at(orders)] == LOWER)

    def has(self, orders: Sequence[int] | IntArray | None = None) -> npt.NDArray[np.bool_]:
        """Whether each of ``orders`` has a plan."""
        return np.asarray(self.kind[self._at(orders)] != ABSENT)

    def _packed(self, at: IntArray, idx: IntArray) -> Iterator[tuple[PlanPack, IntArray, IntArray]]:
        """Per pack holding some of ``at[idx]``: the pack, those positions in ``at``
        (ascending) and their rows."""
        which, rows = self.packs.locate(at[idx])
        if which.size == 0:
            return
        # grouped by one stable sort, not one mask over every position per pack (a list
        # holds tens of packs, and the driver reads 10^5-10^6 positions at a time)
        order = np.argsort(which, kind="stable")
        which, idx, rows = which[order], idx[order], rows[order]
        cuts = np.flatnonzero(which[1:] != which[:-1]) + 1
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), which.size], strict=True):
            yield self.packs.pack_at(int(which[lo])), idx[lo:hi], rows[lo:hi].astype(np.int64)

    def ints(self, name: str, orders: Sequence[int] | IntArray | None = None) -> IntArray:
        """Field ``name`` (of :data:`~ordersplit.batch.wire.SCALARS`) of the plans of
        ``orders`` (default: all)."""
        at = self._at(orders)
        col = SCALARS.index(name)
        out = np.zeros(at.size, dtype=np.int64)
        kind = self.kind[at]
        if (kind == ABSENT).any():
            raise KeyError(f"order {int(at[kind == ABSENT][0])} has no plan yet")
        for pack, idx, rows in self._packed(at, np.flatnonzero(kind == PACKED)):
            out[idx] = pack.ints[rows, col]
        obj = np.flatnonzero(kind == OBJECT)
        if obj.size:
            out[obj] = np.fromiter((getattr(self.objects[o], name) for o in at[obj].tolist()),
                                   dtype=np.int64, count=obj.size)
        low = np.flatnonzero(kind == LOWER)
        if low.size:
            assert self.lower is not None
            out[low] = self.lower.ints(name, at[low])
        return out

    def failed(self, orders: Sequence[int] | IntArray | None = None) -> npt.NDArray[np.bool_]:
        """Whether the plan of each of ``orders`` (default: all) failed."""
        at = self._at(orders)
        out = np.zeros(at.size, dtype=bool)
        kind = self.kind[at]
        if (kind == ABSENT).any():
            raise KeyError(f"order {int(at[kind == ABSENT][0])} has no plan yet")
        for pack, idx, rows in self._packed(at, np.flatnonzero(kind == PACKED)):
            errors = np.array([bool(s) for s in pack.strings] or [False], dtype=bool)
            out[idx] = errors[pack.text[rows, 2].astype(np.int64)]
        obj = np.flatnonzero(kind == OBJECT)
        if obj.size:
            out[obj] = [self.objects[o].failed for o in at[obj].tolist()]
        low = np.flatnonzero(kind == LOWER)
        if low.size:
            assert self.lower is not None
            out[low] = self.lower.failed(at[low])
        return out

    def cells(self, *names: str, orders: Sequence[int] | IntArray | None = None
              ) -> tuple[IntArray, ...]:
        """The arrays of the fields ``names`` (of :data:`~ordersplit.batch.wire.FLAT`,
        one length per plan) of the plans of ``orders`` (default: all), joined in the
        order of ``orders`` and within a plan in its own order, after the index (into
        ``orders``) of the plan each element belongs to; all int64."""
        at = self._at(orders)
        kind = self.kind[at]
        if (kind == ABSENT).any():
            raise KeyError(f"order {int(at[kind == ABSENT][0])} has no plan yet")
        parts: list[list[IntArray]] = [[] for _ in range(len(names) + 1)]
        for pack, idx, rows in self._packed(at, np.flatnonzero(kind == PACKED)):
            off = pack.offsets[names[0]].astype(np.int64)
            lo, n = off[rows], off[rows + 1] - off[rows]
            take = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
            parts[0].append(np.repeat(idx, n))
            for i, name in enumerate(names):
                parts[i + 1].append(pack.flat[name][take].astype(np.int64))
        obj = np.flatnonzero(kind == OBJECT)
        if obj.size:
            plans = [self.objects[o] for o in at[obj].tolist()]
            sizes = np.fromiter((getattr(p, names[0]).size for p in plans), dtype=np.int64,
                                count=len(plans))
            parts[0].append(np.repeat(obj, sizes))
            for i, name in enumerate(names):
                parts[i + 1].append(np.concatenate([getattr(p, name).ravel() for p in plans])
                                    .astype(np.int64))
        low = np.flatnonzero(kind == LOWER)
        if low.size:
            assert self.lower is not None
            owner, *arrays = self.lower.cells(*names, orders=at[low])
            parts[0].append(low[owner])
            for i, a in enumerate(arrays):
                parts[i + 1].append(a)
        if not parts[0]:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(len(names) + 1))
        owner = np.concatenate(parts[0])
        order = np.argsort(owner, kind="stable")
        return tuple(np.concatenate(p)[order] for p in parts)

    def uses(self, o: int) -> tuple[IntArray, IntArray, IntArray]:
        """The stock cells (location, SKU column, units) of order ``o``'s plan, without
        making the plan (what the sequential pass checks and takes per order)."""
        kind = self.kind[o]
        if kind == PACKED:
            pack = self.packs.pack_at(int(self.packs.pack_of_order(o)))
            r = int(self.packs.row_of_order(o))
            off = pack.offsets["use_loc"]
            lo, hi = int(off[r]), int(off[r + 1])
            flat = pack.flat
            return flat["use_loc"][lo:hi], flat["use_col"][lo:hi], flat["use_units"][lo:hi]
        if kind == OBJECT:
            plan = self.objects[o]
            return plan.use_loc, plan.use_col, plan.use_units
        if kind == LOWER:
            assert self.lower is not None
            return self.lower.uses(o)
        raise KeyError(f"order {o} has no plan yet")

    def pack_of(self, orders: Sequence[int] | IntArray, packed: bool = True
                ) -> tuple[IntArray, WirePlans]:
        """The plans of ``orders`` as they travel (``packed``: one pack gathered from the
        rows held, objects packed; else the objects), with the orders in the pack's
        order (grouped by where the plans are held)."""
        at = self._at(orders)
        if not packed:
            return at, self.many(at)
        kind = self.kind[at]
        if (kind == ABSENT).any():
            raise KeyError(f"order {int(at[kind == ABSENT][0])} has no plan yet")
        picks: list[tuple[PlanPack, IntArray]] = []
        placed: list[IntArray] = []
        for pack, idx, rows in self._packed(at, np.flatnonzero(kind == PACKED)):
            order = np.argsort(rows, kind="stable")  # ascending rows gather without an index
            picks.append((pack, rows[order]))
            placed.append(at[idx[order]])
        obj = np.flatnonzero(kind == OBJECT)
        if obj.size:
            picks.append((pack_plans([self.objects[o] for o in at[obj].tolist()]),
                          np.arange(obj.size, dtype=np.int64)))
            placed.append(at[obj])
        low = np.flatnonzero(kind == LOWER)
        if low.size:
            assert self.lower is not None
            got, low_pack = self.lower.pack_of(at[low])
            assert isinstance(low_pack, PlanPack)
            picks.append((low_pack, np.arange(len(low_pack), dtype=np.int64)))
            placed.append(got)
        if len(picks) == 1 and placed[0].size == len(picks[0][0]) and \
                np.array_equal(picks[0][1], np.arange(len(picks[0][0]))):
            return placed[0], picks[0][0]  # every row of one pack, in order: as it is
        out = np.concatenate(placed) if placed else np.zeros(0, dtype=np.int64)
        return out, gather_rows(picks)

    def view(self, orders: Sequence[int] | IntArray) -> PlanView:
        """The plans of ``orders`` as a sequence read on demand (nothing is copied)."""
        return PlanView(self, self._at(orders))

    @property
    def nbytes(self) -> int:
        """Bytes of the packs and the index (not of the objects, drafts apart)."""
        return int(self.kind.nbytes + self.packs.nbytes)


class PlanView(Sequence[OrderPlan]):
    """Some positions of a :class:`PlanList`, read when asked for (a part's plans in
    the driver, which only a search in the driver's own process reads)."""

    def __init__(self, base: PlanList, orders: IntArray) -> None:
        self.base, self.orders = base, orders

    def __len__(self) -> int:
        return int(self.orders.size)

    @overload
    def __getitem__(self, j: int) -> OrderPlan: ...

    @overload
    def __getitem__(self, j: slice) -> list[OrderPlan]: ...

    def __getitem__(self, j: int | slice) -> OrderPlan | list[OrderPlan]:
        if isinstance(j, slice):
            return self.base.many(self.orders[j])
        return self.base[int(self.orders[j])]

    def __iter__(self) -> Iterator[OrderPlan]:
        for lo in range(0, self.orders.size, BLOCK):
            yield from self.base.many(self.orders[lo:lo + BLOCK])

    def ints(self, name: str) -> IntArray:
        return self.base.ints(name, self.orders)

    def failed(self) -> npt.NDArray[np.bool_]:
        return self.base.failed(self.orders)

    def cells(self, *names: str) -> tuple[IntArray, ...]:
        return self.base.cells(*names, orders=self.orders)


def plan_view(plans: Sequence[OrderPlan], orders: IntArray) -> Sequence[OrderPlan]:
    """The plans of ``orders``: a :class:`PlanView` of a :class:`PlanList`, else a list."""
    if isinstance(plans, PlanList):
        return plans.view(orders)
    return [plans[o] for o in orders.tolist()]
