"""The compiled partial-stock search against independent answers.

A partial-stock group needs the *sum* of capped stocks of the chosen warehouses to reach
each SKU's demand (multi-unit lines, warehouses holding part of a line). The search
(:mod:`ordersplit.solver.partial_kernel`) is held to a brute force over every warehouse
subset on small problems, term by term, and to CP-SAT on contract orders of the
``partial`` and ``thin`` shapes. A huge order with a 1 ms budget must come back with an
honest status and a bound.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ordersplit
from ordersplit.models.validate import parse_request
from ordersplit.solver import group_search
from ordersplit.solver.combination import combination_search
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate, violations
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline

OBJECTIVES = [("children", "makespan", "unit_hours"), ("children", "cost"),
              ("children", "unit_hours", "makespan", "cost"),
              ("children", "cost", "makespan", "unit_hours"), ("children",)]


@st.composite
def partial_problems(draw: st.DrawFn) -> SplitProblem:
    """One or two groups of plain lines (quantities 1-6, several lines of one SKU),
    1-6 warehouses with thin or partial stock, a few arrival times and costs."""
    n_skus = draw(st.integers(1, 4))
    m = draw(st.integers(1, 6))
    thin = draw(st.booleans())
    lines = draw(st.lists(st.integers(0, n_skus - 1), min_size=1, max_size=5))
    quantity = np.array([draw(st.integers(1, 6)) for _ in lines], dtype=np.int64)
    usage = np.zeros((len(lines), n_skus), dtype=np.int64)
    usage[np.arange(len(lines)), lines] = 1
    sku_group = [draw(st.integers(0, 1)) for _ in range(n_skus)]  # a SKU in one group
    group = np.array([sku_group[k] for k in lines], dtype=np.int64)
    _, group = np.unique(group, return_inverse=True)
    top = 4 if thin else 9
    stock = np.array([[draw(st.integers(0, top)) for _ in range(n_skus)] for _ in range(m)],
                     dtype=np.int64)
    hours = np.array([draw(st.sampled_from([360, 720, 1440, 2880])) for _ in range(m)],
                     dtype=np.int64)
    cost = np.array([draw(st.integers(0, 3)) for _ in range(m)], dtype=np.int64)
    return SplitProblem(quantity=quantity, usage=usage, splittable=np.ones(len(lines), bool),
                        group=group.astype(np.int64), stock=stock,
                        allowed=np.ones((len(lines), m), dtype=bool), hours=hours, cost=cost,
                        objective=draw(st.sampled_from(OBJECTIVES)))


def brute_force(problem: SplitProblem) -> tuple[int, ...] | None:
    """The best key over every choice of one warehouse subset per group, each SKU
    filled from its group's subset fastest first (optimal for a fixed subset)."""
    order = np.lexsort((np.arange(problem.n_warehouses), problem.cost, problem.hours))
    per_group: list[list[tuple[int, int, int, int, frozenset[int]]]] = []
    for items in problem.groups():
        demand = np.bincount(problem.single_sku[items], weights=problem.quantity[items],
                             minlength=problem.n_skus).astype(np.int64)
        options = []
        for size in range(problem.n_warehouses + 1):
            for subset in itertools.combinations(order.tolist(), size):
                ranked = sorted(subset, key=lambda w: int(np.flatnonzero(order == w)[0]))
                left = demand.copy()
                used: set[int] = set()
                unit = 0
                for w in ranked:
                    take = np.minimum(left, problem.stock[w])
                    if take.any():
                        used.add(w)
                    unit += int(take.sum()) * int(problem.hours[w])
                    left -= take
                if left.any():
                    continue
                span = max((int(problem.hours[w]) for w in used), default=0)
                options.append((len(used), span, unit, int(problem.cost[list(used)].sum()),
                                frozenset(used)))
        if not options:
            return None
        per_group.append(options)
    best = None
    for combo in itertools.product(*per_group):
        values = {"children": sum(o[0] for o in combo),
                  "makespan": max([problem.fixed_makespan] + [o[1] for o in combo]),
                  "unit_hours": sum(o[2] for o in combo), "cost": sum(o[3] for o in combo)}
        key = tuple(values[t] for t in problem.objective)
        best = key if best is None or key < best else best
    return best


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partial_problems())
def test_partial_search_equals_brute_force_on_every_term(problem: SplitProblem) -> None:
    want = brute_force(problem)
    out = combination_search(problem, Deadline(30))
    if want is None:
        assert out.assignment is None
        return
    assert out.proven and out.assignment is not None
    assert violations(problem, out.assignment) == []
    assert evaluate(problem, out.assignment).key(problem.objective) == want
    assert out.children_bound == want[0]


