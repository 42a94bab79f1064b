"""``/v1/allocate``: the money of a given assignment of lines to children, nothing solved."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordersplit.errors import RequestError
from ordersplit.models.bounds import Id, Quantity
from ordersplit.models.plan import ChildKind
from ordersplit.models.request import SplitRequest
from ordersplit.models.validate import check_request, validation_error
from ordersplit.money import allocate_plan


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllocateLine(_Strict):
    """Units of one order line that a child carries."""

    line_id: Id
    quantity: Quantity


class AllocateChild(_Strict):
    """One child of the given assignment."""

    id: Id | None = None
    """Defaults to ``{order id}-{n}``."""
    kind: Literal["shipment", "backorder", "store"] = "shipment"
    lines: list[AllocateLine] = Field(min_length=1)


class AllocateRequest(_Strict):
    """A contract request and the children its lines were assigned to."""

    request: SplitRequest
    """The split request (CONTRACT.md) whose money is shared out."""
    children: list[AllocateChild] = Field(min_length=1)


class AllocatedLine(BaseModel):
    """A child line's amounts."""

    line_id: str
    quantity: int
    amounts: dict[str, str]


class AllocatedChild(BaseModel):
    """A child's amounts and its lines'."""

    id: str
    kind: ChildKind
    amounts: dict[str, str]
    lines: list[AllocatedLine]


class Allocation(BaseModel):
    """Every amount shared onto the children: lines add up to children, children to the parent."""

    order_id: str
    parent: dict[str, str]
    children: list[AllocatedChild]


def _prefixed(exc: RequestError, prefix: str) -> RequestError:
    field = f"{prefix}.{exc.field}" if exc.field else prefix
    return RequestError(exc.message, field=field, order_id=exc.order_id)


def parse_allocate(data: Any) -> tuple[SplitRequest, AllocateRequest]:
    """Validate an allocate body; raises :class:`RequestError` naming the field."""
    order_id = None
    if isinstance(data, dict) and isinstance(data.get("request"), dict):
        order = data["request"].get("order")
        if isinstance(order, dict) and isinstance(order.get("id"), str):
            order_id = order["id"]
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object", field="")
    try:
        body = AllocateRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, order_id) from None
    request = body.request
    try:
        check_request(request)
    except RequestError as exc:
        raise _prefixed(exc, "request") from None
    lines = {line.id: line for line in request.order.lines}
    carried = dict.fromkeys(lines, 0)
    ids: set[str] = set()
    for c, child in enumerate(body.children):
        cid = child.id or f"{request.order.id}-{c + 1}"
        if cid in ids:
            raise RequestError(f"duplicate child id {cid!r}", field=f"children[{c}].id",
                               order_id=request.order.id)
        ids.add(cid)
        for j, part in enumerate(child.lines):
            if part.line_id not in lines:
                raise RequestError(f"unknown line id {part.line_id!r}",
                                   field=f"children[{c}].lines[{j}].line_id",
                                   order_id=request.order.id)
            carried[part.line_id] += part.quantity
    for lid, units in carried.items():
        if units != lines[lid].quantity:
            raise RequestError(
                f"line {lid!r}: the children carry {units} of its {lines[lid].quantity} units",
                field="children", order_id=request.order.id)
    return request, body


def allocate(data: Any) -> Allocation:
    """Share the money of ``data['request']`` over ``data['children']``."""
    request, body = parse_allocate(data)
    index = {line.id: i for i, line in enumerate(request.order.lines)}
    part_child: list[int] = []
    part_line: list[int] = []
    part_weight: list[int] = []
    for c, child in enumerate(body.children):
        for part in child.lines:
            part_child.append(c)
            part_line.append(index[part.line_id])
            part_weight.append(part.quantity)
    try:
        money = allocate_plan(request, part_child, part_line, part_weight,
                              [c.kind for c in body.children])
    except ValueError as exc:
        raise RequestError(str(exc), field="children", order_id=request.order.id) from None
    children: list[AllocatedChild] = []
    p = 0
    for c, child in enumerate(body.children):
        out_lines = []
        for part in child.lines:
            out_lines.append(AllocatedLine(line_id=part.line_id, quantity=part.quantity,
                                           amounts=money.format_part(p)))
            p += 1
        children.append(AllocatedChild(id=child.id or f"{request.order.id}-{c + 1}",
                                       kind=child.kind, amounts=money.format_child(c),
                                       lines=out_lines))
    return Allocation(order_id=request.order.id, parent=money.format_parent(), children=children)
