"""The sequential baseline computed with its splits on the worker slots gives exactly
the serial plans.

An order's turn depends only on the earlier orders that share a SKU column with it; the
driver sends an order's split out as soon as those have their plans, while the other
orders go on (:func:`~ordersplit.batch.engine.bound_and_sequential`). Whatever the order
in which the slots answer, the plans must be the serial ones, plan by plan."""

from __future__ import annotations

import os
import pickle
import signal
from typing import Any

import numpy as np
import pytest

from benchmarks.bench_bound_gap import SIMPLE, batch, scenario_input
from ordersplit.batch import batch_from_json, runners
from ordersplit.batch.api import _state
from ordersplit.batch.engine import bound_and_sequential
from ordersplit.batch.inputs import BatchInput
from ordersplit.batch.ledger import Ledger
from ordersplit.batch.model import OrderPlan
from ordersplit.batch.runners import LocalTransport, WorkerError
from ordersplit.batch.search import lower_bound_plans, sequential_plans
from ordersplit.batch.shards import make_runner


def _instance(kind: str, n_orders: int, seed: int) -> BatchInput:
    if kind in SIMPLE:
        return batch_from_json(batch(kind, n_orders, np.random.default_rng(seed)))
    return scenario_input(kind, n_orders, seed)


def same(a: OrderPlan, b: OrderPlan) -> bool:
    """Two plans take the same stock with the same objective and status."""
    return (a.key() == b.key() and a.backorder_units == b.backorder_units
            and a.error == b.error and a.status == b.status
            and np.array_equal(a.use_loc, b.use_loc) and np.array_equal(a.use_col, b.use_col)
            and np.array_equal(a.use_units, b.use_units)
            and np.array_equal(a.short_cols, b.short_cols))


def check_against_serial(work: BatchInput, workers: int, scheduler: Any = None,
                         splits_per_message: tuple[int, int] | None = None
                         ) -> tuple[dict[str, float], int]:
    """The engine's lower-bound and sequential plans with ``workers`` slots (or on the
    Dask ``scheduler``) equal the serial ones plan by plan; its figures and the serial
    pass's count of splits."""
    state = _state(work, 0.2, True, None)
    lower_ref = lower_bound_plans(state, range(len(work.templates)))
    seq_ref, solves = sequential_plans(state, lower_ref, Ledger.full(work.world.stock))
    runner = make_runner(state, workers, scheduler)
    if splits_per_message is not None:
        runner.transport.splits_per_message = splits_per_message
    try:
        lower, seq, stats = bound_and_sequential(state, runner)
    finally:
        runner.close()
    assert all(same(a, b) for a, b in zip(lower, lower_ref, strict=True))
    assert all(same(a, b) for a, b in zip(seq, seq_ref, strict=True))
    assert stats["sequential_resolves"] == solves
    return stats, solves


@pytest.mark.parametrize("kind", ["plain", "rules", "scarce", "scn-scarce", "scn-thin",
                                  "scn-all-rules"])
def test_one_process_gives_the_serial_sequential_plans(kind: str) -> None:
    """Rules off and on, scarce stock, several generators: in this process (answers
    computed when asked for, in another order than arrival) the plans are the serial
    ones, and so are the lower-bound plans."""
    for seed in (1, 2):
        check_against_serial(_instance(kind, 80, seed), 1)


@pytest.mark.parametrize("kind", ["rules", "scn-scarce"])
def test_two_local_processes_give_the_serial_sequential_plans(kind: str) -> None:
    """On two local processes (answers arrive in any order, splits of unrelated orders
    overlap) the plans are the serial ones; on a scarce batch several splits are out at
    once (fewer messages than splits, chains shorter than the splits)."""
    stats, solves = check_against_serial(_instance(kind, 300, 7), 2)
    if kind == "scn-scarce":
        assert solves > 20
        assert stats["sequential_messages"] < solves and stats["sequential_depth"] < solves


@pytest.mark.parametrize(("via", "batch_of"), [("actor", None), ("task", (1, 256)),
                                              ("task", (8, 256)), ("task", None)])
