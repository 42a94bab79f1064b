"""Order counts and average order value, by parent or by child, never double-counted.

By parent, each root order counts once; by child, each working order (a child, or a
grandchild in place of its re-split child) counts once. Orders whose every working
order is cancelled or rejected are not valid orders. The value is what was paid for
the valid working orders, so both views give the same total and only the count
differs: a split never looks like a cancellation, nor like extra sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ordersplit.lifecycle.links import working
from ordersplit.lifecycle.nodes import OrderNode
from ordersplit.lifecycle.status import INVALID
from ordersplit.models.currency import format_minor

By = Literal["parent", "child"]


@dataclass(frozen=True)
class OrderStats:
    """Valid orders of one currency: how many, what they are worth, the average."""

    currency: str
    count: int
    value: str
    average: str


def order_stats(trees: list[list[OrderNode]], by: By = "parent") -> list[OrderStats]:
    """Count and average value per currency; ``trees`` holds each root with its descendants."""
    if by not in ("parent", "child"):
        raise ValueError(f"by must be 'parent' or 'child', not {by!r}")
    acc: dict[str, list[int]] = {}
    exps: dict[str, int] = {}
    for tree in trees:
        valid = [o for o in working(tree) if o.status not in INVALID]
        if not valid:
            continue
        cur = valid[0].currency
        exps[cur] = valid[0].exponent
        slot = acc.setdefault(cur, [0, 0])
        slot[0] += 1 if by == "parent" else len(valid)
        slot[1] += sum(o.paid for o in valid)
    out = []
    for cur, (count, value) in sorted(acc.items()):
        avg = (2 * value + count) // (2 * count)  # half up, in minor units
        out.append(OrderStats(cur, count, format_minor(value, exps[cur]),
                              format_minor(avg, exps[cur])))
    return out
