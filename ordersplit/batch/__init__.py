"""Batch re-optimization: many pending orders re-split jointly against shared stock.

    from ordersplit.batch import reoptimize
    result = reoptimize("examples/batch", time_limit_s=30, workers=2)
    result.tables["master"], result.changes, result.summary

See :mod:`ordersplit.batch.tables` for the input tables and
:mod:`ordersplit.batch.output` for the output tables.

The names below are imported when first used: a worker process imports
:mod:`ordersplit.batch.slots` (the search) without the store, the tables and the
command-line layers, which take about a third of the import time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordersplit.batch.api import BatchResult, load_batch, reoptimize
    from ordersplit.batch.inputs import BatchInput, OrderError, batch_from_json
    from ordersplit.batch.ledger import OversellError
    from ordersplit.batch.tables import batch_from_tables, read_tables

_WHERE = {
    "BatchInput": "ordersplit.batch.inputs",
    "BatchResult": "ordersplit.batch.api",
    "OrderError": "ordersplit.batch.inputs",
    "OversellError": "ordersplit.batch.ledger",
    "batch_from_json": "ordersplit.batch.inputs",
    "batch_from_tables": "ordersplit.batch.tables",
    "load_batch": "ordersplit.batch.api",
    "read_tables": "ordersplit.batch.tables",
    "reoptimize": "ordersplit.batch.api",
}

__all__ = [
    "BatchInput",
    "BatchResult",
    "OrderError",
    "OversellError",
    "batch_from_json",
    "batch_from_tables",
    "load_batch",
    "read_tables",
    "reoptimize",
]


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules when first asked for."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(where), name)
    globals()[name] = value
    return value