def _order(family: str, seed: int, lines: int = 6, warehouses: int = 12) -> dict[str, Any]:
    """A contract order of the ``partial`` or ``thin`` shape, with temperature zones."""
    rng = np.random.default_rng(seed)
    qty = rng.integers(1, 4, lines)
    if family == "partial":
        big = rng.random(lines) < 0.2
        qty[big] = rng.integers(4, 13, int(big.sum()))
    catalog = {f"S{k}": {"temperature": str(rng.choice(["ambient", "ambient", "chilled"]))}
               for k in range(lines)}
    warehouses_json = []
    for w in range(warehouses):
        stock = {}
        for k in range(lines):
            if family == "thin":
                units = int(rng.integers(0, 5))
            elif rng.random() < 0.35:
                units = int(rng.integers(1, 4)) if rng.random() < 0.3 else int(
                    rng.integers(5, 40))
            else:
                units = 0
            if units:
                stock[f"S{k}"] = units
        warehouses_json.append({"id": f"W{w}", "stock": stock,
                                "delivery_hours": {"c": int(rng.choice([12, 24, 36, 48]))},
                                "child_cost": str(int(rng.integers(0, 4)))})
    total = Decimal(int(qty.sum()))
    return {"order": {"id": f"T-{seed}", "currency": "CNY", "destination": "c",
                      "lines": [{"id": f"L{k}", "sku": f"S{k}", "quantity": int(q),
                                 "unit_price": "1.00"} for k, q in enumerate(qty)],
                      "payments": [{"method": "cash", "amount": f"{total:.2f}"}]},
            "catalog": catalog, "warehouses": warehouses_json}


@pytest.mark.parametrize("family", ["partial", "thin"])
@pytest.mark.parametrize("objective", [["children", "delivery"], ["children", "cost"],
                                       ["children", "delivery", "cost"]])
def test_partial_orders_agree_with_cpsat(family: str, objective: list[str]) -> None:
    """Contract orders of both shapes: the combination search proves what CP-SAT
    proves, on every term of the objective."""
    partial_groups = 0
    for seed in range(8):
        raw = _order(family, seed)
        raw["options"] = {"objective": objective}
        problem = compile_request(parse_request(raw)).problem
        partial_groups += any(not group_search.is_binary(d) for items in problem.groups()
                              if (d := group_search.group_data(problem, items, None,
                                                               Deadline(10))) is not None)
        mine = solve_problem(problem, "combination", Deadline(30))
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert mine.status == ref.status == Status.OPTIMAL, (seed, mine.summary())
        assert mine.objective is not None and ref.objective is not None
        assert mine.objective.key(problem.objective) == ref.objective.key(problem.objective)
    assert partial_groups >= 6


