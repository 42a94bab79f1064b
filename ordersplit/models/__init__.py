"""Validated domain objects: the request (order, catalog, warehouses, rules, options) and the plan."""

from ordersplit.models.plan import Child, ChildLine, Objective, ParentInfo, Plan
from ordersplit.models.request import (
    Activity,
    CatalogItem,
    Component,
    Line,
    Options,
    Order,
    Payment,
    Rules,
    SplitRequest,
    Warehouse,
)

__all__ = [
    "Activity",
    "CatalogItem",
    "Child",
    "ChildLine",
    "Component",
    "Line",
    "Objective",
    "Options",
    "Order",
    "ParentInfo",
    "Payment",
    "Plan",
    "Rules",
    "SplitRequest",
    "Warehouse",
]
