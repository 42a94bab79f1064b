"""DataFrames in, DataFrames out: :func:`allocate_frames` over :func:`allocate_batch`.

Money columns are integer minor units (int64). Input tables (extra columns are ignored):

- ``lines``: ``order_id``, ``line_id``, ``goods`` (``unit_price * quantity``), optional
  ``discount`` (the line's own, default 0), ``tax_rate`` (decimal or fraction string,
  or number, default 0) and ``quantity`` (the default part weight, default 1).
- ``payments``: ``order_id``, ``method``, ``amount``, optional ``invoiced`` (default:
  the method is in ``invoice_methods``). An order's payments must add up to its payable.
- ``activities`` (optional): one row per discount activity and covered line:
  ``order_id``, ``activity_id``, ``amount`` (the activity's, repeated on its rows),
  ``line_id`` (missing = all the order's lines).
- ``parts`` (optional): what each child carries of each line: ``order_id``, ``line_id``,
  ``child_id``, ``weight`` (positive; the line's amounts are shared by it), optional
  ``kind`` (``shipment`` default, ``backorder``, ``store``). Without it every order is one
  shipment child ``<order_id>-1`` carrying every line whole.
- ``orders`` (optional): ``order_id``, ``shipping_fee`` (default 0), ``first_child``
  (bool: the whole fee goes to the first shipment child, default false).

Rows may come in any order; results keep the orders, lines, children and parts in the
order of first appearance. Policies: :mod:`ordersplit.money.batch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from ordersplit.money.batch import Allocation, MoneyBatch, allocate_batch, kind_codes
from ordersplit.money.rounding import IntArray, as_int


@dataclass(frozen=True)
class FrameAllocation:
    """The amounts of every order, line, child and part (one column per amount key)."""

    orders: pd.DataFrame
    """``order_id`` and the keys."""
    lines: pd.DataFrame
    """``order_id``, ``line_id`` and the keys."""
    children: pd.DataFrame
    """``order_id``, ``child_id``, ``kind`` and the keys."""
    parts: pd.DataFrame
    """``order_id``, ``line_id``, ``child_id`` and the keys, in the ``parts`` rows' order."""
    batch: MoneyBatch
    allocation: Allocation


def _need(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}")


def _rate(value: object) -> tuple[int, int]:
    rate = Fraction(str(value))  # "0.09", "9/100" and 0.09 alike, exactly
    return rate.numerator, rate.denominator


def _pair_codes(index: pd.MultiIndex, keys: pd.MultiIndex, what: str) -> IntArray:
    """Positions of ``keys`` in ``index`` (ValueError naming ``what`` when absent)."""
    codes = as_int(index.get_indexer(keys))
    if codes.size and codes.min() < 0:
        bad = keys[int(np.flatnonzero(codes < 0)[0])]
        raise ValueError(f"{what} {bad!r} is not a line of its order")
    return codes


