"""The four order tables of DOMAIN.md for parents and children, as pandas DataFrames.

``master`` (one row per order), ``items`` (one row per line: the parent's lines and the
children's parts), ``payments`` (the payment plan: one row per order and method) and
``activities`` (one row per order and discount activity, with its discount on that
order). Every table carries ``order_id``, ``parent_id``, ``root_id`` and ``level``;
amounts are int64 minor units (``exponent`` says how many decimals), or decimal strings
with ``as_decimal=True``. Everything is built with array operations, no loop per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ordersplit.money.batch import KIND_CODES, Allocation, MoneyBatch
from ordersplit.money.rounding import IntArray, segment_sum

_KIND_NAMES = np.array(sorted(KIND_CODES, key=KIND_CODES.__getitem__), dtype=object)


@dataclass(frozen=True)
class OrderTables:
    """master, items, payment plan and activities for parents and children."""

    master: pd.DataFrame
    items: pd.DataFrame
    payments: pd.DataFrame
    activities: pd.DataFrame


def _ids(given: Sequence[str] | None, prefix: str, n: int) -> np.ndarray:
    if given is None:
        return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    if len(given) != n:
        raise ValueError(f"expected {n} ids, got {len(given)}")
    return np.asarray(list(given), dtype=object)


def format_units(units: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """Minor units as decimal strings in major units (vectorized ``format_minor``)."""
    units = np.asarray(units, dtype=np.int64)
    exp = np.broadcast_to(np.asarray(exponent, dtype=np.int64), units.shape)
    out = np.empty(units.size, dtype=object)
    for e in np.unique(exp).tolist():
        rows = np.flatnonzero(exp == e)
        u = units[rows]
        sign = np.where(u < 0, "-", "")
        a = np.abs(u)
        if e == 0:
            out[rows] = np.char.add(sign, a.astype(str))
            continue
        major = (a // 10**e).astype(str)
        minor = np.char.zfill((a % 10**e).astype(str), e)
        out[rows] = np.char.add(np.char.add(np.char.add(sign, major), "."), minor)
    return out


def format_amounts(units: pd.Series, exponent: pd.Series | int) -> pd.Series:
    """:func:`format_units` for a Series (keeps its index)."""
    exp = exponent if isinstance(exponent, int) else exponent.to_numpy()
    return pd.Series(format_units(units.to_numpy(), exp), index=units.index, dtype=object)


def order_tables(
    batch: MoneyBatch,
    alloc: Allocation,
    *,
    order_ids: Sequence[str] | None = None,
    child_ids: Sequence[str] | None = None,
    line_ids: Sequence[str] | None = None,
    activity_ids: Sequence[str] | None = None,
    exponent: int | Sequence[int] = 2,
    root_ids: Sequence[str] | None = None,
    parent_level: int = 1,
    as_decimal: bool = False,
) -> OrderTables:
    """The four tables for every order of ``batch`` and its children.

    Ids default to ``O0``, ``O0-C0`` style names. ``root_ids`` (default: the order's
    own id) and ``parent_level`` (default 1; 2 when re-splitting a child) set the
    lineage: children get ``level = parent_level + 1``. ``exponent`` is per order or
    one for all.
    """
    n_o, n_c = batch.n_orders, batch.child_order.size
    oid = _ids(order_ids, "O", n_o)
    co = batch.child_order
    first_child = np.searchsorted(co, np.arange(n_o))
    if child_ids is None:  # the contract's style: P-1001-1, P-1001-2, ...
        rank = (np.arange(n_c) - first_child[co] + 1).astype(str).astype(object)
        cid = oid[co] + "-" + rank
    else:
        cid = _ids(child_ids, "", n_c)
    lid = _ids(line_ids, "L", batch.goods.size)
    aid = _ids(activity_ids, "A", batch.activity_order.size)
    root = oid if root_ids is None else _ids(root_ids, "", n_o)
    exp = np.broadcast_to(np.asarray(exponent, dtype=np.int64), (n_o,))
    keys = list(alloc.keys)

    def lineage(order: IntArray, is_child: bool) -> dict[str, object]:
        return {
            "parent_id": oid[order] if is_child else np.full(order.size, None, dtype=object),
            "root_id": root[order],
            "level": np.full(order.size, parent_level + int(is_child), dtype=np.int64),
            "exponent": exp[order],
        }

    orders_idx = np.arange(n_o)
    master = pd.concat([
        pd.DataFrame({"order_id": oid, **lineage(orders_idx, False), "kind": "parent",
                      **dict(zip(keys, alloc.orders.T, strict=True))}),
        pd.DataFrame({"order_id": cid, **lineage(co, True),
                      "kind": _KIND_NAMES[batch.child_kind],
                      **dict(zip(keys, alloc.children.T, strict=True))}),
    ], ignore_index=True)

    lo, pc, pl = batch.line_order, batch.part_child, batch.part_line
    items = pd.concat([
        pd.DataFrame({"order_id": oid[lo], **lineage(lo, False), "line_id": lid,
                      "weight": segment_sum(batch.part_weight, pl, lo.size),
                      **dict(zip(keys, alloc.lines.T, strict=True))}),
        pd.DataFrame({"order_id": cid[pc], **lineage(co[pc], True),
                      "line_id": lid[pl], "weight": batch.part_weight,
                      **dict(zip(keys, alloc.parts.T, strict=True))}),
    ], ignore_index=True)

    m = len(batch.methods)
    k0 = keys.index(batch.methods[0]) if m else 0
    methods = np.array(batch.methods, dtype=object)

    def plan(amounts: IntArray, owner: IntArray, names: np.ndarray, is_child: bool) -> pd.DataFrame:
        rows = np.repeat(np.arange(owner.size), m)
        col = np.tile(np.arange(m), owner.size)
        return pd.DataFrame({"order_id": names[rows], **lineage(owner[rows], is_child),
                             "method": methods[col],
                             "amount": amounts[:, k0 : k0 + m].reshape(-1),
                             "invoiced": batch.invoice_methods[owner[rows], col]})

    # the methods the parent was paid with, on the parent and on every child
    parent_plan = plan(alloc.orders, orders_idx, oid, False)
    child_plan = plan(alloc.children, co, cid, True)
    payments = pd.concat(
        [parent_plan[(batch.payments > 0).reshape(-1)],
         child_plan[(batch.payments[co] > 0).reshape(-1)]],
        ignore_index=True,
    )

    ao, slot = batch.activity_order, alloc.activity_slot
    comp_child = segment_sum(alloc.part_components, pc, n_c)
    # every child of the activity's order, with that activity's discount on it
    n_children = np.bincount(co, minlength=n_o)
    act_rep = np.repeat(np.arange(ao.size), n_children[ao])
    offset = np.arange(act_rep.size) - np.repeat(np.cumsum(n_children[ao]) - n_children[ao],
                                                 n_children[ao])
    child_of = first_child[ao[act_rep]] + offset
    activities = pd.concat([
        pd.DataFrame({"order_id": oid[ao], **lineage(ao, False), "activity_id": aid,
                      "amount": batch.activity_amount}),
        pd.DataFrame({"order_id": cid[child_of], **lineage(co[child_of], True),
                      "activity_id": aid[act_rep],
                      "amount": comp_child[child_of, 1 + slot[act_rep]]}),
    ], ignore_index=True)

    if as_decimal:
        for frame, cols in ((master, keys), (items, keys), (payments, ["amount"]),
                            (activities, ["amount"])):
            for col_name in cols:
                frame[col_name] = format_amounts(frame[col_name], frame["exponent"])
    return OrderTables(master, items, payments, activities)
