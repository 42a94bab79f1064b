"""Saturation answers 503 with Retry-After at once; budgets hold; failures never give 500."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from service_auth import AUTH, config
from service_harness import make_app

from ordersplit.service import app as app_module
from ordersplit.service.app import create_app
from ordersplit.service.jobs import Budget, JobResult, apply_budget


class _HeldJob:
    """A stub solve that runs until the test releases it (no wall-clock race)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, raw: bytes, budget: Budget) -> JobResult:
        try:
            self.release.wait(SAFETY_S)
            return JobResult(200, b"{}", None, "optimal", "stub")
        finally:
            self.finished.set()


SAFETY_S = 120
"""Only bounds a hung test; nothing asserts how fast an answer came."""


async def _burst_until(app: Any, n: int, body: dict[str, Any], answered: int,
                       job: _HeldJob) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """Send ``n`` requests at once; once ``answered`` of them are answered, note them (the
    held job still running), release the job and collect the rest."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as c:
        tasks = [asyncio.ensure_future(c.post("/v1/split", json=body,
                                              headers={"Idempotency-Key": f"b{i}"}))
                 for i in range(n)]
        pending: set[asyncio.Future[httpx.Response]] = set(tasks)
        early: list[httpx.Response] = []
        while len(early) < answered:
            done, pending = await asyncio.wait(pending, timeout=SAFETY_S,
                                               return_when=asyncio.FIRST_COMPLETED)
            assert done, "no answer at all"
            early += [t.result() for t in done]
        assert not job.finished.is_set()  # answered while the admitted solve still ran
        job.release.set()
        late = [await t for t in pending]
    return early, late


async def _post(app: Any, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as c:
        return await c.post("/v1/split", json=body)


def test_saturated_answers_503_with_retry_after_at_once(
        monkeypatch: pytest.MonkeyPatch, request_body: dict[str, Any]) -> None:
    job = _HeldJob()
    monkeypatch.setattr(app_module, "run_split", job)
    app = create_app(config(workers=1, max_inflight=1, retry_after_s=2))
    try:
        early, late = asyncio.run(_burst_until(app, 4, request_body, 3, job))
    finally:
        job.release.set()
        app.state.service.pool.shutdown()
    assert [r.status_code for r in early] == [503, 503, 503]  # no queueing behind the solve
    assert [r.status_code for r in late] == [200]
    for r in early:
        assert r.headers["Retry-After"] == "2"
        assert r.json()["error"]["order_id"] == "P-1001"
    metrics = app.state.service.metrics.render().decode()
    assert 'ordersplit_rejected_total{endpoint="split",reason="saturated"} 3.0' in metrics


def test_a_runaway_job_is_answered_503(monkeypatch: pytest.MonkeyPatch,
                                       request_body: dict[str, Any]) -> None:
    job = _HeldJob()
    monkeypatch.setattr(app_module, "run_split", job)
    app = create_app(config(workers=1, max_time_limit_ms=50, grace_ms=100))
    try:
        (r,), late = asyncio.run(_burst_until(app, 1, request_body, 1, job))
    finally:
        job.release.set()
        app.state.service.pool.shutdown()
    assert late == []
    assert r.status_code == 503 and "Retry-After" in r.headers
    assert r.json()["error"]["order_id"] == "P-1001"  # the client knows which order failed


def test_a_crashing_job_is_never_a_500(monkeypatch: pytest.MonkeyPatch,
                                       request_body: dict[str, Any]) -> None:
    def boom(raw: bytes, budget: Budget) -> JobResult:
        raise RuntimeError("bug")

    monkeypatch.setattr(app_module, "run_split", boom)
    app = create_app(config(workers=1))
    try:
        r = asyncio.run(_post(app, request_body))
    finally:
        app.state.service.pool.shutdown()
    assert r.status_code == 503 and set(r.json()["error"]) == {"order_id", "field", "message"}


def test_a_solver_bug_inside_split_is_an_error_object(monkeypatch: pytest.MonkeyPatch,
                                                      request_body: dict[str, Any]) -> None:
    from ordersplit.service import jobs

    def broken(_: Any) -> Any:
        raise ZeroDivisionError

    monkeypatch.setattr(jobs, "split", broken)
    result = jobs.run_split(b'{"order": {"id": "X"}}', Budget(time.monotonic(), None, 100))
    assert result.status == 503 and result.order_id == "X"


def test_budget_is_clamped_and_queue_time_taken_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from ordersplit.service import jobs

    now = 1000.0
    monkeypatch.setattr(jobs, "time", SimpleNamespace(monotonic=lambda: now))  # a still clock
    data: dict[str, Any] = {"options": {"time_limit_ms": 5000}}
    assert apply_budget(data, Budget(now, None, 1000)) == 1000
    assert data["options"]["time_limit_ms"] == 1000
    data = {"options": {}}
    assert apply_budget(data, Budget(now - 0.03, 50, 1000)) == 20  # 30 ms already spent waiting
    data = {}
    assert apply_budget(data, Budget(now, None, 1000)) == 200  # the contract default
    data = {"options": {"time_limit_ms": 100}}
    assert apply_budget(data, Budget(now - 5, None, 1000)) == 1  # never zero
    for bad in (0, -1, True, "x", 10**9, None, 1.5):
        opts: dict[str, Any] = {"time_limit_ms": bad}
        assert apply_budget({"options": opts}, Budget(now, None, 1000)) is None
        assert opts["time_limit_ms"] == bad  # left for validation to reject
    assert apply_budget({"options": None}, Budget(now, None, 1000)) is None
    assert apply_budget([1], Budget(now, None, 1000)) is None


async def _burst(app: Any, n: int, body: dict[str, Any]) -> list[httpx.Response]:
    """``n`` requests at once; their answers."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as c:
        return list(await asyncio.gather(*(
            c.post("/v1/split", json=body, headers={"Idempotency-Key": f"b{i}"})
            for i in range(n))))


def _counted_burst(monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], n: int,
                   seconds: float, **config: Any) -> tuple[list[int], list[int], int]:
    """``n`` requests at once to one thread worker whose job takes ``seconds``:
    (statuses, jobs that ran, inflight after)."""
    calls: list[int] = []

    def run(raw: bytes, budget: Budget) -> JobResult:
        calls.append(1)
        time.sleep(seconds)
        return JobResult(200, b"{}", None, "optimal", "stub")

    monkeypatch.setattr(app_module, "run_split", run)
    app = make_app(workers=1, **config)
    try:
        results = asyncio.run(_burst(app, n, body))
    finally:
        app.state.service.pool.shutdown()
    for r in results:
        assert r.status_code == 200 or r.headers["Retry-After"]
    return [r.status_code for r in results], calls, app.state.service.pool.inflight


def test_a_burst_waits_in_the_queue_instead_of_503(monkeypatch: pytest.MonkeyPatch,
                                                   request_body: dict[str, Any]) -> None:
    codes, calls, inflight = _counted_burst(monkeypatch, request_body, 8, 0.02,
                                            max_queue_wait_ms=600_000)
    assert codes == [200] * 8 and len(calls) == 8 and inflight == 0


def test_the_queue_wait_is_bounded(monkeypatch: pytest.MonkeyPatch,
                                   request_body: dict[str, Any]) -> None:
    """Requests still queued when their wait runs out get 503 and are never run."""
    codes, calls, inflight = _counted_burst(monkeypatch, request_body, 3, 0.5,
                                            max_queue_wait_ms=50)
    assert sorted(codes) == [200, 503, 503] and len(calls) == 1 and inflight == 0
