"""The one-call problem facts are what the problem's own properties work out.

:func:`ordersplit.solver.problem_facts.derive` fills the memos of ``single_sku``,
``own_lines``, ``lone_lines``, ``coverable``, ``priced`` and ``one_reach`` of a fresh
problem in one compiled call before the portfolio starts. On random problems (lines split into
components or not, in any order; bundles, unsplittable items, SKUs shared between
lines and groups; prices or none) and on compiled requests, each must equal the value
the property computes on a fresh copy of the same problem.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.models.validate import parse_request
from ordersplit.solver import problem_facts
from ordersplit.solver.compile import compile_request
from ordersplit.solver.problem import SplitProblem
from tests.strategies import requests


def _same_as_properties(problem: SplitProblem) -> None:
    derived = problem.with_objective(problem.objective)
    problem_facts.derive(derived)
    for name in problem_facts.NAMES:
        assert name in derived.__dict__, name  # filled (the arrays are of compiled types)
    fresh = problem.with_objective(problem.objective)  # nothing carried over
    assert np.array_equal(derived.single_sku, fresh.single_sku)
    assert not derived.single_sku.flags.writeable
    for name in ("own_lines", "lone_lines", "coverable", "priced", "one_reach"):
        assert getattr(derived, name) == getattr(fresh, name), name


@st.composite
def problems(draw: st.DrawFn) -> SplitProblem:
    """0-9 items over 1-6 SKUs and 1-5 warehouses: plain lines, bundles, unsplittable
    items, several items of one line (components) or not, lines in any order, one to
    three groups, prices or none, every warehouse allowed or some not (one reach set per
    group or not)."""
    n = draw(st.integers(0, 9))
    n_k = draw(st.integers(1, 6))
    m = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    usage = np.zeros((n, n_k), dtype=np.int64)
    for i in range(n):
        kind = draw(st.sampled_from(["plain", "plain", "two", "bundle"]))
        k = int(rng.integers(0, n_k))
        usage[i, k] = 2 if kind == "two" else 1
        if kind == "bundle":
            usage[i, int(rng.integers(0, n_k))] += 1
    line = draw(st.sampled_from(["own", "shuffled", "components"]))
    lines = np.arange(n, dtype=np.int64)
    if line == "shuffled":
        lines = rng.permutation(n).astype(np.int64)
    elif line == "components" and n:
        lines = np.sort(rng.integers(0, max(1, n - 1), n)).astype(np.int64)
    group = rng.integers(0, draw(st.integers(1, 3)), n).astype(np.int64)
    price = (rng.integers(0, 3, (m, n_k)) if draw(st.booleans())
             else np.zeros((m, n_k))).astype(np.int64)
    allowed = np.ones((n, m), dtype=bool)
    if draw(st.booleans()):  # some items kept from some warehouses
        allowed = rng.random((n, m)) < draw(st.sampled_from([0.5, 0.9]))
        if draw(st.booleans()):  # the same reach per group (as the rules make it)
            allowed = allowed[np.argmax(group[:, None] == group[None, :], axis=1)] if n \
                else allowed
    return SplitProblem(quantity=rng.integers(1, 4, n).astype(np.int64), usage=usage,
                        splittable=rng.random(n) < 0.8, group=group,
                        stock=rng.integers(0, 5, (m, n_k)).astype(np.int64),
                        allowed=allowed, hours=rng.integers(1, 5, m).astype(np.int64),
                        cost=np.zeros(m, dtype=np.int64), line=lines, price=price,
                        n_groups=int(group.max()) + 1 if n else 0)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_facts_match_the_properties(problem: SplitProblem) -> None:
    _same_as_properties(problem)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(max_lines=5, max_wh=4))
def test_facts_match_the_properties_of_compiled_requests(req: dict[str, object]) -> None:
    """Problems as the compiler builds them (its array types: the call must not decline)."""
    _same_as_properties(compile_request(parse_request(json.dumps(req))).problem)


def test_memos_already_known_are_kept() -> None:
    """A memo the problem already holds is not replaced."""
    problem = SplitProblem(quantity=np.ones(2, dtype=np.int64), usage=np.eye(2, dtype=np.int64),
                           splittable=np.ones(2, dtype=bool), group=np.zeros(2, dtype=np.int64),
                           stock=np.ones((3, 2), dtype=np.int64),
                           allowed=np.ones((2, 3), dtype=bool), hours=np.ones(3, dtype=np.int64),
                           cost=np.zeros(3, dtype=np.int64))
    sku = problem.single_sku
    problem_facts.derive(problem)
    assert problem.single_sku is sku
    assert problem.lone_lines and problem.coverable and problem.own_lines
    assert problem.one_reach
    assert not problem.priced


def test_other_array_types_are_left_to_the_properties() -> None:
    """A problem whose arrays the kernel was not compiled for (32-bit line ids) gets no
    memo from the call; its properties work themselves out as before."""
    problem = SplitProblem(quantity=np.ones(2, dtype=np.int64), usage=np.eye(2, dtype=np.int64),
                           splittable=np.ones(2, dtype=bool), group=np.zeros(2, dtype=np.int64),
                           stock=np.ones((3, 2), dtype=np.int64),
                           allowed=np.ones((2, 3), dtype=bool), hours=np.ones(3, dtype=np.int64),
                           cost=np.zeros(3, dtype=np.int64), line=np.arange(2, dtype=np.int32))
    problem_facts.derive(problem)
    assert not any(name in problem.__dict__ for name in problem_facts.NAMES)
    assert problem.single_sku.tolist() == [0, 1] and problem.lone_lines and problem.coverable
    assert problem.one_reach
