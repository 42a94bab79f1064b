"""Every ``optimal`` plan of ``auto`` agrees with an independent CP-SAT model.

The model here is written from the compiled problem's arrays with CP-SAT's own
expression API - not the project's shared :mod:`~ordersplit.solver.backends._lexico`
model - and solved stage by stage with a long limit, each optimum fixed before the next
term. It checks every term, fragments included, on partial, thin and multi-unit stock.
"""

from __future__ import annotations

import numpy as np
import pytest
from ortools.sat.python import cp_model

from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.stop import Deadline
from tests.problem_shapes import random_shape_problem


def independent_optimum(problem: SplitProblem) -> tuple[int, ...]:
    """The lexicographic optimum of ``problem`` by a CP-SAT model written from scratch."""
    n, m = problem.n_items, problem.n_warehouses
    model = cp_model.CpModel()
    x = {}
    pieces = {}
    opened = {}
    for g in range(problem.n_groups):
        for w in range(m):
            opened[g, w] = model.new_bool_var(f"y{g}_{w}")
    for i in range(n):
        q = int(problem.quantity[i])
        ships = []
        for w in range(m):
            if not problem.allowed[i, w]:
                continue
            v = model.new_int_var(0, q, f"x{i}_{w}")
            x[i, w] = v
            ships.append(v)
            model.add(v <= q * opened[int(problem.group[i]), w])
            key = (int(problem.lines[i]), w)
            if key not in pieces:
                pieces[key] = model.new_bool_var(f"p{key}")
            model.add(v <= q * pieces[key])
        model.add(sum(ships) == q)
    for i in np.flatnonzero(~problem.splittable).tolist():
        used = [model.new_bool_var(f"u{i}_{w}") for w in range(m) if (i, w) in x]
        cells = [x[i, w] for w in range(m) if (i, w) in x]
        for b, v in zip(used, cells, strict=True):
            model.add(v == int(problem.quantity[i]) * b)  # all units or none
        model.add(sum(used) <= 1)
    for w in range(m):
        for k in range(problem.n_skus):
            load = [int(problem.usage[i, k]) * x[i, w] for i in range(n)
                    if (i, w) in x and problem.usage[i, k]]
            if load:
                model.add(sum(load) <= int(problem.stock[w, k]))
    span = model.new_int_var(int(problem.fixed_makespan), int(max(problem.hours.max(),
                                                                  problem.fixed_makespan)), "M")
    for (_, w), y in opened.items():
        model.add(span >= int(problem.hours[w]) * y)
    lines_shipping = len({int(v) for v in problem.lines[problem.quantity > 0].tolist()})
    groups_shipping = len({int(g) for g in problem.group[problem.quantity > 0].tolist()})
    terms = {
        "children": sum(opened.values()) if problem.per_warehouse else groups_shipping,
        "makespan": span,
        "unit_hours": sum(int(problem.hours[w]) * v for (_, w), v in x.items()),
        "cost": sum(int(problem.cost[w]) * y for (_, w), y in opened.items()),
        "fragments": sum(pieces.values()) - lines_shipping if problem.per_warehouse else 0,
    }
    values = []
    for term in problem.objective:
        expr = terms[term]
        if isinstance(expr, int):
            values.append(expr)
            continue
        model.minimize(expr)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 120
        assert solver.solve(model) == cp_model.OPTIMAL
        value = round(solver.objective_value)
        model.add(expr <= value)
        values.append(value)
    return tuple(values)


@pytest.mark.parametrize("shape", ["partial", "thin", "multi"])
def test_auto_optimal_plans_agree_with_an_independent_model(shape: str) -> None:
    rng = np.random.default_rng({"partial": 11, "thin": 12, "multi": 13}[shape])
    agreed = 0
    for t in range(25):
        problem = random_shape_problem(rng, shape, rules=t % 2 == 1, max_items=7, max_wh=9)
        res = solve_problem(problem, "auto", Deadline(30))
        assert res.assignment is not None
        if res.status.value != "optimal":
            continue
        got = evaluate(problem, res.assignment).key(problem.objective)
        assert got == independent_optimum(problem), (shape, t)
        agreed += 1
    assert agreed >= 20
