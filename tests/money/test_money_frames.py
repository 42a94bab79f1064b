"""``allocate_frames``: DataFrames in and out, the same amounts as ``allocate_batch``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_money_batch import RATES, Order, build, orders

from ordersplit.money.batch import KIND_CODES, MoneyBatch, allocate_batch
from ordersplit.money.frames import allocate_frames

KIND_NAMES = {v: k for k, v in KIND_CODES.items()}


def frames(b: MoneyBatch, shuffle: np.random.Generator | None = None) -> dict[str, pd.DataFrame]:
    """The batch as the five input tables (rows of different orders mixed if shuffled)."""
    oid = np.array([f"O{o}" for o in range(b.n_orders)], dtype=object)
    lid = np.array([f"L{x}" for x in range(b.goods.size)], dtype=object)
    rate = [f"{n}/{d}" for n, d in RATES]
    lines = pd.DataFrame({"order_id": oid[b.line_order], "line_id": lid, "goods": b.goods,
                          "discount": b.line_discount,
                          "tax_rate": [rate[r] for r in b.line_rate]})
    o, m = np.nonzero(np.ones_like(b.payments))
    payments = pd.DataFrame({"order_id": oid[o], "method": np.array(b.methods)[m],
                             "amount": b.payments[o, m], "invoiced": b.invoice_methods[o, m]})
    activities = pd.DataFrame({"order_id": oid[b.activity_order[b.cover_activity]],
                               "activity_id": [f"A{a}" for a in b.cover_activity],
                               "amount": b.activity_amount[b.cover_activity],
                               "line_id": lid[b.cover_line]})
    parts = pd.DataFrame({"order_id": oid[b.line_order[b.part_line]], "line_id": lid[b.part_line],
                          "child_id": [f"C{c}" for c in b.part_child],
                          "weight": b.part_weight,
                          "kind": [KIND_NAMES[int(k)] for k in b.child_kind[b.part_child]]})
    orders_df = pd.DataFrame({"order_id": oid, "shipping_fee": b.shipping_fee,
                              "first_child": b.first_child})
    out = {"lines": lines, "payments": payments, "activities": activities, "parts": parts,
           "orders": orders_df}
    if shuffle is not None:  # keep each order's own rows in their order
        for name in ("lines", "activities"):
            frame = out[name]
            key = shuffle.permutation(b.n_orders)[frame["order_id"].str[1:].astype(int)]
            out[name] = frame.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(orders(), min_size=1, max_size=12))
def test_frames_equal_the_batch(generated: list[Order]) -> None:
    b = build(generated)
    tables = frames(b, np.random.default_rng(len(generated)))
    result = allocate_frames(tables["lines"], tables["payments"], tables["activities"],
                             tables["parts"], orders=tables["orders"])
    want = allocate_batch(b)
    keys = list(want.keys)
    def rows(frame: pd.DataFrame, column: str) -> pd.DataFrame:  # back in the batch order
        return frame.set_index(column).loc[sorted(frame[column], key=lambda x: int(x[1:]))]

    assert np.array_equal(rows(result.orders, "order_id")[keys].to_numpy(), want.orders)
    assert np.array_equal(rows(result.lines, "line_id")[keys].to_numpy(), want.lines)
    assert np.array_equal(result.parts[keys].to_numpy(), want.parts)
    # a child exists in the tables through its parts (the batch may hold empty ones)
    used = np.unique(b.part_child)
    children = rows(result.children, "child_id")
    assert np.array_equal(children[keys].to_numpy(), want.children[used])
    assert not want.children[np.setdiff1d(np.arange(b.child_order.size), used)].any()
    assert children["kind"].tolist() == [KIND_NAMES[int(k)] for k in b.child_kind[used]]


def test_defaults_whole_lines_all_line_activities_and_mixed_rows() -> None:
    lines = pd.DataFrame({"order_id": ["B", "A", "B", "A"], "line_id": ["x", "x", "y", "y"],
                          "goods": [1000, 300, 1, 0], "tax_rate": ["0.13", "0.09", "0", "0"]})
    payments = pd.DataFrame({"order_id": ["A", "B", "B"], "method": ["cash", "cash", "points"],
                             "amount": [200, 800, 100]})
    activities = pd.DataFrame({"order_id": ["A", "B"], "activity_id": ["P", "P"],
                               "amount": [100, 101], "line_id": [None, None]})
    result = allocate_frames(lines, payments, activities)
    assert result.orders["order_id"].tolist() == ["B", "A"]
    assert result.orders["discount"].tolist() == [101, 100]
    assert result.orders["cash"].tolist() == [800, 200]
    assert result.lines["line_id"].tolist() == ["x", "y", "x", "y"]
    assert result.children["child_id"].tolist() == ["B-1", "A-1"]
    assert result.lines.groupby("order_id")[["goods", "discount", "cash", "points", "tax"]].sum(
        ).loc[["B", "A"]].to_numpy().tolist() == result.orders[
        ["goods", "discount", "cash", "points", "tax"]].to_numpy().tolist()
    assert result.orders["invoice"].tolist() == [800, 200]  # cash is invoiced by default


def test_bad_tables_are_named() -> None:
    lines = pd.DataFrame({"order_id": ["A"], "line_id": ["x"], "goods": [10]})
    with pytest.raises(ValueError, match="payments lacks"):
        allocate_frames(lines, pd.DataFrame({"order_id": ["A"]}))
    payments = pd.DataFrame({"order_id": ["A"], "method": ["cash"], "amount": [10]})
    parts = pd.DataFrame({"order_id": ["A"], "line_id": ["z"], "child_id": ["c"], "weight": [1]})
    with pytest.raises(ValueError, match="not a line of its order"):
        allocate_frames(lines, payments, parts=parts)
    with pytest.raises(ValueError, match="payable"):
        allocate_frames(lines, payments.assign(amount=[9]))

