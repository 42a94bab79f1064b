"""The batch optimization: lower bound, warm starts, rounds of parallel neighbourhood search.

1. Lower bound: every order alone with all the stock (parallel over orders, on the
   workers), and at the same time, in this process, sequential splitting in arrival
   order as the lower-bound plans come back (an order whose plan still fits the stock
   left keeps it). ``lower_bound_s`` and ``sequential_s`` are both measured from the
   start of this stage.
2. Warm starts: sequential splitting, and the current assignment when there is one;
   the better one starts the search, so the result is never worse than either.
3. Rounds until the time budget (or ``max_rounds``) is used up, or a full turn of cuts
   finds nothing with the wide moves: cut the batch into :func:`part_count` parts
   (:mod:`ordersplit.batch.partition`), search each part on the worker slot that owns
   most of its orders (:mod:`ordersplit.batch.shards`; only deltas travel), merge the
   changed plans, and check the cells they take from for overselling. Orders visited
   without a kept move go last in the next round (``tries``); after a full turn of
   cuts without a gain the moves widen (:data:`~ordersplit.batch.search.BREADTHS`)
   and every order is tried again. At the widest breadth each part also re-allocates
   the stock of the SKUs its orders wait for, SKU by SKU, with one exact model per SKU
   (:mod:`ordersplit.batch.joint`); SKUs tried in vain go last in the next round
   (``sku_tries``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ordersplit.batch.bound import JointBound
from ordersplit.batch.heap import release
from ordersplit.batch.ledger import Ledger, apply_changes, check_no_oversell
from ordersplit.batch.model import OrderPlan, safe_solve
from ordersplit.batch.partition import CUTS, make_tasks
from ordersplit.batch.plan_columns import plan_failed, plan_ints
from ordersplit.batch.plan_list import PlanList, plan_view
from ordersplit.batch.runners import Pending
from ordersplit.batch.search import (
    BREADTHS,
    MOVERS,
    BatchState,
    Key,
    backorder_units,
    batch_key,
    failed_count,
    pinned_plans,
)
from ordersplit.batch.shards import Runner
from ordersplit.batch.wire import WirePlans, to_wire
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

FREEZE_ORDERS = 10_000
"""Orders whose lower-bound plans arrive between two ``gc.freeze()`` calls in
:func:`bound_and_sequential` (:func:`optimize` unfreezes after it): while the batch's
plans pile up, every full collection walked them all again (the driver spent 21.5 of
its 64.6 CPU seconds in the collector at 100,000 orders); frozen, they are skipped."""
POLL_S = 0.05
"""Longest the driver waits for an answer of a slot before it looks again."""
CHUNKS_QUEUED = 2
"""Lower-bound chunks out to a slot at a time in the sequential pass when splits may
overtake them (``Transport.overtakes``): one it bounds, one queued, so that it never
waits for the driver between two."""
SPLITS_QUEUED = 2
"""Split messages out to a slot at a time when they may overtake its chunks; the
splits that become ready meanwhile wait in the driver and go out together."""
PACK_OBJECTS_AT = 4096
"""Sequential plans a slot answered as objects (small answers are cheaper unpacked) that
the driver holds before it packs them into one pack: bounded memory, few packs."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done_increment, stage_total)``: a no-op by default."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class Solution:
    """Every order's plan under each reference, and how the search went."""

    lower: PlanList
    sequential: PlanList
    current: list[OrderPlan] | None
    final: PlanList
    """(The lists hold the plans packed as the slots sent them: index them for an
    object, read many at once with :meth:`~ordersplit.batch.plan_list.PlanList.ints`
    and :meth:`~ordersplit.batch.plan_list.PlanList.cells`.)"""
    start: str
    """Which warm start the search began from: ``sequential`` or ``current``."""
    stats: dict[str, float] = field(default_factory=dict)


PART_ORDERS = 10_000
"""Orders per part of a search round (:func:`part_count`)."""


