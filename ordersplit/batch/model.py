"""The batch's shared world and the per-order exact split against a stock view.

A batch is one network (locations with delivery hours, one stock matrix
``stock[location, sku]``) and many orders, each a validated
:class:`~ordersplit.models.request.SplitRequest` *template* whose ``warehouses`` are
empty (kept as compressed bytes and materialized on demand: a million request objects
would not fit in memory). To split an order against some stock (all of it, or what the other orders
left), :func:`solve_order` fills the template's warehouses from a *view* of the stock
restricted to the order's SKUs, compiles it with the single split's
:func:`~ordersplit.solver.compile.compile_request` (so every rule holds per order) and
solves it exactly with :func:`~ordersplit.solver.portfolio.solve_problem` (through
:func:`~ordersplit.batch.reduce.solve_exact`: exact shortcuts for bundles and for
orders that put delivery first).

The view is clipped to the order's own demand per SKU: the order can never use more
than that from one location, so the problem is the same and equal views give equal
plans (which is what makes caching and the "still fits" test sound).
"""

from __future__ import annotations

import io
import logging
import pickle
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ordersplit.batch.reduce import solve_exact
from ordersplit.models.request import SplitRequest, Warehouse
from ordersplit.models.validate import parse_request
from ordersplit.plan.children import DraftChild, Part, draft_children
from ordersplit.rules.keys import GroupKey, group_key
from ordersplit.solver.compile import Compiled, Layout, compile_request
from ordersplit.solver.evaluate import evaluate
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.problem import IntArray
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import UNIT_SECONDS, Deadline, WorkBudget

log = logging.getLogger(__name__)

COST_UNITS = 10**6
"""Child costs are summed over orders in millionths of the currency unit."""


@dataclass(frozen=True)
class World:
    """The shared network: locations (validated, without stock), SKUs and the stock matrix."""

    locations: tuple[Warehouse, ...]
    sku_ids: tuple[str, ...]
    stock: IntArray
    """[location, sku] units on hand for the whole batch."""
    _cache: dict[str, IntArray] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.stock.shape != (len(self.locations), len(self.sku_ids)):
            raise ValueError("stock must be locations x skus")
        self.stock.setflags(write=False)

    def minutes(self, destination: str) -> IntArray:
        """Arrival minutes of every location at ``destination`` (-1: does not deliver
        there), as :func:`~ordersplit.solver.compile.compile_request` reads them."""
        key = f"m:{destination}"
        out = self._cache.get(key)
        if out is None:
            out = np.full(self.n_locations, -1, dtype=np.int64)
            for w, loc in enumerate(self.locations):
                hours = loc.delivery_hours.get(destination, loc.delivery_hours.get("*"))
                if hours is not None:
                    out[w] = round(hours * 60)
            self._cache[key] = out
        return out

    def is_store(self) -> IntArray:
        """1 for every store location, else 0."""
        out = self._cache.get("store")
        if out is None:
            out = np.array([loc.kind == "store" for loc in self.locations], dtype=np.int64)
            self._cache["store"] = out
        return out

    def cost_units(self) -> IntArray:
        """Child cost of every location in millionths (:data:`COST_UNITS`)."""
        out = self._cache.get("cost")
        if out is None:
            out = np.array([int(loc.child_cost * COST_UNITS) for loc in self.locations],
                           dtype=np.int64)
            self._cache["cost"] = out
        return out

    @property
    def n_locations(self) -> int:
        return len(self.locations)

    def sku_index(self) -> dict[str, int]:
        return {s: k for k, s in enumerate(self.sku_ids)}

    def first_store(self) -> int | None:
        return next((w for w, loc in enumerate(self.locations) if loc.kind == "store"), None)


REQUEST_CACHE = 2048
"""Requests a process keeps materialized (:meth:`OrderTemplate.request`): the search
visits a part's orders again and again, the rest of the batch stays as bytes."""

