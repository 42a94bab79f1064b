"""The batch search: lower bound, sequential baseline, and neighbourhood re-solves.

* Every per-order split goes through :func:`~ordersplit.batch.model.safe_solve`: an
  order whose split raises gets a failed plan (its error row), the others go on.
* **Lower bound** (:func:`lower_bound_plans`): each order alone with all the stock,
  split exactly. Orders are independent here, so it parallelizes perfectly.
* **Sequential** (:func:`sequential_plans`): orders in arrival order, each split exactly
  with the stock left. If an order's lower-bound plan still fits in what is left, it
  *is* an exact split with the stock left (optimal with more stock, still feasible), so
  only the orders it no longer fits are solved again. It runs in this process while
  the workers are still computing the lower bound of later orders.
* **Neighbourhood search** (:func:`improve_part`): an order worse than its lower-bound
  plan names the orders that hold the stock it lacks; the group is released and split
  again exactly, the order first, then the others with what is left. A move is kept
  only if the group's children (then delivery, then cost) go down without more units
  waiting for stock (counted as the plans count them and in SKU units), so the batch is
  never worse than its warm start. Moves, per order
  in this order (pairs first: they keep the most moves per second): movers, takers (an
  order waiting for a SKU that a partly waiting order ships is re-split first and
  takes it; the other's group, short anyway, may then wait whole), donors, chains (the
  order takes a SKU from a holder dear to make wait, which moves to where a holder
  cheap to make wait gives way), blockers, single donors (wide rounds), taker sets,
  waiters; last, a part of at most :data:`~ordersplit.batch.joint.JOINT_SIZE` orders
  the joint model holds has all of them re-allocated by one CP-SAT model
  (``joint_all``, :data:`WHOLE_LIMIT_S`), in every round. With ``PartTask.joint``,
  *joint* moves come first: for each SKU orders of the
  part wait for, its orders (at most :data:`~ordersplit.batch.joint.JOINT_SIZE`,
  waiting ones first) get the stock re-allocated by one CP-SAT model
  (:func:`~ordersplit.batch.joint.allocate`) and are split again against their
  shares, kept under the same rule. ``PartResult.stats`` counts each kind tried,
  accepted, rejected (``wait``: more units waiting, ``same``: as many children,
  ``more``) and its seconds.
* Exact splits are kept per process by (order, view) in :attr:`BatchState.solved`, so a
  move tried again in a later round against the same stock costs no solve.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ordersplit.batch.joint import (
    JOINT_LIMIT_S,
    JOINT_SIZE,
    JointOrder,
    allocate,
    joint_groups,
    shipping_avail,
)
from ordersplit.batch.ledger import Ledger
from ordersplit.batch.model import (
    OrderPlan,
    OrderTemplate,
    World,
    clipped_view,
    safe_solve,
    with_full_view,
)
from ordersplit.batch.plan_columns import (
    Columnar,
    PartPlans,
    SplitCache,
    plan_cells,
    plan_failed,
    plan_ints,
)
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

MAX_GROUP = 6
"""Most orders re-split together in one move (the regretful order plus its blockers)."""
MOVERS = 3
"""Single donors elsewhere, and single takers, tried for a waiting order (see
``movers_of`` and ``takers_of``)."""
WIDE = 12
"""As :data:`MOVERS` once a full turn of cuts found nothing (``PartTask.breadth``); then
every donor at the order's locations is also tried alone."""
WIDEST = 40
"""As :data:`WIDE` once a full turn of wide cuts found nothing either."""
BREADTHS = (MOVERS, WIDE, WIDEST)
"""The breadths the search widens through before it stops."""

Key = tuple[int, int, int, int]


WHOLE_LIMIT_S = 1.0
"""CP-SAT's deterministic time limit of the joint model over a whole small part."""
SOLVED_MAX = 50_000
"""Most exact splits :attr:`BatchState.solved` keeps (it is emptied when full)."""


def view_key(view: IntArray) -> bytes:
    """A clipped view as a cache key: its shape and a 128-bit BLAKE2b digest of its
    bytes (16 bytes against about 5 KB of int64 at 200 locations, so a full
    :attr:`BatchState.solved` holds its plans, not copies of the views)."""
    h = hashlib.blake2b(view.tobytes(), digest_size=16)
    h.update(np.asarray(view.shape, dtype=np.int64).tobytes())
    return h.digest()


