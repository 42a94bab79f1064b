"""Jobs the pool tests send to a worker process (a small module: the worker imports it)."""

from __future__ import annotations

import time
from typing import Any

from ordersplit.service.jobs import Budget, apply_budget


def budgeted_sleep(data: dict[str, Any], budget: Budget, sleep_s: float) -> int | None:
    """Set the request's budget as a split does, then take ``sleep_s``; the limit set."""
    limit = apply_budget(data, budget)
    time.sleep(sleep_s)
    return limit