_requests: OrderedDict[tuple[bytes, int | None], SplitRequest] = OrderedDict()
_requests_lock = threading.Lock()


BLOB_SAMPLE: dict[str, Any] = {
    "order": {"id": "P-1", "currency": "CNY", "destination": "shanghai",
              "preference": "fewest_children", "backorder": "split",
              "lines": [{"id": "L1", "sku": "MILK", "quantity": 2, "unit_price": "12.50",
                         "discount": "1.00"},
                        {"id": "L2", "sku": "ICE", "quantity": 1, "unit_price": "30.00"},
                        {"id": "L3", "sku": "FRIDGE", "quantity": 1, "unit_price": "2999.00"}],
              "shipping_fee": "8.00",
              "payments": [{"method": "coupon", "amount": "20.00"},
                           {"method": "cash", "amount": "3035.00"}],
              "activities": [{"id": "PROMO", "kind": "discount", "amount": "6.00",
                              "lines": ["L1", "L2"]},
                             {"id": "GIFT", "kind": "gift", "trigger_lines": ["L3"],
                              "gift_lines": ["L1"]}]},
    "catalog": {"MILK": {"merchant": "self", "temperature": "chilled", "tax_rate": "0.09"},
                "ICE": {"merchant": "self", "temperature": "frozen"},
                "FRIDGE": {"merchant": "self", "bulky": True, "tax_rate": "0.13"}},
    "warehouses": [],
    "rules": {"merchant": True, "warehouse": True, "handling": True, "temperature": True,
              "bulky": True, "stock": True, "offline_store": True, "bundle": True,
              "cross_border": True},
    "options": {"solver": "auto", "time_limit_ms": 200, "objective": ["children", "delivery"]},
}
"""The request whose pickle is the preset dictionary of every request blob
(:func:`blob_dictionary`): most of a request's pickle is class paths and field names,
which the dictionary holds (a template's blob 0.86 -> 0.36 KB at 200 x 100,000)."""

_dictionary: list[bytes] = []


