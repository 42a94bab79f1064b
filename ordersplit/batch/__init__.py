"""Batch re-optimization: many pending orders re-split jointly against shared stock.

    from ordersplit.batch import reoptimize
    result = reoptimize("examples/batch", time_limit_s=30, workers=2)
    result.tables["master"], result.changes, result.summary

See :mod:`ordersplit.batch.tables` for the input tables and
:mod:`ordersplit.batch.output` for the output tables.
"""

from ordersplit.batch.api import BatchResult, load_batch, reoptimize
from ordersplit.batch.inputs import BatchInput, OrderError, batch_from_json
from ordersplit.batch.ledger import OversellError
from ordersplit.batch.tables import batch_from_tables, read_tables

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
