"""One shared suite of tiny named instances with known optima, run against every backend."""

from __future__ import annotations

import pytest

from ordersplit import split
from ordersplit.models.validate import parse_request
from tests.strategies import check_plan

EXACT = ["auto", "cpsat", "milp", "milp_cbc"]
HEURISTIC = ["greedy", "scarce", "ladder", "pigeonhole"]


@pytest.mark.parametrize("solver", EXACT)
def test_exact_backends_reach_the_known_optimum(named_instance, solver):
    name, req, children, hours = named_instance
    req["options"]["solver"] = solver
    plan = split(req)
    check_plan(parse_request(req), plan)
    assert plan.status == "optimal", (name, plan.status)
    assert plan.objective.children == children, name
    assert plan.objective.delivery_hours == hours, name


@pytest.mark.parametrize("solver", HEURISTIC)
def test_heuristics_are_valid_and_never_beat_the_optimum(named_instance, solver):
    name, req, _, _ = named_instance
    req["options"]["solver"] = solver
    plan = split(req)
    check_plan(parse_request(req), plan)
    req["options"]["solver"] = "cpsat"
    best = split(req)
    assert key(plan, req) >= key(best, req), name
    assert plan.status in ("feasible", "optimal")


def key(plan, req):
    """The plan's lexicographic objective in the request's order."""
    o = plan.objective
    delivery = (o.delivery_hours or 0, o.unit_hours)
    if req["order"].get("preference") == "fastest":
        return (*delivery, o.children)
    return (o.children, *delivery)


def test_greedy_falls_into_its_trap():
    """The instance exists to show that line-by-line greedy is not optimal."""
    from tests.conftest import NAMED

    req = dict(NAMED["greedy_trap"][0])
    req["options"] = {"solver": "greedy"}
    assert split(req).objective.children == 3


def test_combination_is_exact_where_it_applies(named_instance):
    from ordersplit.solver.combination import applicable
    from ordersplit.solver.compile import compile_request

    name, req, children, hours = named_instance
    req["options"]["solver"] = "combination"
    parsed = parse_request(req)
    plan = split(req)
    check_plan(parsed, plan)
    if applicable(compile_request(parsed).problem):
        assert plan.status == "optimal", name
        assert (plan.objective.children, plan.objective.delivery_hours) == (children, hours)
    else:
        assert plan.status == "feasible"
        req["options"]["solver"] = "cpsat"
        assert key(plan, req) >= key(split(req), req)