class _SortedSets(pickle._Pickler):  # the Python pickler: it asks reducer_override for sets
    """A pickler that writes sets sorted, so the same object pickles to the same bytes
    in every process (a set's order follows the process's string hashes)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in (set, frozenset):
            return type(obj), (sorted(obj),)
        return NotImplemented


def blob_dictionary() -> bytes:
    """zlib's preset dictionary for request blobs: the pickle of :data:`BLOB_SAMPLE`,
    the same bytes in every process of the same code."""
    if not _dictionary:
        out = io.BytesIO()
        _SortedSets(out, protocol=pickle.HIGHEST_PROTOCOL).dump(parse_request(BLOB_SAMPLE))
        _dictionary.append(out.getvalue())
    return _dictionary[0]


def pack_request(request: SplitRequest) -> bytes:
    """A validated request as the bytes a template keeps: pickled and compressed against
    :func:`blob_dictionary` (about 0.36 KB against 9-20 KB as objects)."""
    packer = zlib.compressobj(1, zdict=blob_dictionary())
    return packer.compress(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)) + \
        packer.flush()


def unpack_request(blob: bytes, work_limit: int | None = None) -> SplitRequest:
    """The request of ``blob`` (with ``options.work_limit`` set when ``work_limit``), from
    a small per-process LRU cache (:data:`REQUEST_CACHE`). Treat it as read-only: it may
    be shared by every caller."""
    key = (blob, work_limit)
    with _requests_lock:
        req = _requests.get(key)
        if req is not None:
            _requests.move_to_end(key)
            return req
    unpacker = zlib.decompressobj(zdict=blob_dictionary())
    req = pickle.loads(unpacker.decompress(blob) + unpacker.flush())
    if work_limit is not None:
        req = req.model_copy(update={"options": req.options.model_copy(
            update={"work_limit": work_limit})})
    with _requests_lock:
        _requests[key] = req
        while len(_requests) > REQUEST_CACHE:
            _requests.popitem(last=False)
    return req


@dataclass(frozen=True, slots=True)
class OrderTemplate:
    """One order of the batch: its request without warehouses (kept as bytes, see
    :attr:`request`) and its stock columns."""

    position: int
    """Arrival position in the batch (0-based); sequential splitting follows it."""
    blob: bytes
    """The validated request without warehouses, pickled (:func:`pack_request`)."""
    cols: IntArray
    """Global SKU column of every SKU the order's compiled problem uses, in compile order
    (-1 for a SKU no location lists)."""
    demand: IntArray
    """Most units of each of those SKUs the order could take from one location."""
    needs_store: bool
    skus: tuple[str, ...]
    """The SKU of every column (compile order)."""
    group_bound: int
    """Children every plan of the order has at least: one per rule group (shipped or
    waiting), plus the store child - valid whatever stock the order gets."""
    order_id: str
    destination: str
    """The order's destination (what the world's delivery minutes are looked up by)."""
    row: int = -1
    """0-based row of the order in the input (-1: same as ``position``)."""
    col_group: IntArray | None = None
    """Rule group of every column when the order qualifies for :func:`fast_plan`
    (``None``: it does not)."""
    group_units: IntArray | None = None
    """Solver units (a bundle counts once) of every rule group, for unit minutes."""
    work_limit: int | None = None
    """``options.work_limit`` set over the request's own (the batch's deterministic
    mode, :func:`with_work_limit`); ``None``: the request's."""

    @property
    def request(self) -> SplitRequest:
        """The validated request (materialized from :attr:`blob` on demand, cached per
        process: at a million orders the objects would not fit in memory). Read-only."""
        return unpack_request(self.blob, self.work_limit)

    @property
    def order_work_limit(self) -> int | None:
        """The ``options.work_limit`` of the order's splits."""
        return self.work_limit if self.work_limit is not None else \
            self.request.options.work_limit

    @property
    def input_row(self) -> int:
        return self.row if self.row >= 0 else self.position


def with_work_limit(tpl: OrderTemplate, limit: int) -> OrderTemplate:
    """``tpl`` whose request has ``options.work_limit`` = ``limit``."""
    return replace(tpl, work_limit=limit)


def make_template(position: int, request: SplitRequest, sku_index: dict[str, int],
                  row: int = -1) -> OrderTemplate:
    """The template of a validated request (its ``warehouses`` are ignored)."""
    order, catalog = request.order, request.catalog
    local: dict[str, int] = {}
    demand: list[int] = []
    for line in order.lines:
        comps = catalog[line.sku].components
        parts = [(c.sku, c.quantity) for c in comps] if comps else [(line.sku, 1)]
        for sku, per in parts:  # the same first-appearance order as compile_request
            k = local.setdefault(sku, len(local))
            if k == len(demand):
                demand.append(0)
            demand[k] += line.quantity * per
    cols = np.array([sku_index.get(s, -1) for s in local], dtype=np.int64)
    needs_store = request.rules.offline_store and any(
        catalog[line.sku].offline_store for line in order.lines)
    bare = request.model_copy(update={"warehouses": []})
    rules = request.rules
    keys = {group_key(catalog[line.sku], rules) for line in order.lines
            if not (rules.offline_store and catalog[line.sku].offline_store)}
    col_group, group_units = _fast_groups(request, local, cols, needs_store)
    return OrderTemplate(position, pack_request(bare), cols, np.array(demand, dtype=np.int64),
                         needs_store, tuple(local), len(keys) + int(needs_store), order.id,
                         order.destination, row, col_group, group_units)


FAST_OBJECTIVES = (("children", "delivery"), ("children", "delivery", "cost"))
"""Objectives under which :func:`fast_plan` is exact."""