def test_same_partial_order_same_plan_with_one_or_two_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The two-thread path of a partial group returns the plan of the single thread."""
    problems = [compile_request(parse_request(_order("partial", s, 20, 60))).problem
                for s in range(4)]
    monkeypatch.setattr(group_search, "SEARCH_THREADS", 1)
    want = [combination_search(p, Deadline(30)) for p in problems]
    monkeypatch.setattr(group_search, "SEARCH_THREADS", 2)
    monkeypatch.setattr(group_search, "PARALLEL_CELLS", 0)
    for problem, ref in zip(problems, want, strict=True):
        for _ in range(2):
            out = combination_search(problem, Deadline(30))
            assert out.proven and ref.proven
            assert out.assignment is not None and ref.assignment is not None
            assert (out.assignment == ref.assignment).all()


def test_a_huge_order_with_a_1ms_budget_returns_a_bounded_plan() -> None:
    """300 lines x 1,500 warehouses of partial stock (the group's dominance test alone
    was over a minute before it looked at the clock): the plan is not claimed optimal
    and carries its children bound."""
    raw = _order("partial", 5, lines=300, warehouses=1500)
    raw["options"] = {"time_limit_ms": 1}
    plan = ordersplit.split(json.dumps(raw))
    assert plan.status in ("feasible", "fallback")
    assert 1 <= plan.objective.children_lower_bound <= plan.objective.children


def test_the_search_stops_at_a_past_deadline_without_claiming_a_proof() -> None:
    problem = compile_request(parse_request(_order("partial", 1, 100, 300))).problem
    out = combination_search(problem, Deadline(0.0))
    assert not out.proven and not out.infeasible


@settings(max_examples=300, deadline=None)
@given(partial_problems(), st.data())
def test_the_vectorized_group_fill_is_the_fastest_fill(problem: SplitProblem,
                                                       data: st.DataObject) -> None:
    """The plan builder's fill of plain lines ships what the heuristics' fill ships."""
    from ordersplit.solver.group_search import fill_group
    from ordersplit.solver.heuristics.state import fill_fastest

    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, problem.n_warehouses - 1)))),
                      dtype=np.int64)
    for items in problem.groups():
        mine, theirs = problem.stock.copy(), problem.stock.copy()
        a = fill_group(problem, items, chosen, mine)
        b = fill_fastest(problem, items, chosen, theirs)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert (a == b).all() and (mine == theirs).all()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(2, 10), st.integers(4, 10))
def test_partial_dual_bound_and_slacks_never_exceed_a_cover(seed: int, n_elements: int,
                                                            n_wh: int) -> None:
    """What the partial kernel's reduced-cost fixing relies on: every set of available
    warehouses whose capped supplies reach each element's remaining units has at least
    the dual bound plus its members' slacks; so the bound never exceeds the fewest
    warehouses that cover, and fixing keeps every member of a cover that fits the room.
    Checked on every subset, with partial stocks (1-5 units against demands of 1-8)."""
    from ordersplit.solver import cover_kernel, partial_kernel

    rng = np.random.default_rng(seed)
    sup = np.where(rng.random((n_wh, n_elements)) < 0.5,
                   rng.integers(1, 6, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = rng.integers(0, 9, size=n_elements).astype(np.int64)  # 0: already covered
    av_rows = rng.random(n_wh) < 0.85
    res = np.where(sup[av_rows].sum(axis=0) >= res, res, 0)  # a node the search enters
    if not (res > 0).any():
        return
    sup = np.minimum(sup, np.maximum(res, 1)[None, :])
    cand = cover_kernel.pack((sup > 0).T.copy())
    av = cover_kernel.pack(av_rows[None, :])[0]
    reach = np.zeros(n_wh)
    for w in np.flatnonzero(av_rows):
        reach[w] = sum(min(sup[w, e], res[e]) / res[e] for e in range(n_elements) if res[e] > 0)
    slack = np.zeros(n_wh)
    k_order = np.argsort((sup > 0).sum(axis=0), kind="stable").astype(np.int64)
    total = partial_kernel._dual_bound(cand, sup, res, av, k_order, reach, slack)
    open_wh = np.flatnonzero(av_rows).tolist()
    assert (slack[open_wh] >= -1e-9).all()  # dual feasible
    covers = [combo for size in range(1, len(open_wh) + 1)
              for combo in itertools.combinations(open_wh, size)
              if (sup[list(combo)].sum(axis=0) >= res).all()]
    assert covers
    for combo in covers:
        assert len(combo) >= total + slack[list(combo)].sum() - 1e-9
    assert int(np.ceil(total - 1e-9)) <= min(len(c) for c in covers)
    for room in range(min(len(c) for c in covers), len(open_wh) + 1):
        kept = av.copy()
        cover_kernel._fix_by_slack(total, slack, room, kept)
        bits = cover_kernel.words_mask(kept)
        for combo in covers:
            if len(combo) <= room:
                assert all(bits >> w & 1 for w in combo), (combo, total, slack)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(3, 9))
def test_too_few_never_prunes_a_node_with_a_cover_within_the_room(seed: int, n_elements: int,
                                                                   n_wh: int) -> None:
    """The partial kernel drops a node when the ``room`` widest available warehouses'
    shares of the remaining units add up to less than the elements left: checked
    against every subset of small random nodes (partial stocks of 1-5 units against
    remaining demands of 0-8), for every room, that no cover of at most that many
    available warehouses exists whenever the test says so, and that the test does say
    so where no warehouses are left to add."""
    from ordersplit.solver import cover_kernel, partial_kernel

    rng = np.random.default_rng(seed)
    sup = np.where(rng.random((n_wh, n_elements)) < 0.5,
                   rng.integers(1, 6, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = rng.integers(0, 9, size=n_elements).astype(np.int64)  # 0: already covered
    av_rows = rng.random(n_wh) < 0.8
    sup = np.minimum(sup, np.maximum(res, 1)[None, :])
    welem, wdeg = group_search._element_lists(sup)
    av = cover_kernel.pack(av_rows[None, :])[0]
    reach = np.zeros(n_wh)
    partial_kernel._reach(sup, welem, wdeg, res, av, reach)
    n_unc = int((res > 0).sum())
    open_wh = np.flatnonzero(av_rows).tolist()
    fewest = min((size for size in range(len(open_wh) + 1)
                  for combo in itertools.combinations(open_wh, size)
                  if (sup[list(combo)].sum(axis=0) >= res).all()), default=None)
    scratch = np.zeros(n_wh)
    for room in range(n_wh + 1):
        too_few = partial_kernel._too_few(reach, av, room, n_unc, scratch)
        if too_few:
            assert fewest is None or fewest > room, (room, fewest)
        if room == 0 and n_unc:
            assert too_few


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.sampled_from([3, 6, 9, 70, 140]))
def test_two_cover_is_exactly_whether_two_available_warehouses_cover_a_node(
        seed: int, n_elements: int, n_wh: int) -> None:
    """The partial kernel ends a node two warehouses from a leaf when no two available
    warehouses cover its remaining units (:func:`partial_kernel._two_cover`): it must
    never end a node that has such a pair (or a single warehouse), else a plan would be
    lost, and it should find that no pair exists wherever none does. Against every pair
    of small random nodes, with one to three words of warehouses (partial stocks of 1-5
    units against remaining demands of 0-8)."""
    from ordersplit.solver import cover_kernel, partial_kernel

    rng = np.random.default_rng(seed)
    sup = np.where(rng.random((n_wh, n_elements)) < 0.5,
                   rng.integers(1, 6, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = rng.integers(0, 9, size=n_elements).astype(np.int64)  # 0: already covered
    av_rows = rng.random(n_wh) < 0.8
    cand = cover_kernel.pack((sup > 0).T.copy())
    av = cover_kernel.pack(av_rows[None, :])[0]
    open_wh = np.flatnonzero(av_rows).tolist()
    exists = not res.any() or any((sup[list(combo)].sum(axis=0) >= res).all()
                                  for size in (1, 2)
                                  for combo in itertools.combinations(open_wh, size))
    found = partial_kernel._two_cover(sup, cand, res, av, np.zeros(n_elements, dtype=np.int64),
                                      np.zeros(av.size, dtype=np.uint64),
                                      np.zeros(1, dtype=np.int64))
    assert found == exists, (found, exists)


def _covers_within(sup: np.ndarray, res: np.ndarray, open_wh: list[int], most: int) -> bool:
    """Brute force: whether at most ``most`` of ``open_wh`` cover ``res``.

    Every subset is tried: the first ``size - 2`` members one combination at a time, the
    last two as every pair of the later warehouses at once (numpy), so that subsets of
    three among 130 warehouses do not need a 357,000-row array."""
    if not res.any():
        return True
    wh = np.asarray(open_wh, dtype=np.int64)
    for size in range(1, min(most, wh.size) + 1):
        if size == 1:
            if (sup[wh] >= res).all(axis=1).any():
                return True
            continue
        for head in itertools.combinations(range(wh.size), size - 2):
            start = head[-1] + 1 if head else 0
            rest = sup[wh[start:]]
            if rest.shape[0] < 2:
                continue
            left = res - sup[wh[list(head)]].sum(axis=0)
            i, j = np.triu_indices(rest.shape[0], 1)
            if (rest[i] + rest[j] >= left).all(axis=1).any():
                return True
    return False


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.one_of(st.integers(1, 8), st.just(70)),
       st.sampled_from([3, 6, 9, 40, 70, 130]), st.sampled_from([0.3, 0.5, 0.8]))
def test_three_cover_is_exactly_whether_three_available_warehouses_cover_a_node(
        seed: int, n_elements: int, n_wh: int, density: float) -> None:
    """The partial kernel ends a node three warehouses from a leaf when no three available
    warehouses cover its remaining units (:func:`partial_kernel._three_cover`). With an
    unbounded pair budget the test is exactly that, by brute force over every subset of
    at most three, on one to three words of warehouses; with a small budget it may give
    up, but it must never end a node that has such a cover (a plan would be lost). One
    to eight elements, or seventy (two words of element bits for the holding counts)."""
    from ordersplit.solver import cover_kernel, partial_kernel
    from ordersplit.solver.group_search import _element_lists

    rng = np.random.default_rng(seed)
    sup = np.where(rng.random((n_wh, n_elements)) < density,
                   rng.integers(1, 6, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = rng.integers(0, 13, size=n_elements).astype(np.int64)  # 0: already covered
    av_rows = rng.random(n_wh) < 0.8
    cand = cover_kernel.pack((sup > 0).T.copy())
    av = cover_kernel.pack(av_rows[None, :])[0]
    exists = _covers_within(sup, res, np.flatnonzero(av_rows).tolist(), 3)

    welem, wdeg = _element_lists(sup)
    touch = partial_kernel.touch_bits(welem, wdeg, n_elements)

    def three(budget: int) -> bool:
        ints = [np.zeros(n_elements, dtype=np.int64) for _ in range(3)]
        words = [np.zeros(av.size, dtype=np.uint64) for _ in range(3)]
        return bool(partial_kernel._three_cover(
            sup, cand, welem, wdeg, touch, res, av, *ints, np.zeros(n_wh, dtype=np.int64),
            np.zeros(touch.shape[1], dtype=np.uint64), *words, budget,
            np.zeros(1, dtype=np.int64)))

    assert three(1 << 40) == exists
    for budget in (0, 1, 5, 40):
        assert three(budget) or not exists  # False only when no cover exists


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([12, 40, 70, 100]),
       st.sampled_from([9, 40, 70]))
def test_three_cover_with_mostly_partial_holdings_is_exact(seed: int, n_elements: int,
                                                           n_wh: int) -> None:
    """:func:`partial_kernel._three_cover` skips a first member ``w`` by the count of the
    elements it *holds* (an upper bound on those it finishes) and a second ``v`` by the
    count of the elements ``w`` leaves short that ``v`` holds. Where most holdings are
    partial (remaining units of 3-12 against supplies of 1-6, so holding is not
    finishing) and a few warehouses hold most elements (so three of them may cover),
    neither may drop a cover: exactly whether three available warehouses cover the
    node, by brute force over every subset of at most three."""
    from ordersplit.solver import cover_kernel, partial_kernel
    from ordersplit.solver.group_search import _element_lists

    rng = np.random.default_rng(seed)
    density = np.where(rng.random(n_wh) < 0.1, 0.9, 0.3)[:, None]  # a few wide warehouses
    sup = np.where(rng.random((n_wh, n_elements)) < density,
                   rng.integers(1, 7, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = np.where(rng.random(n_elements) < 0.7, rng.integers(3, 13, size=n_elements),
                   0).astype(np.int64)
    for e in np.flatnonzero(res):  # often just coverable by the three widest holders
        top = np.sort(sup[:, e])[-3:].sum()
        if top and rng.random() < 0.5:
            res[e] = min(res[e], int(top))
    av_rows = rng.random(n_wh) < 0.9
    cand = cover_kernel.pack((sup > 0).T.copy())
    av = cover_kernel.pack(av_rows[None, :])[0]
    exists = _three_within(sup, res, np.flatnonzero(av_rows))
    welem, wdeg = _element_lists(sup)
    touch = partial_kernel.touch_bits(welem, wdeg, n_elements)
    ints = [np.zeros(n_elements, dtype=np.int64) for _ in range(3)]
    words = [np.zeros(av.size, dtype=np.uint64) for _ in range(3)]
    found = bool(partial_kernel._three_cover(
        sup, cand, welem, wdeg, touch, res, av, *ints, np.zeros(n_wh, dtype=np.int64),
        np.zeros(touch.shape[1], dtype=np.uint64), *words, 1 << 40,
        np.zeros(1, dtype=np.int64)))
    assert found == exists, (found, exists)


def _three_within(sup: np.ndarray, res: np.ndarray, open_wh: np.ndarray) -> bool:
    """Brute force: whether at most three of ``open_wh`` cover ``res`` (each first
    member, then every pair of the others at once)."""
    if not res.any():
        return True
    s = sup[open_wh]
    if (s >= res).all(axis=1).any():
        return True
    for i in range(len(open_wh)):
        rem = np.maximum(res - s[i], 0)
        rest = s[i + 1:]
        ok = ((rest[:, None, :] + rest[None, :, :]) >= rem).all(axis=2)
        np.fill_diagonal(ok, False)  # two distinct others
        if ok.any() or (rest >= rem).all(axis=1).any():
            return True
    return False


def _few_cover_call(sup: np.ndarray, cand: np.ndarray, res: np.ndarray, av: np.ndarray,
                    k: int) -> Callable[[int], bool]:
    """:func:`partial_kernel._few_cover` on one node as a function of its budget, with
    fresh scratch arrays on each call (``res`` is the node's, shared)."""
    from ordersplit.solver import partial_kernel
    from ordersplit.solver.group_search import _element_lists

    n_wh, n_elements = sup.shape
    welem, wdeg = _element_lists(sup)
    touch = partial_kernel.touch_bits(welem, wdeg, n_elements)
    most = partial_kernel.FEW_ROOM
    e_words = max(1, (n_elements + 63) // 64)

    def few(budget: int) -> bool:
        return bool(partial_kernel._few_cover(
            sup, cand, welem, wdeg, touch, res, av, k, np.zeros(n_wh, dtype=np.int64),
            np.zeros(n_wh, dtype=np.int64), np.zeros((2, n_wh), dtype=np.int64),
            np.zeros(n_elements + 2, dtype=np.int64),
            np.zeros((most + 2, e_words), dtype=np.uint64),
            np.zeros((most + 1, av.size), dtype=np.uint64),
            np.zeros((most + 1, n_wh), dtype=np.int64),
            np.zeros((most + 1, welem.shape[1]), dtype=np.int64),
            np.zeros(av.size, dtype=np.uint64), np.zeros(2, dtype=np.int64), budget,
            np.zeros(1, dtype=np.int64)))

    return few


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.one_of(st.integers(1, 8), st.sampled_from([40, 70, 130])),
       st.sampled_from([3, 6, 9, 14, 22, 70]), st.sampled_from([0.15, 0.3, 0.5, 0.8]),
       st.integers(1, 4))
def test_few_cover_is_exactly_whether_k_available_warehouses_cover_a_node(
        seed: int, n_elements: int, n_wh: int, density: float, k: int) -> None:
    """The partial kernel ends a node four warehouses from a leaf when no four available
    warehouses cover its remaining units (:func:`partial_kernel._few_cover`, which
    branches on the member holding the most elements left, at least ``ceil(n / k)`` of
    them). With an unbounded budget it is exactly that, by brute force over every subset
    of at most ``k`` (one to four; three at most over seventy warehouses), with partial
    stocks of 1-5 against remaining demands of 0-12, on one to three words of warehouses
    and of elements; with a small budget it may give up, but never says no where a cover
    exists. ``res`` is left as it was."""
    from ordersplit.solver import cover_kernel

    if n_wh > 22:
        k = min(k, 3)
    rng = np.random.default_rng(seed)
    sup = np.where(rng.random((n_wh, n_elements)) < density,
                   rng.integers(1, 6, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = np.where(rng.random(n_elements) < 0.8, rng.integers(1, 13, size=n_elements),
                   0).astype(np.int64)
    for e in np.flatnonzero(res):  # often just coverable by the widest holders
        top = np.sort(sup[:, e])[-k:].sum()
        if top and rng.random() < 0.6:
            res[e] = min(res[e], int(top))
    av_rows = rng.random(n_wh) < 0.85
    cand = cover_kernel.pack((sup > 0).T.copy())
    av = cover_kernel.pack(av_rows[None, :])[0]
    exists = _covers_within(sup, res, np.flatnonzero(av_rows).tolist(), k)
    before = res.copy()
    few = _few_cover_call(sup, cand, res, av, k)

    assert few(1 << 40) == exists
    assert (res == before).all()
    for budget in (0, 1, 3, 20):
        assert few(budget) or not exists  # False only when no cover exists
    assert (res == before).all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(8, 70), st.integers(6, 24),
       st.sampled_from([0.05, 0.15, 0.3]), st.integers(2, 4), st.booleans())
def test_few_cover_finds_covers_of_uneven_members_exactly(
        seed: int, n_elements: int, n_wh: int, density: float, k: int, plant: bool) -> None:
    """:func:`partial_kernel._few_cover` below its first level takes its big warehouses
    (holding at least ``ceil(n / k)`` of the ``n`` elements left) from the level above's
    big ones when its threshold is no lower, else from the first level's counts. Covers
    whose members hold very different shares (one member most of the elements, others a
    few, elements split between two members) send the levels down both ways; planted
    half the time among random holdings, with many elements (up to two words) and ties
    in the counts. Against brute force over every subset of at most ``k``, with an
    unbounded budget: exactly; with small budgets never no where a cover exists; ``res``
    left as it was on every answer."""
    from ordersplit.solver import cover_kernel

    rng = np.random.default_rng(seed)
    sup = np.where(rng.random((n_wh, n_elements)) < density,
                   rng.integers(1, 6, size=(n_wh, n_elements)), 0).astype(np.int64)
    res = rng.integers(1, 9, size=n_elements).astype(np.int64)
    res[rng.random(n_elements) < 0.1] = 0
    if plant:  # k members: uneven shares of the elements, some split between two
        members = rng.choice(n_wh, size=k, replace=False)
        share = rng.dirichlet(np.full(k, 0.5))
        owner = rng.choice(k, size=n_elements, p=share)
        for e in np.flatnonzero(res):
            a = members[owner[e]]
            if rng.random() < 0.2:
                b = members[int(rng.integers(0, k))]
                part = int(rng.integers(0, res[e] + 1))
                sup[a, e] = max(sup[a, e], part)
                sup[b, e] = max(sup[b, e], res[e] - part)
            else:
                sup[a, e] = max(sup[a, e], res[e] + int(rng.integers(0, 3)))
    av_rows = rng.random(n_wh) < 0.9
    cand = cover_kernel.pack((sup > 0).T.copy())
    av = cover_kernel.pack(av_rows[None, :])[0]
    exists = _covers_within(sup, res, np.flatnonzero(av_rows).tolist(), k)
    before = res.copy()
    few = _few_cover_call(sup, cand, res, av, k)

    assert few(1 << 40) == exists
    assert (res == before).all()
    for budget in (0, 1, 2, 5):
        assert few(budget) or not exists  # False only when no cover exists
        assert (res == before).all()


@st.composite
def wide_partial_problems(draw: st.DrawFn) -> SplitProblem:
    """One group of 6-10 SKUs (quantities 1-4) over 9-12 warehouses that each hold few
    of them, some in part, so that a cover takes four to seven warehouses and the
    search meets nodes four warehouses from a leaf."""
    n_skus = draw(st.integers(6, 10))
    m = draw(st.integers(9, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    quantity = rng.integers(1, 5, size=n_skus).astype(np.int64)
    held = rng.random((m, n_skus)) < draw(st.sampled_from([0.2, 0.3, 0.4]))
    part = rng.random((m, n_skus)) < 0.3
    stock = np.where(held, np.where(part, rng.integers(1, 3, size=(m, n_skus)), quantity[None, :]),
                     0).astype(np.int64)
    for k in range(n_skus):  # every SKU coverable
        if stock[:, k].sum() < quantity[k]:
            stock[int(rng.integers(0, m)), k] = quantity[k]
    hours = rng.choice([360, 720, 1440, 2880], size=m).astype(np.int64)
    cost = rng.integers(0, 4, size=m).astype(np.int64)
    return SplitProblem(quantity=quantity, usage=np.eye(n_skus, dtype=np.int64),
                        splittable=np.ones(n_skus, bool), group=np.zeros(n_skus, np.int64),
                        stock=stock, allowed=np.ones((n_skus, m), dtype=bool), hours=hours,
                        cost=cost, objective=draw(st.sampled_from(OBJECTIVES)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wide_partial_problems())
def test_partial_search_equals_brute_force_where_covers_take_many_warehouses(
        problem: SplitProblem) -> None:
    """Where a cover takes four to seven warehouses, the search's nodes four from a leaf
    end at :func:`partial_kernel._few_cover` when no four cover them: the proven plan's
    key must still be the brute force's over every warehouse subset, term by term."""
    want = brute_force(problem)
    out = combination_search(problem, Deadline(60))
    assert want is not None
    assert out.proven and out.assignment is not None
    assert violations(problem, out.assignment) == []
    assert evaluate(problem, out.assignment).key(problem.objective) == want
