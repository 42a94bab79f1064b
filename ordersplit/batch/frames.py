"""The output tables of many plans at once: children per order, money in one vectorized pass.

:func:`table_chunk` (a runner task) turns a chunk of final plans into the four order
tables of :mod:`ordersplit.batch.output`. Per order it only drafts the children (the
plan builder's :func:`~ordersplit.plan.children.draft_children`, or directly for a
:func:`~ordersplit.batch.model.fast_plan`, which needs no compilation), their reasons
and gift links; the money of the whole chunk is shared out by one call of
:func:`ordersplit.money.allocate_frames` (the allocator the plan builder uses, on flat
arrays) and formatted column-wise. The tables equal the per-order plan builder's (a test
compares them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ordersplit.batch.model import OrderPlan, OrderTemplate, World, rebuild, unpack_drafts
from ordersplit.batch.search import BatchState
from ordersplit.models.currency import currency_exponent, to_minor
from ordersplit.money import allocate_frames
from ordersplit.money.tables import format_units
from ordersplit.plan.children import DraftChild, draft_children, gift_links, reasons
from ordersplit.rules.keys import group_key
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)

AMOUNT_COLUMNS = ("goods", "discount", "shipping_fee", "invoice", "tax", "paid")


@dataclass
class ChunkTables:
    """The tables of one chunk of orders, and the orders that failed (position -> reason)."""

    tables: dict[str, pd.DataFrame]
    failures: dict[int, str] = field(default_factory=dict)


def fast_drafts(world: World, tpl: OrderTemplate, plan: OrderPlan) -> list[DraftChild]:
    """The children of a fast plan: each rule group whole from its location, in the order
    :func:`~ordersplit.plan.children.draft_children` gives (first line of each child)."""
    request = tpl.request
    rules, catalog = request.rules, request.catalog
    assert plan.sku_loc is not None
    col = {s: j for j, s in enumerate(tpl.skus)}
    drafts: dict[tuple[object, int], DraftChild] = {}
    for li, line in enumerate(request.order.lines):
        item = catalog[line.sku]
        comps = item.components
        if comps and rules.bundle:
            parts: list[tuple[str | None, int, str]] = [(None, line.quantity, comps[0].sku)]
        elif comps:
            parts = [(c.sku, line.quantity * c.quantity, c.sku) for c in comps]
        else:
            parts = [(None, line.quantity, line.sku)]
        key = group_key(item, rules)
        for component, qty, sku in parts:
            w = int(plan.sku_loc[col[sku]])
            slot = (key, w)
            child = drafts.get(slot)
            if child is None:
                child = drafts[slot] = DraftChild("shipment", key, w)
            child.add(li, component, qty)
            child.sources[w] = child.sources.get(w, 0) + qty
    out = list(drafts.values())
    out.sort(key=lambda c: (c.first_line(), -1 if c.warehouse is None else c.warehouse))
    return out


def solver_drafts(world: World, tpl: OrderTemplate, plan: OrderPlan
                  ) -> tuple[list[DraftChild], IntArray]:
    """The children of a solved plan (warehouses as global locations) and the locations
    the plan was solved on: those drafted when it was solved, else rebuilt."""
    if plan.drafts is not None:
        return unpack_drafts(plan.drafts), plan.locs.astype(np.int64)
    _request, compiled, result = rebuild(world, tpl, plan)
    assert result.assignment is not None
    drafts = draft_children(compiled.layout, result.assignment, compiled.problem.per_warehouse)
    locs = plan.locs.astype(np.int64)
    for d in drafts:  # request-local warehouse indices -> global locations
        d.warehouse = None if d.warehouse is None else int(locs[d.warehouse])
        d.sources = {int(locs[w]): u for w, u in d.sources.items()}
    return drafts, locs


class _Rows:
    """Column lists of one table."""

    def __init__(self, *names: str) -> None:
        self.cols: dict[str, list[Any]] = {n: [] for n in names}

    def add(self, **values: Any) -> None:
        for k, v in values.items():
            self.cols[k].append(v)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.cols)


MASTER = ("order_id", "parent_id", "root_id", "level", "kind", "status", "warehouse",
          "merchant", "temperature", "handling", "cross_border", "delivery_hours", "reasons",
          "linked_children", "plan_status", "solver", "currency")


def _hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 4)


def table_chunk(state: BatchState, items: Sequence[tuple[int, OrderPlan]]) -> ChunkTables:
    """The four order tables of ``(order position, final plan)`` pairs (a runner task).

    An order whose children cannot be drafted (an exception) gets its reason in
    ``failures`` and no rows; the other orders go on.
    """
    world = state.world
    failures: dict[int, str] = {}
    master = _Rows(*MASTER, "_exp", "_money", "_pay")
    items_t = _Rows("order_id", "root_id", "line_id", "sku", "quantity", "component_of", "_exp")
    acts = _Rows("order_id", "root_id", "activity_id", "kind", "amount", "role",
                 "linked_children", "_act", "_exp")
    m_lines = _Rows("order_id", "line_id", "goods", "discount", "tax_rate", "quantity", "_g")
    m_pay = _Rows("order_id", "method", "amount", "invoiced", "_g")
    m_act = _Rows("order_id", "activity_id", "amount", "line_id", "_g")
    m_parts = _Rows("order_id", "line_id", "child_id", "weight", "kind", "_g")
    m_orders = _Rows("order_id", "shipping_fee", "first_child", "_g")
    sequences: dict[tuple[str, ...], int] = {}  # payment-method sequence -> money group
    n_discounts = 0
    for o, plan in items:
        tpl = state.templates[o]
        if plan.failed:
            failures[o] = plan.error
            continue
        try:
            if plan.sku_loc is not None:
                drafts = fast_drafts(world, tpl, plan)
            else:
                drafts, _ = solver_drafts(world, tpl, plan)
            why = reasons(drafts)
            links = gift_links(tpl.request, drafts)
        except Exception as exc:  # one order's failure is that order's error
            log.warning("order %s: building the plan failed: %r", tpl.order_id, exc)
            failures[o] = f"plan building failed: {type(exc).__name__}: {exc}"
            continue
        request = tpl.request
        order = request.order
        exp = currency_exponent(order.currency)
        minutes = world.minutes(order.destination)
        ids = [f"{order.id}-{c + 1}" for c in range(len(drafts))]
        latest: int | None = None
        child_rows = []
        for c, d in enumerate(drafts):
            reach = [int(minutes[w]) for w in d.sources if minutes[w] >= 0]
            mins = max(reach) if reach else None
            if d.kind == "store" and d.warehouse is not None and minutes[d.warehouse] >= 0:
                mins = int(minutes[d.warehouse])
            if d.kind == "shipment" and mins is not None:
                latest = mins if latest is None else max(latest, mins)
            wid = world.locations[d.warehouse].id if d.warehouse is not None else (
                ";".join(world.locations[w].id for w in sorted(d.sources)) or None)
            child_rows.append(dict(
                order_id=ids[c], parent_id=order.id, root_id=order.id, level=2, kind=d.kind,
                status="pending_shipment", warehouse=wid, merchant=d.key.merchant,
                temperature=d.key.temperature, handling=d.key.handling,
                cross_border=d.key.cross_border, delivery_hours=_hours(mins),
                reasons=";".join(why[c]), linked_children=";".join(ids[k] for k in sorted(links[c])),
                plan_status=plan.status, solver=plan.backend, currency=order.currency, _exp=exp,
                _money=ids[c], _pay=ids[c]))
        master.add(order_id=order.id, parent_id=None, root_id=order.id, level=1, kind="parent",
                   status="split", warehouse=None, merchant=None, temperature=None,
                   handling=None, cross_border=None, delivery_hours=_hours(latest), reasons="",
                   linked_children="", plan_status=plan.status, solver=plan.backend,
                   currency=order.currency, _exp=exp, _money=None, _pay=order.id)
        for row in child_rows:
            master.add(**row)
        # money inputs, grouped by the order's payment-method sequence (see _money)
        invoiced = set(request.options.invoice_methods)
        methods = tuple(p.method for p in order.payments)
        g = sequences.setdefault(methods, len(sequences)) if methods else -1
        m_orders.add(order_id=order.id, shipping_fee=to_minor(order.shipping_fee, exp),
                     first_child=request.options.shipping_fee == "first_child", _g=g)
        for line in order.lines:
            m_lines.add(order_id=order.id, line_id=line.id,
                        goods=to_minor(line.unit_price, exp) * line.quantity,
                        discount=to_minor(line.discount, exp),
                        tax_rate=str(request.catalog[line.sku].tax_rate), quantity=line.quantity,
                        _g=g)
        for p in order.payments:
            m_pay.add(order_id=order.id, method=p.method, amount=to_minor(p.amount, exp),
                      invoiced=p.method in invoiced, _g=g)
        line_ids = [line.id for line in order.lines]
        for c, d in enumerate(drafts):
            for part in d.parts:
                line = order.lines[part.line]
                m_parts.add(order_id=order.id, line_id=line.id, child_id=ids[c],
                            weight=part.quantity, kind=d.kind, _g=g)
                items_t.add(order_id=ids[c], root_id=order.id, line_id=line.id,
                            sku=part.component or line.sku, quantity=part.quantity,
                            component_of=line.sku if part.component else None, _exp=exp)
        child_lines = [{order.lines[p.line].id for p in d.parts} for d in drafts]
        linked = [";".join(ids[k] for k in sorted(links[c])) for c in range(len(drafts))]
        for act in order.activities:
            if act.kind == "discount":
                if act.amount is None or act.lines == []:
                    continue
                amount = to_minor(act.amount, exp)
                if act.lines is None:
                    m_act.add(order_id=order.id, activity_id=act.id, amount=amount, line_id=None,
                              _g=g)
                else:
                    for li in sorted({line_ids.index(x) for x in act.lines}):
                        m_act.add(order_id=order.id, activity_id=act.id, amount=amount,
                                  line_id=line_ids[li], _g=g)
                cover = set(act.lines) if act.lines is not None else set(line_ids)
                for c, have in enumerate(child_lines):
                    if cover & have:
                        acts.add(order_id=ids[c], root_id=order.id, activity_id=act.id,
                                 kind=act.kind, amount=None, role="discount",
                                 linked_children=linked[c], _act=n_discounts, _exp=exp)
                n_discounts += 1
                continue
            for c, have in enumerate(child_lines):
                for role, lines in (("trigger", act.trigger_lines), ("gift", act.gift_lines)):
                    if have & set(lines):
                        acts.add(order_id=ids[c], root_id=order.id, activity_id=act.id,
                                 kind=act.kind, amount=None, role=role,
                                 linked_children=linked[c], _act=-1, _exp=exp)
    return ChunkTables(_assemble(master, items_t, acts, m_lines, m_pay, m_act, m_parts,
                                 m_orders, list(sequences)), failures)


@dataclass
class _Money:
    """Amounts (minor units) of every parent, child and part of a chunk, one column per key."""

    keys: list[str]
    methods: list[str]
    parents: pd.DataFrame
    """Indexed by order id."""
    children: pd.DataFrame
    """Indexed by child id."""
    parts: np.ndarray
    """[part row, key], in the order of the ``parts`` rows."""
    discount: dict[tuple[str, str], dict[str, int]]
    """(order id, activity id) -> child id -> that child's share of the discount."""


