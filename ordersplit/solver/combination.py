"""Exact combination search: branch and bound over warehouse sets, group by group.

Each shipping group is a covering problem over elements (SKUs, bundles, unsplittable
lines), searched by :mod:`ordersplit.solver.group_search` in a compiled kernel, binary
or partial stock alike. When no SKU is contended between elements
(:attr:`SplitProblem.coverable`) and every group has one reach set, the groups are
independent and the search is exact. Contended stock (a bundle sharing a SKU with a
line) is split into coverable placement cases (:mod:`ordersplit.solver.contention`);
a SKU in plain lines of two groups is searched jointly when that is small enough
(:mod:`ordersplit.solver.shared_sku`). Only where neither applies does the search solve
the relaxation in which every element sees the whole stock, its plan proven only when
the shared-stock fill reaches the relaxation's objective.

The objective must put ``children`` first. A global makespan couples the groups; it is
handled in two phases: each group's best makespan fixes the order's makespan ``M*``,
and the groups are then re-optimized for the later terms with every warehouse slower
than ``M*`` left out.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
from dataclasses import dataclass, field

import numpy as np

from ordersplit.solver.bounds import children_lower_bound
from ordersplit.solver.contention import (
    PlacementCase,
    contended_items,
    fits,
    placement_cases,
    placement_floor,
)
from ordersplit.solver.evaluate import Objective, evaluate
from ordersplit.solver.fragments import without_fragments
from ordersplit.solver.group_search import (
    NO_COVER,
    GroupOutcome,
    element_worth,
    elements,
    fill_group,
    makespan_floor,
    priced,
    search_group,
    search_order,
)
from ordersplit.solver.problem import IntArray, SplitProblem
from ordersplit.solver.shared_fill import fill_shared
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)


def applicable(problem: SplitProblem) -> bool:
    """Whether the search can settle ``problem``: children first, one child per
    warehouse, and one reach set per group.

    It is exact outright when :attr:`SplitProblem.coverable`. Otherwise (a SKU contended
    by a bundle and a line, or by two groups) it solves the relaxation in which every
    element sees the whole stock, a lower bound, and the plan is proven only when the
    real fill from shared stock reaches that bound (see :func:`combination_search`).
    """
    if not problem.per_warehouse:
        return False
    if not problem.objective or problem.objective[0] != "children":
        return False
    if problem.n_items == 0:
        return True
    # each item's reach equals that of one item of its group (any: equality is transitive)
    return problem.one_reach


@dataclass
class CombinationOutcome:
    """The search's plan, whether it is proven optimal, a proven lower bound on the
    children (0 when not even the count was proven), and the nodes visited."""

    assignment: IntArray | None
    proven: bool
    children_bound: int
    nodes: int
    infeasible: bool = False
    objective: Objective | None = None
    """The plan's objective when the search worked it out (the one-call order search)."""
    ties: tuple[tuple[SplitProblem, IntArray], ...] = ()
    """With placement cases: every case (its coverable problem) whose plan reaches the
    best objective, with that plan; the order's plans of that objective all lie in these
    cases, so the later terms the search does not know (fragments) are settled case by
    case (:func:`ordersplit.solver.fragments.settle_fragments`)."""


def combination_search(problem: SplitProblem, stop: Deadline,
                       incumbent: IntArray | None = None) -> CombinationOutcome:
    """Exact lexicographic optimum when :func:`applicable`, within ``stop``.

    Contended stock is first split into coverable placement cases
    (:mod:`ordersplit.solver.contention`); when it cannot be, the relaxation is searched
    and its plan verified. Line fragments are not a term of this search (the portfolio's
    post-stage, :mod:`ordersplit.solver.fragments`, settles them): it optimizes the others.
    """
    problem = _without_constant_stock_value(without_fragments(problem))
    if not problem.coverable:
        cases = placement_cases(problem, stop)
        if cases:
            return _search_cases(problem, cases, stop)
    return _search_problem(problem, stop, incumbent)


