"""The plan builder's children and reasons are the earlier, plainer code's.

:func:`~ordersplit.plan.children.draft_children` and
:func:`~ordersplit.plan.children.reasons` were rewritten for speed in session 13; the
versions before (``tests/plan_reference.py``) are the reference. Compared on generated
requests (every rule on or off, bundles, store lines, back-orders, bulky lines) with
the solver's assignment and with arbitrary assignments of the same shape, the warehouse
rule on and off: the same children (kind, key, warehouse, bulkiness, parts, sources, in
the same order) and the same reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.models.validate import parse_request
from ordersplit.plan.children import DraftChild, draft_children, reasons
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.stop import WorkBudget
from tests.plan_reference import draft_children_reference, reasons_reference
from tests.strategies import requests


def _shape(children: list[DraftChild]) -> list[tuple[Any, ...]]:
    return [(c.kind, c.key, c.warehouse, c.bulky,
             [(p.line, p.component, p.quantity) for p in c.parts],
             list(c.sources.items())) for c in children]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(max_lines=6, max_wh=4), st.data())
def test_children_and_reasons_equal_the_reference(raw: dict[str, Any],
                                                  data: st.DataObject) -> None:
    """The solver's assignment, and an arbitrary one of its shape (units 0 to 3 in any
    cell, so lines split over warehouses and children), under either warehouse rule."""
    req = parse_request(raw)
    compiled = compile_request(req)
    result = solve_problem(compiled.problem, "auto", WorkBudget(10**5))
    shape = compiled.problem.allowed.shape
    cells = data.draw(st.lists(st.integers(0, 3), min_size=shape[0] * shape[1],
                               max_size=shape[0] * shape[1]))
    arbitrary = np.array(cells, dtype=np.int64).reshape(shape)
    for x in ([] if result.assignment is None else [result.assignment]) + [arbitrary]:
        for per_warehouse in (True, False):
            got = draft_children(compiled.layout, x, per_warehouse)
            want = draft_children_reference(compiled.layout, x, per_warehouse)
            assert _shape(got) == _shape(want)
            assert reasons(got) == reasons_reference(want)


def test_nonzero_cells_equal_the_reference_small_and_wide() -> None:
    """Both ways of reading an assignment's cells (a handful, and past
    ``SMALL_ASSIGNMENT``) list the reference's cells, row-major."""
    from ordersplit.plan.children import SMALL_ASSIGNMENT, _nonzero_cells
    from tests.plan_reference import _nonzero_cells as reference_cells

    rng = np.random.default_rng(13)
    for shape in [(0, 5), (1, 1), (10, 30), (70, 70), (3, SMALL_ASSIGNMENT)]:
        x = rng.integers(0, 4, size=shape) * (rng.random(shape) < 0.1)
        assert list(_nonzero_cells(x)) == list(reference_cells(x))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(max_lines=6, max_wh=4))
def test_plans_equal_the_reference_builder(raw: dict[str, Any]) -> None:
    """The whole plan (children, reasons, links, amounts, objective), byte for byte, is
    the pre-session builder's on the reference drafting and the general money way."""
    from ordersplit.plan.build import build_plan
    from tests.plan_reference import build_plan_reference

    req = parse_request(raw)
    compiled = compile_request(req)
    result = solve_problem(compiled.problem, "auto", WorkBudget(10**6))
    got = build_plan(req, compiled, result, 1.0).model_dump_json()
    assert got == build_plan_reference(req, compiled, result, 1.0).model_dump_json()