def allocate_frames(
    lines: pd.DataFrame,
    payments: pd.DataFrame,
    activities: pd.DataFrame | None = None,
    parts: pd.DataFrame | None = None,
    *,
    orders: pd.DataFrame | None = None,
    invoice_methods: Sequence[str] = ("cash",),
    workers: int = 1,
) -> FrameAllocation:
    """Share every amount of the orders in ``lines`` out (see the module docstring)."""
    _need(lines, "lines", ("order_id", "line_id", "goods"))
    _need(payments, "payments", ("order_id", "method", "amount"))
    order_code, order_ids = pd.factorize(lines["order_id"], sort=False)
    n_o = len(order_ids)
    by_order = np.argsort(order_code, kind="stable")
    ln = lines.iloc[by_order].reset_index(drop=True)
    line_order = as_int(order_code[by_order])
    line_key = pd.MultiIndex.from_arrays([ln["order_id"], ln["line_id"]])
    if line_key.has_duplicates:
        raise ValueError("a line_id appears twice in one order")
    order_index = pd.Index(order_ids)

    def order_of(frame: pd.DataFrame, what: str) -> IntArray:
        codes = as_int(order_index.get_indexer(frame["order_id"]))
        if codes.size and codes.min() < 0:
            raise ValueError(f"{what} names an order without lines")
        return codes

    # payments: one column per method, in order of first appearance
    pay_order = order_of(payments, "payments")
    method_code, methods = pd.factorize(payments["method"], sort=False)
    pay = np.zeros((n_o, len(methods)), dtype=np.int64)
    if pd.Series(pay_order * max(len(methods), 1) + method_code).duplicated().any():
        raise ValueError("a payment method appears twice in one order")
    pay[pay_order, method_code] = as_int(payments["amount"])
    invoiced = np.zeros((n_o, len(methods)), dtype=bool)
    if "invoiced" in payments.columns:
        invoiced[pay_order, method_code] = payments["invoiced"].astype(bool).to_numpy()
    else:
        invoiced[:] = np.isin(np.asarray(methods, dtype=object), list(invoice_methods))

    fee = np.zeros(n_o, dtype=np.int64)
    first = np.zeros(n_o, dtype=bool)
    if orders is not None:
        _need(orders, "orders", ("order_id",))
        codes = order_of(orders, "orders")
        if "shipping_fee" in orders.columns:
            fee[codes] = as_int(orders["shipping_fee"])
        if "first_child" in orders.columns:
            first[codes] = orders["first_child"].astype(bool).to_numpy()

    rate_values = ln["tax_rate"] if "tax_rate" in ln.columns else pd.Series(0, index=ln.index)
    rate_code, rate_uniques = pd.factorize(rate_values.astype(str), sort=False)
    ratios = [_rate(v) for v in rate_uniques]

    # discount activities and the lines they cover (missing line_id = all lines)
    if activities is not None and len(activities):
        _need(activities, "activities", ("order_id", "activity_id", "amount"))
        act_rows_order = order_of(activities, "activities")
        act_code, act_ids = pd.factorize(
            pd.MultiIndex.from_arrays([activities["order_id"], activities["activity_id"]]))
        n_a = len(act_ids)
        act_order = np.zeros(n_a, dtype=np.int64)
        act_order[act_code] = act_rows_order
        act_amount = np.zeros(n_a, dtype=np.int64)
        act_amount[act_code] = as_int(activities["amount"])
        by_act_order = np.argsort(act_order, kind="stable")  # activities grouped by order
        renumber = np.empty(n_a, dtype=np.int64)
        renumber[by_act_order] = np.arange(n_a)
        act_order, act_amount = act_order[by_act_order], act_amount[by_act_order]
        covered = (activities["line_id"].notna().to_numpy() if "line_id" in activities.columns
                   else np.zeros(len(activities), dtype=bool))
        some = activities[covered]
        cov_act = [renumber[act_code[covered]]]
        cov_line = [_pair_codes(line_key, pd.MultiIndex.from_arrays(
            [some["order_id"], some["line_id"]]), "activity line")]
        whole = np.unique(renumber[act_code[~covered]])
        if whole.size:  # every line of the activity's order
            first_line = np.searchsorted(line_order, np.arange(n_o))
            n_lines = np.bincount(line_order, minlength=n_o)[act_order[whole]]
            cov_act.append(np.repeat(whole, n_lines))
            offset = np.arange(int(n_lines.sum())) - np.repeat(np.cumsum(n_lines) - n_lines,
                                                               n_lines)
            cov_line.append(np.repeat(first_line[act_order[whole]], n_lines) + offset)
        cover_activity = as_int(np.concatenate(cov_act))
        cover_line = as_int(np.concatenate(cov_line))
        if pd.Series(cover_activity * max(len(ln), 1) + cover_line).duplicated().any():
            raise ValueError("an activity covers a line twice")
    else:
        act_order = act_amount = cover_activity = cover_line = np.zeros(0, dtype=np.int64)

    # parts and children
    if parts is None:
        parts = pd.DataFrame({
            "order_id": ln["order_id"], "line_id": ln["line_id"],
            "child_id": ln["order_id"].astype(str) + "-1",
            "weight": ln["quantity"] if "quantity" in ln.columns else 1,
        })
    _need(parts, "parts", ("order_id", "line_id", "child_id", "weight"))
    part_order = order_of(parts, "parts")
    part_line = _pair_codes(line_key, pd.MultiIndex.from_arrays(
        [parts["order_id"], parts["line_id"]]), "part line")
    child_code, child_ids = pd.factorize(
        pd.MultiIndex.from_arrays([parts["order_id"], parts["child_id"]]))
    n_c = len(child_ids)
    child_order = np.zeros(n_c, dtype=np.int64)
    child_order[child_code] = part_order
    by_child_order = np.argsort(child_order, kind="stable")
    renumber_c = np.empty(n_c, dtype=np.int64)
    renumber_c[by_child_order] = np.arange(n_c)
    kinds = (parts["kind"].astype(str).to_numpy() if "kind" in parts.columns
             else np.full(len(parts), "shipment", dtype=object))
    child_kind_names = np.empty(n_c, dtype=object)
    child_kind_names[renumber_c[child_code]] = kinds

    batch = MoneyBatch(
        methods=tuple(str(m) for m in methods), payments=pay, invoice_methods=invoiced,
        shipping_fee=fee, first_child=first, line_order=line_order,
        goods=as_int(ln["goods"]),
        line_discount=(as_int(ln["discount"]) if "discount" in ln.columns
                       else np.zeros(len(ln), dtype=np.int64)),
        line_rate=as_int(rate_code), rate_num=as_int([r[0] for r in ratios]),
        rate_den=as_int([r[1] for r in ratios]),
        activity_order=as_int(act_order), activity_amount=as_int(act_amount),
        cover_activity=cover_activity, cover_line=cover_line,
        child_order=as_int(child_order[by_child_order]),
        child_kind=kind_codes(tuple(child_kind_names)),
        part_child=as_int(renumber_c[child_code]), part_line=part_line,
        part_weight=as_int(parts["weight"]),
    )
    alloc = allocate_batch(batch, workers=workers)
    keys = list(alloc.keys)

    def table(ids: dict[str, object], amounts: IntArray) -> pd.DataFrame:
        return pd.DataFrame({**ids, **dict(zip(keys, amounts.T, strict=True))})

    child_key = child_ids[by_child_order]
    return FrameAllocation(
        orders=table({"order_id": np.asarray(order_ids, dtype=object)}, alloc.orders),
        lines=table({"order_id": ln["order_id"].to_numpy(), "line_id": ln["line_id"].to_numpy()},
                    alloc.lines),
        children=table({"order_id": child_key.get_level_values(0).to_numpy(),
                        "child_id": child_key.get_level_values(1).to_numpy(),
                        "kind": child_kind_names}, alloc.children),
        parts=table({"order_id": parts["order_id"].to_numpy(),
                     "line_id": parts["line_id"].to_numpy(),
                     "child_id": parts["child_id"].to_numpy()}, alloc.parts),
        batch=batch, allocation=alloc,
    )
