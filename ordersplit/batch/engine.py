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

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ordersplit.batch.bound import JointBound
from ordersplit.batch.ledger import Ledger, apply_changes, check_no_oversell
from ordersplit.batch.model import OrderPlan
from ordersplit.batch.partition import CUTS, make_tasks
from ordersplit.batch.runners import Pending
from ordersplit.batch.search import (
    BREADTHS,
    MOVERS,
    REUSED,
    SOLVED,
    BatchState,
    backorder_units,
    batch_key,
    failed_count,
    pinned_plans,
    sequential_step,
)
from ordersplit.batch.shards import Bounded, Runner
from ordersplit.batch.wire import narrow
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

AHEAD = 1
"""Lower-bound chunks each worker slot has in hand during the sequential pass (see
:func:`bound_and_sequential`): more keeps the slots busier, fewer keeps their copies
of the stock closer to the driver's (fewer speculative splits wasted)."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done_increment, stage_total)``: a no-op by default."""


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class Solution:
    """Every order's plan under each reference, and how the search went."""

    lower: list[OrderPlan]
    sequential: list[OrderPlan]
    current: list[OrderPlan] | None
    final: list[OrderPlan]
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

    lower, sequential, seq_stats = bound_and_sequential(state, runner, progress)
    stats.update(seq_stats)
    stats["sequential_s"] = time.perf_counter() - t0
    check_no_oversell(state.world.stock, sequential)

    current: list[OrderPlan] | None = None
    best, start = sequential, "sequential"
    if reserved is not None:
        current = pinned_plans(state, reserved, sequential, Ledger.full(state.world.stock))
        check_no_oversell(state.world.stock, current)
        if _better(current, sequential):
            best, start = current, "current"

    plans = list(best)
    runner.start(plans, lower)
    n_parts = parts or part_count(n, runner.workers, deterministic)
    t_search = time.perf_counter()
    end = t0 + time_limit_s
    if search_budget is not None:
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
        before = batch_key(plans)
        for changed, old, res in runner.improve(tasks):
            apply_changes(residual, old, [plans[o] for o in changed.tolist()])
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
        after = batch_key(plans)
        log.info("round %d (%s, %d parts): children %d -> %d", rounds, cut, len(tasks),
                 before[0], after[0])
        progress("search", 1, 0)
        runner.end_round(t_round)
        rounds += 1
        idle = 0 if after < before else idle + 1
    check_no_oversell(state.world.stock, plans)
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
                         ) -> tuple[list[OrderPlan], list[OrderPlan], dict[str, float]]:
    """The lower-bound plans and the sequential baseline, both computed on the slots.

    The slots take the batch chunk after chunk in arrival order (:data:`AHEAD` chunks
    each at a time). For its chunk a slot computes the lower-bound plans, then splits
    the chunk sequentially against its copy of the stock: the stock the driver's
    sequential pass had left when it sent the chunk (the message carries the cells
    taken since the slot's previous one), so only the orders of the chunks still out
    on the other slots are missing from it. This process commits the orders in arrival
    order (:func:`~ordersplit.batch.search.sequential_step`): an order keeps its
    lower-bound plan when it fits, else the slot's split when the slot saw the same
    clipped view of the stock as the order sees now (the stock it reads was not changed
    by the orders the slot did not know of), else it is split here. So the plans are
    exactly those of serial sequential splitting (:func:`sequential_plans`); only
    the solves move to the slots. ``stats``: ``lower_bound_s``, and
    ``sequential_resolves`` (orders whose lower-bound plan did not fit), of them
    ``sequential_reused`` (split by a slot) and ``sequential_driver_solves``
    (split here: the serial part), and ``sequential_guesses`` (splits the slots made).
    """
    n = len(state.templates)
    chunks = runner.chunks
    ledger = Ledger.full(state.world.stock)
    lower: list[OrderPlan] = []
    sequential: list[OrderPlan] = []
    told = [0] * runner.workers  # sequential plans each slot's stock copy has taken
    pending: dict[int, Pending[Bounded]] = {}
    started = time.time()
    lb_done = started
    ahead = AHEAD * runner.workers

    def send(c: int) -> None:
        s = runner.slot_of(c)
        taken = taken_cells(sequential[told[s]:])
        told[s] = len(sequential)
        pending[c] = runner.lower_bound(c, taken, speculate=True)

    for c in range(min(ahead, len(chunks))):
        send(c)
    counts = [0, 0, 0]
    guesses = 0
    for c in range(len(chunks)):
        plans, done, guessed = pending.pop(c).result()
        lb_done = max(lb_done, done)
        for o, alone, guess in zip(chunks[c], plans, guessed, strict=True):
            plan, how = sequential_step(state, ledger, state.templates[o], alone, guess)
            counts[how] += 1
            guesses += guess is not None
            lower.append(alone)
            sequential.append(plan)
        if c + ahead < len(chunks):
            send(c + ahead)
        progress("bound and sequential", len(plans), n)
    stats = {"lower_bound_s": lb_done - started,
             "sequential_resolves": counts[REUSED] + counts[SOLVED],
             "sequential_reused": counts[REUSED], "sequential_driver_solves": counts[SOLVED],
             "sequential_guesses": guesses}
    return lower, sequential, stats


def taken_cells(plans: Sequence[OrderPlan]) -> tuple[IntArray, IntArray, IntArray]:
    """The stock cells ``plans`` take (location, SKU column, units; repeats kept), each
    array in the narrowest dtype that holds it."""
    live = [p for p in plans if p.use_units.size]
    if not live:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (narrow(np.concatenate([p.use_loc for p in live])),
            narrow(np.concatenate([p.use_col for p in live])),
            narrow(np.concatenate([p.use_units for p in live])))


def _better(a: Sequence[OrderPlan], b: Sequence[OrderPlan]) -> bool:
    """Whether ``a`` beats ``b``: fewer failed orders, fewer units waiting, or as few and
    a smaller batch key."""
    ka = (failed_count(a), backorder_units(a), *batch_key(a))
    kb = (failed_count(b), backorder_units(b), *batch_key(b))
    return ka < kb


def planned_mask(sol: Solution) -> list[bool]:
    """Which orders end with a plan (the others are error rows)."""
    return [not p.failed for p in sol.final]


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
    refs = {"lower_bound": sol.lower, "sequential": sol.sequential, "batch": sol.final}
    if sol.current is not None:
        refs["current"] = sol.current
    for name, all_plans in refs.items():
        plans = [p for p, keep in zip(all_plans, ok, strict=True) if keep]
        out[f"children_{name}"] = sum(p.children for p in plans)
        out[f"mean_delivery_hours_{name}"] = round(
            float(np.mean([p.makespan for p in plans])) / 60, 3) if plans else 0.0
        out[f"backorder_units_{name}"] = backorder_units(plans)
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
