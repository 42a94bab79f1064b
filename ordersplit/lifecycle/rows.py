"""Orders to rows and back: insert a node into the four order tables, load a tree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ordersplit.lifecycle import schema as t
from ordersplit.lifecycle.nodes import BASE_KEYS, TAIL_KEYS, Activity, Item, OrderNode


def now() -> datetime:
    """The timestamp written into the store (UTC, timezone-aware)."""
    return datetime.now(UTC)


def insert_node(conn: Connection, node: OrderNode, *, request_hash: str | None = None,
                request_json: str | None = None, plan_json: str | None = None,
                note: str | None = None) -> None:
    """Write one order: master, items, payment plan, activities, first status."""
    at = now()
    conn.execute(insert(t.orders).values(**_order_row(node, at, {
        "request_hash": request_hash, "request_json": request_json, "plan_json": plan_json})))
    insert_items(conn, node)
    if node.methods:
        conn.execute(insert(t.payments), _payment_rows(node))
    if node.activities:
        conn.execute(insert(t.activities), _activity_rows(node))
    insert_status(conn, node.id, None, node.status, note)


def insert_nodes(conn: Connection, nodes: Sequence[OrderNode],
                 extra: Sequence[dict[str, Any]], notes: Sequence[str | None]) -> None:
    """Write many orders (parents before children) with one statement per table (what
    :func:`insert_node` writes; ``extra`` per order: ``request_hash``, ``request_json``,
    ``plan_json``)."""
    at = now()
    conn.execute(insert(t.orders), [_order_row(node, at, more)
                                    for node, more in zip(nodes, extra, strict=True)])
    for table, make in ((t.items, _item_rows), (t.payments, _payment_rows),
                        (t.activities, _activity_rows)):
        rows = [row for node in nodes for row in make(node)]
        if rows:
            conn.execute(insert(table), rows)
    conn.execute(insert(t.status_history), [
        {"order_id": node.id, "from_status": None, "to_status": node.status, "at": at,
         "note": note} for node, note in zip(nodes, notes, strict=True)])


def _order_row(node: OrderNode, at: datetime, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node.id, "root_id": node.root_id, "parent_id": node.parent_id,
        "level": node.level, "kind": node.kind, "status": node.status,
        "version": node.version, "currency": node.currency, "exponent": node.exponent,
        "warehouse": node.warehouse, "warehouses": node.warehouses, "merchant": node.merchant,
        "temperature": node.temperature, "handling": node.handling,
        "delivery_hours": node.delivery_hours, "reasons": node.reasons,
        **{k: node.amounts[k] for k in (*BASE_KEYS, *TAIL_KEYS)},
        "request_hash": extra.get("request_hash"), "request_json": extra.get("request_json"),
        "plan_json": extra.get("plan_json"), "created_at": at, "updated_at": at,
    }


def _item_rows(node: OrderNode) -> list[dict[str, Any]]:
    return [{"order_id": node.id, "seq": s, "line_id": it.line_id, "sku": it.sku,
             "quantity": it.quantity, "component_of": it.component_of,
             **{k: it.amounts[k] for k in (*BASE_KEYS, *TAIL_KEYS)},
             "payments": {m: it.amounts[m] for m in node.methods}, "discounts": it.discounts}
            for s, it in enumerate(node.items)]


def _payment_rows(node: OrderNode) -> list[dict[str, Any]]:
    return [{"order_id": node.id, "method": m, "seq": s, "amount": node.amounts[m],
             "invoiced": m in node.invoiced} for s, m in enumerate(node.methods)]


def _activity_rows(node: OrderNode) -> list[dict[str, Any]]:
    return [{"order_id": node.id, "activity_id": a.activity_id, "seq": s, "kind": a.kind,
             "amount": a.amount, "lines": a.lines, "trigger_lines": a.trigger_lines,
             "gift_lines": a.gift_lines} for s, a in enumerate(node.activities)]


def insert_items(conn: Connection, node: OrderNode) -> None:
    """Write the order's items (lines) with their amounts."""
    conn.execute(insert(t.items), _item_rows(node))


def insert_status(conn: Connection, order_id: str, old: str | None, new: str,
                  note: str | None = None) -> None:
    """Append one row to the status history."""
    conn.execute(insert(t.status_history).values(
        order_id=order_id, from_status=old, to_status=new, at=now(), note=note))


def load_tree(conn: Connection, root_id: str) -> list[OrderNode]:
    """Every order of the lineage rooted at ``root_id``, parents before children."""
    rows = conn.execute(select(t.orders).where(t.orders.c.root_id == root_id)
                        .order_by(t.orders.c.level, t.orders.c.id)).mappings().all()
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    pays: dict[str, list[Any]] = {}
    for r in conn.execute(select(t.payments).where(t.payments.c.order_id.in_(ids))
                          .order_by(t.payments.c.order_id, t.payments.c.seq)).mappings():
        pays.setdefault(r["order_id"], []).append(r)
    its: dict[str, list[Item]] = {}
    for r in conn.execute(select(t.items).where(t.items.c.order_id.in_(ids))
                          .order_by(t.items.c.order_id, t.items.c.seq)).mappings():
        amounts = {k: int(r[k]) for k in (*BASE_KEYS, *TAIL_KEYS)}
        amounts.update({m: int(v) for m, v in r["payments"].items()})
        its.setdefault(r["order_id"], []).append(Item(
            r["line_id"], r["sku"], int(r["quantity"]), r["component_of"], amounts,
            {k: int(v) for k, v in r["discounts"].items()}))
    acts: dict[str, list[Activity]] = {}
    for r in conn.execute(select(t.activities).where(t.activities.c.order_id.in_(ids))
                          .order_by(t.activities.c.order_id, t.activities.c.seq)).mappings():
        acts.setdefault(r["order_id"], []).append(Activity(
            r["activity_id"], r["kind"], None if r["amount"] is None else int(r["amount"]),
            r["lines"], list(r["trigger_lines"]), list(r["gift_lines"])))
    out = []
    for r in rows:
        plan = pays.get(r["id"], [])
        amounts = {k: int(r[k]) for k in (*BASE_KEYS, *TAIL_KEYS)}
        amounts.update({p["method"]: int(p["amount"]) for p in plan})
        out.append(OrderNode(
            id=r["id"], root_id=r["root_id"], parent_id=r["parent_id"], level=int(r["level"]),
            kind=r["kind"], status=r["status"], currency=r["currency"],
            exponent=int(r["exponent"]), methods=tuple(p["method"] for p in plan),
            amounts=amounts, items=its.get(r["id"], []), activities=acts.get(r["id"], []),
            invoiced=tuple(p["method"] for p in plan if p["invoiced"]),
            warehouse=r["warehouse"], warehouses=list(r["warehouses"]), merchant=r["merchant"],
            temperature=r["temperature"], handling=r["handling"],
            delivery_hours=r["delivery_hours"], reasons=list(r["reasons"]),
            version=int(r["version"]),
        ))
    return out
