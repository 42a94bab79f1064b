"""The driver side of the scaled-out batch: who owns which order, and the deltas to send.

Every order is *owned* by one worker slot (:mod:`ordersplit.batch.slots`), which holds
its template, lower-bound plan and current plan. At the start a slot is sent the world
only; each chunk of arrival order goes to the first free slot with its templates (the
lower bound is computed chunk by chunk where the orders live). A search
round's parts go to slots as they become free, each to one that owns many of its
orders (:func:`next_part`);
the orders of a part owned elsewhere *move*: their template and lower-bound plan go to
the new slot, the old one forgets them. Then a part's message carries only the plans
its slot does not hold in their current version (``version`` against ``held``), and
the slot answers with the plans it changed. Plans travel packed
(:mod:`ordersplit.batch.wire`).

:attr:`Runner.traffic` counts the bytes through the driver per stage and per round, and
the seconds the driver worked alone in each round (everything but waiting for the
slots): the serial part of a round.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from ordersplit.batch.model import OrderPlan, OrderTemplate
from ordersplit.batch.plan_columns import PartPlans
from ordersplit.batch.plan_list import PlanList
from ordersplit.batch.runners import (
    PROTOCOL,
    InlineTransport,
    Pending,
    Transport,
    make_transport,
)
from ordersplit.batch.search import BatchState, PartTask, lower_bound_plans
from ordersplit.batch.slots import (
    Adopt,
    Changed,
    Improve,
    Lower,
    Output,
    PlanDelta,
    Setup,
    Split,
)
from ordersplit.batch.wire import WirePlans, from_wire, narrow, to_wire
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_S = 0.05
"""Longest the driver waits for an answer of a slot before it looks again."""

def lb_chunk(n: int, slots: int, small: bool = True) -> int:
    """Orders per lower-bound chunk: with ``small`` messages, small enough that a split
    the sequential pass waits for is not long queued behind one."""
    return max(16, min(64 if small else 512, n // max(1, 4 * slots) or 1))


SENT: IntArray = np.zeros((0, 0), dtype=np.int64)
"""What :meth:`Runner.improve` leaves in a task's ``budget`` once it is sent."""
NEAR_LARGEST = 0.85
"""A free slot may take a part this much smaller than the largest left when it owns
more of its orders (fewer orders move)."""


def next_part(parts: Sequence[IntArray], owner: IntArray, slot: int, free: Sequence[int],
              work: Sequence[int] | None = None) -> int:
    """Which of ``parts`` the free ``slot`` searches next: among those with at least
    :data:`NEAR_LARGEST` times the most ``work`` (default: orders), one whose orders it
    owns most, unless another free slot owns more of them (then that slot takes it)."""
    weight = [int(p.size) for p in parts] if work is None else list(work)
    near = [i for i, w in enumerate(weight) if w >= NEAR_LARGEST * max(weight)]
    mine = [i for i in near if _best_free(parts[i], owner, free) == slot]
    pool = mine or near
    return max(pool, key=lambda i: (int(np.count_nonzero(owner[parts[i]] == slot)),
                                    weight[i], -i))


def _best_free(part: IntArray, owner: IntArray, free: Sequence[int]) -> int:
    """The free slot owning most of ``part``'s orders (the first on ties)."""
    return max(free, key=lambda s: (int(np.count_nonzero(owner[part] == s)), -s))