def _fast_groups(request: SplitRequest, local: dict[str, int], cols: IntArray,
                 needs_store: bool) -> tuple[IntArray | None, IntArray | None]:
    """Group per column and solver units per group, or ``(None, None)`` when the order
    does not qualify for :func:`fast_plan` (see there)."""
    rules, catalog, order = request.rules, request.catalog, request.order
    if (needs_store or not rules.stock or not rules.warehouse or request.options.solver != "auto"
            or tuple(request.objective_order()) not in FAST_OBJECTIVES or (cols < 0).any()):
        return None, None
    col_group = np.full(len(local), -1, dtype=np.int64)
    key_index: dict[object, int] = {}
    units: list[int] = []
    for line in order.lines:
        item = catalog[line.sku]
        if rules.bulky and item.bulky:
            return None, None
        g = key_index.setdefault(group_key(item, rules), len(key_index))
        if g == len(units):
            units.append(0)
        comps = item.components
        if comps and rules.bundle:
            units[g] += line.quantity
        elif comps:
            units[g] += sum(line.quantity * c.quantity for c in comps)
        else:
            units[g] += line.quantity
        for sku in [c.sku for c in comps] if comps else [line.sku]:
            j = local[sku]
            if col_group[j] not in (-1, g):
                return None, None  # a SKU shared by two groups: leave it to the solver
            col_group[j] = g
    return col_group, np.array(units, dtype=np.int64)


@dataclass(slots=True)
class OrderPlan:
    """An order's exact split against one stock view, kept small (no compiled problem).

    ``locs``/``view`` rebuild the request the plan was solved on (compilation is a pure
    function), ``x`` is the solver's assignment; ``use_*`` is the stock it consumes, as
    sparse (location, global SKU, units) triples.
    """

    locs: IntArray
    view: IntArray
    x: IntArray
    """The solver's assignment as its nonzero cells, ``[cells, 3]`` rows of (item,
    request warehouse, units), narrowed (:func:`sparse_cells`; about a tenth of the dense
    items x warehouses grid at 200 locations); empty for fast and failed plans."""
    status: str
    backend: str
    bound: int
    runtime_s: float
    children: int
    makespan: int
    unit_minutes: int
    cost: int
    backorder_units: int
    use_loc: IntArray
    use_col: IntArray
    use_units: IntArray
    short_cols: IntArray
    """Global SKU columns of which the plan leaves units waiting for stock."""
    sku_loc: IntArray | None = None
    """A :func:`fast_plan`: the location every column ships from (``x`` is empty)."""
    drafts: PackedDrafts | None = None
    """A solved plan's children (warehouses as global locations), drafted when it was
    solved so that the output tables need not compile the order again; packed into
    plain tuples (:func:`pack_drafts`), which pickle and unpickle several times faster
    than the draft objects."""
    error: str = ""
    """Why the order could not be split (empty: a real plan). A failed plan holds no
    stock, has no children and never replaces a real plan in the search."""

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def key(self) -> tuple[int, int, int, int]:
        """What the batch minimizes, per order: children, delivery, unit minutes, cost."""
        return (self.children, self.makespan, self.unit_minutes, self.cost)


PackedDrafts = bytes
"""A plan's draft children as bytes (:func:`pack_drafts`): per child its kind, group key
fields, global location (-1: none), bulky flag, parts (line, component, quantity) and
sources (global location, units), as plain tuples, pickled (about 0.4 KB against 2 KB as
tuples in memory; they unpickle several times faster than the draft objects)."""


def pack_drafts(drafts: list[DraftChild], locs: IntArray) -> PackedDrafts:
    """``drafts`` (request-local warehouses ``locs`` index) as bytes, locations global."""
    glob = locs.tolist()
    return pickle.dumps(tuple(
        (d.kind, (d.key.merchant, d.key.handling, d.key.temperature, d.key.cross_border),
         -1 if d.warehouse is None else glob[d.warehouse], d.bulky,
         tuple((p.line, p.component, p.quantity) for p in d.parts),
         tuple((glob[w], u) for w, u in d.sources.items()))
        for d in drafts), protocol=pickle.HIGHEST_PROTOCOL)


