"""ordersplit: split paid orders into provably optimal child orders, and share the money exactly.

The names below load on first use (PEP 562), so that ``import ordersplit`` and the
command line stay light: ``ordersplit.split`` loads the solver (and its compiled kernel)
before the first order is split, never inside an order's time budget.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ordersplit.errors import OrderSplitError, RequestError, SolverError

if TYPE_CHECKING:
    from ordersplit.api import split
    from ordersplit.batch import reoptimize
    from ordersplit.models.plan import Plan
    from ordersplit.models.request import SplitRequest
    from ordersplit.models.validate import parse_request

__all__ = ["OrderSplitError", "Plan", "RequestError", "SolverError", "SplitRequest", "parse_request",
           "reoptimize", "split"]
__version__ = "0.1.0"

_LAZY = {
    "split": "ordersplit.api",
    "Plan": "ordersplit.models.plan",
    "SplitRequest": "ordersplit.models.request",
    "parse_request": "ordersplit.models.validate",
    "reoptimize": "ordersplit.batch",
}


def __getattr__(name: str) -> object:
    """Load a public name's module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ordersplit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
