"""Plans on the wire: many :class:`~ordersplit.batch.model.OrderPlan` as a few flat arrays.

A round of the scaled-out search ships only the plans that changed (and, once, the
plans of orders a worker newly holds). Pickling plan objects one by one costs about
1.1 KB and a Python object tree per plan; :func:`pack_plans` puts the plans' integers
into one matrix and every array field of all the plans into one flat array with
offsets, so a pack pickles as a handful of numpy buffers. ``drafts`` (bytes,
:func:`~ordersplit.batch.model.pack_drafts`) travel as they are. :func:`unpack_plans`
gives plans equal field by field to the packed ones (a test checks the round trip).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ordersplit.batch.model import OrderPlan, PackedDrafts, narrow
from ordersplit.solver.problem import IntArray

SCALARS = ("bound", "children", "makespan", "unit_minutes", "cost", "backorder_units")
"""Integer fields of a plan, one column each in :attr:`PlanPack.ints`."""
FLAT = ("locs", "use_loc", "use_col", "use_units", "short_cols", "sku_loc")
"""One-dimensional array fields (``sku_loc`` may be absent: flagged in ``has_sku_loc``)."""
GRIDS = ("view", "x")
"""Two-dimensional array fields (their shapes in :attr:`PlanPack.shapes`)."""
SMALL = np.int32
"""The dtype of a plan's ``locs`` (``view`` and ``x`` are narrowed, the other arrays are
int64)."""
WIDE_FIELDS = ("use_loc", "use_col", "use_units", "short_cols", "sku_loc")
"""Fields a plan holds as int64 (restored on unpacking); ``locs`` is int32."""


@dataclass
class PlanPack:
    """``n`` plans as flat arrays (see the module docstring)."""

    ints: IntArray
    """``[n, len(SCALARS)]`` int64."""
    runtime_s: npt.NDArray[np.float64]
    shapes: IntArray
    """``[n, 4]``: rows and columns of ``view``, then of ``x``. Every integer array of a
    pack is in the narrowest dtype that holds its values."""
    text: IntArray
    """``[n, 3]``: codes of ``status``, ``backend``, ``error`` into :attr:`strings`."""
    strings: list[str]
    has_sku_loc: npt.NDArray[np.bool_]
    flat: dict[str, IntArray]
    """Every plan's array of each field of :data:`FLAT` and :data:`GRIDS`, concatenated."""
    offsets: dict[str, IntArray]
    """``[n + 1]`` start of each plan's part of :attr:`flat` per field."""
    drafts: list[PackedDrafts | None]

    def __len__(self) -> int:
        return int(self.ints.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (what the pack costs on the wire, apart from drafts)."""
        arrays = [self.ints, self.runtime_s, self.shapes, self.text, self.has_sku_loc,
                  *self.flat.values(), *self.offsets.values()]
        return int(sum(a.nbytes for a in arrays))


def _field(p: OrderPlan, name: str) -> IntArray:
    value = getattr(p, name)
    if value is None:
        return np.zeros(0, dtype=SMALL)
    out: IntArray = value.ravel()
    return out


def pack_plans(plans: Sequence[OrderPlan]) -> PlanPack:
    """``plans`` as one :class:`PlanPack`."""
    n = len(plans)
    codes: dict[str, int] = {}

    def code(s: str) -> int:
        return codes.setdefault(s, len(codes))

    ints = np.array([[getattr(p, f) for f in SCALARS] for p in plans],
                    dtype=np.int64).reshape(n, len(SCALARS))
    shapes = narrow(np.array([(*p.view.shape, *p.x.shape) for p in plans],
                              dtype=np.int64).reshape(n, 4))
    text = narrow(np.array([(code(p.status), code(p.backend), code(p.error)) for p in plans],
                            dtype=np.int64).reshape(n, 3))
    flat: dict[str, IntArray] = {}
    offsets: dict[str, IntArray] = {}
    for name in (*FLAT, *GRIDS):
        parts = [_field(p, name) for p in plans]
        sizes = np.fromiter((a.size for a in parts), dtype=np.int64, count=n)
        offsets[name] = narrow(np.concatenate([[0], np.cumsum(sizes)]))
        flat[name] = narrow(np.concatenate(parts) if n else np.zeros(0, dtype=SMALL))
    return PlanPack(
        ints=ints, runtime_s=np.array([p.runtime_s for p in plans], dtype=np.float64),
        shapes=shapes, text=text, strings=list(codes),
        has_sku_loc=np.array([p.sku_loc is not None for p in plans], dtype=bool),
        flat=flat, offsets=offsets, drafts=[p.drafts for p in plans])


def unpack_plans(pack: PlanPack) -> list[OrderPlan]:
    """The plans of ``pack`` (array fields are copies: a plan keeps no other's buffer)."""
    return unpack_rows(pack, range(len(pack)))


def unpack_rows(pack: PlanPack, rows: Sequence[int] | IntArray) -> list[OrderPlan]:
    """The plans at ``rows`` of ``pack``, in that order (reads only their offsets, so a
    few plans of a large pack cost what they are)."""
    at = np.asarray(rows, dtype=np.int64)
    bounds = {name: (off[at].astype(np.int64).tolist(), off[at + 1].astype(np.int64).tolist())
              for name, off in pack.offsets.items()}
    ints = pack.ints[at].tolist()
    shapes = pack.shapes[at].astype(np.int64).tolist()
    text = pack.text[at].astype(np.int64).tolist()
    runtime = pack.runtime_s[at].tolist()
    has_loc = pack.has_sku_loc[at].tolist()
    strings, drafts = pack.strings, pack.drafts

    def part(name: str, i: int) -> IntArray:
        lo, hi = bounds[name][0][i], bounds[name][1][i]
        if name in GRIDS:  # narrowed, as the plans hold them
            return narrow(pack.flat[name][lo:hi].copy())
        return pack.flat[name][lo:hi].astype(np.int64 if name in WIDE_FIELDS else SMALL)

    out: list[OrderPlan] = []
    for i, r in enumerate(at.tolist()):
        vr, vc, xr, xc = shapes[i]
        status, backend, error = text[i]
        out.append(OrderPlan(
            locs=part("locs", i), view=part("view", i).reshape(vr, vc),
            x=part("x", i).reshape(xr, xc), status=strings[status], backend=strings[backend],
            bound=ints[i][0], runtime_s=runtime[i], children=ints[i][1], makespan=ints[i][2],
            unit_minutes=ints[i][3], cost=ints[i][4], backorder_units=ints[i][5],
            use_loc=part("use_loc", i), use_col=part("use_col", i),
            use_units=part("use_units", i), short_cols=part("short_cols", i),
            sku_loc=part("sku_loc", i) if has_loc[i] else None, drafts=drafts[r],
            error=strings[error]))
    return out


def gather_rows(picks: Sequence[tuple[PlanPack, IntArray]]) -> PlanPack:
    """One pack of the plans at ``rows`` of each ``pack`` of ``picks``, in that order,
    without making plan objects (the arrays are gathered field by field)."""
    strings: dict[str, int] = {}
    text, flat, offsets = [], {}, {}
    for pack, rows in picks:
        remap = np.array([strings.setdefault(s, len(strings)) for s in pack.strings] or [0],
                         dtype=np.int64)
        text.append(remap[pack.text[rows].astype(np.int64)])
    for name in (*FLAT, *GRIDS):  # one gather per field and pack, then one join
        pieces, sizes = [], []
        for pack, rows in picks:
            off = pack.offsets[name]
            r = rows.astype(np.int64)
            lo = off[r].astype(np.int64)
            n = off[r + 1].astype(np.int64) - lo
            pieces.append(_take_runs(pack.flat[name], lo, n))
            sizes.append(n)
        n_all = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
        offsets[name] = narrow(np.concatenate([[0], np.cumsum(n_all)]).astype(np.int64))
        flat[name] = narrow(np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64))

    return PlanPack(
        ints=np.concatenate([p.ints[r] for p, r in picks]) if picks
        else np.zeros((0, len(SCALARS)), dtype=np.int64),
        runtime_s=np.concatenate([p.runtime_s[r] for p, r in picks]) if picks
        else np.zeros(0, dtype=np.float64),
        shapes=narrow(np.concatenate([p.shapes[r].astype(np.int64) for p, r in picks])
                      if picks else np.zeros((0, 4), dtype=np.int64)),
        text=narrow(np.concatenate(text) if text else np.zeros((0, 3), dtype=np.int64)),
        strings=list(strings),
        has_sku_loc=np.concatenate([p.has_sku_loc[r] for p, r in picks]) if picks
        else np.zeros(0, dtype=bool),
        flat=flat, offsets=offsets,
        drafts=[p.drafts[i] for p, r in picks for i in r.tolist()])


def _take_runs(values: IntArray, lo: IntArray, n: IntArray) -> IntArray:
    """The runs ``values[lo[i]:lo[i] + n[i]]`` joined end to end, in that order, in the
    dtype of ``values``.

    A plan's ``view`` is mostly one byte a cell: gathered as int64 through an int64
    index of every cell picked, a compaction of a worker's half a million sequential
    splits took 16 bytes a cell of the whole store at once. Runs in ascending order
    (what a store's compaction asks for) are picked by a one-byte mask instead."""
    live = n > 0
    lo, n = lo[live], n[live]
    if lo.size < 2 or (np.diff(lo) > 0).all():
        edges = np.zeros(values.size + 1, dtype=np.int8)
        edges[lo] += 1  # (distinct starts: runs of ascending rows never overlap)
        np.add.at(edges, lo + n, -1)
        out: IntArray = values[np.cumsum(edges[:-1], dtype=np.int8).view(np.bool_)]
        return out
    return values[np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))]


WirePlans = PlanPack | list[OrderPlan]
"""Plans on their way: packed between processes, the plan objects themselves within one."""


def to_wire(plans: Sequence[OrderPlan], packed: bool) -> WirePlans:
    """``plans`` packed (``packed``: they leave this process) or as a plain list."""
    return pack_plans(plans) if packed else list(plans)


def from_wire(plans: WirePlans) -> list[OrderPlan]:
    """The plans of :func:`to_wire`."""
    return unpack_plans(plans) if isinstance(plans, PlanPack) else plans


def wire_bytes(plans: WirePlans) -> int:
    """Array bytes of packed plans (0 for a plain list: nothing is copied)."""
    return plans.nbytes if isinstance(plans, PlanPack) else 0


def same_plan(a: OrderPlan, b: OrderPlan) -> bool:
    """Whether two plans (possibly copies from another process) take the same stock with
    the same objective."""
    return a is b or (a.key() == b.key() and a.backorder_units == b.backorder_units
                      and a.error == b.error
                      and np.array_equal(a.use_loc, b.use_loc)
                      and np.array_equal(a.use_col, b.use_col)
                      and np.array_equal(a.use_units, b.use_units))
