"""The one-call staged search gives what the stage-by-stage path gives, to the node.

:func:`ordersplit.solver.staged_kernel.staged_search` runs a group's stages (greedy,
count with its relaxation, makespan probes, later terms, the key) in one compiled call;
:func:`ordersplit.solver.group_search._search_kernel` without it drives the same kernels
from Python. On random groups of binary, partial and thin stock, under every objective
shape, with and without an incumbent or a count limit, both must return the same set,
key, proofs and node count. And the cache guard must drop a caller's compiled entries
exactly when the kernels it calls change.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.kernels import drop_if_changed
from ordersplit.solver import group_search
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline


@pytest.fixture(autouse=True)
def _python_path_to_the_staged_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the staged call of the Python path: small groups would
    otherwise take the one-call group search (``tests/test_group_kernel.py`` compares
    that one with this path)."""
    monkeypatch.setattr(group_search, "SMALL_KERNEL", False)


TERMS = [(), ("makespan",), ("makespan", "unit_hours"), ("cost",),
         ("unit_hours", "makespan", "cost"), ("makespan", "cost", "unit_hours"),
         ("makespan", "unit_hours", "stock_value"), ("stock_value", "makespan")]


@st.composite
def groups(draw: st.DrawFn) -> tuple[SplitProblem, tuple[str, ...]]:
    """One group of plain lines (several lines of a SKU now and then) over 2-14
    warehouses: stock all-or-nothing (binary), partial or thin; a few arrival levels,
    costs, and unit prices that vary when the objective has a stock value."""
    n_skus = draw(st.integers(1, 6))
    m = draw(st.integers(2, 14))
    shape = draw(st.sampled_from(["binary", "partial", "thin"]))
    lines = draw(st.lists(st.integers(0, n_skus - 1), min_size=1, max_size=7))
    one = shape == "binary"
    quantity = np.array([1 if one else draw(st.integers(1, 6)) for _ in lines], dtype=np.int64)
    usage = np.zeros((len(lines), n_skus), dtype=np.int64)
    usage[np.arange(len(lines)), lines] = 1
    density = draw(st.floats(0.2, 0.9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = {"binary": 1 << 20, "partial": 12, "thin": 4}[shape]
    stock = np.where(rng.random((m, n_skus)) < density, rng.integers(1, top + 1, (m, n_skus)), 0)
    hours = rng.choice([360, 720, 1440, 2880], m).astype(np.int64)
    cost = rng.integers(0, 4, m).astype(np.int64)
    terms = draw(st.sampled_from(TERMS))
    price = rng.integers(1, 9, (m, n_skus)).astype(np.int64)
    problem = SplitProblem(quantity=quantity, usage=usage, splittable=np.ones(len(lines), bool),
                           group=np.zeros(len(lines), dtype=np.int64), stock=stock.astype(np.int64),
                           allowed=np.ones((len(lines), m), dtype=bool), hours=hours, cost=cost,
                           objective=("children", *terms), price=price)
    return problem, terms


def _both(monkeypatch: pytest.MonkeyPatch, problem: SplitProblem, terms: tuple[str, ...],
          cap: int | None, rows: np.ndarray | None, limit: int | None,
          ) -> tuple[group_search.GroupOutcome, group_search.GroupOutcome]:
    items = np.arange(problem.n_items)
    out = []
    for staged in (True, False):
        monkeypatch.setattr(group_search, "STAGED", staged)
        out.append(group_search.search_group(problem, items, terms, cap, Deadline(60), rows,
                                             limit))
    return out[0], out[1]


def _same(a: group_search.GroupOutcome, b: group_search.GroupOutcome) -> None:
    assert (a.wh is None) == (b.wh is None)
    if a.wh is not None and b.wh is not None:
        assert a.wh.tolist() == b.wh.tolist()
    assert (a.key, a.proven, a.count_proven, a.nodes) == (b.key, b.proven, b.count_proven,
                                                            b.nodes)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(groups(), st.data())
def test_staged_search_matches_the_stages(monkeypatch: pytest.MonkeyPatch,
                                          drawn: tuple[SplitProblem, tuple[str, ...]],
                                          data: st.DataObject) -> None:
    problem, terms = drawn
    cap = data.draw(st.sampled_from([None, 1440, 2880]))
    staged, stages = _both(monkeypatch, problem, terms, cap, None, None)
    _same(staged, stages)
    limit = data.draw(st.integers(0, problem.n_warehouses))
    _same(*_both(monkeypatch, problem, terms, cap, None, limit))
    if stages.wh is not None:  # the plan as an incumbent: a start with its set
        rows = group_search.fill_group(problem, np.arange(problem.n_items), stages.wh,
                                       problem.stock.copy())
        assert rows is not None
        _same(*_both(monkeypatch, problem, terms, cap, rows, None))


def test_staged_search_is_taken_on_small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The small groups of the benchmark shapes go through the one call (else the test
    above would compare the stages with themselves)."""
    calls = []
    real = group_search.staged.staged_search

    def counted(*args: object) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(group_search.staged, "staged_search", counted)
    stock = np.array([[2, 0], [1, 3], [0, 1], [2, 2]], dtype=np.int64)
    problem = SplitProblem(quantity=np.array([3, 3], dtype=np.int64), usage=np.eye(2, dtype=np.int64),
                           splittable=np.ones(2, bool), group=np.zeros(2, dtype=np.int64),
                           stock=stock, allowed=np.ones((2, 4), bool),
                           hours=np.array([360, 720, 720, 1440], dtype=np.int64),
                           cost=np.zeros(4, dtype=np.int64))
    out = group_search.search_group(problem, np.arange(2), ("makespan", "unit_hours"), None,
                                    Deadline(60), None)
    assert calls and out.proven and out.key is not None and out.key[0] == 2


def _fake_kernel(folder: Path) -> SimpleNamespace:
    return SimpleNamespace(stats=SimpleNamespace(cache_path=str(folder)),
                           py_func=SimpleNamespace(__module__="pkg.caller"))


def test_cache_entries_are_dropped_when_a_called_kernel_changes(tmp_path: Path) -> None:
    dep = tmp_path / "dep.py"
    dep.write_text("x = 1\n")
    module = ModuleType("dep")
    module.__file__ = str(dep)
    cache = tmp_path / "cache"
    cache.mkdir()
    kernel = _fake_kernel(cache)
    assert drop_if_changed(kernel, (module,))  # nothing noted yet
    entries = [cache / "caller.f-1.py311.nbi", cache / "caller.f-1.py311.1.nbc"]
    other = cache / "other.g-1.py311.nbi"
    for path in (*entries, other):
        path.write_text("compiled")
    assert not drop_if_changed(kernel, (module,))  # unchanged: kept
    assert all(p.exists() for p in entries)
    dep.write_text("x = 2\n")
    assert drop_if_changed(kernel, (module,))  # changed: the caller's entries go
    assert not any(p.exists() for p in entries)
    assert other.exists()  # another module's are not its to drop
    assert not drop_if_changed(kernel, (module,))


def test_cache_guard_without_sources_leaves_the_cache_alone(tmp_path: Path) -> None:
    module = ModuleType("gone")
    module.__file__ = str(tmp_path / "gone.py")  # never written
    entry = tmp_path / "caller.f-1.py311.nbi"
    entry.write_text("compiled")
    assert not drop_if_changed(_fake_kernel(tmp_path), (module,))
    assert entry.exists()
