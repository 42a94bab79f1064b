"""Linked children: gift activities tie the orders holding gift lines to the orders
holding their trigger lines (both ways), at any level; and what a cancellation or a
rejection means for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordersplit.lifecycle.nodes import OrderNode
from ordersplit.lifecycle.status import INVALID, NOT_SHIPPED, REPLACED

INTERCEPT = "intercept"
"""The gift has not shipped: stop it at the warehouse."""
RECALL_OR_CHARGE = "recall_or_charge"
"""The gift has shipped: ask it back or charge for it."""
KEEP = "keep"
"""The other order is a trigger: cancelling a gift does not cancel its trigger."""
NOTHING = "none"
"""The linked order is already cancelled or rejected."""


@dataclass(frozen=True)
class Link:
    """``order_id`` is linked through gift ``activity_id``; ``role`` is what it holds."""

    order_id: str
    activity_id: str
    role: str
    """``gift`` (it holds the gift lines) or ``trigger`` (it holds the trigger lines)."""
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkedAction:
    """What must happen to one linked order after a cancellation or rejection."""

    order_id: str
    activity_id: str
    role: str
    status: str
    action: str
    lines: tuple[str, ...] = field(default_factory=tuple)


def working(orders: list[OrderNode]) -> list[OrderNode]:
    """Orders that are worked on: children and grandchildren not split again (nor
    superseded by a batch)."""
    return [o for o in orders if o.level >= 2 and o.status not in REPLACED]


def links_of(root: OrderNode, orders: list[OrderNode], order_id: str) -> list[Link]:
    """The orders linked to ``order_id`` through the root's gift activities."""
    me = next((o for o in orders if o.id == order_id), None)
    if me is None or me.level < 2:
        return []
    mine = {item.line_id for item in me.items}
    out: list[Link] = []
    for act in root.activities:
        if act.kind != "gift":
            continue
        gifts, triggers = set(act.gift_lines), set(act.trigger_lines)
        for other in working(orders):
            if other.id == order_id:
                continue
            theirs = {item.line_id for item in other.items}
            if mine & triggers and theirs & gifts:
                out.append(Link(other.id, act.activity_id, "gift", tuple(sorted(theirs & gifts))))
            if mine & gifts and theirs & triggers:
                out.append(Link(other.id, act.activity_id, "trigger",
                                tuple(sorted(theirs & triggers))))
    return out


def linked_ids(root: OrderNode, orders: list[OrderNode], order_id: str) -> list[str]:
    """Ids of the orders linked to ``order_id`` (the plan's ``linked_children``)."""
    return sorted({link.order_id for link in links_of(root, orders, order_id)})


def actions_for(root: OrderNode, orders: list[OrderNode], order_id: str) -> list[LinkedAction]:
    """What each linked order needs when ``order_id`` is cancelled or rejected."""
    by_id = {o.id: o for o in orders}
    out = []
    for link in links_of(root, orders, order_id):
        other = by_id[link.order_id]
        if link.role == "trigger":
            action = KEEP
        elif other.status in INVALID:
            action = NOTHING
        elif other.status in NOT_SHIPPED:
            action = INTERCEPT
        else:
            action = RECALL_OR_CHARGE
        out.append(LinkedAction(other.id, link.activity_id, link.role, other.status, action,
                                link.lines))
    return out
