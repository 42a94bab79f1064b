"""The compiled split problem: frozen numpy arrays that every backend reads.

A :class:`SplitProblem` holds what is left to optimize after the rules have done their
part (bulky lines sourced fastest-first, offline-store lines set aside, back-orders
taken out). Items are rows, warehouses are columns:

* item ``i`` needs ``quantity[i]`` units; one unit uses ``usage[i, k]`` of SKU ``k``
  (a bundle uses several SKUs; a plain line exactly one);
* ``splittable[i]`` is False for bundles: all units from one warehouse;
* ``group[i]`` is the rule key (merchant, handling, temperature, cross-border): a child
  holds one group and one warehouse;
* ``stock[w, k]`` is what warehouse ``w`` can give of SKU ``k``; ``allowed[i, w]`` says
  whether ``w`` may ship item ``i`` at all (reaches the destination, right kind);
* ``hours[w]`` is the arrival time in minutes, ``cost[w]`` the fixed cost per child in
  integer units of ``cost_scale``;
* ``line[i]`` is the order line item ``i`` belongs to (a bundle's components shipped
  separately are several items of one line): the ``fragments`` term counts the
  (line, child) pieces beyond one per line;
* ``price[w, k]`` is what one unit of SKU ``k`` at warehouse ``w`` is worth, in integer
  units of ``price_scale`` (the ``stock_value`` term: the priced stock a plan uses).

A solution is an integer matrix ``x[i, w]`` of units of item ``i`` shipped from ``w``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

OBJECTIVE_TERMS = ("children", "makespan", "unit_hours", "cost", "fragments", "stock_value")
"""Scalar objective terms; the request's ``delivery`` expands to makespan, unit_hours."""

ELEMENTS_MEMO = "_elements"
"""Where :func:`~ordersplit.solver.group_search.elements` keeps a problem's groups' cover
elements (in the instance's ``__dict__``; shared by the same data under other objectives)."""

UNLIMITED = 1 << 40
"""Stock used when the stock rule is off (a warehouse that lists a SKU ships any amount)."""