@dataclass
class Traffic:
    """Bytes through the driver (out to the slots, in from them) and driver seconds."""

    _slots: int = 1
    workers_start: str = ""
    """How the workers started (:attr:`~ordersplit.batch.runners.Transport.start_method`)."""
    setup_bytes: int = 0
    lower_bytes: int = 0
    output_bytes: int = 0
    round_bytes: list[int] = field(default_factory=list)
    round_moved: list[int] = field(default_factory=list)
    """Orders that moved to another slot in each round."""
    round_s: list[float] = field(default_factory=list)
    round_serial_s: list[float] = field(default_factory=list)
    """Seconds of each round the driver was not waiting for the slots."""
    round_slot_s: list[float] = field(default_factory=list)
    """Seconds the slots worked in each round, summed over slots."""
    round_busiest_s: list[float] = field(default_factory=list)
    """Seconds the busiest slot worked in each round."""
    round_driver_cpu_s: list[float] = field(default_factory=list)
    """CPU seconds of the driver in each round (:meth:`Runner._driver_cpu`), slot work
    in it excluded: the serial work, apart from the machine's load."""
    round_slot_cpu_s: list[list[float]] = field(default_factory=list)
    """CPU seconds of each slot in each round."""
    cpu_driver_sequential_s: float = 0.0
    """CPU seconds of the driver in the lower bound and the sequential pass
    (with one slot in this process: the whole stage)."""
    slot_cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds of all slots by kind of message (``lower``, ``split``, ``improve``,
    ``output``), read when the runner closes."""
    slot_cpu_busiest_s: dict[str, float] = field(default_factory=dict)
    """The most CPU seconds one slot spent on each kind of message (the critical path
    of a stage on an idle machine with a core per slot)."""

    def summary(self) -> dict[str, Any]:
        rounds = len(self.round_s)
        total = sum(self.round_s)
        serial = sum(self.round_serial_s)
        work = serial + sum(self.round_slot_s)
        return {
            "workers_start": self.workers_start,
            "bytes_setup": self.setup_bytes, "bytes_lower_bound": self.lower_bytes,
            "bytes_output": self.output_bytes,
            "bytes_per_round": round(sum(self.round_bytes) / rounds) if rounds else 0,
            "bytes_per_round_max": max(self.round_bytes, default=0),
            "orders_moved_per_round": round(sum(self.round_moved) / rounds, 1) if rounds else 0,
            "round_s_mean": round(total / rounds, 3) if rounds else 0.0,
            "round_serial_s_mean": round(serial / rounds, 3) if rounds else 0.0,
            "round_serial_pct": round(100 * serial / total, 2) if total else None,
            "serial_work_pct": round(100 * serial / work, 2) if work else None,
            # how evenly the parts filled the slots: 100 when every slot worked as long
            "slot_balance_pct": round(100 * sum(self.round_slot_s) / (
                self._slots * sum(self.round_busiest_s)), 1)
            if sum(self.round_busiest_s) > 0 else None,
            **self.cpu_summary(),
        }

    def cpu_summary(self) -> dict[str, Any]:
        """The rounds in CPU seconds, apart from the machine's load: the driver's serial
        CPU per round, the slots' (summed and the busiest), the serial fraction of the
        round work, and the round's length on an idle machine with one core per slot
        (driver, then the busiest slot: the parts of a round wait for each other)."""
        rounds = len(self.round_driver_cpu_s)
        out: dict[str, Any] = {
            "cpu_driver_sequential_s": round(self.cpu_driver_sequential_s, 3)}
        if not rounds:
            return out
        driver = sum(self.round_driver_cpu_s)
        slots = sum(sum(r) for r in self.round_slot_cpu_s)
        busiest = sum(max(r, default=0.0) for r in self.round_slot_cpu_s)
        return {
            **out,
            "round_cpu_driver_s_mean": round(driver / rounds, 3),
            "round_cpu_slots_s_mean": round(slots / rounds, 3),
            "round_cpu_busiest_s_mean": round(busiest / rounds, 3),
            "serial_cpu_pct": round(100 * driver / (driver + slots), 2) if driver + slots
            else None,
            "round_idle_s_mean": round((driver + busiest) / rounds, 3),
            "slot_cpu_balance_pct": round(100 * slots / (self._slots * busiest), 1)
            if busiest > 0 else None,
        }


class Runner:
    """The batch's worker slots seen from the driver (see the module docstring)."""

    def __init__(self, state: BatchState, transport: Transport) -> None:
        self.state, self.transport = state, transport
        self.workers = transport.slots
        n = len(state.templates)
        self.chunk = lb_chunk(n, self.workers, transport.small_messages)
        self.chunks = [list(range(i, min(n, i + self.chunk))) for i in range(0, n, self.chunk)]
        self.owner = ((np.arange(n) // self.chunk) % self.workers).astype(np.int64)
        self.version = np.zeros(n, dtype=np.int64)
        self.held = np.full(n, -1, dtype=np.int64)
        self.dropped: list[set[int]] = [set() for _ in range(self.workers)]
        self.pickled: dict[int, bytes] = {}
        self.kept = np.zeros(n, dtype=bool)
        """Orders whose slot keeps the split it made in the sequential pass (:class:`Split`):
        it holds their sequential plan."""
        self.plans = PlanList(0)
        """The search's current plans (:meth:`start`), held packed as they arrived."""
        self.lower = PlanList(0)
        self.traffic = Traffic(_slots=self.workers, workers_start=transport.start_method)
        # a slot in another process gets each template with the first message about its
        # order (the first lower-bound chunk starts at once; pickling and unpickling the
        # templates overlap the bound); one in this process gets them all now (no copy)
        self.shipped = np.zeros(n, dtype=bool)
        if not transport.remote:
            self.shipped[:] = True
        before = self._bytes()
        replies = [transport.send(s, Setup(
            state.world, state.order_limit_s,
            {} if transport.remote else
            {o: state.templates[o] for o in np.flatnonzero(self.owner == s).tolist()},
            transport.remote)) for s in range(self.workers)]
        # a slot in another process may still be starting: its setup is not waited for
        # (the driver computes lower-bound chunks itself until a slot is up, see
        # :meth:`ready`); one in this process is set up when asked
        self._setups = replies
        if not transport.remote:
            for r in replies:
                r.result()
        self._acks: list[Pending[Any]] = []
        self.traffic.setup_bytes = self._bytes() - before
        self._after_setup = self._bytes()
        self._round_waited = 0.0
        self._cpu_mark = self._cpu_ready = self._driver_cpu()

    def _driver_cpu(self) -> float:
        """CPU seconds of the driver's work: this thread (the caller of the runner, as
        every call is) and the transport's reader threads - not other threads of the
        process (a benchmark's sampler, a progress bar, Dask's scheduler)."""
        return time.thread_time() + self.transport.io_cpu_s()

    def _bytes(self) -> int:
        return self.transport.bytes_out + self.transport.bytes_in

    def lower_bound(self, c: int, slot: int | None = None
                    ) -> Pending[tuple[WirePlans, float]]:
        """The lower-bound plans of chunk ``c`` (as they travel: packed from a slot in
        another process) and when they were done (``time.time()``), computed by the slot
        owning it, or by ``slot``, which then owns the chunk's orders (before their
        templates were shipped: a slot in this process holds them all)."""
        orders = np.array(self.chunks[c], dtype=np.int64)
        if slot is not None and self.transport.remote:
            if self.shipped[orders].any():
                raise ValueError("the chunk's orders are already held by a slot")
            self.owner[orders] = slot
        reply: Pending[tuple[WirePlans, float]] = self.transport.send(
            int(self.owner[orders[0]]), Lower(orders, self._ship(orders)))
        return reply

    def ready(self) -> bool:
        """Whether some slot has been set up (worker processes take a while to start)."""
        return any(r.done() for r in self._setups)

    def lower_here(self, c: int, slot: int) -> WirePlans:
        """The lower-bound plans of chunk ``c`` computed in this process (while no slot
        is up yet), as they travel; ``slot`` then owns the chunk and is sent its templates
        and plans (the same pack)."""
        orders = np.array(self.chunks[c], dtype=np.int64)
        if self.shipped[orders].any():
            raise ValueError("the chunk's orders are already held by a slot")
        wire = to_wire(lower_bound_plans(self.state, orders.tolist()), self.transport.remote)
        self.owner[orders] = slot
        self._acks.append(self.transport.send(slot, Lower(orders, self._ship(orders), wire)))
        return wire

    def split(self, slot: int, orders: Sequence[int], views: list[IntArray]
              ) -> Pending[WirePlans]:
        """Exact splits of ``orders`` (owned by ``slot``) against ``views``, as they
        travel (packed from a slot in another process)."""
        at = np.array(orders, dtype=np.int64)
        reply: Pending[WirePlans] = self.transport.send(slot, Split(at, [narrow(v) for v in views]))
        self.kept[at] = True
        return reply

    def _ship(self, orders: IntArray) -> dict[int, OrderTemplate | bytes]:
        """The templates of ``orders`` their slot does not hold yet (now it does)."""
        new = orders[~self.shipped[orders]]
        self.shipped[new] = True
        return {o: self._template(o, keep=False) for o in new.tolist()}

    def start(self, plans: PlanList, lower: PlanList, sequential: bool = True) -> None:
        """The search's plan list (changed in place by :meth:`improve`) and the
        lower-bound plans; every slot's copy of a plan is stale until it is sent, but for
        the splits the slots kept (:attr:`kept`) when ``plans`` are the sequential ones."""
        self.plans, self.lower = plans, lower
        self.version += 1
        if sequential:
            self.held[self.kept] = self.version[self.kept]
        self.traffic.lower_bytes = self._bytes() - self._after_setup
        self._cpu_mark = self._driver_cpu()
        self.traffic.cpu_driver_sequential_s = self._cpu_mark - self._cpu_ready

    def _delta(self, orders: IntArray) -> PlanDelta | None:
        stale = orders[self.held[orders] != self.version[orders]]
        if stale.size == 0:
            return None
        # a plan that is its order's lower-bound plan travels as a flag; the others as
        # rows gathered from the packs the driver holds (objects are packed)
        is_lower = self.plans.is_lower(stale) if self.lower else np.zeros(stale.size, bool)
        sent, pack = self.plans.pack_of(stale[~is_lower], self.transport.remote)
        self.held[stale] = self.version[stale]
        low = stale[is_lower]
        return PlanDelta(np.concatenate([low, sent]),
                         np.arange(low.size + sent.size) < low.size, pack)

    def _move(self, orders: IntArray, slot: int, keep: bool = True) -> tuple[Adopt | None, int]:
        """Make ``slot`` the owner of ``orders``: what it must adopt, and how many moved
        (``keep``: their pickled templates are kept for a later move)."""
        moving = orders[self.owner[orders] != slot]
        if moving.size == 0:
            return None, 0
        for o, old in zip(moving.tolist(), self.owner[moving].tolist(), strict=True):
            self.dropped[old].add(o)
            self.dropped[slot].discard(o)
        self.owner[moving] = slot
        self.held[moving] = -1
        self.shipped[moving] = True
        # the lower-bound plans gathered from the packs they arrived in (not packed again)
        ids, lower = self.lower.pack_of(moving, self.transport.remote)
        return Adopt({o: self._template(o, keep) for o in ids.tolist()}, lower), int(ids.size)

    def _template(self, o: int, keep: bool = True) -> OrderTemplate | bytes:
        """Order ``o``'s template as it travels: pickled once, kept (``keep``) for its
        next move."""
        if not self.transport.remote:
            return self.state.templates[o]
        data = self.pickled.get(o)
        if data is None:
            data = pickle.dumps(self.state.templates[o], protocol=PROTOCOL)
            if keep:
                self.pickled[o] = data
        return data

    def _drops(self, slot: int) -> IntArray:
        out = np.array(sorted(self.dropped[slot]), dtype=np.int64)
        self.dropped[slot].clear()
        return out

    def improve(self, tasks: Sequence[PartTask], last: bool = False
                ) -> list[tuple[IntArray, Sequence[OrderPlan], Changed]]:
        """Search every part on a slot; the plans that changed are set in the plan list
        of :meth:`start`. Per task (in the order given): the orders that changed, their
        previous plans, the answer. ``last``: no round follows (the templates of orders
        that move are not kept pickled for a later move).

        Each task's budget is released once its message is sent (set to :data:`SENT`):
        at a million orders a part's budget covers nearly every SKU column (tens of MB
        each), and the driver held every part's until the round ended.

        Parts are handed out as slots become free (:func:`next_part`): the most work
        (:meth:`_work`) first, each to a slot owning many of its orders, so that a round ends when the
        work, not a fixed share of parts, runs out. Which slot searches a part does not
        change its result."""
        before = self._bytes()
        work = [self._work(t.orders) for t in tasks]
        todo = sorted(range(len(tasks)), key=lambda i: (-work[i], i))
        out: list[tuple[IntArray, Sequence[OrderPlan], Changed] | None] = [None] * len(tasks)
        out_to: dict[int, tuple[int, Pending[Changed]]] = {}  # slot -> (task, reply)
        waited = slot_s = 0.0
        moved = 0
        per_slot = [0.0] * self.workers
        cpu = [0.0] * self.workers
        while todo or out_to:
            for s in range(self.workers):
                if s in out_to or not todo:
                    continue
                i = next_part([tasks[j].orders for j in todo], self.owner, s,
                              [s2 for s2 in range(self.workers) if s2 not in out_to],
                              [work[j] for j in todo])
                i = todo.pop(i)
                task = tasks[i]
                adopt, m = self._move(task.orders, s, keep=not last)
                moved += m
                out_to[s] = (i, self.transport.send(s, Improve(
                    task.orders, task.cols, narrow(task.budget), task.limit_s, task.max_moves,
                    task.breadth, task.tries, task.joint, task.sku_tries, self._drops(s), adopt,
                    self._delta(task.orders))))
                task.budget = SENT  # the message holds it; the driver needs it no more
            w0 = time.perf_counter()
            done = [s for s, (_, r) in out_to.items() if r.done()]
            while not done and self.transport.remote:
                self.transport.wait(POLL_S)
                done = [s for s, (_, r) in out_to.items() if r.done()]
            if not done:  # in this process an answer is computed when it is asked for
                done = [min(out_to)]
            waited += time.perf_counter() - w0
            for s in done:
                i, reply = out_to.pop(s)
                w0 = time.perf_counter()
                ans = reply.result()
                waited += time.perf_counter() - w0
                # the previous plans gathered before the new ones are held as they came
                _, gone = self.plans.pack_of(ans.orders, self.transport.remote)
                old: Sequence[OrderPlan] = gone if isinstance(gone, list) else \
                    PartPlans(gone, np.arange(len(gone), dtype=np.int64))
                self.plans.put(ans.orders, ans.pack)
                self.version[ans.orders] += 1
                self.held[ans.orders] = self.version[ans.orders]
                assert (self.owner[ans.orders] == s).all()
                slot_s += ans.seconds
                per_slot[s] += ans.seconds
                cpu[s] += ans.cpu_s
                out[i] = (ans.orders, old, ans)
        t = self.traffic
        t.round_bytes.append(self._bytes() - before)
        t.round_moved.append(moved)
        t.round_slot_s.append(slot_s)
        t.round_busiest_s.append(max(per_slot))
        t.round_slot_cpu_s.append(cpu)
        self._round_waited = waited
        return [o for o in out if o is not None]

    def _work(self, orders: IntArray) -> int:
        """The expected work of a part: its orders the search will try to move (above
        their lower bound or waiting; :func:`~ordersplit.batch.search.improve_part`),
        plus one per order (read from the plans' columns)."""
        plans, lower = self.plans, self.lower
        live = ~(plans.failed(orders) | lower.failed(orders))
        more = (plans.ints("children", orders) > lower.ints("children", orders)) | (
            plans.ints("backorder_units", orders) > 0)
        return int(orders.size + np.count_nonzero(live & more))

    def end_search(self) -> None:
        """No round follows: drop the templates kept pickled for later moves (about
        0.3 KB per moved order; an order the output stage moves is pickled afresh)."""
        self.pickled.clear()

    def end_round(self, started: float) -> None:
        """Book the round begun at ``started`` (``perf_counter``): its seconds, and those
        the driver spent on it alone."""
        spent = time.perf_counter() - started
        t = self.traffic
        t.round_s.append(spent)
        mark, self._cpu_mark = self._cpu_mark, self._driver_cpu()
        # in this process the slot's work is the driver's process too
        t.round_driver_cpu_s.append(max(0.0, self._cpu_mark - mark - (
            0.0 if self.transport.remote else sum(t.round_slot_cpu_s[-1]))))
        t.round_serial_s.append(max(0.0, spent - self._round_waited)
                                if self.transport.remote else max(0.0, spent - t.round_slot_s[-1]))
        log.info("round of %.1f s: driver alone %.2f s, %d bytes, %d orders moved", spent,
                 t.round_serial_s[-1], t.round_bytes[-1], t.round_moved[-1])

    def output(self, fn: Callable[[BatchState, list[tuple[int, OrderPlan]]], T],
               plans: Sequence[OrderPlan], size: int, contiguous: bool = False,
               span: tuple[int, int] | None = None, balance: bool = False
               ) -> list[tuple[IntArray, T]]:
        """``fn(state, [(order, plan), ...])`` over every order (``span``: the positions
        ``lo <= o < hi`` only), on the slot owning it, in chunks of at most ``size``
        orders (``contiguous``: each chunk a run of consecutive positions, unless the
        runs are shorter than :data:`MIN_RUN` on average); per chunk its orders and
        ``fn``'s answer. ``balance``: orders move first from the slots owning most of
        the span to those owning fewest (:meth:`_even_out`)."""
        before = self._bytes()
        if plans is not self.plans:
            self._adopt_plans(plans)
        lo, hi = span if span is not None else (0, len(self.owner))
        moved = self._even_out(lo, hi) if balance else {}
        replies: list[tuple[IntArray, Pending[T]]] = []
        for s in range(self.workers):
            owned = lo + np.flatnonzero(self.owner[lo:hi] == s)
            for orders in _chunks(owned, size, contiguous):
                replies.append((orders, self.transport.send(s, Output(
                    fn, orders, self._delta(orders), self._drops(s), self._ship(orders),
                    moved.pop(s, None)))))
        out = [(orders, r.result()) for orders, r in replies]
        self.traffic.output_bytes += self._bytes() - before
        return out

    def _even_out(self, lo: int, hi: int) -> dict[int, Adopt]:
        """Move orders of the span ``lo <= o < hi`` so that no slot owns more than its
        even share (a stage that waits for every slot lasts as long as the largest
        share; after the search the shares are 72-98 % even): the last positions of
        the slots above it go to the slots below it (template, lower-bound plan and
        current plan travel). Nothing moves when the largest share is within
        :data:`EVEN_SLACK` of even, or the slots share one process. What each
        receiving slot must adopt."""
        if self.workers < 2 or not self.transport.remote or not self.lower or hi <= lo:
            return {}
        span = self.owner[lo:hi]
        counts = np.bincount(span, minlength=self.workers)
        even = -(-(hi - lo) // self.workers)
        if counts.max() - even <= max(EVEN_MIN, EVEN_SLACK * even):
            return {}
        spare = np.sort(np.concatenate([
            lo + np.flatnonzero(span == s)[even:] for s in range(self.workers)]))
        moved: dict[int, Adopt] = {}
        start = 0
        for s in np.flatnonzero(counts < even).tolist():
            take = spare[start:start + even - int(counts[s])]
            start += take.size
            adopt, _ = self._move(take, s, keep=False)
            if adopt is not None:
                moved[s] = adopt
        return moved

    def _adopt_plans(self, plans: Sequence[OrderPlan]) -> None:
        """Take ``plans`` as the current plans: those not equal (by identity) to the
        known ones become stale on their slots."""
        if isinstance(plans, PlanList) or not self.plans:  # (every plan sent again)
            self.plans = PlanList.of(plans, self.lower if len(self.lower) == len(plans)
                                     else None)
            self.version += 1
            return
        held = self.plans.objects  # objects: those not held as they are become stale
        for o, p in enumerate(plans):
            if p is not held.get(o):
                self.plans[o] = p
                self.version[o] += 1

    def holding(self, slot: int) -> dict[str, Any]:
        """What ``slot`` holds (:func:`ordersplit.batch.slots.holding`), plans unpacked."""
        held = self.transport.send(slot, "holding").result()
        held["lower"], held["plans"] = from_wire(held["lower"]), from_wire(held["plans"])
        return dict(held)

    def close(self) -> None:
        """Read the slots' CPU seconds (:attr:`Traffic.slot_cpu_s`), then stop them."""
        t = self.traffic
        try:
            for s in range(self.workers):
                for kind, sec in self.transport.send(s, "cpu").result().items():
                    t.slot_cpu_s[kind] = t.slot_cpu_s.get(kind, 0.0) + sec
                    t.slot_cpu_busiest_s[kind] = max(t.slot_cpu_busiest_s.get(kind, 0.0), sec)
        except Exception:  # a failed slot: its error is the one that matters
            log.warning("could not read the slots' CPU seconds", exc_info=True)
        finally:
            self.transport.close()


EVEN_SLACK = 0.03
"""Share above even (of the even share) a slot may own in :meth:`Runner.output` with
``balance`` before orders move: a moved order costs the driver its template's and
plans' packing and the slot their unpacking."""
EVEN_MIN = 16
"""Fewest orders above its even share that make a slot give some away."""
MIN_RUN = 256
"""Shortest mean run of consecutive owned positions worth a chunk of its own in
:meth:`Runner.output` (a chunk has a fixed cost)."""


def _chunks(owned: IntArray, size: int, contiguous: bool) -> list[IntArray]:
    """``owned`` (ascending positions) in chunks of at most ``size``; with
    ``contiguous``, cut at every gap too when the runs are long enough."""
    cuts: list[int] = list(range(size, owned.size, size))
    if contiguous and owned.size:
        gaps = (np.flatnonzero(np.diff(owned) > 1) + 1).tolist()
        if owned.size >= MIN_RUN * (len(gaps) + 1):
            cuts, start = [], 0
            for end in [*gaps, owned.size]:
                cuts.extend(range(start + size, end, size))
                cuts.append(end)
                start = end
            cuts.pop()
    return [part for part in np.split(owned, cuts) if part.size]


def make_runner(state: BatchState, workers: int, scheduler: Any = None) -> Runner:
    """Dask when a scheduler (address or client) is given, else local processes, else inline."""
    return Runner(state, make_transport(workers, scheduler))


def InlineRunner(state: BatchState) -> Runner:  # noqa: N802 - the one-process runner
    """The batch in this process (one slot)."""
    return Runner(state, InlineTransport())
