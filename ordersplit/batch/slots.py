"""The worker side of the scaled-out batch: each worker slot holds only its share.

A *slot* is one worker (a local process, or one thread of a Dask worker). It is sent
the world once (:class:`Setup`) and the templates of the orders it owns with their
lower-bound chunk (:class:`Lower`); it splits orders of the sequential pass against
the views the driver sends (:class:`Split`); afterwards every message carries only
what changed (:class:`Improve`): the templates and
lower-bound plans of orders that move to it, the plans of its orders that changed
elsewhere since it last saw them, and the orders that left it. It answers with the
plans it changed, packed (:mod:`ordersplit.batch.wire`). So a slot holds its orders'
templates, lower-bound plans, current plans and its own cache of exact splits - never
the whole batch.

:func:`handle` is the one entry point; the transports of
:mod:`ordersplit.batch.runners` call it in the worker (Dask, local processes) or in
this process (one worker).
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from ordersplit.batch.heap import release
from ordersplit.batch.model import OrderPlan, OrderTemplate, World, safe_solve
from ordersplit.batch.plan_columns import (
    ObjectPlans,
    PartPlans,
    PlanColumns,
    PlanStore,
    part_plans,
    plan_store,
)
from ordersplit.batch.search import (
    MOVERS,
    BatchState,
    PartResult,
    PartTask,
    improve_part,
    lower_bound_plans,
)
from ordersplit.batch.wire import WirePlans, same_plan, to_wire, wire_bytes
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)


class Shard(Sequence[OrderTemplate]):
    """The templates of a slot's orders, indexed by batch position like the whole batch's
    tuple (``shard[o]`` for an order the slot owns; iterating gives the owned ones)."""

    def __init__(self, templates: dict[int, OrderTemplate]) -> None:
        self.by_position = dict(templates)

    @overload
    def __getitem__(self, o: int) -> OrderTemplate: ...

    @overload
    def __getitem__(self, o: slice) -> Sequence[OrderTemplate]: ...

    def __getitem__(self, o: int | slice) -> OrderTemplate | Sequence[OrderTemplate]:
        if isinstance(o, slice):
            raise TypeError("a shard is indexed by batch position only")
        return self.by_position[o]

    def __len__(self) -> int:
        return len(self.by_position)

    def __iter__(self) -> Iterator[OrderTemplate]:
        return iter(self.by_position.values())


@dataclass
class Slot:
    """What one worker slot holds: the world, its orders and their plans. Budgets arrive
    narrowed (:func:`~ordersplit.batch.wire.narrow`); the ledger widens them."""

    state: BatchState
    """The world and the templates of the slot's orders only (a dict by position)."""
    packed: bool = True
    """Whether plans leave the slot packed (its driver is in another process)."""
    lower: PlanStore = field(default_factory=ObjectPlans)
    """The lower-bound plans of the slot's orders (packed columns in a worker process,
    :mod:`ordersplit.batch.plan_columns`)."""
    plans: PlanStore = field(default_factory=ObjectPlans)
    """Their current plans (an order whose plan is its lower-bound plan refers to it)."""
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds (this thread's) the slot spent per kind of message."""
    stage: str = ""
    """The stage of the last message (:data:`STAGE_OF`): when the next message starts
    another one, what the last stage freed goes back to the system first."""
    messages: int = 0
    """Messages handled; every :data:`TRIM_MESSAGES` the freed heap goes back too."""
    fresh: dict[int, OrderPlan] = field(default_factory=dict)
    """Sequential splits made here and not yet put into :attr:`plans` (:meth:`flush`):
    putting one or two plans at a time into packed columns cost as much as the split."""

    def __post_init__(self) -> None:
        if self.packed and not isinstance(self.lower, PlanColumns):
            self.lower = plan_store(True)
        if not self.plans:
            self.plans = plan_store(self.packed, self.lower)

    def flush(self) -> None:
        """Put the splits of :attr:`fresh` into :attr:`plans`, packed together."""
        if self.fresh:
            orders = list(self.fresh)
            self.plans.put(orders, to_wire(list(self.fresh.values()), self.packed))
            self.fresh.clear()

    def adopt(self, templates: dict[int, OrderTemplate | bytes]) -> None:
        """Hold these templates (pickled ones are unpickled here)."""
        self.shard.by_position.update(
            {o: pickle.loads(t) if isinstance(t, bytes) else t for o, t in templates.items()})

    def take(self, moved: Adopt | None) -> None:
        """Hold the orders that moved here: their templates and lower-bound plans."""
        if moved is None:
            return
        self.shard.by_position.update(moved.unpacked())
        self.lower.put(list(moved.templates), moved.lower)

    @property
    def shard(self) -> Shard:
        templates = self.state.templates
        assert isinstance(templates, Shard)
        return templates

    def drop(self, orders: IntArray) -> None:
        """Forget orders that moved to another slot (their cached splits too)."""
        gone = set(orders.tolist())
        for o in gone:
            self.shard.by_position.pop(o, None)
        self.lower.discard(orders.tolist())
        self.plans.discard(orders.tolist())
        if gone:
            solved = self.state.solved
            for key in [k for k in solved if k[0] in gone]:
                del solved[key]


@dataclass
class Setup:
    """The slot's first message: the world and the templates of the orders it owns."""

    world: World
    order_limit_s: float
    templates: dict[int, OrderTemplate]
    packed: bool = True


@dataclass
class Lower:
    """Split these (owned) orders alone with all the stock; keep and return the plans.
    ``templates``: those of the orders the slot does not hold yet (shipped with their
    first chunk, not at setup)."""

    orders: IntArray
    templates: dict[int, OrderTemplate | bytes] = field(default_factory=dict)
    plans: WirePlans | None = None
    """The plans, when the driver computed them (while the slot was starting): the
    slot keeps them and answers nothing."""


@dataclass
class Split:
    """Split these (owned) orders exactly against these clipped views of the stock (one
    per order, as the driver's sequential pass sees it); return the plans, and keep them
    as the orders' current plans (the sequential pass splits an order at most once, so
    they are its sequential plans: the first search round need not send them back)."""

    orders: IntArray
    views: list[IntArray]


@dataclass
class PlanDelta:
    """Plans the slot must hold: ``orders[i]`` gets its own lower-bound plan when
    ``is_lower[i]``, else the next plan of ``pack`` (in order)."""

    orders: IntArray
    is_lower: np.ndarray
    pack: WirePlans

    @property
    def nbytes(self) -> int:
        return int(self.orders.nbytes + self.is_lower.nbytes + wire_bytes(self.pack))


@dataclass
class Adopt:
    """Orders that move to the slot: their templates (pickled once by the driver, when
    the slot is in another process) and lower-bound plans."""

    templates: dict[int, OrderTemplate | bytes]
    lower: WirePlans

    def unpacked(self) -> dict[int, OrderTemplate]:
        return {o: pickle.loads(t) if isinstance(t, bytes) else t
                for o, t in self.templates.items()}


@dataclass
class Improve:
    """One part to search (a :class:`~ordersplit.batch.search.PartTask` without its plans,
    which the slot holds), and the deltas the slot needs first."""

    orders: IntArray
    cols: IntArray
    budget: IntArray
    limit_s: float
    max_moves: int | None
    breadth: int
    tries: IntArray | None
    joint: bool
    sku_tries: IntArray | None
    drop: IntArray
    adopt: Adopt | None
    plans: PlanDelta | None


@dataclass
class Output:
    """Run ``fn(state, [(order, plan), ...])`` over owned orders, after ``plans``."""

    fn: Any
    orders: IntArray
    plans: PlanDelta | None
    drop: IntArray
    templates: dict[int, OrderTemplate | bytes] = field(default_factory=dict)
    """Those of ``orders`` the slot does not hold yet."""
    adopt: Adopt | None = None
    """Orders that move to the slot for the output (to even the slots' shares)."""


@dataclass
class Changed:
    """A searched part's answer: the plans that changed, packed, and the search figures."""

    orders: IntArray
    pack: WirePlans
    tried: int
    accepted: int
    solves: int
    stats: dict[str, float]
    visited: IntArray
    skus_visited: IntArray
    seconds: float
    """Seconds the slot spent on the message (search and deltas)."""
    cpu_s: float = 0.0
    """CPU seconds of the slot's thread on the message (apart from the machine's load)."""


STAGE_OF = {"lower": "sequential", "split": "sequential", "improve": "search",
            "output": "output"}
"""The stage of the batch each kind of message belongs to."""
TRIM_MESSAGES = 50
"""Messages between two trims of a slot's heap within a stage: splitting leaves most of
what it allocated free but resident (6,000 orders' bound and sequential pass in one
process: 245 MB grown, 158 MB of it returned by one trim, in 1 ms)."""

FRESH_MAX = 1024
"""Most sequential splits a slot keeps as objects before it packs them into its plans."""
SPLIT_OBJECTS_MAX = 8
"""Most plans of a split answer sent as objects rather than packed: pickling one plan
object costs about 0.05 ms of CPU against 0.3 ms to pack and unpack it (880 B against
1,250 B for one plan, 550 B against 450 B a plan for four; packing pays from about
sixteen)."""

_SLOTS: dict[str, Slot] = {}
"""The slots of this process, by key (a run's token and the slot's number)."""


def apply_plans(slot: Slot, delta: PlanDelta | None) -> None:
    """Set the plans of ``delta`` on ``slot``."""
    if delta is None:
        return
    low = np.asarray(delta.is_lower, dtype=bool)
    slot.plans.put_lower(delta.orders[low].tolist())
    slot.plans.put(delta.orders[~low].tolist(), delta.pack)


def _improve(slot: Slot, msg: Improve) -> Changed:
    t0, c0 = time.perf_counter(), time.thread_time()
    slot.drop(msg.drop)
    slot.take(msg.adopt)
    apply_plans(slot, msg.plans)
    orders = msg.orders.tolist()
    before: Sequence[OrderPlan]
    lower: Sequence[OrderPlan]
    if isinstance(slot.plans, PlanColumns) and isinstance(slot.lower, PlanColumns):
        # read from the packed columns: plan objects only for the orders the search reads
        lower = part_plans(slot.lower, orders)
        before = part_plans(slot.plans, orders, lower)
    else:
        before, lower = slot.plans.many(orders), slot.lower.many(orders)
    task = PartTask(orders=msg.orders, plans=before, lower=lower,
                    cols=msg.cols, budget=msg.budget, limit_s=msg.limit_s,
                    max_moves=msg.max_moves, breadth=msg.breadth or MOVERS, tries=msg.tries,
                    joint=msg.joint, sku_tries=msg.sku_tries)
    res: PartResult = improve_part(slot.state, task)
    changed = res.plans.changed() if isinstance(res.plans, PartPlans) else [
        i for i, (a, b) in enumerate(zip(before, res.plans, strict=True))
        if not same_plan(a, b)]
    pack = to_wire([res.plans[i] for i in changed], slot.packed)
    slot.plans.put([orders[i] for i in changed], pack)
    return Changed(msg.orders[np.array(changed, dtype=np.int64)],
                   pack, res.tried, res.accepted,
                   res.solves, res.stats, res.visited, res.skus_visited,
                   time.perf_counter() - t0, time.thread_time() - c0)


def handle(key: str, msg: Any) -> Any:
    """Apply one message to the slot ``key`` of this process; its answer. The CPU
    seconds of each kind of message are added up on the slot (``"cpu"`` returns them)."""
    c0 = time.thread_time()
    kind = type(msg).__name__.lower() if not isinstance(msg, str) else msg
    slot = _SLOTS.get(key)
    stage = STAGE_OF.get(kind)
    if slot is not None and stage is not None:
        slot.messages += 1
        if slot.stage and (stage != slot.stage or slot.messages % TRIM_MESSAGES == 0):
            release(slot.stage)
        slot.stage = stage
    answer = _handle(key, msg)
    slot = _SLOTS.get(key)
    if slot is not None:
        slot.cpu[kind] = slot.cpu.get(kind, 0.0) + time.thread_time() - c0
    return answer


def _handle(key: str, msg: Any) -> Any:
    if isinstance(msg, Setup):
        _SLOTS[key] = Slot(BatchState(msg.world, Shard(msg.templates), msg.order_limit_s),
                           msg.packed)
        return len(msg.templates)
    slot = _SLOTS[key]
    if not isinstance(msg, Split | Lower):  # what reads the plans sees every split
        slot.flush()
    if isinstance(msg, Lower):
        slot.adopt(msg.templates)
        orders = msg.orders.tolist()
        if msg.plans is not None:
            slot.lower.put(orders, msg.plans)
            return None
        wire = to_wire(lower_bound_plans(slot.state, orders), slot.packed)
        slot.lower.put(orders, wire)
        return wire, time.time()
    if isinstance(msg, Split):  # the splits are the orders' sequential plans: kept
        state = slot.state
        orders = msg.orders.tolist()
        plans = [safe_solve(state.world, state.templates[o], view, state.order_limit_s,
                            work=True)
                 for o, view in zip(orders, [v.astype(np.int64) for v in msg.views],
                                    strict=True)]
        slot.fresh.update(zip(orders, plans, strict=True))
        if len(slot.fresh) >= FRESH_MAX:
            slot.flush()
        # a few plans travel as objects: cheaper to pickle than to pack, and no larger
        return to_wire(plans, slot.packed and len(plans) > SPLIT_OBJECTS_MAX)
    if isinstance(msg, Improve):
        return _improve(slot, msg)
    if isinstance(msg, Output):
        slot.drop(msg.drop)
        slot.take(msg.adopt)
        slot.adopt(msg.templates)
        apply_plans(slot, msg.plans)
        orders = msg.orders.tolist()
        return msg.fn(slot.state, list(zip(orders, slot.plans.many(orders), strict=True)))
    if msg == "holding":
        return holding(key)
    if msg == "cpu":
        return dict(slot.cpu)
    if msg == "close":
        _SLOTS.pop(key, None)
        return None
    raise TypeError(f"unknown message {type(msg).__name__}")


def holding(key: str) -> dict[str, Any]:
    """What slot ``key`` holds: its orders, their lower-bound and current plans (as they
    would travel), and how many exact splits it keeps cached."""
    slot = _SLOTS[key]
    orders = sorted(slot.shard.by_position)
    with_plan = [o for o in orders if o in slot.plans]
    return {"orders": orders,
            "lower": to_wire(slot.lower.many([o for o in orders if o in slot.lower]),
                             slot.packed),
            "plan_orders": with_plan,
            "plans": to_wire(slot.plans.many(with_plan), slot.packed),
            "cached": len(slot.state.solved)}
