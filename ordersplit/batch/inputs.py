"""A validated batch: the world, one template per good order, an error row per bad one.

Built from contract requests sharing one list of warehouses (the JSON form, and what
the table reader produces), or from a benchmark scenario's network. Bad order data is
reported per order (:class:`OrderError`); the other orders go on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from ordersplit.batch.model import OrderTemplate, World, make_template
from ordersplit.errors import RequestError
from ordersplit.models.request import Warehouse
from ordersplit.models.validate import json_path, parse_request
from ordersplit.solver.problem import IntArray

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderError:
    """Why an order has no plan: its id, the field, the message (the contract's error)."""

    order_id: str | None
    position: int
    field: str
    message: str


@dataclass
class BatchInput:
    """Everything :func:`ordersplit.batch.reoptimize` optimizes."""

    world: World
    templates: list[OrderTemplate]
    errors: list[OrderError]
    n_input: int
    """Orders in the input (templates + errors)."""
    current: dict[str, list[tuple[str, str | None, int]]] | None = None
    """Current assignment per order id: ``(line_id, warehouse_id or None, quantity)``."""
    settings: dict[str, Any] = field(default_factory=dict)
    reserved: dict[str, IntArray] = field(default_factory=dict)
    """Current reservations as stock views by order id (the store's children); these
    win over ``current``."""

    def reserved_views(self) -> list[IntArray | None] | None:
        """Each order's current reservation as a stock view (``None``: no current plan)."""
        if self.current is None and not self.reserved:
            return None
        loc_index = {loc.id: w for w, loc in enumerate(self.world.locations)}
        out: list[IntArray | None] = []
        for tpl in self.templates:
            if tpl.order_id in self.reserved:
                out.append(self.reserved[tpl.order_id])
                continue
            rows = None if self.current is None else self.current.get(tpl.order_id)
            if rows is None:
                out.append(None)
                continue
            col = {s: j for j, s in enumerate(tpl.skus)}
            lines = {ln.id: ln for ln in tpl.request.order.lines}
            view = np.zeros((self.world.n_locations, tpl.cols.size), dtype=np.int64)
            for line_id, wid, qty in rows:
                if wid is None or line_id not in lines or wid not in loc_index:
                    continue
                line = lines[line_id]
                comps = tpl.request.catalog[line.sku].components
                for sku, per in [(c.sku, c.quantity) for c in comps] if comps else [(line.sku, 1)]:
                    view[loc_index[wid], col[sku]] += qty * per
            out.append(np.minimum(view, tpl.demand[None, :]))
        return out


def world_from_warehouses(warehouses: Sequence[Mapping[str, Any]]) -> World:
    """The world of a list of contract ``warehouses`` (raises :class:`RequestError`)."""
    locs: list[Warehouse] = []
    skus: dict[str, int] = {}
    for w, raw in enumerate(warehouses):
        try:
            wh = Warehouse.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = json_path(("warehouses", w, *first.get("loc", ())))
            raise RequestError(str(first.get("msg", "invalid")), field=field) from None
        for sku in wh.stock:
            skus.setdefault(sku, len(skus))
        locs.append(wh)
    ids = [loc.id for loc in locs]
    if len(set(ids)) != len(ids):
        raise RequestError("duplicate warehouse id", field="warehouses")
    stock = np.zeros((len(locs), len(skus)), dtype=np.int64)
    for w, wh in enumerate(locs):
        for sku, units in wh.stock.items():
            stock[w, skus[sku]] = units
    bare = tuple(wh.model_copy(update={"stock": {}}) for wh in locs)
    return World(bare, tuple(skus), stock)


def templates_from_requests(world: World, requests: Iterable[Mapping[str, Any]]
                            ) -> tuple[list[OrderTemplate], list[OrderError], int]:
    """Validate each order (without warehouses) into a template, or an error row."""
    sku_index = world.sku_index()
    templates: list[OrderTemplate] = []
    errors: list[OrderError] = []
    seen: set[str] = set()
    n = 0
    for pos, raw in enumerate(requests):
        n += 1
        data = dict(raw)
        data["warehouses"] = []
        try:
            req = parse_request(data)
            if req.order.id in seen:
                raise RequestError(f"duplicate order id {req.order.id!r} in the batch",
                                   field="order.id", order_id=req.order.id)
            seen.add(req.order.id)
            templates.append(make_template(len(templates), req, sku_index, pos))
        except RequestError as exc:
            oid = exc.order_id or _raw_id(raw)
            errors.append(OrderError(oid, pos, exc.field, exc.message))
    return templates, errors, n


def _raw_id(raw: Mapping[str, Any]) -> str | None:
    order = raw.get("order")
    if isinstance(order, Mapping) and order.get("id") is not None:
        return str(order["id"])
    return None


def batch_from_requests(requests: Sequence[Mapping[str, Any]], warehouses: Sequence[Mapping[str, Any]]
                        | None = None) -> BatchInput:
    """A batch from contract requests; ``warehouses`` default to the first request's."""
    if warehouses is None:
        if not requests:
            raise RequestError("an empty batch names no warehouses", field="")
        warehouses = requests[0].get("warehouses") or []
    world = world_from_warehouses(warehouses)
    templates, errors, n = templates_from_requests(world, requests)
    return BatchInput(world, templates, errors, n)


def batch_from_json(data: Any) -> BatchInput:
    """The JSON form: a list of requests sharing warehouses, or ``{"requests": [...],
    "warehouses": [...], "current": {order_id: [[line_id, warehouse_id, qty], ...]}}``."""
    if isinstance(data, list):
        return batch_from_requests(data)
    if isinstance(data, Mapping) and isinstance(data.get("requests"), list):
        batch = batch_from_requests(data["requests"], data.get("warehouses"))
        current = data.get("current")
        if isinstance(current, Mapping):
            batch.current = {str(k): [(str(r[0]), None if r[1] in (None, "") else str(r[1]),
                                       int(r[2])) for r in v] for k, v in current.items()}
        return batch
    if isinstance(data, Mapping) and "order" in data:
        return batch_from_requests([data])
    raise RequestError("a batch is a list of requests or {\"requests\": [...]}", field="")