@dataclass(frozen=True)
class BatchState:
    """What every worker needs: the world, the order templates, the per-order time limit."""

    world: World
    templates: Sequence[OrderTemplate]
    """Every order's template by batch position (on a worker slot: only its own orders)."""
    order_limit_s: float
    solved: SplitCache = field(default_factory=SplitCache, compare=False, repr=False)
    """The search's exact splits in this process by (order, :func:`view_key` of the
    clipped view): a move tried again in a later round against the same stock re-uses
    them instead of solving again (a split is a function of its view). Never pickled:
    each process fills its own."""
    groups: dict[int, IntArray | None] = field(default_factory=dict, compare=False,
                                               repr=False)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Data derived from the templates once per process (never pickled)."""
    whole_tried: set[bytes] = field(default_factory=set, compare=False, repr=False)
    """Parts whose whole joint model found nothing, by their orders and plans (so an
    unchanged part is not solved again in the next round; never pickled)."""
    """:func:`~ordersplit.batch.joint.joint_groups` of each order, as first asked for in
    this process (never pickled)."""

    def __getstate__(self) -> dict[str, object]:
        return {"world": self.world, "templates": self.templates,
                "order_limit_s": self.order_limit_s}

    def __setstate__(self, data: dict[str, object]) -> None:
        for name, value in data.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "solved", SplitCache())
        object.__setattr__(self, "groups", {})
        object.__setattr__(self, "whole_tried", set())
        object.__setattr__(self, "memo", {})

    def groups_of(self, o: int) -> IntArray | None:
        """The joint model's rule groups of order ``o`` (``None``: it stays out)."""
        if o not in self.groups:
            self.groups[o] = joint_groups(self.templates[o])
        return self.groups[o]


def lower_bound_plans(state: BatchState, orders: Sequence[int]) -> list[OrderPlan]:
    """Each order of ``orders`` split exactly with all the stock (the plans hold
    :data:`~ordersplit.batch.model.FULL_VIEW`: their view is the stock's)."""
    stock = state.world.stock
    return [with_full_view(safe_solve(state.world, state.templates[o],
                                      clipped_view(state.templates[o], stock),
                                      state.order_limit_s, work=True))
            for o in orders]


def sequential_plans(state: BatchState, lower: Iterable[OrderPlan], ledger: Ledger,
                     tick: Callable[[int], object] | None = None) -> tuple[list[OrderPlan], int]:
    """Arrival-order exact splitting against ``ledger`` (consumed); plans and solves made.

    ``lower`` yields the orders' lower-bound plans in arrival order. The serial
    reference of the engine's pass on the worker slots
    (:func:`~ordersplit.batch.engine.bound_and_sequential`), which gives the same plans."""
    plans: list[OrderPlan] = []
    solves = 0
    for o, (tpl, alone) in enumerate(zip(state.templates, lower, strict=True)):
        plan = alone
        if not ledger.fits(plan):
            plan = safe_solve(state.world, tpl, ledger.view(tpl), state.order_limit_s, work=True)
            solves += 1
        ledger.take(plan)
        plans.append(plan)
        if tick is not None and o % 256 == 255:
            tick(256)
    if tick is not None:
        tick(len(state.templates) % 256)
    return plans, solves


def pinned_plans(state: BatchState, reserved: Sequence[IntArray | None], fallback: Sequence[OrderPlan],
                 ledger: Ledger) -> list[OrderPlan]:
    """The current assignment as plans: each order split exactly within its reservation.

    ``reserved[o]`` is the order's current reservation as a clipped view (``None``: no
    current assignment, the order keeps ``fallback[o]`` when it fits, else is split with
    what is left). Reservations are cut to what is left, so this never oversells even
    if the current assignment did.
    """
    plans: list[OrderPlan] = []
    for o, tpl in enumerate(state.templates):
        res = reserved[o]
        if res is None:
            plan = fallback[o]
            if not ledger.fits(plan):
                plan = safe_solve(state.world, tpl, ledger.view(tpl), state.order_limit_s)
        else:
            view = np.minimum(res, ledger.view(tpl))
            plan = safe_solve(state.world, tpl, view, state.order_limit_s)
        ledger.take(plan)
        plans.append(plan)
    return plans


