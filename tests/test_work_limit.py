"""``options.work_limit``: the same request gives the same plan, whatever the load.

The budget is counted work (kernel nodes, CP-SAT deterministic time, HiGHS nodes,
looks at the budget), never the clock, so repeating a split - also while another
process keeps a core busy - must give the identical plan, including when the budget
binds and the plan says ``feasible``.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import numpy as np
import pytest

from ordersplit.api import split
from ordersplit.errors import RequestError


def thin_request(seed: int, n: int = 30, m: int = 80, work: int | None = 20_000,
                 solver: str = "auto") -> dict[str, Any]:
    """Thin stock (0-4 a cell), quantities 1-3, two temperature groups."""
    rng = np.random.default_rng(seed)
    skus = [f"S{i}" for i in range(n)]
    lines = [{"id": f"L{i}", "sku": s, "quantity": int(rng.integers(1, 4)), "unit_price": "1.00"}
             for i, s in enumerate(skus)]
    total = sum(line["quantity"] for line in lines)
    warehouses = []
    for w in range(m):
        stock = {s: int(rng.integers(1, 5)) for s in skus if rng.random() < 0.3}
        warehouses.append({"id": f"W{w}", "stock": stock,
                           "delivery_hours": {"*": int(rng.integers(1, 6)) * 12}})
    options: dict[str, Any] = {"solver": solver, "time_limit_ms": 60_000}
    if work is not None:
        options["work_limit"] = work
    return {
        "order": {"id": f"T-{seed}", "currency": "USD", "destination": "x", "lines": lines,
                  "payments": [{"method": "cash", "amount": f"{total}.00"}]},
        "catalog": {s: {"temperature": "chilled" if i % 3 == 0 else "ambient"}
                    for i, s in enumerate(skus)},
        "warehouses": warehouses,
        "options": options,
    }


def _plan(req: dict[str, Any]) -> dict[str, Any]:
    out = split(req).model_dump()
    out.pop("runtime_ms")
    return out


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


@pytest.mark.parametrize("solver,work,size", [
    ("auto", 3_000, (30, 80)),  # the budget binds: feasible
    ("auto", 200_000, (30, 80)),
    ("cpsat", 50_000, (30, 80)),  # binds
    ("milp", 20_000, (12, 30)),
    ("combination", 3_000, (30, 80)),
])
def test_same_request_same_plan_under_load(solver: str, work: int, size: tuple[int, int]) -> None:
    req = thin_request(5, n=size[0], m=size[1], work=work, solver=solver)
    first = _plan(req)
    ctx = multiprocessing.get_context("spawn")
    burner = ctx.Process(target=_burn, args=(60.0,), daemon=True)
    burner.start()
    try:
        again = [_plan(req) for _ in range(3)]
    finally:
        burner.terminate()
        burner.join()
    assert all(plan == first for plan in again)


def test_a_binding_budget_says_feasible() -> None:
    plan = split(thin_request(5, n=40, m=120, work=1))
    assert plan.status == "feasible"
    assert plan.objective.children_lower_bound <= plan.objective.children


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10"])
def test_work_limit_must_be_a_positive_integer(bad: object) -> None:
    req = thin_request(1, n=3, m=4)
    req["options"]["work_limit"] = bad
    with pytest.raises(RequestError) as err:
        split(req)
    assert "work_limit" in str(err.value)


def test_the_service_caps_a_work_limit_at_its_time_ceiling() -> None:
    """A client cannot buy more CPU than the service's time ceiling with ``work_limit``."""
    from ordersplit.service.jobs import Budget, apply_budget

    data = thin_request(1, n=3, m=4, work=10**12)
    apply_budget(data, Budget(time.monotonic(), None, 1000))
    assert data["options"]["work_limit"] == 1_000_000  # 1 s worth of 1 us units
    small = thin_request(1, n=3, m=4, work=5_000)
    apply_budget(small, Budget(time.monotonic(), None, 1000))
    assert small["options"]["work_limit"] == 5_000