class _Groups:
    """The rows of a table per money group (column ``_g``), in their order: one sort."""

    def __init__(self, df: pd.DataFrame, n_groups: int) -> None:
        self.df = df
        codes = df["_g"].to_numpy(dtype=np.int64) if len(df) else np.zeros(0, dtype=np.int64)
        self.order = np.argsort(codes, kind="stable")
        self.bounds = np.searchsorted(codes[self.order], np.arange(n_groups + 1))

    def rows(self, g: int) -> np.ndarray:
        return self.order[self.bounds[g]:self.bounds[g + 1]]

    def __call__(self, g: int) -> pd.DataFrame:
        return self.df.iloc[self.rows(g)]


def _money(lines: pd.DataFrame, pay: pd.DataFrame, act: pd.DataFrame, parts: pd.DataFrame,
           orders: pd.DataFrame, sequences: list[tuple[str, ...]]) -> _Money:
    """:func:`ordersplit.money.allocate_frames` once per payment-method sequence.

    Orders paid with the same methods in the same order (money group ``_g``, numbered in
    order of ``sequences``) share a call, so each order's amount columns come in its own
    method order, as in the single split (the allocator's rounding breaks ties by column).
    """
    methods = list(dict.fromkeys(m for ms in sequences for m in ms))
    keys = ["goods", "discount", "shipping_fee", *methods, "invoice", "tax"]
    parent_frames, child_frames = [], []
    part_units = np.zeros((len(parts), len(keys)), dtype=np.int64)
    discount: dict[tuple[str, str], dict[str, int]] = {}
    n = len(sequences)
    by_lines, by_pay, by_act, by_parts, by_orders = (
        _Groups(df, n) for df in (lines, pay, act, parts, orders))
    for g in range(n):
        g_parts = by_parts(g)
        g_act = by_act(g) if len(act) else act
        alloc = allocate_frames(by_lines(g), by_pay(g), g_act if len(g_act) else None, g_parts,
                                orders=by_orders(g))
        gkeys = list(alloc.allocation.keys)
        cols = np.array([keys.index(k) for k in gkeys], dtype=np.int64)

        def widen(df: pd.DataFrame, index: str, gkeys: list[str] = gkeys) -> pd.DataFrame:
            out = pd.DataFrame(0, index=df[index].to_numpy(), columns=keys, dtype=np.int64)
            out[gkeys] = df[gkeys].to_numpy(dtype=np.int64)
            return out

        parent_frames.append(widen(alloc.orders, "order_id"))
        child_frames.append(widen(alloc.children, "child_id"))
        rows = by_parts.rows(g)
        part_units[np.ix_(rows, cols)] = alloc.parts[gkeys].to_numpy(dtype=np.int64)
        a, batch = alloc.allocation, alloc.batch
        if batch.activity_order.size:
            g_order_ids = alloc.orders["order_id"].to_numpy()
            part_child = alloc.parts["child_id"].to_numpy()
            part_order = batch.part_child  # child index of each part
            child_order = batch.child_order
            act_ids = g_act.drop_duplicates(["order_id", "activity_id"])
            # activities are numbered by order, then first appearance (allocate_frames)
            act_ids = act_ids.assign(_o=pd.Index(g_order_ids).get_indexer(act_ids["order_id"]))
            act_ids = act_ids.sort_values("_o", kind="stable")
            for ai, (oid, aid) in enumerate(zip(act_ids["order_id"], act_ids["activity_id"],
                                                strict=True)):
                o = int(batch.activity_order[ai])
                col = 1 + int(a.activity_slot[ai])
                mine = np.flatnonzero(child_order[part_order] == o)
                share: dict[str, int] = {}
                for p in mine.tolist():
                    share[part_child[p]] = share.get(part_child[p], 0) + int(
                        a.part_components[p, col])
                discount[(oid, aid)] = share
    return _Money(keys, methods, pd.concat(parent_frames), pd.concat(child_frames), part_units,
                  discount)