def unpack_drafts(packed: PackedDrafts) -> list[DraftChild]:
    """The draft children of :func:`pack_drafts` (global locations)."""
    return [DraftChild(kind, GroupKey(*key), None if w < 0 else w, bulky,
                       [Part(line, comp, qty) for line, comp, qty in parts], dict(sources))
            for kind, key, w, bulky, parts, sources in pickle.loads(packed)]


def clipped_view(tpl: OrderTemplate, residual: IntArray) -> IntArray:
    """``residual[:, cols]`` clipped to the order's demand (0 for unknown SKUs)."""
    known = tpl.cols >= 0
    view = np.zeros((residual.shape[0], tpl.cols.size), dtype=np.int64)
    if known.any():
        view[:, known] = np.minimum(residual[:, tpl.cols[known]], tpl.demand[None, known])
    return view


def request_for(world: World, tpl: OrderTemplate, view: IntArray) -> tuple[SplitRequest, IntArray]:
    """The request of ``tpl`` against ``view`` and the global location of each warehouse.

    Locations with nothing of the order's SKUs are left out (they could ship nothing);
    the first store stays when the order has offline-store lines.
    """
    keep = np.asarray(view.any(axis=1), dtype=bool)
    store = world.first_store()
    if tpl.needs_store and store is not None:
        keep[store] = True
    locs = np.flatnonzero(keep)
    sku_names = tpl.skus
    places = world.locations
    whs = [_with_stock(places[w], {s: u for s, u in zip(sku_names, row, strict=True) if u})
           for w, row in zip(locs.tolist(), view[locs].tolist(), strict=True)]
    return tpl.request.model_copy(update={"warehouses": whs}), locs


def _with_stock(loc: Warehouse, stock: dict[str, int]) -> Warehouse:
    """``loc.model_copy(update={"stock": stock})`` without its generic steps: a split
    of an order builds one per location holding its SKUs (about 150 at 200 locations),
    and pydantic's copy took most of the time outside the solver."""
    new = object.__new__(Warehouse)
    fields = dict(loc.__dict__)
    fields["stock"] = stock
    object.__setattr__(new, "__dict__", fields)
    object.__setattr__(new, "__pydantic_extra__", None)
    object.__setattr__(new, "__pydantic_fields_set__", loc.__pydantic_fields_set__ | {"stock"})
    object.__setattr__(new, "__pydantic_private__", None)
    return new


def fixed_children(layout: Layout) -> int:
    """Children the rules fixed before optimization (bulky, store, back-order), as the
    plan builder groups them."""
    slots: set[tuple[object, ...]] = set()
    for part in layout.fixed:
        if part.kind == "bulky":
            slots.add(("bulky", part.line, part.warehouse))
        elif part.kind == "store":
            slots.add(("store",))
        elif part.line in layout.store_lines:  # store lines wait on their own
            slots.add(("backorder", "store"))
        else:
            slots.add(("backorder", part.key))
    return len(slots)


def consumption(request: SplitRequest, compiled: Compiled, x: IntArray) -> IntArray:
    """Units of each local SKU taken from each request warehouse: solver items plus the
    parts the rules placed before optimization (bulky parts, and the store child's lines,
    whose bundles always take their components: :func:`ordersplit.rules.store.store_demand`)."""
    problem, layout = compiled.problem, compiled.layout
    use = x.T @ problem.usage if problem.n_items else np.zeros(
        (problem.n_warehouses, problem.n_skus), dtype=np.int64)
    use = np.array(use, dtype=np.int64)
    placed = [p for p in layout.fixed
              if p.kind in ("bulky", "store") and p.warehouse is not None]
    if placed:
        local = {s: j for j, s in enumerate(_skus_of(request))}
        lines = request.order.lines
        for p in placed:
            assert p.warehouse is not None
            item = request.catalog[lines[p.line].sku]
            if p.component is not None:
                use[p.warehouse, local[p.component]] += p.quantity
            elif item.components and (request.rules.bundle or p.kind == "store"):
                for c in item.components:
                    use[p.warehouse, local[c.sku]] += c.quantity * p.quantity
            else:
                use[p.warehouse, local[lines[p.line].sku]] += p.quantity
    return use