@dataclass(frozen=True, eq=False)
class SplitProblem:
    """Numeric problem data; build it with :func:`ordersplit.solver.compile.compile_request`."""

    quantity: IntArray
    usage: IntArray
    splittable: BoolArray
    group: IntArray
    stock: IntArray
    allowed: BoolArray
    hours: IntArray
    cost: IntArray
    objective: tuple[str, ...] = ("children", "makespan", "unit_hours")
    per_warehouse: bool = True
    fixed_makespan: int = 0
    seed: int = 0
    n_groups: int = field(default=-1)
    line: IntArray | None = None
    """Line of each item; ``None`` means one line per item."""
    price: IntArray | None = None
    """Warehouses x SKUs unit prices (``stock_value``); ``None`` means all 0."""
    price_scale: float = 1.0
    """``price`` is the real price times this (see :func:`ordersplit.solver.compile.price_matrix`)."""

    def __post_init__(self) -> None:
        n, m = self.allowed.shape
        if self.line is None:
            object.__setattr__(self, "line", np.arange(n, dtype=np.int64))
        elif self.line.shape != (n,):
            raise ValueError("line must have one entry per item")
        if self.quantity.shape != (n,) or self.group.shape != (n,) or self.splittable.shape != (n,):
            raise ValueError("item arrays disagree in length")
        if self.stock.shape[0] != m or self.hours.shape != (m,) or self.cost.shape != (m,):
            raise ValueError("warehouse arrays disagree in length")
        if self.usage.shape != (n, self.stock.shape[1]):
            raise ValueError("usage must be items x skus")
        for term in self.objective:
            if term not in OBJECTIVE_TERMS:
                raise ValueError(f"unknown objective term {term!r}")
        if self.price is None:
            object.__setattr__(self, "price", np.zeros_like(self.stock))
        elif self.price.shape != self.stock.shape:
            raise ValueError("price must be warehouses x skus, as stock")
        if self.n_groups < 0:
            object.__setattr__(self, "n_groups", int(self.group.max()) + 1 if n else 0)
        for arr in (self.quantity, self.usage, self.splittable, self.group, self.stock,
                    self.allowed, self.hours, self.cost, self.lines, self.prices):
            arr.setflags(write=False)

    @classmethod
    def compiled(cls, quantity: IntArray, usage: IntArray, splittable: BoolArray,
                 group: IntArray, stock: IntArray, allowed: BoolArray, hours: IntArray,
                 cost: IntArray, objective: tuple[str, ...], per_warehouse: bool,
                 fixed_makespan: int, seed: int, n_groups: int, line: IntArray,
                 price: IntArray, price_scale: float) -> SplitProblem:
        """A problem from the compiler's arrays, which agree by construction: every
        field given, each array set read-only, without ``__post_init__``'s shape and
        term checks (the frozen dataclass's ``__init__`` sets each of the 16 fields
        through ``object.__setattr__``, several times this). The result equals the
        checked construction (``tests/test_front_direct.py``)."""
        obj = object.__new__(cls)
        obj.__dict__.update(
            quantity=quantity, usage=usage, splittable=splittable, group=group, stock=stock,
            allowed=allowed, hours=hours, cost=cost, objective=objective,
            per_warehouse=per_warehouse, fixed_makespan=fixed_makespan, seed=seed,
            n_groups=n_groups, line=line, price=price, price_scale=price_scale)
        for arr in (quantity, usage, splittable, group, stock, allowed, hours, cost, line,
                    price):
            arr.setflags(write=False)
        return obj

    def with_objective(self, objective: tuple[str, ...]) -> SplitProblem:
        """The same (already validated, read-only) arrays under another objective: a
        shallow copy, without :func:`dataclasses.replace`'s checks and flag setting,
        which cost more than the rest of a small order's copy. Nothing derived is
        carried over (see :func:`~ordersplit.solver.fragments.share_derived`)."""
        for term in objective:
            if term not in OBJECTIVE_TERMS:
                raise ValueError(f"unknown objective term {term!r}")
        copy = object.__new__(type(self))
        known = self.__dict__
        fields = {name: known[name] for name in _FIELDS}
        fields["objective"] = tuple(objective)
        copy.__dict__.update(fields)
        return copy

    @property
    def lines(self) -> IntArray:
        """``line`` as a plain array (never ``None`` after construction)."""
        assert self.line is not None
        return self.line

    @property
    def prices(self) -> IntArray:
        """``price`` as a plain array (never ``None`` after construction)."""
        assert self.price is not None
        return self.price

    @cached_property
    def priced(self) -> bool:
        """Whether any unit price is positive."""
        return bool(self.prices.any())

    @cached_property
    def unit_value(self) -> IntArray:
        """``[item, warehouse]``: the priced stock one unit of the item uses at the
        warehouse (a bundle's components summed): the ``stock_value`` term's coefficient."""
        n = self.n_items
        value = np.zeros((n, self.n_warehouses), dtype=np.int64)
        uses = self.usage > 0
        one = uses.sum(axis=1) == 1  # a plain line: a column of the price matrix, no product
        rows = np.flatnonzero(one)
        sku = uses[rows].argmax(axis=1)
        value[rows] = (self.prices[:, sku] * self.usage[rows, sku][None, :]).T
        for i in np.flatnonzero(~one):
            cols = np.flatnonzero(uses[i])
            value[i] = self.prices[:, cols] @ self.usage[i, cols]
        value.setflags(write=False)
        return value

    @cached_property
    def stock_value_varies(self) -> bool:
        """Whether ``stock_value`` can differ between plans: some item's unit value
        differs between two warehouses that may ship it."""
        if "stock_value" not in self.objective or not self.priced:
            return False
        big = np.iinfo(np.int64).max
        lo = np.where(self.allowed, self.unit_value, big).min(axis=1, initial=big)
        return bool(((self.unit_value != lo[:, None]) & self.allowed).any())

    @property
    def n_items(self) -> int:
        return int(self.quantity.shape[0])

    @property
    def n_warehouses(self) -> int:
        return int(self.hours.shape[0])

    @property
    def n_skus(self) -> int:
        return int(self.stock.shape[1])

    @cached_property
    def capacity(self) -> IntArray:
        """Units of item ``i`` that warehouse ``w`` could ship alone, capped at the quantity."""
        cap = self.capacity_of(np.arange(self.n_items))
        cap.setflags(write=False)
        return cap

    def capacity_of(self, items: IntArray) -> IntArray:
        """:attr:`capacity`'s rows of ``items`` (a new array): a group of a few bundles
        needs only theirs, not the whole order's."""
        if "capacity" in self.__dict__:
            return self.capacity[items]
        sku = self.single_sku[items]
        if bool((sku >= 0).all()):  # plain lines (one unit of one SKU each): no division
            cap = np.minimum(self.stock[:, sku].T, self.quantity[items][:, None])
            cap[~self.allowed[items]] = 0
            return cap
        usage = self.usage[items]
        cap = np.full((items.size, self.n_warehouses), np.iinfo(np.int64).max, dtype=np.int64)
        uses = usage > 0
        one = uses.sum(axis=1) == 1  # a plain line (or a one-SKU bundle): no loop
        rows = np.flatnonzero(one)
        sku = uses[rows].argmax(axis=1)
        cap[rows] = self.stock[:, sku].T // usage[rows, sku][:, None]
        for i in np.flatnonzero(uses.sum(axis=1) > 1):
            used = np.flatnonzero(usage[i])
            cap[i] = (self.stock[:, used] // usage[i, used]).min(axis=1)
        cap = np.minimum(cap, self.quantity[items][:, None])
        cap[~self.allowed[items]] = 0
        return cap

    @cached_property
    def single_sku(self) -> IntArray:
        """For each item the SKU it uses if it uses exactly one unit of one SKU, else -1."""
        from ordersplit.solver.group_prep import single_skus  # the kernels load lazily

        sku = single_skus(self.usage)
        sku.setflags(write=False)
        return sku

    @cached_property
    def own_lines(self) -> bool:
        """True when every item is a line of its own (no line split into components)."""
        lines = self.lines
        if lines.size < 2 or bool((lines[1:] > lines[:-1]).all()):  # increasing (usual)
            return True
        return bool(np.unique(lines).size == self.n_items)

    @cached_property
    def lone_lines(self) -> bool:
        """True when every item is a whole splittable line of one unit of one SKU that
        no other item uses: each line's fragments depend on its own row alone."""
        if not self.own_lines or not bool(self.splittable.all()):
            return False
        sku = self.single_sku
        return bool((sku >= 0).all() and np.unique(sku).size == sku.size)

    @cached_property
    def simple(self) -> bool:
        """True when every item is a splittable single SKU and no SKU is shared by two groups.

        Then groups are independent, and within a group items of one SKU are
        interchangeable: the case the exact combination search is built for.
        """
        if self.n_items == 0:
            return True
        if not bool(self.splittable.all()) or bool((self.single_sku < 0).any()):
            return False
        pairs = {(int(s), int(g)) for s, g in zip(self.single_sku, self.group, strict=True)}
        return len({s for s, _ in pairs}) == len(pairs)

    @cached_property
    def coverable(self) -> bool:
        """True when each group is a covering problem of independent elements.

        An element is a SKU (the splittable single-SKU items of a group that use it,
        merged) or any other item on its own (a bundle, an unsplittable item). It holds
        when no SKU is used in two groups and a SKU used by a bundle or an unsplittable
        item is used by no other item: then no two elements compete for stock, which
        is what the exact combination search needs. :attr:`simple` is the special case
        without bundles or unsplittable items.
        """
        from ordersplit.solver.group_prep import independent_elements

        return bool(independent_elements(self.usage, self.single_sku, self.splittable,
                                         self.group))

    @cached_property
    def one_reach(self) -> bool:
        """True when every item may ship from exactly the warehouses the first item of
        its group may (one reach set per group: ``combination.applicable``)."""
        from ordersplit.solver.group_prep import one_reach_per_group, readonly

        return bool(one_reach_per_group(readonly(self.allowed), readonly(self.group),
                                        self.n_groups))

    def groups(self) -> list[IntArray]:
        """Item indices of each group, in group order (read-only; worked out once)."""
        return list(self._groups)

    @cached_property
    def _groups(self) -> tuple[IntArray, ...]:
        from ordersplit.solver.group_prep import group_order  # the kernels load lazily

        order, ends, done = group_order(self.group, self.n_groups) if \
            self.group.dtype == np.int64 else (self.group, self.group, False)
        if done:  # one compiled pass: the stable argsort's slices
            bounds = ends.tolist()
        else:
            order = np.argsort(self.group, kind="stable")
            bounds = np.searchsorted(self.group[order], np.arange(self.n_groups + 1)).tolist()
        order.setflags(write=False)
        return tuple(order[bounds[g]:bounds[g + 1]] for g in range(self.n_groups))


_FIELDS = tuple(SplitProblem.__dataclass_fields__)
"""The dataclass fields of :class:`SplitProblem` (what :meth:`~SplitProblem.with_objective`
copies; the memos of derived values are left behind)."""