def test_a_dask_cluster_gives_the_serial_sequential_plans(
        via: str, batch_of: tuple[int, int] | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a Dask cluster the slots take the sequential pass's splits through their
    actors (any waiting split to a free slot), or as tasks in batches (one task for many
    splits; the driver makes those that come alone): the plans are still the serial
    ones, plan by plan, and the splits are shared between the workers and the driver."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(runners, "DASK_VIA", via)
    work = _instance("scn-scarce", 300, 7)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        stats, solves = check_against_serial(work, 2, client, batch_of)
    assert solves > 20
    assert stats["sequential_driver_solves"] <= solves
    if via == "actor" or (batch_of is not None and batch_of[0] == 1):
        # any waiting split goes to a free slot: the workers make some of them
        assert 0 < stats["sequential_messages"] < solves
        assert stats["sequential_driver_solves"] < solves


def test_a_quiet_local_cluster_gives_the_serial_sequential_plans() -> None:
    """A LocalCluster made by :func:`runners.local_cluster` (Dask's periodic work that
    slots do not need turned off, workers forked) runs the slots: the
    plans are the serial ones, plan by plan, and its workers and scheduler run with
    the quiet settings, while Dask's own settings here are as before once it closed."""
    pytest.importorskip("distributed")
    import dask
    from distributed import Client

    def settings() -> tuple[Any, ...]:
        return (dask.config.get("distributed.worker.profile.enabled"),
                dask.config.get("distributed.admin.tick.interval"))

    before = settings()
    work = _instance("scn-scarce", 300, 7)
    with runners.local_cluster(2, start="fork") as cluster, Client(cluster) as client:
        stats, solves = check_against_serial(work, 2, client)
        on_workers = set(client.run(settings).values())
        stealing = client.run_on_scheduler(
            lambda dask_scheduler: "stealing" in dask_scheduler.extensions)
    assert solves > 20 and stats["sequential_messages"] > 0
    assert on_workers == {(False, "1s")}
    assert not stealing
    assert settings() == before


def test_a_worker_that_dies_fails_the_pass_instead_of_hanging_it() -> None:
    """A worker process killed while the driver waits for answers makes the pass raise
    :class:`WorkerError` (the driver waits on ``done()``, which says so)."""
    work = _instance("scn-scarce", 200, 3)
    state = _state(work, 0.2, True, None)
    runner = make_runner(state, 2)
    try:
        transport = runner.transport
        assert isinstance(transport, LocalTransport)
        proc = transport.started()[0]
        proc.kill()
        proc.join()
        with pytest.raises(WorkerError, match="ended"):
            bound_and_sequential(state, runner)
    finally:
        runner.close()


@pytest.mark.parametrize("via", ["socket", "actor", "task"])
def test_a_dask_worker_that_dies_fails_the_pass_instead_of_hanging_it(
        via: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dask worker killed before the pass (its nanny starts a new one, which holds
    none of the slot's state, nor its actor): the driver does not wait forever for
    answers pinned to the dead worker, it raises :class:`WorkerError` naming it, and
    closing the runner afterwards does not hang either."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(runners, "DASK_VIA", via)
    work = _instance("scn-scarce", 200, 3)
    state = _state(work, 0.2, True, None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        runner = make_runner(state, 2, client)
        try:
            pids = client.run(os.getpid)
            victim = runner.transport.addresses[0]  # type: ignore[attr-defined]
            os.kill(pids[victim], signal.SIGKILL)
            with pytest.raises(WorkerError, match="left the cluster"):
                bound_and_sequential(state, runner)
        finally:
            runner.close()


def test_chunks_bounded_by_the_driver_while_the_workers_start_are_handed_over(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While no worker process is up, the driver bounds the chunks itself and hands
    them (templates and plans) to a slot: the plans are still the serial ones, and every
    slot holds exactly the lower-bound plans of the orders it owns."""
    from ordersplit.batch.shards import Runner

    monkeypatch.setattr(Runner, "ready", lambda self: False)  # the workers never seem up
    work = _instance("scn-scarce", 200, 5)
    state = _state(work, 0.2, True, None)
    lower_ref = lower_bound_plans(state, range(len(work.templates)))
    seq_ref, _ = sequential_plans(state, lower_ref, Ledger.full(work.world.stock))
    runner = make_runner(state, 2)
    try:
        lower, seq, stats = bound_and_sequential(state, runner)
        held = [runner.holding(s) for s in range(2)]
    finally:
        runner.close()
    # two chunks went out first; a slot that answers takes the next one, the driver
    # bounds the others while it waits
    assert 1 <= stats["lower_bound_driver_chunks"] <= len(runner.chunks) - 2
    assert all(same(a, b) for a, b in zip(lower, lower_ref, strict=True))
    assert all(same(a, b) for a, b in zip(seq, seq_ref, strict=True))
    for s, h in enumerate(held):
        assert h["orders"] == np.flatnonzero(runner.owner == s).tolist()
        assert all(same(p, lower_ref[o]) for o, p in zip(h["orders"], h["lower"], strict=True))


def test_a_slot_actor_applies_calls_in_the_order_they_were_sent() -> None:
    """Calls to a Dask slot actor may reach its worker out of order (several
    connections): the actor applies them by their sequence number, so a slot's setup
    comes first even when a later message arrives before it, and a failing message
    does not stop the ones after it."""
    import asyncio
    import pickle

    from ordersplit.batch.slots import Setup

    work = _instance("scn-scarce", 20, 1)
    actor = runners.SlotActor(f"test-{os.getpid()}")

    def msg(m: Any) -> bytes:
        return pickle.dumps(m)

    async def calls() -> list[Any]:
        later = asyncio.ensure_future(actor.call(1, msg("holding")))
        bad = asyncio.ensure_future(actor.call(2, msg(("not", "a", "message"))))
        last = asyncio.ensure_future(actor.call(3, msg("close"), True))
        await asyncio.sleep(0.05)
        assert not later.done()  # waits for message 0
        first = await actor.call(0, msg(Setup(work.world, 0.2, {}, True)))
        return [first, await later, await asyncio.gather(bad, return_exceptions=True),
                await last]

    first, held, bad, closed = asyncio.run(calls())
    assert pickle.loads(first) == 0
    assert pickle.loads(held)["orders"] == []
    assert isinstance(bad[0], TypeError)
    assert pickle.loads(closed) is None


def test_dask_slots_talk_to_the_driver_over_sockets_of_their_own() -> None:
    """On a TCP cluster each slot's actor opens a socket for the driver (its messages
    then cost what a local pipe costs): the plans are the serial ones, plan by plan, the
    summary says how the slots were reached, and the driver's reader threads are
    counted as its work; on an in-process cluster (``inproc://``, no socket to open)
    the slots take actor calls instead, with the same plans."""
    distributed = pytest.importorskip("distributed")
    from distributed import Client

    work = _instance("scn-scarce", 300, 7)
    state = _state(work, 0.2, True, None)
    with runners.local_cluster(2, start="fork") as cluster, Client(cluster) as client:
        runner = make_runner(state, 2, client)
        assert runner.transport.start_method == "dask-socket"
        runner.close()
        stats, solves = check_against_serial(work, 2, client)
    assert solves > 20 and 0 < stats["sequential_messages"] < solves
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, Client(cluster) as client:
        runner = make_runner(state, 2, client)
        assert runner.transport.start_method == "dask-actor"
        runner.close()


def test_dask_slots_whose_sockets_cannot_be_reached_take_actor_calls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver that cannot reach the workers' sockets (it reaches the cluster through
    its scheduler only) falls back to actor calls: the same serial plans."""
    pytest.importorskip("distributed")
    from distributed import Client

    def unreachable(address: tuple[str, int], authkey: bytes) -> Any:
        raise ConnectionRefusedError(f"{address} cannot be reached")

    monkeypatch.setattr(runners, "connect_slot", unreachable)
    work = _instance("scn-scarce", 200, 7)
    state = _state(work, 0.2, True, None)
    with runners.local_cluster(2, start="fork") as cluster, Client(cluster) as client:
        runner = make_runner(state, 2, client)
        assert runner.transport.start_method == "dask-actor"
        runner.close()
        stats, solves = check_against_serial(work, 2, client)
    assert solves > 0 and stats["sequential_messages"] > 0


def test_a_slot_socket_serves_only_who_proves_the_key() -> None:
    """A slot's socket unpickles only what comes from a connection that proved the
    key the driver sent through Dask: a wrong key is refused (and the socket waits on
    for the right one), the right one is served, and ``None`` ends the slot's thread."""
    pytest.importorskip("distributed")
    import pickle
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client as Connect

    from distributed import Client

    from ordersplit.batch.slots import Setup

    work = _instance("scn-scarce", 20, 1)
    with runners.local_cluster(1, start="fork") as cluster, Client(cluster) as client:
        address = next(iter(client.nthreads()))
        actor = client.submit(runners.SlotActor, "test-socket", workers=[address],
                              actor=True, pure=False).result()
        host, port = actor.listen(b"k" * 32, "127.0.0.1").result()
        with pytest.raises(AuthenticationError):
            Connect((host, port), "AF_INET", authkey=b"x" * 32)
        conn = Connect((host, port), "AF_INET", authkey=b"k" * 32)
        conn.send_bytes(pickle.dumps(Setup(work.world, 0.2, {}, True)))
        assert pickle.loads(conn.recv_bytes()) == ("ok", 0, 0)  # (answer of message 0)
        conn.send_bytes(pickle.dumps("holding"))
        status, held, _ = pickle.loads(conn.recv_bytes())
        assert status == "ok" and held["orders"] == []
        conn.send_bytes(pickle.dumps(None))
        with pytest.raises(EOFError):  # the slot's thread ended and closed its end
            conn.recv_bytes()
        conn.close()


def test_an_answer_that_never_comes_from_a_lost_worker_raises(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote worker's machine can vanish without closing its connection: a driver
    waiting for an answer on it asks, now and then, whether the worker is known lost,
    and raises :class:`WorkerError` with the reason instead of waiting forever."""
    import multiprocessing as mp
    import threading

    monkeypatch.setattr(runners, "DASK_CHECK_S", 0.01)
    ours, theirs = mp.Pipe()  # the other end stays open and never answers

    class Owner:
        bytes_in = 0
        arrived = threading.Event()

    inbox = runners._Inbox(ours, Owner())  # type: ignore[arg-type]
    asked = []

    def check() -> str | None:
        asked.append(1)
        return "the worker left" if len(asked) >= 3 else None

    with pytest.raises(WorkerError, match="the worker left"):
        runners._Reply(inbox, 0, check).result()
    assert len(asked) == 3
    theirs.close()
    inbox.thread.join(timeout=10)
    ours.close()


def test_a_split_overtakes_queued_chunks_but_never_the_one_bringing_its_order() -> None:
    """A slot picks its next message among those that have arrived: a split goes before
    the lower-bound chunks queued ahead of it (the driver keeps one queued on every slot,
    and later orders wait for the split), but not before a chunk that holds one of its
    orders (that chunk brings the order's template), and nothing overtakes any other
    kind of message; otherwise messages keep their order."""
    from collections import deque

    from ordersplit.batch.slots import Lower, Split

    def lower(*orders: int) -> Lower:
        return Lower(np.array(orders, dtype=np.int64))

    def split(*orders: int) -> Split:
        return Split(np.array(orders, dtype=np.int64), [np.zeros(1)] * len(orders))

    def order(*msgs: Any) -> list[int]:
        queued = deque(enumerate(msgs))
        return [runners.next_message(queued)[0] for _ in msgs]

    assert order(lower(0, 1), lower(2, 3), split(9), lower(4)) == [2, 0, 1, 3]
    assert order(lower(0, 1), lower(2, 3), split(3), split(9)) == [0, 1, 2, 3]
    assert order(lower(0, 1), "cpu", split(9)) == [0, 1, 2]
    assert order(split(9), lower(0)) == [0, 1]
    assert order("holding", None) == [0, 1]


def test_a_slot_holds_the_splits_it_made_as_its_orders_plans() -> None:
    """The sequential splits a slot makes are its orders' current plans (kept as
    objects until a message that reads the plans packs them): what the slot holds
    afterwards equals what it answered, packed or not."""
    from ordersplit.batch import slots
    from ordersplit.batch.slots import Lower, Setup, Split
    from ordersplit.batch.wire import from_wire, to_wire

    work = _instance("scn-scarce", 40, 3)
    state = _state(work, 0.2, True, None)
    n = len(state.templates)
    lower = lower_bound_plans(state, range(n))
    ledger = Ledger.full(work.world.stock)
    orders = list(range(0, n, 2))
    views = [ledger.view(state.templates[o]) for o in orders]
    for packed in (True, False):
        key = f"test-fresh-{packed}"
        slots.handle(key, Setup(work.world, 0.2, dict(enumerate(state.templates)), packed))
        slots.handle(key, Lower(np.arange(n), {}, to_wire(lower, packed)))
        answers: list[OrderPlan] = []
        for i in range(0, len(orders), 3):  # messages of one to three splits
            answers += from_wire(slots.handle(key, Split(
                np.array(orders[i:i + 3], dtype=np.int64), views[i:i + 3])))
        held = slots.handle(key, "holding")
        assert held["plan_orders"] == orders
        assert all(same(a, b) for a, b in zip(from_wire(held["plans"]), answers, strict=True))
        slots.handle(key, "close")


def test_both_ends_of_a_slot_socket_send_without_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slot's socket carries messages over 16 KB (lower-bound answers, output chunks)
    as two writes; with Nagle's algorithm the second waits for the acknowledgement of
    the first, which the other side delays (tens of ms a message). Both the driver's
    end (:func:`runners.connect_slot`) and the slot's end turn it off."""
    import socket

    seen: list[int] = []
    real = runners.no_delay

    def recording(fd: int) -> None:
        real(fd)
        sock = socket.socket(fileno=fd)
        try:
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        finally:
            sock.detach()

    monkeypatch.setattr(runners, "no_delay", recording)
    actor = runners.SlotActor("test-no-delay")
    host, port = actor.listen(b"k" * 32, "127.0.0.1")
    conn = runners.connect_slot((host, port), b"k" * 32)
    try:
        conn.send_bytes(pickle.dumps(None))  # the slot's thread ends and closes its end
        with pytest.raises(EOFError):
            conn.recv_bytes()
        assert len(seen) == 2 and all(seen)  # the driver's end and the slot's end
    finally:
        conn.close()