def _skus_of(request: SplitRequest) -> list[str]:
    seen: dict[str, None] = {}
    for line in request.order.lines:
        comps = request.catalog[line.sku].components
        for sku in [c.sku for c in comps] if comps else [line.sku]:
            seen.setdefault(sku, None)
    return list(seen)


def _fallback(compiled: Compiled, failed: SolveResult) -> SolveResult:
    """The first heuristic plan when the exact path found none (as the single split does)."""
    problem = compiled.problem
    for name, method in HEURISTICS.items():
        x = method(problem)
        if x is not None:
            return SolveResult(name, Status.FALLBACK, x, evaluate(problem, x),
                               failed.children_lower_bound, failed.runtime_s, "fallback")
    raise RuntimeError(f"no plan found ({failed.message})")


_EMPTY = np.zeros(0, dtype=np.int64)
def narrow(values: IntArray) -> IntArray:
    """``values`` in the smallest integer dtype that holds them. A plan's ``view`` (stock
    clipped to the order's demand) and ``x`` (its assignment's cells) mostly fit one
    byte: at 200 warehouses a solved plan's view takes about 5 KB as int32, about a
    quarter of that narrowed, and the driver holds two or three plans per order."""
    if values.size == 0:
        return values.astype(np.int8)
    dtype = np.promote_types(np.min_scalar_type(int(values.min())),
                             np.min_scalar_type(int(values.max())))
    return values.astype(dtype, copy=False)


def sparse_cells(x: IntArray) -> IntArray:
    """The nonzero cells of the matrix ``x`` as ``[cells, 3]`` rows (row, column, value),
    narrowed (:func:`dense_cells` restores it)."""
    rows, cols = np.nonzero(x)
    return narrow(np.stack([rows, cols, x[rows, cols]], axis=1).astype(np.int64))


def dense_cells(cells: IntArray, n_rows: int, n_cols: int) -> IntArray:
    """The ``n_rows`` x ``n_cols`` int64 matrix of :func:`sparse_cells`' ``cells``."""
    x = np.zeros((n_rows, n_cols), dtype=np.int64)
    if cells.size:
        cells = cells.astype(np.int64)
        x[cells[:, 0], cells[:, 1]] = cells[:, 2]
    return x


_NO_X = narrow(np.zeros((0, 0), dtype=np.int64))
"""The ``x`` of every fast plan (shared: plans never write to their arrays)."""


def failed_plan(message: str) -> OrderPlan:
    """The placeholder of an order whose split raised: no stock, no children, the reason."""
    return OrderPlan(_EMPTY, np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.int64),
                     "error", "", 0, 0.0, 0, 0, 0, 0, 0, _EMPTY, _EMPTY, _EMPTY, _EMPTY,
                     error=message or "split failed")


def safe_solve(world: World, tpl: OrderTemplate, view: IntArray, limit_s: float,
               work: bool = False) -> OrderPlan:
    """:func:`solve_order`, but an exception becomes a :func:`failed_plan` (logged), so
    one order's failure never stops the batch."""
    try:
        return solve_order(world, tpl, view, limit_s, work=work)
    except Exception as exc:  # any failure of one order is that order's error
        log.warning("order %s: split failed: %r", tpl.order_id, exc)
        return failed_plan(f"split failed: {type(exc).__name__}: {exc}")


