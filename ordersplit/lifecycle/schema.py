"""The store's tables (SQLAlchemy Core, portable between SQLite and PostgreSQL).

The four order tables of an order management system - master (``orders``), items,
payment plan, activities - for parents, children and grandchildren alike, the lineage
on the master (``parent_id``, ``root_id``, ``level``) and a status history with
timestamps; ``batch_writes`` records what each batch re-optimization did to each order
(one row per batch id and order, written in the order's transaction). Money is integer
minor units (``BIGINT``); ``orders.version`` is the
optimistic-lock column every status change bumps.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = 160
"""Longest order id stored (a root id plus two ``-n`` suffixes)."""

orders = Table(
    "orders", metadata,
    Column("id", String(ID), primary_key=True),
    Column("root_id", String(ID), nullable=False, index=True),
    Column("parent_id", String(ID), ForeignKey("orders.id"), index=True),
    Column("level", SmallInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("version", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("exponent", SmallInteger, nullable=False),
    Column("warehouse", String(ID)),
    Column("warehouses", JSON, nullable=False),
    Column("merchant", String(ID)),
    Column("temperature", String(16)),
    Column("handling", String(ID)),
    Column("delivery_hours", Float),
    Column("reasons", JSON, nullable=False),
    Column("goods", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("shipping_fee", BigInteger, nullable=False),
    Column("invoice", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("request_hash", String(64)),
    Column("request_json", Text),
    Column("plan_json", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("level BETWEEN 1 AND 3", name="ck_orders_level"),
    CheckConstraint("(level = 1) = (parent_id IS NULL)", name="ck_orders_parent"),
)

items = Table(
    "order_items", metadata,
    Column("order_id", String(ID), ForeignKey("orders.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("line_id", String(ID), nullable=False),
    Column("sku", String(ID), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("component_of", String(ID)),
    Column("goods", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("shipping_fee", BigInteger, nullable=False),
    Column("invoice", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("payments", JSON, nullable=False),
    Column("discounts", JSON, nullable=False),
)

payments = Table(
    "order_payments", metadata,
    Column("order_id", String(ID), ForeignKey("orders.id"), primary_key=True),
    Column("method", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("invoiced", Boolean, nullable=False),
)

activities = Table(
    "order_activities", metadata,
    Column("order_id", String(ID), ForeignKey("orders.id"), primary_key=True),
    Column("activity_id", String(ID), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger),
    Column("lines", JSON),
    Column("trigger_lines", JSON, nullable=False),
    Column("gift_lines", JSON, nullable=False),
)

status_history = Table(
    "order_status_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("from_status", String(24)),
    Column("to_status", String(24), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
)

idempotency = Table(
    "idempotency_records", metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("endpoint", String(32), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("token", String(32)),
    Column("revoked", JSON, nullable=False),
    Column("status", SmallInteger),
    Column("body", Text),
    Column("headers", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("state IN ('done', 'failed')", name="ck_idempotency_state"),
)
"""One row per idempotency key of a mutating service request: the answer (``done``),
written in the same transaction as the effect, or the attempts a timeout revoked
(``failed``); see :mod:`ordersplit.lifecycle.replay`."""

batch_writes = Table(
    "batch_writes", metadata,
    Column("batch_id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("change", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
"""``action``: ``inserted``, ``replaced``, ``unchanged`` or ``kept`` (released children);
``change``: the batch's changes-table row for the order."""

ALL_TABLES = (orders, items, payments, activities, status_history, idempotency,
              batch_writes)
