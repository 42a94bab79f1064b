"""ordersplit: split paid orders into provably optimal child orders, and share the money exactly."""

from ordersplit.api import split
from ordersplit.errors import OrderSplitError, RequestError, SolverError
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import parse_request

__all__ = ["OrderSplitError", "Plan", "RequestError", "SolverError", "SplitRequest", "parse_request",
           "reoptimize", "split"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``ordersplit.reoptimize`` loads the batch package (and pandas) only when used."""
    if name == "reoptimize":
        from ordersplit.batch import reoptimize

        return reoptimize
    raise AttributeError(f"module 'ordersplit' has no attribute {name!r}")