def fast_plan(world: World, tpl: OrderTemplate, view: IntArray) -> OrderPlan | None:
    """The exact split of ``tpl`` against ``view`` when every rule group ships whole from
    one location, without the solver; ``None`` when that is not possible.

    Qualifying orders (``tpl.col_group`` set) have stock checked, split by warehouse on,
    no bulky or offline-store lines, no SKU in two groups, the ``auto`` solver and the
    objective children, then delivery (then cost). Every plan has at least one child per
    group, so one location per group is optimal in children. With the units of a group
    fixed, its makespan contribution and unit minutes both only grow with the arrival
    minutes of its location, and groups share no SKU, so choosing per group the covering
    location with the fewest minutes (then the lowest child cost, then the lowest index)
    is lexicographically optimal for makespan, unit minutes and cost together.
    """
    if tpl.col_group is None or tpl.group_units is None or tpl.cols.size == 0:
        return None
    t0 = time.perf_counter()
    minutes = world.minutes(tpl.destination)
    ships = (minutes >= 0) & (world.is_store() == 0)
    enough = view >= tpl.demand[None, :]
    n_groups = tpl.group_units.size
    cost = world.cost_units()
    chosen = np.empty(n_groups, dtype=np.int64)
    for g in range(n_groups):
        cover = np.flatnonzero(ships & enough[:, tpl.col_group == g].all(axis=1))
        if cover.size == 0:
            return None
        best = cover[minutes[cover] == minutes[cover].min()]
        if best.size > 1:
            best = best[cost[best] == cost[best].min()]
        chosen[g] = best[0]
    sku_loc = chosen[tpl.col_group]
    locs = np.flatnonzero(view.any(axis=1))
    group_minutes = minutes[chosen]
    return OrderPlan(
        locs=locs.astype(np.int32), view=narrow(view[locs]),
        x=_NO_X, status="optimal", backend="fast", bound=n_groups,
        runtime_s=time.perf_counter() - t0, children=n_groups,
        makespan=int(group_minutes.max()),
        unit_minutes=int((tpl.group_units * group_minutes).sum()),
        cost=int(cost[chosen].sum()), backorder_units=0,
        use_loc=sku_loc, use_col=tpl.cols.astype(np.int64), use_units=tpl.demand.astype(np.int64),
        short_cols=_EMPTY, sku_loc=sku_loc)


def solve_order(world: World, tpl: OrderTemplate, view: IntArray, limit_s: float,
                fast: bool = True, work: bool = False) -> OrderPlan:
    """Split ``tpl`` exactly against ``view`` (a clipped stock view, see :func:`clipped_view`):
    :func:`fast_plan` when it applies (and ``fast``), else the single split's compiler and
    solver. The budget is the request's ``options.work_limit`` when it has one (the
    batch's deterministic mode), else with ``work`` ``limit_s`` worth of deterministic work
    units (:class:`~ordersplit.solver.stop.WorkBudget`), so the plan does not depend on
    load; else ``limit_s`` of wall time."""
    quick = fast_plan(world, tpl, view) if fast else None
    if quick is not None:
        return quick
    t0 = time.perf_counter()
    request, locs = request_for(world, tpl, view)
    compiled = compile_request(request)
    solver = request.options.solver
    units = tpl.order_work_limit
    if units is None and work:
        units = round(limit_s / UNIT_SECONDS)
    stop = WorkBudget(units) if units is not None else Deadline(limit_s)
    result = solve_exact(compiled.problem, solver, stop)
    if not result.is_feasible():
        result = _fallback(compiled, result)
    assert result.assignment is not None and result.objective is not None
    x = np.asarray(result.assignment, dtype=np.int64)
    use = consumption(request, compiled, x)
    w_loc, k_loc = np.nonzero(use)
    layout = compiled.layout
    obj = result.objective
    backorder = sum(p.quantity for p in layout.fixed if p.kind == "backorder")
    short = _short_cols(tpl, request, layout)
    drafts = pack_drafts(draft_children(layout, x, compiled.problem.per_warehouse), locs)
    return OrderPlan(
        locs=locs.astype(np.int32),
        view=narrow(view[locs]),
        x=sparse_cells(x),
        status=result.status.value,
        backend=result.backend,
        bound=int(result.children_lower_bound),
        runtime_s=time.perf_counter() - t0,
        children=obj.children + fixed_children(layout),
        makespan=obj.makespan,
        unit_minutes=obj.unit_hours,
        cost=obj.cost * COST_UNITS // max(1, layout.cost_scale),
        backorder_units=int(backorder),
        use_loc=locs[w_loc].astype(np.int64),
        use_col=tpl.cols[k_loc].astype(np.int64),
        use_units=use[w_loc, k_loc].astype(np.int64),
        short_cols=short,
        drafts=drafts,
    )