def search_usual(problem: SplitProblem, stop: Deadline) -> CombinationOutcome:
    """:func:`combination_search` of ``without_fragments(problem)`` without an
    incumbent, for a coverable problem whose objective has no ``stock_value`` term (the
    portfolio's usual small order): the one-call order search, told the objective
    without fragments (no problem built for it), then, if it leaves the order to the
    Python path, that path on the problem without fragments, without asking the
    one-call search again."""
    core = tuple(t for t in problem.objective if t != "fragments")
    quick = search_order(problem, stop, core)
    if quick is None:
        return _search_problem(without_fragments(problem), stop, None, one_call=False)
    x_quick, proven_quick, bound_quick, nodes_quick, none_quick, obj_quick = quick
    return CombinationOutcome(x_quick, proven_quick, bound_quick, nodes_quick,
                              infeasible=none_quick, objective=obj_quick)


def _without_constant_stock_value(problem: SplitProblem) -> SplitProblem:
    """``problem`` without the ``stock_value`` term when every plan has the same (no
    prices, or each item priced alike wherever it may ship): it ranks nothing then."""
    if "stock_value" not in problem.objective or problem.stock_value_varies:
        return problem
    return problem.with_objective(tuple(t for t in problem.objective if t != "stock_value"))


COUNT_FIRST_CELLS = 5000
"""Items x warehouses above which the cases are first counted, and only those that reach
the fewest children searched for the later terms. On smaller orders the cases are
searched once each, with the best count so far as the limit (a case of more children
stops at its count stage): counting first cost a second count stage per case for nothing
on every contended 10 x 30 and 30 x 100 benchmark order (thin, 30 x 100: 64 ms -> 46 ms;
the same plans)."""


def _search_cases(problem: SplitProblem, cases: list[PlacementCase],
                  stop: Deadline) -> CombinationOutcome:
    """Best plan over the placement cases; proven when every case's search finished.

    Groups that use no SKU of a placed item are the same in every case and searched
    once; another group is searched once per distinct data it gets in the cases
    (:func:`_cached_group`). On large orders a first pass finds each case's fewest
    children (the cheap stage); only the cases that reach the fewest are then searched
    for the later terms (:data:`COUNT_FIRST_CELLS`).

    The cases go in order of their makespan floor (the placed items' fastest
    warehouses, each group's fastest cover: :func:`placement_floor`,
    :func:`makespan_floor`), and a case whose floor is slower than the best plan's
    makespan, with no fewer children, is left out (:func:`_beyond`), uncounted too
    on large orders (there the most promising case is searched in full first): all
    its plans are worse, so none is a tie either. Ties are kept in case order.
    On smaller orders the floors are worked out lazily (:class:`_LazyRank`): the same
    cases in the same order, without building the cases left out by their placement
    floor alone.
    """
    groups = problem.groups()
    touching = _touching(problem, groups)
    run = _CaseRun(problem, cases, touching, stop)
    children_floor = _LazyFloor(problem, groups, stop)
    count_first = problem.n_items * problem.n_warehouses > COUNT_FIRST_CELLS
    if LAZY_RANK and not (count_first and len(cases) > 1 and len(problem.objective) > 1):
        lazy = _LazyRank(cases, touching, groups)
        while lazy.queue:
            if stop.expired():
                run.aborted = True
                break
            c = lazy.next(problem.objective, run.best_key, children_floor)
            if c is None:
                break
            run.visit(c, run.fewest if run.best_key is None else run.best_key[0])
        return run.outcome()
    group_floors: dict[tuple[int, tuple[int, ...]], int] = {}
    for case in cases:  # each group's floor once per distinct data it gets
        if stop.expired():  # nothing searched yet: no plan, no bound
            return CombinationOutcome(None, False, 0, 0)
        for g, data in _group_keys(case, touching).items():
            if (g, data) not in group_floors:
                group_floors[(g, data)] = makespan_floor(case.problem, groups[g])
    floors = [max(placement_floor(case), *(group_floors[(g, data)] for g, data in
                                           _group_keys(case, touching).items()))
              for case in cases]
    # the most promising cases first (stable: alike ones in case order), so that the
    # best key is known early and the cases whose bound lies beyond it are left out
    rank = sorted(range(len(cases)), key=floors.__getitem__)
    known: list[int | None] = [None] * len(cases)
    if count_first and len(cases) > 1 and len(problem.objective) > 1:
        run.visit(rank[0], None)
        fewest = None if run.best_key is None else run.best_key[0]
        counted: list[int] = []
        for done, c in enumerate(rank[1:]):
            if stop.expired():  # the cases not counted are searched in full below
                counted += rank[1 + done:]
                break
            if run.best_key is not None and _beyond(problem.objective, run.best_key,
                                                    floors[c], None, children_floor):
                continue
            only_count = dataclasses.replace(cases[c].problem, objective=("children",))
            first = _search_problem(only_count, stop, None, fewest, run.cache,
                                    _group_keys(cases[c], touching), plan=False)
            run.nodes += first.nodes
            if first.infeasible:  # no plan, or none with as few children as an earlier case
                continue
            count = first.children_bound if first.proven else None
            known[c] = count
            counted.append(c)  # None: not finished, so searched in full below
            if count is not None:
                fewest = count if fewest is None else min(fewest, count)
        run.fewest = fewest
        kept = set(counted)
        rank = [c for c in rank[1:] if c in kept and known[c] in (None, fewest)]
    for c in rank:
        if stop.expired():
            run.aborted = True
            break
        if run.best_key is not None and _beyond(problem.objective, run.best_key, floors[c],
                                                known[c], children_floor):
            continue  # every plan of the case is worse than the best: none is a tie
        run.visit(c, run.fewest if run.best_key is None else run.best_key[0])
    return run.outcome()


