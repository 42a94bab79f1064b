"""Linked children: gift activities tie the orders holding gift lines to the orders
holding their trigger lines (both ways), at any level; and what a cancellation or a
rejection means for them.

Cancelling or rejecting a trigger *holds* every linked gift child that has not shipped
(or, with ``gifts="cancel"``, cancels it), in the same transaction as the trigger: a
held gift cannot ship or be re-split until it is released. A gift that has shipped is
asked back or charged for; cancelling a gift never touches its trigger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ordersplit.lifecycle.nodes import OrderNode
from ordersplit.lifecycle.status import HELD, INVALID, NOT_SHIPPED, REPLACED

GiftPolicy = Literal["hold", "cancel"]
"""What cancelling or rejecting a trigger does to its unshipped gift children."""
HOLD = "hold"
"""The gift has not shipped: it is held (status ``held``) in the same transaction."""
CANCEL = "cancel"
"""The gift has not shipped: it is cancelled in the same transaction (and refunded)."""
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
    refund: dict[str, str] = field(default_factory=dict)
    """Per payment method, when the cascade cancelled this order (its allocated amounts)."""


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


def actions_for(root: OrderNode, orders: list[OrderNode], order_id: str,
                gifts: GiftPolicy = "hold") -> list[LinkedAction]:
    """What each linked order needs when ``order_id`` is cancelled or rejected.

    An unshipped gift child gets ``gifts`` (``hold`` or ``cancel``); one already held
    stays held (``none``) unless the policy cancels it.
    """
    by_id = {o.id: o for o in orders}
    out = []
    for link in links_of(root, orders, order_id):
        other = by_id[link.order_id]
        if link.role == "trigger":
            action = KEEP
        elif other.status in INVALID or (other.status == HELD and gifts == HOLD):
            action = NOTHING
        elif other.status in NOT_SHIPPED or other.status == HELD:
            action = gifts
        else:
            action = RECALL_OR_CHARGE
        out.append(LinkedAction(other.id, link.activity_id, link.role, other.status, action,
                                link.lines))
    return out
