"""The checkout promise of ``/v1/presplit``: which warehouse ships what, and when it arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from ordersplit.models.plan import ChildKind, Plan, Status


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromiseLine(_Out):
    """The part of an order line one child carries."""

    line_id: str
    sku: str
    quantity: int


class PromiseChild(_Out):
    """One future child order: where it ships from and when it should arrive."""

    id: str
    kind: ChildKind
    warehouse: str | None
    delivery_hours: float | None
    """Promised delivery time in hours; ``None`` for a back-order (no date can be promised)."""
    eta: str | None
    """``promised_at`` plus ``delivery_hours``, ISO 8601 UTC."""
    lines: list[PromiseLine]


class Promise(_Out):
    """What checkout may show: the children the order would split into. Nothing is stored."""

    order_id: str
    status: Status
    solver: str
    runtime_ms: float
    promised_at: str
    children_count: int
    delivery_hours: float | None
    """The slowest shipment's delivery hours (when the whole order has arrived)."""
    eta: str | None
    all_in_stock: bool
    """True when no line waits for stock."""
    waits_for_stock: bool
    children: list[PromiseChild]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def make_promise(plan: Plan, now: datetime | None = None) -> Promise:
    """Project a split plan onto the checkout promise, timed from ``now`` (UTC)."""
    now = now or datetime.now(UTC)

    def eta(hours: float | None) -> str | None:
        return None if hours is None else _iso(now + timedelta(hours=hours))

    children = [
        PromiseChild(
            id=c.id, kind=c.kind, warehouse=c.warehouse,
            delivery_hours=c.delivery_hours if c.kind != "backorder" else None,
            eta=eta(c.delivery_hours) if c.kind != "backorder" else None,
            lines=[PromiseLine(line_id=x.line_id, sku=x.sku, quantity=x.quantity) for x in c.lines],
        )
        for c in plan.children
    ]
    hours = plan.objective.delivery_hours
    return Promise(
        order_id=plan.order_id, status=plan.status, solver=plan.solver,
        runtime_ms=plan.runtime_ms, promised_at=_iso(now), children_count=len(children),
        delivery_hours=hours, eta=eta(hours),
        all_in_stock=not any(c.kind == "backorder" for c in plan.children),
        waits_for_stock=plan.waits_for_stock, children=children,
    )