LAZY_RANK = True
"""Whether :func:`_search_cases` ranks the cases of smaller orders lazily
(:class:`_LazyRank`); off, every case's floor first (its definition: the tests compare
the two)."""


class _LazyRank:
    """The placement cases in the order of their makespan floors (stable: alike ones in
    case order), less those :func:`_beyond` leaves out, each floor worked out only when
    its case comes up.

    Each case first stands in the queue at its :func:`placement_floor` (no case problem
    needed), a lower bound on its floor; when it comes first, its floor is worked out
    (the case's problem built, each group's :func:`makespan_floor`, once per distinct
    data) and it goes back at that. A case that comes first at its floor is the next
    in the stable order of the floors: every other stands at a key no lower than its
    own floor's. One that comes first at its lower bound beyond the best key so far is
    dropped then: its floor is no lower, and no later plan can have fewer children than
    the lower bound :func:`_beyond` took, so it would be left out at its turn too. The
    cases searched, their order and what they are searched with are those of sorting
    every floor first."""

    def __init__(self, cases: list[PlacementCase], touching: dict[int, list[int]],
                 groups: list[IntArray]) -> None:
        self.cases, self.touching, self.groups = cases, touching, groups
        self.queue = [(placement_floor(case), c, False) for c, case in enumerate(cases)]
        heapq.heapify(self.queue)
        self.group_floors: dict[tuple[int, tuple[int, ...]], int] = {}

    def floor(self, c: int, least: int) -> int:
        """Case ``c``'s floor, given its placement floor ``least``."""
        case = self.cases[c]
        floor = least
        for g, data in _group_keys(case, self.touching).items():
            found = self.group_floors.get((g, data))
            if found is None:
                found = self.group_floors[(g, data)] = makespan_floor(case.problem,
                                                                      self.groups[g])
            floor = max(floor, found)
        return floor

    def next(self, terms: tuple[str, ...], best: tuple[int, ...] | None,
             children: _LazyFloor) -> int | None:
        """The next case to search given the best key so far (``None``: none left)."""
        while self.queue:
            key, c, exact = heapq.heappop(self.queue)
            if best is not None and _beyond(terms, best, key, None, children):
                continue  # every plan of the case is worse than the best: none is a tie
            if exact:
                return c
            heapq.heappush(self.queue, (self.floor(c, key), c, True))
        return None