def _packed_list(plans: Sequence[OrderPlan]) -> bool:
    """Whether ``plans`` are the driver's packed list (or a view of it): read their
    columns (a :class:`PartPlans` reads its *original* plans there, so it is not)."""
    return isinstance(plans, Columnar) and not isinstance(plans, PartPlans)


def failed_count(plans: Sequence[OrderPlan]) -> int:
    """Orders whose split failed (they count first: a plan always beats a failure)."""
    if _packed_list(plans):  # no plan objects
        return int(plan_failed(plans).sum())
    return sum(p.failed for p in plans)


def batch_key(plans: Sequence[OrderPlan]) -> Key:
    """The batch objective: total children, then delivery, unit minutes, cost."""
    if _packed_list(plans):
        a, b, c, d = (int(plan_ints(plans, f).sum())
                      for f in ("children", "makespan", "unit_minutes", "cost"))
        return a, b, c, d
    return (sum(p.children for p in plans), sum(p.makespan for p in plans),
            sum(p.unit_minutes for p in plans), sum(p.cost for p in plans))


def backorder_units(plans: Sequence[OrderPlan]) -> int:
    """Units the plans leave waiting, as the plans count them (a bundle is one unit)."""
    if _packed_list(plans):
        return int(plan_ints(plans, "backorder_units").sum())
    return sum(p.backorder_units for p in plans)


def shipped_units(plans: Sequence[OrderPlan]) -> int:
    """SKU units the plans take from stock (for the same orders: the fewer, the more SKU
    units wait)."""
    return sum(int(p.use_units.sum()) for p in plans)


@dataclass
class PartTask:
    """One part of the batch for one worker: its orders, plans and stock budget.

    The part's stock is ``budget`` (its share of the free stock, over the SKU columns
    ``cols``) plus what its own plans hold; nothing else is touched, so parts solved
    at the same time can never oversell together.
    """

    orders: IntArray
    plans: Sequence[OrderPlan]
    """The part's current plans: a list, or (in a worker process) a
    :class:`~ordersplit.batch.plan_columns.PartPlans` read from packed columns."""
    lower: Sequence[OrderPlan]
    cols: IntArray
    budget: IntArray
    limit_s: float
    max_moves: int | None = None
    breadth: int = MOVERS
    """Single movers and takers tried per order (:data:`WIDE`: also single donors)."""
    tries: IntArray | None = None
    """Earlier rounds in which each order was visited without a kept move: orders tried
    fewer times go first, so that a round that runs out of time does not spend it on
    the same orders again (``None``: all 0)."""
    joint: bool = False
    """Re-allocate the stock of the SKUs orders wait for jointly, SKU by SKU
    (:mod:`ordersplit.batch.joint`), before the order moves."""
    sku_tries: IntArray | None = None
    """As ``tries``, per global SKU column, for the joint moves."""


@dataclass
class PartResult:
    orders: IntArray
    plans: MutableSequence[OrderPlan]
    """The part's plans after the search (a list, or the task's
    :class:`~ordersplit.batch.plan_columns.PartPlans`, changed in place)."""
    tried: int = 0
    accepted: int = 0
    solves: int = 0
    stats: dict[str, float] = field(default_factory=dict)
    visited: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The orders whose moves were tried (global positions)."""
    skus_visited: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The SKU columns whose joint move was tried without being kept."""