def _assemble(master: _Rows, items_t: _Rows, acts: _Rows, m_lines: _Rows, m_pay: _Rows,
              m_act: _Rows, m_parts: _Rows, m_orders: _Rows,
              sequences: list[tuple[str, ...]]) -> dict[str, pd.DataFrame]:
    """Money for every row in one vectorized pass (per method sequence), formatted; the
    four tables."""
    mf = master.frame()
    if mf.empty:
        return {}
    pay, orders = m_pay.frame(), m_orders.frame()
    money = _money(m_lines.frame(), pay, m_act.frame(), m_parts.frame(), orders, sequences)
    keys = money.keys
    method_cols = [keys.index(m) for m in money.methods]
    is_parent = (mf["level"] == 1).to_numpy()
    exp = mf["_exp"].to_numpy(dtype=np.int64)
    units = np.zeros((len(mf), len(keys)), dtype=np.int64)
    units[is_parent] = money.parents.loc[mf.loc[is_parent, "order_id"], keys].to_numpy()
    units[~is_parent] = money.children.loc[mf.loc[~is_parent, "order_id"], keys].to_numpy()
    for k in ("goods", "discount", "shipping_fee", "invoice", "tax"):
        mf[k] = format_units(units[:, keys.index(k)], exp)
    # an order's allocation is zero for methods it was not paid with
    mf["paid"] = format_units(units[:, method_cols].sum(axis=1), exp)

    # the payment plan: every method of the parent, on the parent and on every child
    root = mf["root_id"].to_numpy()
    group = orders.set_index("order_id")["_g"]
    per_row = [sequences[g] if g >= 0 else () for g in group.loc[root].tolist()]
    counts = np.array([len(ms) for ms in per_row], dtype=np.int64)
    rows = np.repeat(np.arange(len(mf)), counts)
    names = np.array([m for ms in per_row for m in ms], dtype=object)
    cols = np.array([keys.index(m) for m in names.tolist()], dtype=np.int64)
    payments = pd.DataFrame({
        "order_id": mf["order_id"].to_numpy()[rows], "root_id": root[rows], "method": names,
        "amount": format_units(units[rows, cols], exp[rows])})
    master_out = mf.drop(columns=["_exp", "_money", "_pay"])

    it = items_t.frame()
    iexp = it["_exp"].to_numpy(dtype=np.int64)
    for k in ("goods", "discount", "shipping_fee", "invoice", "tax"):
        it[k] = format_units(money.parts[:, keys.index(k)], iexp)
    it["paid"] = format_units(money.parts[:, method_cols].sum(axis=1), iexp)
    items_out = it.drop(columns="_exp")

    af = acts.frame()
    if len(af):
        disc = (af["_act"] >= 0).to_numpy()
        text = np.full(len(af), None, dtype=object)
        if disc.any():
            d = af[disc]
            shares = [money.discount[(r, a)].get(c, 0) for r, a, c in zip(
                d["root_id"], d["activity_id"], d["order_id"], strict=True)]
            text[disc] = format_units(np.array(shares, dtype=np.int64), d["_exp"].to_numpy())
        af["amount"] = text
    return {"master": master_out, "items": items_out, "payments": payments,
            "activities": af.drop(columns=["_act", "_exp"], errors="ignore")}