class _CaseRun:
    """The cases searched so far: the best key, the plans that reach a key, the proof."""

    def __init__(self, problem: SplitProblem, cases: list[PlacementCase],
                 touching: dict[int, list[int]], stop: Deadline) -> None:
        self.problem, self.cases, self.touching, self.stop = problem, cases, touching, stop
        self.cache = CaseCache()
        self.best_key: tuple[int, ...] | None = None
        self.proven = True
        self.bound: int | None = None
        self.nodes = 0
        self.fewest: int | None = None
        self.aborted = False
        self.reached: list[tuple[int, tuple[int, ...], SplitProblem, IntArray]] = []

    def visit(self, c: int, limit: int | None) -> None:
        """Search case ``c`` in full (plans of at most ``limit`` children)."""
        case = self.cases[c]
        out = _search_problem(case.problem, self.stop, None, limit, self.cache,
                              _group_keys(case, self.touching))
        self.nodes += out.nodes
        if out.infeasible:
            return
        self.proven &= out.proven
        self.bound = out.children_bound if self.bound is None else min(
            self.bound, out.children_bound)
        x = out.assignment
        if x is None:
            return
        if not fits(self.problem, x):  # cannot happen by construction; never trust it
            log.warning("placement case %s oversells stock; case ignored", case.placement)
            self.proven = False
            return
        key = evaluate(self.problem, x).key(self.problem.objective)
        self.reached.append((c, key, case.problem, x))
        if self.best_key is None or key < self.best_key:
            self.best_key = key

    def outcome(self) -> CombinationOutcome:
        proven, bound = self.proven, self.bound
        if self.aborted:  # a case not searched might need fewer children: no bound
            proven, bound = False, None
        if self.best_key is None:
            return CombinationOutcome(None, False, bound or 0, self.nodes,
                                      infeasible=bound is None and not self.aborted)
        # in case order, whatever order they were searched in: the first is the plan
        best = [(p, x) for _, key, p, x in sorted(self.reached, key=lambda r: r[0])
                if key == self.best_key]
        return CombinationOutcome(best[0][1], proven, bound or 0, self.nodes,
                                  ties=tuple(best) if proven else ())


def _touching(problem: SplitProblem, groups: list[IntArray]) -> dict[int, list[int]]:
    """Per group whose data differs between placement cases, the contended items
    (:func:`contended_items` positions) that make it differ: its own, and those that
    use one of its SKUs (their placement takes from its stock). A group's data in a
    case is fixed by where these are placed; the other groups are alike in all."""
    items = contended_items(problem)
    uses = problem.usage > 0
    out: dict[int, list[int]] = {}
    for g, members in enumerate(groups):
        skus = uses[members].any(axis=0)
        mine = [r for r, i in enumerate(items.tolist())
                if problem.group[i] == g or bool((uses[i] & skus).any())]
        if mine:
            out[g] = mine
    return out


def _group_keys(case: PlacementCase, touching: dict[int, list[int]]
                ) -> dict[int, tuple[int, ...]]:
    """Per varying group (:func:`_touching`), the placements that fix its data."""
    return {g: tuple(case.placement[r] for r in rs) for g, rs in touching.items()}


class _LazyFloor:
    """A lower bound on the children of every placement case, computed once when
    first asked: the order's (:func:`children_lower_bound`), or when that is lower
    than ``wanted``, the relaxation's proven count (each group searched for its count
    with every element seeing the whole stock: each case's group is a restriction of
    it, so its count is no lower)."""

    def __init__(self, problem: SplitProblem, groups: list[IntArray], stop: Deadline) -> None:
        self.problem, self.groups, self.stop = problem, groups, stop
        self.cheap: int | None = None
        self.counted: int | None = None

    def get(self, wanted: int) -> int:
        if self.cheap is None:
            self.cheap = children_lower_bound(self.problem)
        if self.cheap >= wanted:
            return self.cheap
        if self.counted is None:
            self.counted = max(self.cheap, _relaxed_count(self.problem, self.groups, self.stop))
        return self.counted


def _relaxed_count(problem: SplitProblem, groups: list[IntArray], stop: Deadline) -> int:
    """The sum of each group's proven fewest warehouses with every element seeing the
    whole stock (0 when one is not proven in time)."""
    total = 0
    for items in groups:
        if not items.size:
            continue
        out = search_group(problem, items, (), None, stop, None)
        if not out.count_proven or out.key is None:
            return 0
        total += out.key[0]
    return total


def _beyond(terms: tuple[str, ...], best: tuple[int, ...], floor: int, count: int | None,
            children: _LazyFloor) -> bool:
    """Whether every plan of a case is lexicographically worse than ``best``: the case
    needs ``best``'s children at least (its proven ``count``, else the order's bound),
    and its makespan floor is slower than ``best``'s makespan (the second term); or
    the case has no plan (a floor of :data:`NO_COVER`)."""
    if floor >= NO_COVER:
        return True
    if len(terms) < 2 or terms[1] != "makespan" or floor <= best[1]:
        return False
    return (count if count is not None else children.get(best[0])) >= best[0]