def part_count(n: int, workers: int, deterministic: bool) -> int:
    """Parts per search round: one per :data:`PART_ORDERS` orders, and (unless
    ``deterministic``) at least one per worker. A deterministic search thus cuts the
    batch the same way whatever the number of workers, which gives the same plans."""
    parts = max(1, -(-n // PART_ORDERS))
    return parts if deterministic else max(parts, workers)


DETERMINISTIC_ROUNDS = 12
"""Rounds of a deterministic search (unless ``max_rounds`` says otherwise)."""
DETERMINISTIC_MOVES = 2_000
"""Moves tried per part and round in a deterministic search."""


def optimize(state: BatchState, runner: Runner, *, time_limit_s: float,
             reserved: Sequence[IntArray | None] | None = None, max_rounds: int | None = None,
             progress: Progress = _no_progress,
             search_budget: Callable[[Sequence[OrderPlan]], float] | None = None,
             deterministic: bool = False, parts: int | None = None) -> Solution:
    """Optimize the batch in ``state``; see the module docstring.

    ``search_budget(warm start)``, when given, is asked once the warm start is known for
    the seconds the search may use (the caller keeps time for what comes after it).
    ``deterministic``: no wall clock decides anything; the search stops after
    ``max_rounds`` (default :data:`DETERMINISTIC_ROUNDS`) rounds of at most
    :data:`DETERMINISTIC_MOVES` moves per part, or when it finds nothing more.
    ``parts``: parts per round (default :func:`part_count`); with ``deterministic``, the
    same ``parts`` give the same plans for any number of workers.
    """
    t0 = time.perf_counter()
    n = len(state.templates)
    stats: dict[str, float] = {}

    try:
        lower, sequential, seq_stats = bound_and_sequential(state, runner, progress)
    finally:
        gc.unfreeze()  # what it froze is collected as usual again
    release("bound and sequential")
    stats.update(seq_stats)
    stats["sequential_s"] = time.perf_counter() - t0
    check_no_oversell(state.world.stock, sequential)

    current: list[OrderPlan] | None = None
    best: Sequence[OrderPlan] = sequential
    start = "sequential"
    if reserved is not None:
        current = pinned_plans(state, reserved, sequential, Ledger.full(state.world.stock))
        check_no_oversell(state.world.stock, current)
        if _better(current, sequential):
            best, start = current, "current"

    plans = PlanList.of(best, lower)  # the search's own list (the warm start's are kept)
    runner.start(plans, lower, sequential=start == "sequential")
    n_parts = parts or part_count(n, runner.workers, deterministic)
    t_search = time.perf_counter()
    end = t0 + time_limit_s
    if search_budget is not None and not deterministic:  # (it builds sample output here)
        end = min(end, t_search + search_budget(best))
    max_moves = None
    if deterministic:
        end, max_moves = float("inf"), DETERMINISTIC_MOVES
        max_rounds = DETERMINISTIC_ROUNDS if max_rounds is None else max_rounds
    rounds = tried = accepted = resolves = 0
    tries = np.zeros(n, dtype=np.int64)
    moves: dict[str, float] = {}
    sku_tries = np.zeros(state.world.stock.shape[1], dtype=np.int64)
    idle = 0
    breadth = MOVERS
    residual = check_no_oversell(state.world.stock, plans)  # then kept up to date per round
    key = batch_key(plans)  # likewise, from the changed plans only
    while max_rounds is None or rounds < max_rounds:
        if idle >= len(CUTS):
            wider = [b for b in BREADTHS if b > breadth]
            if not wider:
                break
            # a full turn of cuts found nothing: widen the moves, try every order again
            breadth, idle = wider[0], 0
            tries[:] = 0
        joint = breadth > BREADTHS[0]
        t_round = time.perf_counter()
        remaining = end - t_round
        if remaining <= 0.05:
            break
        cut = CUTS[rounds % len(CUTS)]
        round_limit = remaining / 2 if max_rounds is None else remaining / max(1, max_rounds - rounds)
        # parts wait in line when there are more than workers: each gets its share
        part_limit = round_limit * min(n_parts, runner.workers) / n_parts
        tasks = make_tasks(state, plans, lower, residual, cut, n_parts,
                           part_limit, max_moves=max_moves, tries=tries, breadth=breadth,
                           joint=joint, sku_tries=sku_tries)
        before = key
        last = max_rounds is not None and rounds + 1 >= max_rounds
        for changed, old, res in runner.improve(tasks, last=last):
            new = plan_view(plans, changed)
            apply_changes(residual, old, new)
            key = shifted_key(key, old, new)
            tries[res.visited] += 1
            sku_tries[res.skus_visited] += 1
            tries[changed] = 0  # their plans changed: their moves are worth trying again
            tried += res.tried
            accepted += res.accepted
            resolves += res.solves
            for name, value in res.stats.items():
                if name.startswith(("tried_", "accepted_", "reject_", "seconds_", "regret",
                                     "visited")):
                    moves[name] = moves.get(name, 0) + value
        after = key
        log.info("round %d (%s, %d parts): children %d -> %d", rounds, cut, len(tasks),
                 before[0], after[0])
        progress("search", 1, 0)
        runner.end_round(t_round)
        rounds += 1
        idle = 0 if after < before else idle + 1
    runner.end_search()
    check_no_oversell(state.world.stock, plans)
    if key != batch_key(plans):
        raise AssertionError("the batch key kept per round differs from the plans' own")
    release("search")
    if _better(best, plans):  # cannot happen: moves are only kept when they improve
        raise AssertionError("the search made the batch worse than its warm start")
    stats.update(search_s=time.perf_counter() - t_search, rounds=rounds, moves_tried=tried,
                 search_breadth=breadth,
                 moves_accepted=accepted, search_resolves=resolves, parts=n_parts,
                 optimize_s=time.perf_counter() - t0)
    stats.update(runner.traffic.summary())
    stats.update({f"moves_{name}": value for name, value in sorted(moves.items())})
    return Solution(lower, sequential, current, plans, start, stats)


def bound_and_sequential(state: BatchState, runner: Runner, progress: Progress = _no_progress
                         ) -> tuple[PlanList, PlanList, dict[str, float]]:
    """The lower-bound plans and the sequential baseline, the work spread over the slots.

    Sequential splitting gives each order, in arrival order, its lower-bound plan when
    that still fits what the earlier orders left, else its exact split against what
    they left. An order reads and takes stock only in its own SKU columns, so its turn
    depends only on the earlier orders that share a column with it: once those have
    their plans, the stock it sees is final. This process keeps, per column, the last
    order that uses it; an order whose predecessors all have plans is *ready*: it keeps
    its lower-bound plan when that fits, else its clipped view is split - by the slot
    owning it when that slot is free (:class:`~ordersplit.batch.slots.Split`), else
    here when this process has nothing else to do - while orders that share no column
    with it go on. Where a slot reads every message that has arrived before it picks
    the next and lets splits overtake its queued chunks (``Transport.overtakes``:
    local processes, Dask slots on sockets), every slot is kept :data:`CHUNKS_QUEUED`
    lower-bound chunks ahead and every split goes to its slot at once (up to
    :data:`SPLITS_QUEUED` messages out), so that no slot waits for this process;
    this process makes a split itself only when it has nothing else to do and the
    slot owning it has that many out already. Else a free slot takes splits first,
    else the next lower-bound chunk (which it then owns); on a Dask cluster, where
    every message is a scheduler task, a slot takes splits only in batches
    (``Transport.splits_per_message``; fewer ready ones are made here, overlapping
    the bound on the workers). While no slot
    is up yet (worker processes take a second or more to start), this process bounds
    the next chunks itself and hands them to a slot. The plans are
    exactly those of serial sequential splitting
    (:func:`~ordersplit.batch.search.sequential_plans`): each split sees the same view.
    ``stats``: ``lower_bound_s``, ``sequential_resolves`` (orders split against what
    was left), of them ``sequential_driver_solves`` (split here: the serial part),
    ``sequential_messages`` (split messages), ``lower_bound_driver_chunks`` (chunks
    bounded here while the slots started) and ``sequential_depth`` (the longest
    chain of splits that waited for each other).
    """
    n = len(state.templates)
    chunks = runner.chunks
    remote = runner.transport.remote
    ledger = Ledger.full(state.world.stock)
    # packed as the slots send them (objects when the slot shares this process)
    lower = PlanList(n)
    final = PlanList(n, lower)
    settled = np.zeros(n, dtype=bool)
    kept_lower: list[int] = []  # orders whose sequential plan is their lower-bound plan
    waits = np.zeros(n, dtype=np.int64)  # predecessors without a plan yet
    after: dict[int, list[int]] = {}  # order -> later orders waiting for it
    depth = np.zeros(n, dtype=np.int64)  # splits on the longest chain up to the order
    last = np.full(state.world.stock.shape[1], -1, dtype=np.int64)
    busy = [0] * runner.workers  # messages out per slot
    chunks_out = [0] * runner.workers  # of them, lower-bound chunks
    queue = runner.transport.overtakes
    bounds: dict[int, tuple[int, Pending[tuple[WirePlans, float]]]] = {}
    arrived: dict[int, WirePlans] = {}
    splits: list[tuple[int, list[int], Pending[WirePlans]]] = []
    ready: list[int] = []
    todo: dict[int, dict[int, IntArray]] = {s: {} for s in range(runner.workers)}
    started = time.time()
    lb_done = started
    next_lb = got = finished = messages = resolves = here = here_lb = unfrozen = 0

    def settle(o: int, plans: PlanList) -> None:
        """Order ``o`` takes the stock of its plan in ``plans``, which is its sequential plan."""
        nonlocal finished
        ledger.take_cells(*plans.uses(o))
        settled[o] = True
        finished += 1
        for later in after.pop(o, ()):
            depth[later] = max(depth[later], depth[o])
            waits[later] -= 1
            if waits[later] == 0:
                ready.append(later)

    def scan(orders: list[int]) -> None:
        """Link ``orders`` (the next ones in arrival order) to their predecessors."""
        for o in orders:
            cols = state.templates[o].cols
            cols = np.unique(cols[cols >= 0])
            for p in set(last[cols].tolist()) - {-1}:
                if not settled[p]:
                    after.setdefault(p, []).append(o)
                    waits[o] += 1
            last[cols] = o
            if waits[o] == 0:
                ready.append(o)

    while finished < n:
        moved = False
        for c in [c for c, (_, reply) in bounds.items() if reply.done()]:
            s, reply = bounds.pop(c)
            busy[s] -= 1
            chunks_out[s] -= 1
            arrived[c], done = reply.result()
            lb_done = max(lb_done, done)
            moved = True
        while got in arrived:  # in arrival order
            lower.put(chunks[got], arrived.pop(got))
            scan(chunks[got])
            progress("bound and sequential", len(chunks[got]), n)
            unfrozen += len(chunks[got])
            got += 1
        if unfrozen >= FREEZE_ORDERS:  # the plans so far live on: no more GC passes
            gc.freeze()
            release("a part of the bound")  # what unpacking and splitting freed
            unfrozen = 0
        for i in reversed([i for i, (_, _, answer) in enumerate(splits) if answer.done()]):
            s, orders, answer = splits.pop(i)
            busy[s] -= 1
            final.put(orders, answer.result())  # a few plans come as objects (cheaper)
            for o in orders:
                settle(o, final)
            if remote and len(final.objects) >= PACK_OBJECTS_AT:
                final.pack_objects()
            moved = True
        while ready:
            o = ready.pop()
            if ledger.fits_cells(*lower.uses(o)):
                kept_lower.append(o)
                settle(o, lower)
            else:  # its view is final: nothing that shares its columns can settle first
                depth[o] += 1
                resolves += 1
                todo[int(runner.owner[o])][o] = ledger.view(state.templates[o])
            moved = True
        fewest, most = runner.transport.splits_per_message
        for s in range(runner.workers):
            if queue:  # splits overtake the slot's queued chunks: keep it supplied
                if todo[s] and busy[s] - chunks_out[s] < SPLITS_QUEUED:
                    orders = sorted(todo[s])[:most]
                    splits.append((s, orders, runner.split(s, orders,
                                                           [todo[s].pop(o) for o in orders])))
                    messages += 1
                    busy[s] += 1
                    moved = True
                while chunks_out[s] < CHUNKS_QUEUED and next_lb < len(chunks):
                    bounds[next_lb] = (s, runner.lower_bound(next_lb, s))
                    next_lb += 1
                    busy[s] += 1
                    chunks_out[s] += 1
                    moved = True
                continue
            if busy[s]:
                continue
            if todo[s] and len(todo[s]) >= fewest:
                orders = sorted(todo[s])[:most]
                splits.append((s, orders, runner.split(s, orders,
                                                       [todo[s].pop(o) for o in orders])))
                messages += 1
            elif next_lb < len(chunks):
                bounds[next_lb] = (s, runner.lower_bound(next_lb, s))
                next_lb += 1
            else:
                continue
            busy[s] += 1
            moved = True
        if moved or finished == n:
            continue
        waiting = [(o, s) for s in todo for o in todo[s]]
        if waiting:  # no slot can take it now: the earliest split waiting is made here
            o, s = min(waiting)
            view = todo[s].pop(o)
            here += 1
            final.put([o], to_wire([safe_solve(state.world, state.templates[o], view,
                                               state.order_limit_s, work=True)], remote))
            settle(o, final)
        elif next_lb < len(chunks) and not runner.ready():
            # the worker processes are still starting: the next chunk is bounded here
            arrived[next_lb] = runner.lower_here(next_lb, next_lb % runner.workers)
            lb_done = max(lb_done, time.time())
            here_lb += 1
            next_lb += 1
        elif remote:
            runner.transport.wait(POLL_S)
        elif splits:  # in this process an answer is computed when it is asked for
            splits[0][2].result()
        else:
            bounds[min(bounds)][1].result()
    stats = {"lower_bound_s": lb_done - started, "sequential_resolves": resolves,
             "sequential_driver_solves": here, "sequential_messages": messages,
             "lower_bound_driver_chunks": here_lb,
             "sequential_depth": int(depth.max(initial=0))}
    final.put_lower(kept_lower)
    if remote:
        final.pack_objects()
    final.gather_small()  # the search's list is a copy: it reads these packs every round
    return lower, final, stats


def shifted_key(key: Key, old: Sequence[OrderPlan], new: Sequence[OrderPlan]) -> Key:
    """The batch key (:func:`~ordersplit.batch.search.batch_key`) after the plans
    ``old`` were replaced by ``new``: the driver recounted it over every plan twice a
    round (four sums over a million plan objects each)."""
    (c, m, u, x), (c0, m0, u0, x0), (c1, m1, u1, x1) = key, batch_key(old), batch_key(new)
    return c - c0 + c1, m - m0 + m1, u - u0 + u1, x - x0 + x1


def _better(a: Sequence[OrderPlan], b: Sequence[OrderPlan]) -> bool:
    """Whether ``a`` beats ``b``: fewer failed orders, fewer units waiting, or as few and
    a smaller batch key."""
    ka = (failed_count(a), backorder_units(a), *batch_key(a))
    kb = (failed_count(b), backorder_units(b), *batch_key(b))
    return ka < kb


def planned_mask(sol: Solution) -> list[bool]:
    """Which orders end with a plan (the others are error rows)."""
    out: list[bool] = (~plan_failed(sol.final)).tolist()
    return out


def summary_numbers(sol: Solution, group_bound: int | None = None,
                    joint: JointBound | None = None) -> dict[str, Any]:
    """Children, delivery and back-orders of every reference over the planned orders, the
    gap and the gap closed (orders whose split failed are left out of every figure).

    ``gap_closed_pct`` is measured against the joint bound when one is given (a valid
    bound on every joint plan, :mod:`ordersplit.batch.bound`), else against the per-order
    bound; ``gap_closed_per_order_pct`` always against the per-order bound."""
    ok = planned_mask(sol)
    n = sum(ok)
    out: dict[str, Any] = {"orders_planned": n}
    refs: dict[str, Sequence[OrderPlan]] = {
        "lower_bound": sol.lower, "sequential": sol.sequential, "batch": sol.final}
    if sol.current is not None:
        refs["current"] = sol.current
    keep = np.array(ok, dtype=bool)
    for name, all_plans in refs.items():  # read as columns: no plan objects
        out[f"children_{name}"] = int(plan_ints(all_plans, "children")[keep].sum())
        out[f"mean_delivery_hours_{name}"] = round(
            float(np.mean(plan_ints(all_plans, "makespan")[keep])) / 60, 3) if n else 0.0
        out[f"backorder_units_{name}"] = int(plan_ints(all_plans, "backorder_units")[keep].sum())
    seq, lb, fin = (int(out["children_sequential"] or 0), int(out["children_lower_bound"] or 0),
                    int(out["children_batch"] or 0))
    # the per-order bound assumes every order gets all the stock; under shortage it can
    # exceed what any batch needs (waiting lines share one back-order child): then no gap
    out["gap_closed_per_order_pct"] = round(100 * (seq - fin) / (seq - lb), 2) if seq > lb \
        else None
    out["gap_to_per_order_bound_pct"] = round(100 * (fin - lb) / fin, 3) if fin and fin >= lb \
        else None
    ref = lb
    if joint is not None:
        ref = joint.children
        out.update(children_joint_bound=joint.children, joint_bound_status=joint.status,
                   joint_bound_wait_cap_units=joint.wait_cap_units,
                   joint_bound_no_withholding=joint.no_withholding,
                   joint_bound_integer=joint.integer,
                   units_short_in_any_plan=joint.short_units,
                   joint_bound_lp_size=f"{joint.lp_rows}x{joint.lp_cols}",
                   joint_bound_s=round(joint.runtime_s, 3))
    out["gap_bound"] = "joint" if joint is not None else "per_order"
    out["gap_closed_pct"] = round(100 * (seq - fin) / (seq - ref), 2) if seq > ref else None
    out["gap_to_bound_pct"] = round(100 * (fin - ref) / fin, 3) if fin and fin >= ref else None
    if group_bound is not None:
        out["children_group_bound"] = group_bound
        out["gap_to_group_bound_pct"] = round(100 * (fin - group_bound) / fin, 3) if fin else 0.0
    return out
