"""The bridge to the order lifecycle store (``ordersplit.lifecycle``): re-split, cancel, show.

The store is optional: while it is not installed (or not configured), these endpoints
answer 501 with the contract's error object, never a 500.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lifecycle:
    """The store's entry points the service calls (each runs in the solver pool)."""

    resplit: Callable[..., Any]
    cancel: Callable[..., Any]
    show: Callable[..., Any]


def load_lifecycle() -> Lifecycle | None:
    """The lifecycle functions, or ``None`` when that part of ordersplit is absent."""
    try:
        mod = importlib.import_module("ordersplit.lifecycle")
    except ImportError:
        return None
    names = ("resplit", "cancel", "show")
    found = [getattr(mod, n, None) for n in names]
    if not all(callable(f) for f in found):
        log.info("ordersplit.lifecycle has no %s yet: lifecycle endpoints answer 501",
                 ", ".join(n for n, f in zip(names, found, strict=True) if not callable(f)))
        return None
    return Lifecycle(*(cast(Callable[..., Any], f) for f in found))