@dataclass
class CaseCache:
    """What the placement cases of one order share (:func:`_cached_group`,
    :func:`_cached_fill`): group outcomes with the count limit each was searched under
    (``None``: none), and group fills."""

    outcomes: dict[tuple[object, ...], tuple[GroupOutcome, int | None]] = field(
        default_factory=dict)
    fills: dict[tuple[object, ...], IntArray | None] = field(default_factory=dict)


def _cached_group(problem: SplitProblem, items: IntArray, group: tuple[int, object],
                  terms: tuple[str, ...], cap: int | None, inc: IntArray | None,
                  limit: int | None, cache: CaseCache, stop: Deadline,
                  ) -> tuple[GroupOutcome, int]:
    """:func:`search_group` through ``cache``, and the nodes it searched (0 when the
    outcome was known).

    A group's outcome depends on its own data only, named by ``group``: its index and
    the key of its data in this case (:func:`_group_keys`), ``None`` for a group alike
    in every case (fixed). A fixed group is searched without the count limit, once;
    another with it, and a proven outcome answers every later limit it decides: a set
    found is the optimum (kept if within the limit), none found means none within any
    smaller limit.
    """
    fixed = group[1] is None
    memo = (*group, terms, cap, None if inc is None else inc.tobytes())
    known = cache.outcomes.get(memo)
    if known is not None:
        out, searched_limit = known
        if out.key is not None:
            if limit is None or out.key[0] <= limit:
                return out, 0
            return GroupOutcome(None, None, True, True, 0), 0
        if searched_limit is None or (limit is not None and limit <= searched_limit):
            return out, 0
    used = None if fixed or inc is not None else limit  # an incumbent overrides the limit
    out = search_group(problem, items, terms, cap, stop, inc, used)
    if out.proven:
        cache.outcomes[memo] = (out, used)
    if fixed and limit is not None and out.key is not None and out.key[0] > limit:
        return GroupOutcome(None, None, True, True, 0), out.nodes
    return out, out.nodes


def _cached_fill(problem: SplitProblem, group: tuple[int, object], items: IntArray,
                 wh: IntArray, stock: IntArray, cache: CaseCache) -> IntArray | None:
    """:func:`fill_group` through ``cache``, for a coverable placement case: no other
    group uses the group's SKUs, so its rows depend on its own data only, named by
    ``group`` as in :func:`_cached_group` (and a cached fill leaves its stock columns
    as they were: nothing reads them later)."""
    memo = (*group, wh.tobytes())
    if memo not in cache.fills:
        cache.fills[memo] = fill_group(problem, items, wh, stock)
    return cache.fills[memo]