def improve_part(state: BatchState, task: PartTask) -> PartResult:
    """Neighbourhood search inside one part (see the module docstring); deterministic."""
    t0 = time.perf_counter()
    end = t0 + task.limit_s
    plans: MutableSequence[OrderPlan] = (
        task.plans if isinstance(task.plans, PartPlans) else list(task.plans))
    lower = task.lower
    ledger = Ledger(task.cols, task.budget)
    templates = [state.templates[int(o)] for o in task.orders]
    holders: dict[tuple[int, int], set[int]] = {}
    held_at: dict[int, set[int]] = {}  # SKU -> locations that held it (some maybe no more)

    def hold(j: int, plan: OrderPlan, on: bool) -> None:
        for w, k in zip(plan.use_loc.tolist(), plan.use_col.tolist(), strict=True):
            if on:
                holders.setdefault((w, k), set()).add(j)
                held_at.setdefault(k, set()).add(w)
            else:
                holders[(w, k)].discard(j)

    # every plan's cells at once (from the packed columns of a PartPlans: its plan
    # objects are made only for the orders the search reads)
    for j, w, k in zip(*(a.tolist() for a in plan_cells(plans, "use_loc", "use_col")),
                       strict=True):
        holders.setdefault((w, k), set()).add(j)
        held_at.setdefault(k, set()).add(w)
    cache = state.solved
    out = PartResult(task.orders, plans)
    positions = task.orders.tolist()

    def resplit(j: int) -> OrderPlan:
        if ledger.fits(lower[j]):
            return lower[j]
        return split_view(j, ledger.view(templates[j]))

    waiting: dict[int, set[int]] = {}

    def wait(j: int, plan: OrderPlan, on: bool) -> None:
        for k in plan.short_cols.tolist():
            if on:
                waiting.setdefault(k, set()).add(j)
            else:
                waiting[k].discard(j)

    for j, k in zip(*(a.tolist() for a in plan_cells(plans, "short_cols")), strict=True):
        waiting.setdefault(k, set()).add(j)

    def split_view(j: int, view: IntArray) -> OrderPlan:
        key = (positions[j], view_key(view))
        hit = cache.get(key)
        if hit is None:
            hit = safe_solve(state.world, templates[j], view, state.order_limit_s)
            if len(cache) >= SOLVED_MAX:
                cache.clear()
            cache[key] = hit
            out.solves += 1
        return hit

    def try_group(group: list[int], kind: str = "", views: list[IntArray] | None = None
                  ) -> bool:
        """Release ``group``, re-split it in this order (against ``views`` when given,
        else against what is left); keep it only if it is better (``kind`` names the
        move in ``out.stats``)."""
        out.tried += 1
        out.stats[f"tried_{kind}"] = out.stats.get(f"tried_{kind}", 0) + 1
        started = time.perf_counter()
        old = [plans[g] for g in group]
        for g, p in zip(group, old, strict=True):
            ledger.give(p)
            hold(g, p, False)
            wait(g, p, False)
        new: list[OrderPlan] = []
        old_children = sum(p.children for p in old)
        hopeless = False
        for at, g in enumerate(group):
            p = resplit(g) if views is None else split_view(g, views[at])
            ledger.take(p)
            new.append(p)
            rest = sum(min(lower[h].children, plans[h].children) for h in group[at + 1:])
            if sum(q.children for q in new) + rest > old_children:
                hopeless = True  # prune: the rest cannot win it back (heuristically)
                break
        old_key = (batch_key(old), backorder_units(old))
        new_key = (batch_key(new), backorder_units(new))
        # units waiting, counted both ways: as the plans count them (a bundle is one unit)
        # and in SKU units (its components): neither may grow
        more_wait = new_key[1] > old_key[1] or (
            not hopeless and shipped_units(new) < shipped_units(old))
        keep = (not hopeless and not any(p.failed for p in new)
                and not more_wait and new_key[0] < old_key[0])
        if not keep and not hopeless:  # why: more units waiting, as many children, more
            why = ("wait" if more_wait else "same" if new_key[0][0] == old_key[0][0]
                   else "more")
            out.stats[f"reject_{kind}_{why}"] = out.stats.get(f"reject_{kind}_{why}", 0) + 1
        if keep:
            out.accepted += 1
            out.stats[f"accepted_{kind}"] = out.stats.get(f"accepted_{kind}", 0) + 1
        else:
            for p in new:
                ledger.give(p)
            for p in old:
                ledger.take(p)
        for g, p in zip(group, new if keep else old, strict=True):
            plans[g] = p
            hold(g, p, True)
            wait(g, p, True)
        out.stats[f"seconds_{kind}"] = (out.stats.get(f"seconds_{kind}", 0.0)
                                        + time.perf_counter() - started)
        return keep

    def blockers_of(j: int) -> list[int]:
        """Orders holding stock that ``j``'s lower-bound plan lacks, most-blocking first."""
        ledger.give(plans[j])
        short: dict[int, int] = {}
        if lower[j].use_units.size:
            pos = ledger.local(lower[j].use_col)
            lack = lower[j].use_units - ledger.residual[lower[j].use_loc, pos]
            for w, k, u in zip(lower[j].use_loc.tolist(), lower[j].use_col.tolist(),
                               lack.tolist(), strict=True):
                if u > 0:
                    for b in holders.get((w, k), ()):
                        if b != j:
                            short[b] = short.get(b, 0) + 1
        ledger.take(plans[j])
        return sorted(short, key=lambda b: (-short[b], b))[:MAX_GROUP - 1]

    def waiters_of(j: int) -> list[int]:
        """Orders waiting for SKUs that ``j`` holds (they may use them better)."""
        count: dict[int, int] = {}
        for k in set(plans[j].use_col.tolist()):
            for b in waiting.get(k, ()):
                if b != j:
                    count[b] = count.get(b, 0) + 1
        return sorted(count, key=lambda b: (-count[b], b))[:MAX_GROUP - 1]

    def wait_cost(h: int) -> tuple[bool, int, int]:
        """How dear making ``h`` wait is likely to be: an order of one SKU, or one that
        waits anyway, waits without a new child; then fewer SKUs first."""
        return (templates[h].cols.size > 1 and plans[h].backorder_units == 0,
                templates[h].cols.size, h)

    def donors_of(j: int) -> list[int]:
        """For each SKU ``j`` waits for, the order cheapest to make wait
        (:func:`wait_cost`) among those holding it at a location ``j`` ships from."""
        at = sorted(set(plans[j].use_loc.tolist()))
        out_: list[int] = []
        for k in plans[j].short_cols.tolist():
            cands = {h for w in at for h in holders.get((w, k), ()) if h != j and h not in out_}
            if cands:
                out_.append(min(cands, key=wait_cost))
            if len(out_) == MAX_GROUP - 1:
                break
        return out_

    def single_donors_of(j: int, tried: list[int]) -> list[int]:
        """Every holder of a SKU ``j`` waits for at a location ``j`` ships from, cheapest
        to wait first (at most ``task.breadth``), each to be tried alone."""
        at = sorted(set(plans[j].use_loc.tolist()))
        cands = {h for k in plans[j].short_cols.tolist() for w in at
                 for h in holders.get((w, k), ()) if h != j and h not in tried}
        return sorted(cands, key=wait_cost)[:task.breadth]

    def chains_of(j: int) -> list[tuple[int, int]]:
        """Ejection chains of two: for a SKU ``j`` waits for, a holder ``h`` at a location
        ``j`` ships from that is dear to make wait (:func:`wait_cost`), and a holder of
        that SKU elsewhere cheap to make wait, whose units ``h`` may move to (at most
        ``task.breadth``, cheapest second link first)."""
        at = set(plans[j].use_loc.tolist())
        out_: list[tuple[tuple[bool, int, int], int, int]] = []
        for k in plans[j].short_cols.tolist():
            links = max(2, task.breadth // 4)
            dear = sorted({h for w in at for h in holders.get((w, k), ())
                           if h != j and wait_cost(h)[0]}, key=wait_cost)[:links]
            if not dear:
                continue
            cheap = sorted({h2 for w in held_at.get(k, ()) if w not in at
                            for h2 in holders[(w, k)] if h2 != j and not wait_cost(h2)[0]},
                           key=wait_cost)[:links]
            out_ += [(wait_cost(h2), h, h2) for h in dear for h2 in cheap if h2 != h]
        return [(h, h2) for _, h, h2 in sorted(out_)][:task.breadth]

    def movers_of(j: int, tried: list[int]) -> list[int]:
        """Single donors elsewhere: holders of a SKU ``j`` waits for at a location that,
        with the donor's and ``j``'s own units there, holds ``j``'s whole demand of that
        SKU's rule group (so ``j`` can move the group there); cheapest to wait first."""
        tpl, plan = templates[j], plans[j]
        if tpl.col_group is None:
            return []
        index = {int(c): i for i, c in enumerate(tpl.cols.tolist())}
        own: dict[tuple[int, int], int] = {}
        for w, k, u in zip(plan.use_loc.tolist(), plan.use_col.tolist(),
                           plan.use_units.tolist(), strict=True):
            own[(w, k)] = u
        scored: set[tuple[tuple[bool, int, int], int]] = set()
        for k in plan.short_cols.tolist()[:MAX_GROUP - 1]:
            i = index.get(k)
            if i is None:
                continue
            in_group = tpl.col_group == tpl.col_group[i]
            cols, need = tpl.cols[in_group], tpl.demand[in_group]
            pos = ledger.local(cols)
            for w in range(ledger.residual.shape[0]):
                donors = [h for h in holders.get((w, k), ()) if h != j and h not in tried]
                if not donors:
                    continue
                have = ledger.residual[w, pos] + np.array([own.get((w, c), 0)
                                                           for c in cols.tolist()])
                for h in donors:
                    theirs = {(ww, kk): u for ww, kk, u in zip(
                        plans[h].use_loc.tolist(), plans[h].use_col.tolist(),
                        plans[h].use_units.tolist(), strict=True) if ww == w}
                    if (have + np.array([theirs.get((w, c), 0) for c in cols.tolist()])
                            >= need).all():
                        scored.add((wait_cost(h), h))
        return [h for _, h in sorted(scored)][:task.breadth]

    def takers_of(j: int) -> tuple[list[int], list[int]]:
        """Orders waiting for SKUs ``j`` ships, at a location that delivers to them; those
        the fewest of whose waiting SKUs ``j`` does not ship first (at most
        :data:`MOVERS`), and one such order per SKU ``j`` ships (the best of each, at most
        ``MAX_GROUP - 1``). Re-split before ``j``, they may ship whole while ``j``'s
        group, short anyway, waits whole: one child less at no more units waiting."""
        shipped: dict[int, set[int]] = {}
        for w, k in zip(plans[j].use_loc.tolist(), plans[j].use_col.tolist(), strict=True):
            shipped.setdefault(k, set()).add(w)
        scored: dict[int, tuple[int, int, int]] = {}
        for k, locs in shipped.items():
            for h in waiting.get(k, ()):
                if h == j or h in scored:
                    continue
                minutes = state.world.minutes(templates[h].destination)
                if not any(minutes[w] >= 0 for w in locs):
                    continue
                miss = sum(c not in shipped for c in plans[h].short_cols.tolist())
                scored[h] = (miss, templates[h].cols.size, h)
        ranked = sorted(scored, key=lambda h: scored[h])
        cover: list[int] = []
        for k in shipped:
            best = next((h for h in ranked if k in set(plans[h].short_cols.tolist())), None)
            if best is not None and best not in cover:
                cover.append(best)
        return ranked[:task.breadth], sorted(cover)[:MAX_GROUP - 1]

    def joint_try(members: list[int], kind: str, limit_s: float = JOINT_LIMIT_S) -> bool:
        """Re-allocate the stock of ``members`` with one joint model, re-split them
        against their shares, keep it if better (``kind`` names the move)."""
        for j in members:
            ledger.give(plans[j])
        jos = []
        for j in members:
            groups = state.groups_of(positions[j])
            assert groups is not None
            jos.append(JointOrder(templates[j], groups, plans[j], shipping_avail(
                state.world, templates[j], ledger.view(templates[j]))))
        residual = ledger.residual.copy()
        for j in members:
            ledger.take(plans[j])
        started = time.perf_counter()
        views = allocate(state.world, jos, ledger.cols, residual, limit_s)
        out.stats[f"seconds_{kind}_model"] = (out.stats.get(f"seconds_{kind}_model", 0.0)
                                              + time.perf_counter() - started)
        return views is not None and try_group(members, kind, views)

    def whole_part() -> None:
        """A small part (at most :data:`JOINT_SIZE` orders the joint model holds, some
        above their bound or waiting): all of them in one joint model at once."""
        members: list[int] = []
        for j in range(len(plans)):  # (no more than one past the model's size is asked)
            if state.groups_of(positions[j]) is not None:
                members.append(j)
                if len(members) > JOINT_SIZE:
                    return
        if not (1 < len(members) <= JOINT_SIZE and any(
                plans[j].children > lower[j].children or plans[j].backorder_units
                for j in members)):
            return
        digest = hashlib.sha256(task.budget.tobytes() + task.cols.tobytes())
        for j in members:
            plan = plans[j]
            for part in (np.int64(positions[j]), plan.use_loc, plan.use_col, plan.use_units,
                         plan.short_cols):
                digest.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
        seen = digest.digest()
        if seen not in state.whole_tried and not joint_try(members, "joint_all",
                                                           WHOLE_LIMIT_S):
            state.whole_tried.add(seen)

    def joint_moves() -> IntArray:
        """For each SKU some orders of the part wait for (those with most such orders,
        tried in fewer rounds, first), its orders' stock re-allocated jointly
        (:func:`~ordersplit.batch.joint.allocate`); the SKUs tried in vain."""
        users: dict[int, list[int]] = {}
        for j, tpl in enumerate(templates):
            if state.groups_of(positions[j]) is not None:
                for k in sorted(set(tpl.cols[tpl.cols >= 0].tolist())):
                    users.setdefault(k, []).append(j)
        score = {k: sum(1 for j in js if plans[j].children > 1
                        and state.groups_of(positions[j]) is not None)
                 for k, js in waiting.items()}
        sku_tries = task.sku_tries
        skus = sorted((k for k, n in score.items() if n > 0 and len(users.get(k, ())) > 1),
                      key=lambda k: (0 if sku_tries is None else int(sku_tries[k]),
                                     -score[k], k))
        vain: list[int] = []
        for k in skus:
            if time.perf_counter() >= end:
                break
            members = sorted(users[k], key=lambda j: (j not in waiting.get(k, ()), j))
            if not joint_try(members[:JOINT_SIZE], "joint"):
                vain.append(k)
        return np.array(vain, dtype=np.int64)

    children, low_children = plan_ints(plans, "children"), plan_ints(lower, "children")
    regret_at = np.flatnonzero(~(plan_failed(plans) | plan_failed(lower)) & (
        (children > low_children) | (plan_ints(plans, "backorder_units") > 0)))
    tries = task.tries if task.tries is not None else np.zeros(len(plans), dtype=np.int64)
    gain = (low_children - children).tolist()
    regret = sorted(regret_at.tolist(), key=lambda j: (int(tries[j]), gain[j], j))
    out.stats["regret"] = len(regret)
    if task.joint:
        out.skus_visited = joint_moves()
    visited: list[int] = []
    for j in regret:
        if time.perf_counter() >= end or (task.max_moves is not None and out.tried >= task.max_moves):
            break
        visited.append(j)
        # cheapest moves per kept move first (pairs), the wide and large ones last
        waits = plans[j].backorder_units > 0
        if waits and plans[j].children > 1 and any(
                try_group([j, d], "movers") for d in movers_of(j, [])):
            continue
        if waits and plans[j].use_units.size:
            pairs, cover = takers_of(j)
            if any(try_group([h, j], "takers") for h in pairs):
                continue
        if waits and plans[j].children > 1:
            donors = donors_of(j)
            if donors and try_group([j, *donors], "donors"):
                continue
        if waits and plans[j].children > 1 and any(
                try_group([j, h, h2], "chains") for h, h2 in chains_of(j)):
            continue
        if plans[j].children > lower[j].children:
            blockers = blockers_of(j)
            if (blockers or ledger.fits(lower[j])) and try_group([j, *sorted(blockers)], "blockers"):
                continue
        if waits and plans[j].children > 1 and task.breadth > MOVERS and any(
                try_group([j, d], "single_donors") for d in single_donors_of(j, [])):
            continue
        if waits and plans[j].use_units.size:
            pairs, cover = takers_of(j)
            if len(cover) > 1 and try_group([*cover, j], "taker_set"):
                continue
            waiters = waiters_of(j)
            if waiters:
                try_group([*sorted(waiters), j], "waiters")
    if time.perf_counter() < end and (task.max_moves is None or out.tried < task.max_moves):
        whole_part()  # small parts only, in every round, after the cheaper moves
    out.plans = plans
    out.visited = task.orders[np.array(visited, dtype=np.int64)]
    out.stats["visited"] = len(visited)
    out.stats["runtime_s"] = time.perf_counter() - t0
    return out
