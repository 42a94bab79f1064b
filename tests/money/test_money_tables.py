"""``order_tables``: the four DataFrames add up from children to parents."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_money_batch import METHODS, Order, build

from ordersplit.money.batch import allocate_batch
from ordersplit.money.tables import format_amounts, order_tables

ORDERS = [
    Order(goods=[1000, 1, 0], disc=[100, 0, 0], rate=[1, 2, 0],
          acts=[(301, [0, 1])], kinds=[0, 1, 2],
          parts=[(0, 0, 1), (1, 0, 2), (2, 1, 1), (0, 2, 1)], fee=800,
          pay=[100, 0, 50, 1250, 0], invoice=[False, False, True, True, False],
          first_child=False),
    Order(goods=[333], disc=[0], rate=[4], acts=[], kinds=[0],
          parts=[(0, 0, 3)], fee=0, pay=[0, 0, 0, 333, 0],
          invoice=[False, False, False, True, False], first_child=True),
]


def test_tables_add_up_and_carry_lineage() -> None:
    batch = build(ORDERS)
    tables = order_tables(batch, allocate_batch(batch), order_ids=["P-1", "P-2"])
    master = tables.master
    assert master["order_id"].tolist() == ["P-1", "P-2", "P-1-1", "P-1-2", "P-1-3", "P-2-1"]
    assert master["level"].tolist() == [1, 1, 2, 2, 2, 2]
    assert (master["root_id"].str[:3] == master["order_id"].str[:3]).all()
    children = master[master["level"] == 2]
    parents = master[master["level"] == 1].set_index("order_id")
    keys = ["goods", "discount", "shipping_fee", *METHODS, "invoice", "tax"]
    assert children.groupby("parent_id")[keys].sum().equals(parents[keys])
    # vertical: child lines add up to the child
    items = tables.items
    child_items = items[items["level"] == 2].groupby("order_id")[keys].sum()
    assert child_items.equals(children.set_index("order_id")[keys])
    # payment plan and activities add up to the parent per method / activity
    pay = tables.payments
    by_child = pay[pay["level"] == 2].groupby(["root_id", "method"])["amount"].sum()
    by_parent = pay[pay["level"] == 1].set_index(["root_id", "method"])["amount"]
    assert by_child.sort_index().equals(by_parent.sort_index())
    acts = tables.activities
    assert acts[acts["level"] == 2]["amount"].sum() == 301
    assert set(pay["method"]) == {"coupon", "gift_card", "cash"}


def test_decimal_strings_at_the_edge() -> None:
    batch = build(ORDERS)
    tables = order_tables(batch, allocate_batch(batch), exponent=[2, 0], as_decimal=True)
    assert tables.master.loc[0, "goods"] == "10.01"
    assert tables.master.loc[1, "goods"] == "333"
    units = pd.Series(np.array([5, -1234, 100000], dtype=np.int64))
    assert format_amounts(units, 3).tolist() == ["0.005", "-1.234", "100.000"]