def _search_problem(problem: SplitProblem, stop: Deadline, incumbent: IntArray | None,
                    count_limit: int | None = None,
                    cache: CaseCache | None = None,
                    varying: dict[int, tuple[int, ...]] | None = None, plan: bool = True,
                    one_call: bool = True) -> CombinationOutcome:
    """The search on one problem: exact when coverable, else on the relaxation.

    With ``count_limit`` only plans of at most that many children are looked for
    (``infeasible`` then means none exists). ``cache`` keeps group outcomes and fills
    between calls on placement cases of one order (:class:`CaseCache`): the groups not
    in ``varying`` are the same in all of them, and one in it the same in the cases
    that give it the same key (:func:`_group_keys`).
    Without ``plan`` (a coverable problem, whose sets always fill) only the count and
    whether it is proven are wanted: no assignment is built. Without ``one_call`` the
    one-call order search is not tried (its caller has, and it declined).
    """
    if (one_call and cache is None and varying is None and incumbent is None
            and count_limit is None and plan):
        quick = search_order(problem, stop)  # small orders: the whole search in one call
        if quick is not None:
            x_quick, proven_quick, bound_quick, nodes_quick, none_quick, obj_quick = quick
            return CombinationOutcome(x_quick, proven_quick, bound_quick, nodes_quick,
                                      infeasible=none_quick, objective=obj_quick)
    terms = problem.objective[1:]
    groups = problem.groups()
    nodes = 0
    proven = True
    counts_proven = True
    fixed = [] if varying is None else [g for g in range(len(groups)) if g not in varying]
    # fixed groups first, so that a varying group's count limit knows what they spend
    order = fixed + [g for g in range(len(groups)) if varying is None or g in varying]
    nonempty = sum(1 for items in groups if items.size)

    def phase(active_terms: tuple[str, ...], cap: int | None, start: IntArray | None,
              only: list[bool] | None = None, keep: list[IntArray | None] | None = None,
              kept: list[tuple[int, ...] | None] | None = None,
              ) -> tuple[list[IntArray | None], list[tuple[int, ...] | None]]:
        nonlocal nodes, proven, counts_proven
        sets: list[IntArray | None] = [None] * len(groups)
        keys: list[tuple[int, ...] | None] = [None] * len(groups)
        spent = 0  # children of the groups done so far (fixed groups go first)
        for done, g in enumerate(order):
            items = groups[g]
            if only is not None and not only[g] and keep is not None and kept is not None:
                sets[g], keys[g] = keep[g], kept[g]
                continue
            inc = start[items] if start is not None else None
            limit = None
            if count_limit is not None and only is None and items.size:
                later = sum(1 for h in order[done + 1:] if groups[h].size)
                limit = count_limit - spent - later  # every later group opens one at least
            if cache is None:
                out = search_group(problem, items, active_terms, cap, stop, inc, limit)
                nodes += out.nodes
            else:
                data = None if varying is None else varying.get(g)
                out, searched = _cached_group(problem, items, (g, data), active_terms, cap,
                                              inc, limit, cache, stop)
                nodes += searched
            proven &= out.proven
            counts_proven &= out.count_proven
            sets[g], keys[g] = out.wh, out.key
            if out.key is not None:
                spent += out.key[0]
            elif nonempty:
                break  # no plan within the limit: the other groups need not be searched
        return sets, keys

    # Coverable: no group fills from another's stock, so a group's rows depend on its
    # set alone and are filled once per set (the second phase keeps most sets).
    filled: dict[tuple[int, bytes], IntArray] = {}

    def build(sets: list[IntArray | None]) -> IntArray | None:
        if any(s is None for s in sets):
            return None
        x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
        stock = problem.stock.copy()
        for g, (items, wh) in enumerate(zip(groups, sets, strict=True)):
            assert wh is not None
            if cache is not None and problem.coverable:
                data = None if varying is None else varying.get(g)
                rows = _cached_fill(problem, (g, data), items, wh, stock, cache)
            elif problem.coverable:
                memo = (g, wh.tobytes())
                rows = filled.get(memo)
                if rows is None:
                    rows = fill_group(problem, items, wh, stock)
                    if rows is not None:
                        filled[memo] = rows
            else:
                rows = fill_group(problem, items, wh, stock)
            if rows is None:  # a contended SKU: the relaxation's sets do not fit
                return None
            x[items] = rows
        return x

    sets, keys = phase(terms, None, incumbent)
    # each group's count, once proven, bounds the children whatever the later stages do
    bound = sum(k[0] for k in keys if k is not None) if counts_proven else 0
    if any(s is None for s in sets):
        # with no incumbent, a finished search that found no set proves there is none
        return CombinationOutcome(None, False, bound, nodes,
                                  infeasible=counts_proven and incumbent is None)
    if not plan and problem.coverable:
        return CombinationOutcome(None, proven, bound, nodes)
    final = sets
    if "makespan" in terms and terms.index("makespan") + 1 < len(terms):
        pos = terms.index("makespan")
        m_star = max([problem.fixed_makespan] + [k[1 + pos] for k in keys if k is not None])
        # A group whose own best makespan is M* already has the best later terms; only
        # the faster groups may trade speed for the later terms, up to M*.
        below = [k is not None and k[1 + pos] < m_star for k in keys]
        if any(below):
            later = terms[:pos] + terms[pos + 1:]
            # groups of one child need no incumbent: one warehouse still ships them whole
            searched = any(b and k is not None and k[0] > 1 for b, k in zip(below, keys,
                                                                            strict=True))
            sets2, _ = phase(later, m_star, build(sets) if searched else None, below, sets,
                             keys)
            if any(s is None for s in sets2):
                proven = False
            else:
                final = sets2
    x = build(final)
    if not problem.coverable:  # shared stock: a joint fill can fit where one by one cannot
        x = _better(problem, x, fill_shared(problem, groups, final))
        relaxed = relaxed_objective(problem, groups, final).key(problem.objective)
        if x is None or evaluate(problem, x).key(problem.objective) != relaxed:
            # the relaxation's sets do not fit as they are: each group searched on the
            # stock the groups before it left, in both orders (real plans; optimal
            # when one reaches the relaxation's objective)
            ranked = [g for g in range(len(groups)) if groups[g].size]
            for seq in (ranked, ranked[::-1]):
                x = _better(problem, x, _one_after_another(problem, groups, seq, stop))
    if x is None and final is not sets:
        proven, x = False, build(sets)
    if x is None:  # the relaxation's sets do not fit the shared stock
        return CombinationOutcome(None, False, bound, nodes)
    if proven and not problem.coverable:
        # proven for the relaxation; the plan is optimal when it reaches that bound
        objective = problem.objective
        proven = evaluate(problem, x).key(objective) == relaxed_objective(
            problem, groups, final).key(objective)
    return CombinationOutcome(x, proven, bound, nodes)


