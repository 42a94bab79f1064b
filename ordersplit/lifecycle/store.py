"""The order store: every split, re-split and status change as one transaction.

SQLite (a file, no set-up) by default, PostgreSQL by URL (``postgresql+psycopg://...``).
Concurrency: an order is read ``FOR UPDATE`` (PostgreSQL) or inside ``BEGIN IMMEDIATE``
(SQLite, which serializes writers), and every status change also checks and bumps the
``version`` column, so two concurrent re-splits of one child never both succeed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from ordersplit.api import split as split_request
from ordersplit.errors import OrderSplitError
from ordersplit.lifecycle import replay, rows
from ordersplit.lifecycle import schema as t
from ordersplit.lifecycle.codec import plan_nodes
from ordersplit.lifecycle.errors import (
    ConflictError,
    IdempotencyError,
    LifecycleError,
    TransitionError,
    UnknownOrderError,
)
from ordersplit.lifecycle.links import (
    CANCEL,
    HOLD,
    GiftPolicy,
    LinkedAction,
    actions_for,
    linked_ids,
)
from ordersplit.lifecycle.nodes import OrderNode
from ordersplit.lifecycle.replay import Answer, Attempt, Record
from ordersplit.lifecycle.resplit import (
    Stock,
    free_stock,
    reported_short,
    resplit_child,
    short_note,
)
from ordersplit.lifecycle.rows import load_tree, now
from ordersplit.lifecycle.stats import By, OrderStats, order_stats
from ordersplit.lifecycle.status import (
    CANCELLED,
    HELD,
    REJECTED,
    RELEASABLE,
    SPLIT,
    SUPERSEDED,
    check_transition,
)
from ordersplit.lifecycle.supersede import (
    INSERTED,
    KEPT,
    REPLACED,
    UNCHANGED,
    BatchWrite,
    StoredOrder,
    live_children,
    movable,
    next_generation,
    order_json,
    read_batch_orders,
    read_changes,
    read_plans,
    renamed,
    same_children,
)
from ordersplit.models.plan import Plan
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import parse_request

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///ordersplit.db"
WRITE = "ordersplit_write"
"""Execution option marking a connection that will write (SQLite: ``BEGIN IMMEDIATE``)."""
URL_ENV = "ORDERSPLIT_STORE"
"""Environment variable holding the store URL when none is given."""


def request_hash(request: SplitRequest) -> str:
    """SHA-256 of the request's canonical JSON: the same request, the same hash.

    Unset optional fields (``None``) are left out, so a later release that adds an
    optional field does not change the hash of a request that does not use it.
    """
    text = json.dumps(request.model_dump(mode="json", exclude_none=True), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Saved:
    """The stored plan of an order, and whether this call stored it."""

    plan: Plan
    created: bool


@dataclass(frozen=True)
class CancelOutcome:
    """A cancellation or rejection: the refund and what linked orders need."""

    order_id: str
    status: str
    refund: dict[str, str]
    """Per payment method: exactly the order's allocated amount."""
    refund_total: str
    linked: list[LinkedAction]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class StatusChange:
    """One row of the status history."""

    order_id: str
    from_status: str | None
    to_status: str
    at: str
    note: str | None


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # writers take the lock up front: one at a time, and no read-to-write upgrade
        # deadlock; readers (WAL) go on reading the last committed state meanwhile
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open (and by default create the tables of) the store at ``url``.

    ``url`` defaults to ``$ORDERSPLIT_STORE``, else ``sqlite:///ordersplit.db``. A bare
    ``postgresql://`` URL is served by psycopg 3.
    """
    url = url or os.environ.get(URL_ENV) or DEFAULT_URL
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    sqlite = url.startswith("sqlite")
    store = Store(_sqlite_engine(url) if sqlite else create_engine(url, pool_pre_ping=True))
    if create:
        t.metadata.create_all(store.engine)
    return store


class Store:
    """Orders and their lifecycle in a SQL database (see :func:`open_store`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction: committed at the end, rolled back on any error."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # -- reading -------------------------------------------------------------------

    def _locked(self, conn: Connection, order_id: str) -> RowMapping:
        row = conn.execute(select(t.orders).where(t.orders.c.id == order_id)
                           .with_for_update()).mappings().first()
        if row is None:
            raise UnknownOrderError("no such order in the store", order_id=order_id)
        return row

    def tree(self, order_id: str) -> list[OrderNode]:
        """The whole lineage ``order_id`` belongs to (root first)."""
        with self.engine.connect() as conn:
            root = conn.execute(select(t.orders.c.root_id).where(t.orders.c.id == order_id)
                                ).scalar()
            if root is None:
                raise UnknownOrderError("no such order in the store", order_id=order_id)
            return load_tree(conn, root)

    def order(self, order_id: str) -> OrderNode:
        """One stored order."""
        return next(o for o in self.tree(order_id) if o.id == order_id)

    def plan(self, order_id: str) -> Plan:
        """The stored plan of an order that was split (a root, or a re-split child)."""
        with self.engine.connect() as conn:
            text = conn.execute(select(t.orders.c.plan_json).where(t.orders.c.id == order_id)
                                ).scalar()
        if text is None:
            raise UnknownOrderError("no split plan stored for this order", order_id=order_id)
        return Plan.model_validate_json(text)

    def history(self, order_id: str) -> list[StatusChange]:
        """The status history of one order, oldest first."""
        h = t.status_history
        with self.engine.connect() as conn:
            rows = conn.execute(select(h).where(h.c.order_id == order_id).order_by(h.c.id))
            return [StatusChange(r.order_id, r.from_status, r.to_status, r.at.isoformat(),
                                 r.note) for r in rows]

    def linked(self, order_id: str) -> list[str]:
        """Ids of the orders linked to ``order_id`` through gift activities."""
        tree = self.tree(order_id)
        return linked_ids(tree[0], tree, order_id)

    def stats(self, by: By = "parent") -> list[OrderStats]:
        """Valid-order count and average order value per currency, by parent or child."""
        with self.engine.connect() as conn:
            roots = conn.execute(select(t.orders.c.id).where(t.orders.c.level == 1)
                                 .order_by(t.orders.c.id)).scalars().all()
            trees = [load_tree(conn, r) for r in roots]
        return order_stats(trees, by)

    def row_counts(self) -> dict[str, int]:
        """Rows per table (for monitoring and tests)."""
        with self.engine.connect() as conn:
            return {tab.name: int(conn.execute(select(func.count()).select_from(tab)).scalar()
                                  or 0) for tab in t.ALL_TABLES}

    # -- writing -------------------------------------------------------------------

    def split(self, request: SplitRequest | Mapping[str, Any] | str | bytes) -> Saved:
        """Split and store an order; the stored plan if this exact request was split before."""
        req = parse_request(request)
        digest = request_hash(req)
        with self.engine.connect() as conn:
            stored = conn.execute(select(t.orders.c.request_hash).where(
                t.orders.c.id == req.order.id)).scalar()
        if stored is not None:
            return self._existing(req.order.id, digest)
        return self.save_split(req, split_request(req))

    def save_split(self, request: SplitRequest | Mapping[str, Any] | str | bytes,
                   plan: Plan, record: Record[Saved] | None = None) -> Saved:
        """Store a parent and its children in one transaction (idempotent).

        The same order id with the same request returns the stored plan and writes
        nothing; a different request for a stored order id raises
        :class:`IdempotencyError`. ``record``: the service request's idempotency record,
        written in the same transaction when the order is stored.
        """
        req = parse_request(request)
        digest = request_hash(req)
        nodes = plan_nodes(req, plan)
        try:
            with self._write() as conn:
                if record is not None:
                    replay.check(conn, record.attempt)
                row = conn.execute(select(t.orders.c.request_hash, t.orders.c.level).where(
                    t.orders.c.id == req.order.id)).first()
                if row is None:
                    self._insert_plan(conn, req, plan, "split", nodes)
                    if record is not None:
                        replay.record(conn, record, Saved(plan, True))
        except IntegrityError:  # a concurrent save of the same order won
            log.info("order %s stored concurrently; checking it is the same", req.order.id)
            return self._existing(req.order.id, digest)
        if row is not None:
            return self._existing(req.order.id, digest, row.request_hash, row.level)
        log.info("stored order %s with %d children", req.order.id, len(nodes) - 1)
        return Saved(plan, True)

    def _existing(self, order_id: str, digest: str, stored: str | None = None,
                  level: int | None = None) -> Saved:
        if stored is None:
            with self.engine.connect() as conn:
                row = conn.execute(select(t.orders.c.request_hash, t.orders.c.level).where(
                    t.orders.c.id == order_id)).first()
            if row is None:
                raise ConflictError("the order vanished while being stored", order_id=order_id)
            stored, level = row.request_hash, row.level
        if level != 1:
            raise IdempotencyError("this id is a stored child order, not a parent",
                                   order_id=order_id)
        if stored != digest:
            raise IdempotencyError("already split from a different request (same order id, "
                                   "different request hash)", order_id=order_id)
        return Saved(self.plan(order_id), False)

    def _bump(self, conn: Connection, row: RowMapping | Mapping[str, Any], status: str,
              note: str | None, plan_json: str | None = None) -> None:
        check_transition(row["id"], row["level"], row["status"], status)
        values: dict[str, Any] = {"status": status, "version": row["version"] + 1,
                                  "updated_at": now()}
        if plan_json is not None:
            values["plan_json"] = plan_json
        done = conn.execute(update(t.orders).where(
            t.orders.c.id == row["id"], t.orders.c.version == row["version"]).values(**values))
        if done.rowcount != 1:
            raise ConflictError("changed by another transaction; retry", order_id=row["id"])
        rows.insert_status(conn, row["id"], row["status"], status, note)

    def set_status(self, order_id: str, status: str, note: str | None = None) -> None:
        """Move an order along the status machine (e.g. ``in_warehouse``, ``shipped``,
        or ``held`` to stop it by hand)."""
        if status in (CANCELLED, REJECTED, SPLIT, SUPERSEDED):
            raise LifecycleError(f"use cancel(), reject(), resplit() or a batch for {status}",
                                 order_id=order_id)
        with self._write() as conn:
            row = self._locked(conn, order_id)
            if row["status"] == HELD and status != HELD:
                raise TransitionError("a held order leaves hold only by release() or cancel()",
                                      order_id=order_id)
            self._bump(conn, row, status, note)

    def release(self, order_id: str, note: str | None = None,
                record: Record[tuple[str, str]] | None = None) -> str:
        """Release a held order back to the status it had before the hold; returns it.

        ``record``: the service request's idempotency record, written in that transaction.
        """
        h = t.status_history
        with self._write() as conn:
            if record is not None:
                replay.check(conn, record.attempt)
            row = self._locked(conn, order_id)
            if row["status"] != HELD:
                raise TransitionError(f"only a held order can be released (it is "
                                      f"{row['status']})", order_id=order_id)
            back = conn.execute(select(h.c.from_status).where(
                h.c.order_id == order_id, h.c.to_status == HELD).order_by(h.c.id.desc())
                .limit(1)).scalar()
            if back not in RELEASABLE:  # pragma: no cover - only reachable by hand-edited rows
                raise ConflictError(f"held from {back!r}, which it cannot return to",
                                    order_id=order_id)
            self._bump(conn, row, back, note or "released")
            if record is not None:
                replay.record(conn, record, (order_id, str(back)))
        log.info("released %s to %s", order_id, back)
        return str(back)

    def resplit(self, child_id: str, shortage: Mapping[str, int],
                stock: Stock | None = None, record: Record[Plan] | None = None) -> Plan:
        """Re-split a child the warehouse is short for; returns the grandchildren's plan.

        ``shortage``: units per SKU the child's warehouse cannot ship after all; that
        warehouse's stock of the SKU becomes what it can still ship (the child's units
        less the shortage), and stays so for later re-splits of the tree (read back from
        the re-split's status-history note). ``stock``: a fresh snapshot of units per
        warehouse and SKU, used as given; by default the root request's snapshot less
        what the tree's other live orders hold. One transaction: the child becomes ``split``, the
        grandchildren (level 3) are stored with the child's money shared out exactly.
        ``record``: the service request's idempotency record, written in that transaction.
        """
        with self._write() as conn:
            if record is not None:
                replay.check(conn, record.attempt)
            row = self._locked(conn, child_id)
            tree = load_tree(conn, row["root_id"])
            root, child = tree[0], next(o for o in tree if o.id == child_id)
            text = conn.execute(select(t.orders.c.request_json).where(
                t.orders.c.id == root.id)).scalar()
            request = SplitRequest.model_validate_json(text or "")
            current = stock if stock is not None else free_stock(
                request, tree, child_id, reported_short(tree, self._short_notes(conn, tree)))
            done = resplit_child(request, root, child, shortage, current,
                                 fresh=stock is not None)
            everyone = [o for o in tree if o.id != child_id] + done.grandchildren
            plan = done.plan.model_copy(update={"children": [
                gc.model_copy(update={"linked_children": linked_ids(root, everyone, gc.id)})
                for gc in done.plan.children]})
            self._bump(conn, row, SPLIT, short_note(shortage), plan_json=plan.model_dump_json())
            for node in done.grandchildren:
                rows.insert_node(conn, node, note=f"grandchild of {child_id}")
            if record is not None:
                replay.record(conn, record, plan)
        log.info("re-split %s into %d grandchildren", child_id, len(done.grandchildren))
        return plan

    @staticmethod
    def _short_notes(conn: Connection, tree: list[OrderNode]) -> dict[str, str]:
        """The re-split notes of the tree's re-split children, by order id."""
        h = t.status_history
        ids = [o.id for o in tree if o.level == 2 and o.status == SPLIT]
        if not ids:
            return {}
        found = conn.execute(select(h.c.order_id, h.c.note).where(
            h.c.order_id.in_(ids), h.c.to_status == SPLIT))
        return {r.order_id: r.note or "" for r in found}

    def cancel(self, order_id: str, note: str | None = None, *, gifts: GiftPolicy = "hold",
               record: Record[CancelOutcome] | None = None) -> CancelOutcome:
        """Cancel a child or grandchild that has not shipped; refund and linked actions.

        Its unshipped linked gift children are held (``gifts="cancel"``: cancelled) in
        the same transaction. ``record``: the service request's idempotency record,
        written in that transaction.
        """
        return self._end(order_id, CANCELLED, note, gifts, record)

    def reject(self, order_id: str, note: str | None = None, *, gifts: GiftPolicy = "hold",
               record: Record[CancelOutcome] | None = None) -> CancelOutcome:
        """The customer rejected a shipped order; refund, linked actions, gift cascade."""
        return self._end(order_id, REJECTED, note, gifts, record)

    def _end(self, order_id: str, status: str, note: str | None, gifts: GiftPolicy,
             record: Record[CancelOutcome] | None) -> CancelOutcome:
        if gifts not in (HOLD, CANCEL):
            raise LifecycleError(f"gifts must be 'hold' or 'cancel', got {gifts!r}",
                                 order_id=order_id)
        with self._write() as conn:
            if record is not None:
                replay.check(conn, record.attempt)
            row = self._locked(conn, order_id)
            tree = load_tree(conn, row["root_id"])
            me = next(o for o in tree if o.id == order_id)
            check_transition(order_id, me.level, me.status, status)
            actions = actions_for(tree[0], tree, order_id, gifts)
            detail = json.dumps({"note": note, "linked": [asdict(a) for a in actions]})
            self._bump(conn, row, status, detail)
            actions = [self._cascade(conn, tree, a, f"linked gift of {status} {order_id}")
                       for a in actions]
            refund = {m: me.fmt(me.amounts[m]) for m in me.methods}
            outcome = CancelOutcome(order_id, status, refund, me.fmt(me.paid), actions)
            if record is not None:
                replay.record(conn, record, outcome)
        log.info("%s %s; %d linked orders", status, order_id, len(actions))
        return outcome

    def _cascade(self, conn: Connection, tree: list[OrderNode], action: LinkedAction,
                 note: str) -> LinkedAction:
        """Hold or cancel one linked gift order inside the trigger's transaction."""
        if action.action not in (HOLD, CANCEL):
            return action
        target = HELD if action.action == HOLD else CANCELLED
        self._bump(conn, self._locked(conn, action.order_id), target, note)
        if target == HELD:
            return action
        gift = next(o for o in tree if o.id == action.order_id)
        return replace(action, refund={m: gift.fmt(gift.amounts[m]) for m in gift.methods})

    # -- idempotency records (the service's durable replays) ----------------------

    def replayed(self, attempt: Attempt) -> Answer | None:
        """The answer committed for ``attempt``'s key, if any (see :mod:`.replay`)."""
        return replay.lookup(self.engine, attempt)

    def revoke(self, attempt: Attempt) -> Answer | None:
        """Give up on ``attempt``; its committed answer if it committed first."""
        return replay.revoke(self._write, attempt)

    # -- batch write-back (see :mod:`ordersplit.lifecycle.supersede`) ---------------

    def batch_orders(self, batch_id: str, order_ids: Sequence[str]) -> dict[str, StoredOrder]:
        """The stored orders among ``order_ids``: movable or not, what their live children
        hold, and what ``batch_id`` already wrote for them."""
        with self.engine.connect() as conn:
            return read_batch_orders(conn, batch_id, order_ids)

    def batch_plans(self, order_ids: Sequence[str]
                    ) -> dict[str, tuple[str, str, dict[str, str]]]:
        """``order_id -> (request JSON, plan JSON, {child id: status})`` of stored orders."""
        with self.engine.connect() as conn:
            return read_plans(conn, order_ids)

    def batch_changes(self, batch_id: str, order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The changes rows ``batch_id`` wrote, by order id."""
        with self.engine.connect() as conn:
            return read_changes(conn, batch_id, order_ids)

    def write_batch_plan(self, batch_id: str, request: SplitRequest, plan: Plan,
                         change: Mapping[str, Any]) -> BatchWrite:
        """Apply a batch's plan to one order, in one transaction (see
        :meth:`write_batch_plans`); raises the order's error."""
        [out] = self.write_batch_plans(batch_id, [(request, plan, change)])
        if isinstance(out, OrderSplitError):
            raise out
        return out

    def write_batch_plans(self, batch_id: str,
                          items: Sequence[tuple[SplitRequest, Plan, Mapping[str, Any]]]
                          ) -> list[BatchWrite | OrderSplitError]:
        """Apply a batch's plans to a chunk of orders in one transaction, each order in a
        savepoint of its own (an order that fails is rolled back alone and its error
        returned in its place); idempotent per batch id and order.

        A new order is stored (``inserted``). A stored order whose children are all
        pending and differ from the plan gets them ``superseded`` and the plan's
        children stored as a new generation (``replaced``); the same children are
        ``unchanged``; a released child keeps the stored plan (``kept``). ``change`` is
        the batch's changes row; the stored one adds ``store_action``, ``superseded``
        and ``superseded_by``. A stored order with a different ``order`` gets an
        :class:`IdempotencyError`.
        """
        out: list[BatchWrite | OrderSplitError] = []
        with self._write() as conn:
            for request, plan, change in items:
                try:
                    with conn.begin_nested():
                        out.append(self._apply_batch_plan(conn, batch_id, request, plan,
                                                          change))
                except OrderSplitError as exc:
                    out.append(exc)
        return out

    def _apply_batch_plan(self, conn: Connection, batch_id: str, request: SplitRequest,
                          plan: Plan, change: Mapping[str, Any]) -> BatchWrite:
        oid = request.order.id
        bw = t.batch_writes
        done = conn.execute(select(bw.c.action, bw.c.change).where(
            bw.c.batch_id == batch_id, bw.c.order_id == oid)).first()
        if done is not None:
            text = conn.execute(select(t.orders.c.plan_json).where(
                t.orders.c.id == oid)).scalar()
            return BatchWrite(done.action, Plan.model_validate_json(text or ""),
                              dict(done.change))
        root = conn.execute(select(t.orders).where(t.orders.c.id == oid)
                            .with_for_update()).mappings().first()
        old: list[str] = []
        stored = plan
        if root is None:
            action = INSERTED
            self._insert_plan(conn, request, plan, f"batch {batch_id}", batched=True)
        else:
            action, stored, old = self._replan(conn, root, request, plan, batch_id)
        new = [c.id for c in stored.children] if action in (INSERTED, REPLACED) else []
        row = dict(change)
        if action == KEPT:  # released meanwhile: the stored plan stays, nothing changed
            row.update({k[:-len("before")] + "after": v for k, v in change.items()
                        if k.endswith("_before")})
            row.update(changed_warehouse=False, changed_children=False)
        row.update(store_action=action, superseded=";".join(old),
                   superseded_by=";".join(new))
        row = json.loads(json.dumps(row, default=_plain))
        conn.execute(insert(bw).values(batch_id=batch_id, order_id=oid, action=action,
                                       change=row, at=now()))
        log.debug("batch %s: order %s %s", batch_id, oid, action)
        return BatchWrite(action, stored, row)

    def _insert_plan(self, conn: Connection, request: SplitRequest, plan: Plan,
                     note: str, nodes: list[OrderNode] | None = None,
                     batched: bool = False) -> None:
        """Store a parent (with its request and plan) and its children (``batched``:
        one statement per table)."""
        nodes = plan_nodes(request, plan) if nodes is None else nodes
        tail = "" if note == "split" else f", {note}"
        root = {"request_hash": request_hash(request), "request_json": request.model_dump_json(),
                "plan_json": plan.model_dump_json()}
        extra = [root] + [{}] * (len(nodes) - 1)
        notes = [note] + [f"child of {request.order.id}{tail}"] * (len(nodes) - 1)
        if batched:
            rows.insert_nodes(conn, nodes, extra, notes)
            return
        for node, more, text in zip(nodes, extra, notes, strict=True):
            rows.insert_node(conn, node, **more, note=text)

    def _replan(self, conn: Connection, root: RowMapping, request: SplitRequest, plan: Plan,
                batch_id: str) -> tuple[str, Plan, list[str]]:
        """Supersede ``root``'s pending children by ``plan``'s (see
        :meth:`write_batch_plan`); ``(action, stored plan, superseded ids)``."""
        oid = root["id"]
        if root["level"] != 1:
            raise IdempotencyError("this id is a stored child order, not a parent",
                                   order_id=oid)
        stored_request = json.loads(root["request_json"] or "{}")
        if order_json(stored_request.get("order", {})) != order_json(request.order):
            raise IdempotencyError("the stored order differs from the batch's order (same "
                                   "order id, different lines, payments or amounts)",
                                   order_id=oid)
        current = Plan.model_validate_json(root["plan_json"] or "")
        tree = load_tree(conn, oid)
        live = live_children(tree)
        if not movable((o.level, o.status) for o in tree if o.level >= 2):
            return KEPT, current, []
        if same_children(live, plan):
            return UNCHANGED, current, []
        new_plan = renamed(plan, next_generation(tree))
        nodes = plan_nodes(request, new_plan)
        old = [o.id for o in live]
        new = [n.id for n in nodes[1:]]
        note = json.dumps({"batch_id": batch_id, "superseded_by": new})
        for child in live:
            self._bump(conn, {"id": child.id, "level": child.level, "status": child.status,
                              "version": child.version}, SUPERSEDED, note)
        made = json.dumps({"batch_id": batch_id, "replaces": old})
        rows.insert_nodes(conn, nodes[1:], [{}] * len(new), [made] * len(new))
        done = conn.execute(update(t.orders).where(
            t.orders.c.id == oid, t.orders.c.version == root["version"]).values(
            plan_json=new_plan.model_dump_json(), version=root["version"] + 1,
            updated_at=now()))
        if done.rowcount != 1:
            raise ConflictError("changed by another transaction; retry", order_id=oid)
        rows.insert_status(conn, oid, root["status"], root["status"],
                           json.dumps({"batch_id": batch_id, "replanned": new}))
        return REPLACED, new_plan, old


def _plain(value: Any) -> Any:
    """numpy scalars in a changes row as plain JSON values."""
    return value.item() if hasattr(value, "item") else str(value)
