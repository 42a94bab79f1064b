"""Where the parts run: in this process, on local cores, or on a Dask cluster.

Every runner maps a module-level function over tasks with the :class:`BatchState`
shipped to each worker once (a process-pool initializer; a broadcast ``scatter`` on
Dask), and returns the results in task order, so the three give the same answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from ordersplit.batch.search import BatchState

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

_STATE: BatchState | None = None


def _init_worker(state: BatchState) -> None:
    global _STATE  # noqa: PLW0603 - the worker's copy of the batch, set once
    _STATE = state


def _call(fn: Callable[[BatchState, Any], Any], task: Any) -> Any:
    assert _STATE is not None, "worker not initialized"
    return fn(_STATE, task)


class Pending(Protocol[R_co]):
    """A task handed to a runner: ``result()`` waits for (or computes) its answer,
    ``done()`` says whether it is ready."""

    def result(self) -> R_co: ...

    def done(self) -> bool: ...


class Runner(Protocol):
    """Maps ``fn(state, task)`` over tasks; results in task order. ``submit`` hands one
    task over without waiting (its answer is collected with ``result()``)."""

    workers: int

    def map(self, fn: Callable[[BatchState, T], R], tasks: Sequence[T]) -> list[R]: ...

    def submit(self, fn: Callable[[BatchState, T], R], task: T) -> Pending[R]: ...

    def close(self) -> None: ...


class _Later(Generic[T, R]):
    """An inline task, computed when its result is asked for."""

    def __init__(self, fn: Callable[[BatchState, T], R], state: BatchState, task: T) -> None:
        self.fn, self.state, self.task = fn, state, task

    def result(self) -> R:
        return self.fn(self.state, self.task)

    def done(self) -> bool:
        return False


class InlineRunner:
    """Everything in this process (one worker)."""

    def __init__(self, state: BatchState) -> None:
        self.state = state
        self.workers = 1

    def map(self, fn: Callable[[BatchState, T], R], tasks: Sequence[T]) -> list[R]:
        return [fn(self.state, t) for t in tasks]

    def submit(self, fn: Callable[[BatchState, T], R], task: T) -> Pending[R]:
        return _Later(fn, self.state, task)

    def close(self) -> None:
        pass


class LocalRunner:
    """A pool of local processes (``concurrent.futures``)."""

    def __init__(self, state: BatchState, workers: int) -> None:
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                        initargs=(state,))

    def map(self, fn: Callable[[BatchState, T], R], tasks: Sequence[T]) -> list[R]:
        futures = [self.pool.submit(_call, fn, t) for t in tasks]
        return [f.result() for f in futures]

    def submit(self, fn: Callable[[BatchState, T], R], task: T) -> Pending[R]:
        future: Pending[R] = self.pool.submit(_call, fn, task)
        return future

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """A Dask cluster (``dask.distributed``) at ``address``, or a ``Client`` given directly."""

    def __init__(self, state: BatchState, address: Any) -> None:
        from distributed import Client

        if isinstance(address, Client):
            self.client, self.own = address, False
        else:
            self.client, self.own = Client(address), True
        self.workers = max(1, sum(self.client.nthreads().values()))
        [self.state] = self.client.scatter([state], broadcast=True)

    def map(self, fn: Callable[[BatchState, T], R], tasks: Sequence[T]) -> list[R]:
        futures = [self.client.submit(fn, self.state, t, pure=False) for t in tasks]
        return list(self.client.gather(futures))

    def submit(self, fn: Callable[[BatchState, T], R], task: T) -> Pending[R]:
        future: Pending[R] = self.client.submit(fn, self.state, task, pure=False)
        return future

    def close(self) -> None:
        if self.own:
            self.client.close()


def make_runner(state: BatchState, workers: int, scheduler: Any = None) -> Runner:
    """Dask when a scheduler (address or client) is given, else local processes, else inline."""
    if scheduler is not None:
        return DaskRunner(state, scheduler)
    if workers > 1:
        return LocalRunner(state, workers)
    return InlineRunner(state)