def _one_after_another(problem: SplitProblem, groups: list[IntArray], seq: list[int],
                       stop: Deadline) -> IntArray | None:
    """A real plan: the groups in ``seq`` order, each searched exactly on the stock the
    earlier ones left and filled fastest first; ``None`` if one finds no cover."""
    stock = problem.stock.copy()
    x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
    for g in seq:
        left = dataclasses.replace(problem, stock=stock.copy())
        out = search_group(left, groups[g], problem.objective[1:], None, stop, None)
        if out.wh is None:
            return None
        rows = fill_group(left, groups[g], out.wh, stock)
        if rows is None:
            return None
        x[groups[g]] = rows
    return x


def _better(problem: SplitProblem, a: IntArray | None, b: IntArray | None) -> IntArray | None:
    """The better of two plans (either may be missing); ``a`` on ties."""
    if a is None or b is None:
        return b if a is None else a
    terms = problem.objective
    return b if evaluate(problem, b).key(terms) < evaluate(problem, a).key(terms) else a


def relaxed_objective(problem: SplitProblem, groups: list[IntArray],
                      sets: list[IntArray | None]) -> Objective:
    """The objective of the chosen warehouse sets when every element sees the whole
    stock and ships fastest first (ties: cheaper, then lower id; with a varying stock
    value, in the kernels' priced order), as the search scores them: a lower bound on
    any plan when the search proved the sets optimal."""
    children = unit = cost = value = 0
    makespan = problem.fixed_makespan
    linear = [t for t in problem.objective if t in ("unit_hours", "stock_value")]
    for items, chosen in zip(groups, sets, strict=True):
        if items.size == 0 or chosen is None or chosen.size == 0:
            continue
        supply, demand = elements(problem, items)
        wh = chosen[np.lexsort((chosen, problem.cost[chosen], problem.hours[chosen]))]
        worth = (element_worth(problem, items)[wh] if problem.priced
                 else np.zeros((wh.size, demand.size), dtype=np.int64))
        sup = supply[wh]
        if priced(problem, problem.objective):  # each element in its own order
            take = np.zeros_like(sup)
            rank = np.arange(wh.size)
            for e in range(demand.size):
                keys = {"unit_hours": problem.hours[wh], "stock_value": worth[:, e]}
                order = np.lexsort((rank, *(keys[t] for t in reversed(linear))))
                s = sup[order, e]
                take[order, e] = np.clip(demand[e] - (np.cumsum(s) - s), 0, s)
        else:
            before = np.cumsum(sup, axis=0) - sup
            take = np.clip(demand[None, :] - before, 0, sup)
        used = wh[take.any(axis=1)]
        children += used.size
        unit += int((take.sum(axis=1) * problem.hours[wh]).sum())
        value += int((take * worth).sum())
        cost += int(problem.cost[used].sum())
        if used.size:
            makespan = max(makespan, int(problem.hours[used].max()))
    return Objective(children, makespan, unit, cost, stock_value=value)
