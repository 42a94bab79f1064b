"""The compiled combination-search kernel against an independent exhaustive search.

The brute-force tests elsewhere use at most a few warehouses; here the masks span
several 64-bit words on both sides (up to 130 warehouses, 66 SKUs), so word
boundaries, the two-slot finish and the later-term bounds are all exercised.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.bench import ScenarioConfig, generate_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver import cover_kernel as kernel
from ordersplit.solver.combination import combination_search
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import evaluate, is_feasible
from ordersplit.solver.fragments import without_fragments
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline


def exhaustive_key(problem: SplitProblem, max_size: int) -> tuple[int, ...] | None:
    """(children, makespan, unit_hours) of the best cover of at most ``max_size``
    warehouses, every subset enumerated; each SKU from its fastest chosen warehouse."""
    items = problem.groups()[0]
    skus = problem.single_sku[items]
    demand = problem.quantity[items]
    full = problem.stock[:, skus] >= demand[None, :]  # binary: quantity 1 per line
    full &= problem.allowed[items[0]][:, None]
    hours = problem.hours.astype(np.int64)
    big = np.iinfo(np.int64).max // 4  # never the fastest
    for size in range(1, max_size + 1):
        combos = np.array(list(itertools.combinations(range(problem.n_warehouses), size)))
        covered = full[combos].any(axis=1).all(axis=1)
        if not covered.any():
            continue
        sets = combos[covered]
        # a smallest cover needs every member, so each ships and the plan has ``size``
        # children; each SKU ships from its fastest member
        fastest = np.where(full[sets], hours[sets][:, :, None], big).min(axis=1)
        unit = (fastest * demand[None, :]).sum(axis=1)
        span = fastest.max(axis=1)
        best = min(zip(span.tolist(), unit.tolist(), strict=True))
        return (size, *best)
    return None


def uniform(lines: int, warehouses: int, density: float, n: int, seed: int) -> list[SplitProblem]:
    cfg = ScenarioConfig.uniform(lines, warehouses).replace(
        n_orders=n, fastest_share=0.0, stock_density=density, seed=seed)
    return [compile_request(parse_request(r)).problem for r in generate_orders(cfg)]


@pytest.mark.parametrize(("lines", "warehouses", "density", "seed"), [
    (66, 70, 0.6, 1),   # two words of SKUs, two of warehouses
    (20, 130, 0.45, 2),  # three words of warehouses
    (8, 66, 0.3, 3),
])
def test_kernel_matches_exhaustive_search(lines: int, warehouses: int, density: float,
                                          seed: int) -> None:
    for problem in map(without_fragments, uniform(lines, warehouses, density, 4, seed)):
        assert problem.objective == ("children", "makespan", "unit_hours")
        out = combination_search(problem, Deadline(60))
        assert out.proven and out.assignment is not None
        assert is_feasible(problem, out.assignment)
        got = evaluate(problem, out.assignment).key(problem.objective)
        want = exhaustive_key(problem, max_size=3)
        if want is None:  # the optimum opens more than three: only check the bound
            assert got[0] > 3
        else:
            assert got == want


def test_kernel_stops_at_the_deadline() -> None:
    """A hard cover with a deadline already past stops after one clock check, unproven."""
    problem = uniform(100, 300, 0.2, 1, 0)[0]
    out = combination_search(problem, Deadline(0.0))
    assert not out.proven


def test_kernel_bitmask_round_trip() -> None:
    rng = np.random.default_rng(0)
    rows = rng.random((5, 150)) < 0.3
    packed = kernel.pack(rows)
    assert packed.shape == (5, 3)
    for r in range(5):
        mask = kernel.words_mask(packed[r])
        assert [bool(mask >> j & 1) for j in range(150)] == rows[r].tolist()
        assert (kernel.mask_words(mask, 150) == packed[r]).all()


def test_greedy_cover_covers() -> None:
    rng = np.random.default_rng(1)
    full = rng.random((90, 70)) < 0.15
    full[0] |= ~full.any(axis=0)  # every SKU has a candidate
    chosen = np.zeros(90, dtype=np.int64)
    size = kernel.greedy_cover(kernel.pack(full), 70, chosen)
    assert size > 0
    assert full[chosen[:size]].any(axis=0).all()
    full[:, 69] = False  # SKU 69 has no candidate: no cover at all
    assert kernel.greedy_cover(kernel.pack(full), 70, chosen) == -1


@pytest.mark.parametrize("objective", [["children", "cost"], ["children", "delivery"]])
def test_kernel_agrees_with_cpsat_on_deeper_covers(objective: list[str]) -> None:
    """Optima of five warehouses over 70: deep enough for the later-term bounds to prune."""
    cfg = ScenarioConfig.uniform(20, 70).replace(
        n_orders=6, fastest_share=0.0, stock_density=0.15, seed=3,
        options={"solver": "auto", "objective": objective})
    for raw in generate_orders(cfg):
        problem = compile_request(parse_request(raw)).problem
        mine = solve_problem(problem, "combination", Deadline(60))
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert mine.status == ref.status == Status.OPTIMAL
        assert mine.objective is not None and ref.objective is not None
        assert mine.objective.key(problem.objective) == ref.objective.key(problem.objective)


def test_bundles_are_cover_elements_and_stay_exact() -> None:
    """Orders with bundles (all rules on) go through the combination search when no SKU
    is contended, and it agrees with CP-SAT."""
    cfg = ScenarioConfig.uniform(12, 40).replace(
        n_orders=12, fastest_share=0.0, single_group=False, bundle_share=0.3, seed=7)
    with_bundles = 0
    for raw in generate_orders(cfg):
        problem = compile_request(parse_request(raw)).problem
        if not problem.coverable or problem.splittable.all():
            continue
        with_bundles += 1
        mine = solve_problem(problem, "combination", Deadline(60))
        ref = solve_problem(problem, "cpsat", Deadline(60))
        assert mine.status == ref.status == Status.OPTIMAL
        assert mine.objective is not None and ref.objective is not None
        assert mine.objective.key(problem.objective) == ref.objective.key(problem.objective)
    assert with_bundles >= 3


@pytest.mark.parametrize("quick_seconds", [0.0, 0.02])
def test_count_stage_beside_the_later_stages_gives_the_same_optimum(
        monkeypatch: pytest.MonkeyPatch, quick_seconds: float) -> None:
    """The two-thread path (count stage in a second thread, later stages assuming the
    quick search's count and sharing their root branches between the threads) reaches
    the same optimum as the sequential search, and the same plan every time. With no
    time for the quick search the assumed count is the greedy cover's, often one too
    many, so the path that redoes the later stages is exercised as well."""
    from ordersplit.solver import group_search as combination

    problems = uniform(40, 80, 0.2, 12, 5)  # greedy opens one too many on half
    monkeypatch.setattr(combination, "SEARCH_THREADS", 1)
    want = [combination_search(p, Deadline(60)) for p in problems]
    monkeypatch.setattr(combination, "SEARCH_THREADS", 2)
    monkeypatch.setattr(combination, "PARALLEL_CELLS", 0)
    monkeypatch.setattr(combination, "QUICK_SECONDS", quick_seconds)
    calls = []
    after = combination._after_count

    def counted(*args: object) -> object:
        calls.append(args[3])
        return after(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(combination, "_after_count", counted)
    for problem, ref in zip(problems, want, strict=True):
        out = combination_search(problem, Deadline(60))
        assert out.proven and ref.proven
        assert out.assignment is not None and ref.assignment is not None
        assert is_feasible(problem, out.assignment)
        assert evaluate(problem, out.assignment).key(problem.objective) == \
            evaluate(problem, ref.assignment).key(problem.objective)
        assert out.children_bound == ref.children_bound
        again = combination_search(problem, Deadline(60))  # threads race; the plan must not
        assert again.assignment is not None
        assert np.array_equal(again.assignment, out.assignment)
    if quick_seconds == 0.0:  # some assumed counts were wrong, and the stages were redone
        assert len(calls) > len(problems)


def _smallest_cover_size(full: np.ndarray) -> int | None:
    """Fewest rows of ``full`` (warehouses x SKUs) whose union covers every SKU, by
    enumerating every subset size by size."""
    for size in range(1, full.shape[0] + 1):
        combos = np.array(list(itertools.combinations(range(full.shape[0]), size)))
        if full[combos].any(axis=1).all(axis=1).any():
            return size
    return None


def _count_search(full: np.ndarray, cand: np.ndarray, cov: np.ndarray, best_key: np.ndarray,
                  best_used: np.ndarray, state: np.ndarray) -> None:
    """The kernel's count-only search over the whole of ``full`` (warehouses x SKUs, every
    warehouse available, none fixed), its best key, cover and state updated in place."""
    warehouses, skus = full.shape
    zero = np.zeros(warehouses, dtype=np.int64)
    kernel.search(cand, cov, zero, zero, np.zeros((0, warehouses), dtype=np.int64),
                  np.ones(skus, dtype=np.int64),
                  np.argsort(full.sum(axis=0), kind="stable").astype(np.int64),
                  np.zeros(0, dtype=np.int64), kernel.mask_words((1 << warehouses) - 1, warehouses),
                  kernel.mask_words(0, warehouses), best_key, best_used, state,
                  time.perf_counter() + 600)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(8, 20), st.integers(10, 18),
       st.floats(0.12, 0.3))
def test_count_search_from_an_incumbent_matches_enumeration(
        seed: int, skus: int, warehouses: int, density: float) -> None:
    """The count-only search (the count stage's path: widest candidates first, cut by
    the reach still needed) finds a smallest cover, started from greedy's, on covers
    deep enough (optima of 3-7 warehouses) for every bound to act."""
    rng = np.random.default_rng(seed)
    full = rng.random((warehouses, skus)) < density
    full[rng.integers(warehouses, size=skus), np.arange(skus)] = True  # coverable
    cand, cov = kernel.pack(full.T.copy()), kernel.pack(full)
    chosen = np.zeros(warehouses, dtype=np.int64)
    size = kernel.greedy_cover(cov, skus, chosen)
    best_key = np.array([size], dtype=np.int64)
    best_used = kernel.mask_words(sum(1 << int(w) for w in chosen[:size]), warehouses)
    state = np.array([2, 0, 0, 0], dtype=np.int64)
    _count_search(full, cand, cov, best_key, best_used, state)
    assert state[2] == 0
    used = [w for w in range(warehouses) if kernel.words_mask(best_used) >> w & 1]
    assert full[used].any(axis=0).all()
    assert len(used) == best_key[0] == _smallest_cover_size(full)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(3, 14), st.integers(4, 11),
       st.floats(0.1, 0.5))
def test_dual_bound_and_slacks_never_exceed_a_cover(seed: int, skus: int, warehouses: int,
                                                    density: float) -> None:
    """What the reduced-cost fixing relies on: for the dual values of any node (some
    SKUs already covered, some warehouses excluded), every cover ``C`` of the SKUs left
    from the warehouses left has at least the bound plus its members' slacks; so the
    bound never exceeds the smallest cover, and a warehouse whose slack pushes the bound
    past the room left is in no cover that fits. Checked on every subset of warehouses."""
    rng = np.random.default_rng(seed)
    full = rng.random((warehouses, skus)) < density
    cand, cov = kernel.pack(full.T.copy()), kernel.pack(full)
    unc_rows = rng.random(skus) < 0.8
    av_rows = rng.random(warehouses) < 0.85
    unc_rows &= full[av_rows].any(axis=0)  # a node the search enters: every SKU has a candidate
    if not unc_rows.any():
        return
    unc, av = kernel.pack(unc_rows[None, :])[0], kernel.pack(av_rows[None, :])[0]
    k_order = np.argsort(full.sum(axis=0), kind="stable").astype(np.int64)
    reach = np.zeros(warehouses, dtype=np.int64)
    slack = np.zeros(warehouses)
    kernel._reaches(cov, unc, av, reach)
    total = kernel._dual_bound(cand, cov, unc, av, k_order, reach, slack)
    open_wh = np.flatnonzero(av_rows)
    smallest = None
    for size in range(1, open_wh.size + 1):
        for combo in itertools.combinations(open_wh.tolist(), size):
            if not full[list(combo)][:, unc_rows].any(axis=0).all():
                continue
            smallest = size if smallest is None else smallest
            assert size >= total + slack[list(combo)].sum() - 1e-9
    assert smallest is not None
    assert int(np.ceil(total - 1e-9)) <= smallest
    assert (slack[open_wh] >= -1e-9).all()  # dual feasible: no warehouse over-priced
    for room in range(smallest, open_wh.size + 1):  # fixing keeps every member of a fitting cover
        kept = av.copy()
        kernel._fix_by_slack(total, slack, room, kept)
        kept_rows = np.array([kernel.words_mask(kept) >> w & 1 for w in range(warehouses)], bool)
        for combo in itertools.combinations(open_wh.tolist(), room):
            if full[list(combo)][:, unc_rows].any(axis=0).all():
                assert kept_rows[list(combo)].all(), (combo, total, slack)


def _covers_within_three(full: np.ndarray, unc_rows: np.ndarray, av_rows: np.ndarray) -> bool:
    """Whether at most three of the warehouses in ``av_rows`` cover the SKUs in
    ``unc_rows``, by trying every such set (SKU sets as Python ints)."""
    want = sum(1 << int(k) for k in np.flatnonzero(unc_rows))
    masks = sorted({sum(1 << int(k) for k in np.flatnonzero(full[w] & unc_rows))
                    for w in np.flatnonzero(av_rows)})
    if want == 0:
        return True
    for a, b in itertools.combinations_with_replacement(masks, 2):
        if (a | b) == want:
            return True
    pairs = {a | b for a, b in itertools.combinations(masks, 2)}
    return any((p | c) == want for p in pairs for c in masks)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(2, 70), st.integers(3, 70),
       st.floats(0.05, 0.6), st.floats(0.1, 1.0))
def test_three_cover_is_exactly_whether_three_available_warehouses_cover(
        seed: int, skus: int, warehouses: int, density: float, left: float) -> None:
    """The count-only search ends a node three warehouses from a leaf when no three
    available warehouses cover its uncovered SKUs (:func:`cover_kernel._three_cover`):
    exactly that, by brute force over every set of at most three, on one or two words
    of warehouses and of SKUs, with covers of one to three planted often enough."""
    rng = np.random.default_rng(seed)
    full = rng.random((warehouses, skus)) < density
    unc_rows = rng.random(skus) < left
    if rng.random() < 0.5:  # plant a cover of one to three warehouses
        members = rng.choice(warehouses, size=min(warehouses, int(rng.integers(1, 4))),
                             replace=False)
        owner = rng.choice(members, size=skus)
        full[owner, np.arange(skus)] = True
    av_rows = rng.random(warehouses) < 0.9
    cand, cov = kernel.pack(full.T.copy()), kernel.pack(full)
    unc, av = kernel.pack(unc_rows[None, :])[0], kernel.pack(av_rows[None, :])[0]
    reach = np.zeros(warehouses, dtype=np.int64)
    scratch = np.zeros((5, max(av.size, unc.size)), dtype=np.uint64)
    got = kernel._three_cover(cand, cov, unc, av, reach, scratch)
    assert got == _covers_within_three(full, unc_rows, av_rows)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(8, 22), st.integers(10, 18),
       st.floats(0.1, 0.3), st.integers(0, 1))
def test_count_search_below_a_bound_finds_a_cover_exactly_when_one_exists(
        seed: int, skus: int, warehouses: int, density: float, margin: int) -> None:
    """The count-only search from a bound without a set (how the partial groups' binary
    relaxation asks "is there a cover of fewer than ``beat``?") returns a cover of fewer
    than ``beat`` warehouses exactly when one exists, and the smallest when it does: with
    ``beat`` the smallest cover's size (none) or one more (the smallest), on covers of
    3-8 warehouses, whose nodes three warehouses from a leaf take the exact test."""
    rng = np.random.default_rng(seed)
    full = rng.random((warehouses, skus)) < density
    full[rng.integers(warehouses, size=skus), np.arange(skus)] = True  # coverable
    smallest = _smallest_cover_size(full)
    assert smallest is not None
    beat = smallest + margin
    cand, cov = kernel.pack(full.T.copy()), kernel.pack(full)
    best_key = np.array([beat], dtype=np.int64)
    best_used = np.zeros(cand.shape[1], dtype=np.uint64)
    state = np.array([1, 0, 0, 0], dtype=np.int64)
    _count_search(full, cand, cov, best_key, best_used, state)
    assert state[2] == 0
    if margin == 0:
        assert state[0] == 1 and best_key[0] == beat  # nothing below the bound
    else:
        used = [w for w in range(warehouses) if kernel.words_mask(best_used) >> w & 1]
        assert state[0] == 2 and len(used) == best_key[0] == smallest
        assert full[used].any(axis=0).all()
