"""Money: exact, vectorized allocation of every amount of an order onto its children.

Integer minor units (int64) inside, decimal strings only at the edges. The public
faces: :func:`allocate_plan` (one request, for the plan builder), :func:`allocate_batch`
(many orders as flat arrays), :func:`allocate_frames` (the same from DataFrames, to
DataFrames), :func:`allocate_one` (one order in plain Python, identical results),
:func:`order_tables` (master, items, payment plan and
activities as DataFrames) and the rounding kernels in :mod:`ordersplit.money.rounding`.
"""

import importlib
from typing import TYPE_CHECKING

from ordersplit.money.batch import Allocation, MoneyBatch, allocate_batch
from ordersplit.money.plan import PlanAmounts, allocate_plan, plan_amount_texts, request_batch
from ordersplit.money.rounding import apportion, controlled_round, muldiv
from ordersplit.money.small import allocate_one

if TYPE_CHECKING:
    from ordersplit.money.frames import FrameAllocation, allocate_frames
    from ordersplit.money.tables import OrderTables, order_tables

_PANDAS_FACES = {
    "FrameAllocation": "ordersplit.money.frames",
    "allocate_frames": "ordersplit.money.frames",
    "OrderTables": "ordersplit.money.tables",
    "order_tables": "ordersplit.money.tables",
}
"""The DataFrame faces load pandas on first use, so that splitting one order does not
(pandas comes with the ``batch`` or ``bench`` extra, not with the core install)."""

__all__ = [
    "Allocation",
    "FrameAllocation",
    "MoneyBatch",
    "OrderTables",
    "PlanAmounts",
    "allocate_batch",
    "allocate_frames",
    "allocate_one",
    "allocate_plan",
    "apportion",
    "controlled_round",
    "muldiv",
    "order_tables",
    "plan_amount_texts",
    "request_batch",
]


def __getattr__(name: str) -> object:
    module = _PANDAS_FACES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != "pandas":
            raise
        raise ModuleNotFoundError(f"ordersplit.money.{name} needs pandas, which comes with the "
                                  "'batch' extra: pip install 'ordersplit[batch]'",
                                  name="pandas") from None