def _short_cols(tpl: OrderTemplate, request: SplitRequest, layout: Layout) -> IntArray:
    """Global columns of the SKUs in the plan's back-order parts."""
    local = {s: j for j, s in enumerate(tpl.skus)}
    lines = request.order.lines
    out: set[int] = set()
    for p in layout.fixed:
        if p.kind != "backorder":
            continue
        item = request.catalog[lines[p.line].sku]
        if p.component is not None:
            skus = [p.component]
        elif item.components:
            skus = [c.sku for c in item.components]
        else:
            skus = [lines[p.line].sku]
        out.update(int(tpl.cols[local[s]]) for s in skus)
    out.discard(-1)
    return np.array(sorted(out), dtype=np.int64)


FULL_VIEW = narrow(np.zeros((0, 0), dtype=np.int64))
"""The ``view`` a plan solved with all the stock (a lower-bound plan) holds
(:func:`with_full_view`): its rows are the world's stock at ``locs`` clipped to the
order's demand, rebuilt when asked for (:func:`solved_view`) instead of kept (about
0.75 KB per lower-bound plan at 200 warehouses; the driver keeps every order's, each
worker those of its orders)."""


def with_full_view(plan: OrderPlan) -> OrderPlan:
    """``plan``, solved against the whole stock, without its own copy of the view."""
    if plan.failed or plan.locs.size == 0 or plan.view.size == 0:
        return plan
    return replace(plan, view=FULL_VIEW)


def solved_view(world: World, tpl: OrderTemplate, plan: OrderPlan) -> IntArray:
    """The rows (at ``plan.locs``) of the view ``plan`` was solved on: its own, or the
    world's stock clipped to the demand when it holds :data:`FULL_VIEW` (an empty view
    of a plan with locations: a real view has one row per location)."""
    if plan.view.size or not plan.locs.size:
        return plan.view
    return clipped_view(tpl, world.stock[plan.locs.astype(np.int64)])


def rebuild(world: World, tpl: OrderTemplate, plan: OrderPlan) -> tuple[SplitRequest, Compiled,
                                                                         SolveResult]:
    """The request, compiled problem and result behind ``plan`` (for the plan builder)."""
    view = np.zeros((world.n_locations, tpl.cols.size), dtype=np.int64)
    view[plan.locs] = solved_view(world, tpl, plan)
    request, locs = request_for(world, tpl, view)
    if not np.array_equal(locs, plan.locs):
        raise RuntimeError(f"order {tpl.order_id}: the stored view does not rebuild")
    compiled = compile_request(request)
    if plan.sku_loc is not None:  # a fast plan: every item ships from its SKUs' location
        problem = compiled.problem
        where = {int(w): i for i, w in enumerate(locs.tolist())}
        x = np.zeros((problem.n_items, problem.n_warehouses), dtype=np.int64)
        for i in range(problem.n_items):
            k = int(np.flatnonzero(problem.usage[i])[0])
            x[i, where[int(plan.sku_loc[k])]] = problem.quantity[i]
    else:
        x = dense_cells(plan.x, compiled.problem.n_items, compiled.problem.n_warehouses)
    obj = evaluate(compiled.problem, x)
    result = SolveResult(plan.backend, Status(plan.status), x, obj, plan.bound, plan.runtime_s)
    return request, compiled, result
