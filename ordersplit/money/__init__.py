"""Money: exact, vectorized allocation of every amount of an order onto its children.

Integer minor units (int64) inside, decimal strings only at the edges. The public
faces: :func:`allocate_plan` (one request, for the plan builder), :func:`allocate_batch`
(many orders as flat arrays), :func:`allocate_frames` (the same from DataFrames, to
DataFrames), :func:`allocate_one` (one order in plain Python, identical results),
:func:`order_tables` (master, items, payment plan and
activities as DataFrames) and the rounding kernels in :mod:`ordersplit.money.rounding`.
"""

from ordersplit.money.batch import Allocation, MoneyBatch, allocate_batch
from ordersplit.money.frames import FrameAllocation, allocate_frames
from ordersplit.money.plan import PlanAmounts, allocate_plan, request_batch
from ordersplit.money.rounding import apportion, controlled_round, muldiv
from ordersplit.money.small import allocate_one
from ordersplit.money.tables import OrderTables, order_tables

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
    "request_batch",
]
