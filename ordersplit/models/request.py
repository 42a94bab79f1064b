"""The split request (CONTRACT.md): order, catalog, warehouses, rules and options.

Field names are the public contract's. Every model forbids unknown fields, so a
misspelled option is an error rather than a silently ignored setting. Checks that need
more than one field (unknown SKUs, payments that must add up, ...) live in
:mod:`ordersplit.models.validate`, which names the offending field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ordersplit.models.bounds import (
    MAX_SEED,
    ComponentQuantity,
    Cost,
    Currency,
    Flag,
    Hours,
    Id,
    Method,
    Money,
    Name,
    Quantity,
    Stock,
    StockPrice,
    TaxRate,
    Version,
    Whole,
)

Temperature = Literal["ambient", "chilled", "frozen"]
SolverName = Literal[
    "auto", "cpsat", "milp", "milp_cbc", "scarce", "ladder", "pigeonhole", "combination", "greedy"
]
"""``milp`` is HiGHS; ``milp_cbc`` a direct PuLP/CBC model (kept as a baseline)."""
ObjectiveTerm = Literal["children", "delivery", "cost", "fragments", "stock_value"]
"""``fragments``: (line, child) pieces beyond one per line; the last tie-break unless placed.
``stock_value``: the priced stock a plan uses (``options.stock_prices``); after ``children``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Line(_Strict):
    """One order line: a SKU, a quantity and its price."""

    id: Id
    sku: Id
    quantity: Quantity
    unit_price: Money
    discount: Money = Decimal(0)
    """The line's own discount, total for the line."""


class Payment(_Strict):
    """One method of the payment plan (cash, coupon, points, gift_card, or any other name)."""

    method: Method
    amount: Money


class Activity(_Strict):
    """A promotion: an order-level ``discount`` over ``lines``, or a ``gift`` with linked lines."""

    id: Id
    kind: Literal["discount", "gift"]
    amount: Money | None = None
    lines: list[Id] | None = None
    trigger_lines: list[Id] = Field(default_factory=list)
    gift_lines: list[Id] = Field(default_factory=list)


class Order(_Strict):
    """The paid parent order."""

    id: Id
    currency: Currency
    destination: Name
    preference: Literal["fewest_children", "fastest"] = "fewest_children"
    backorder: Literal["split", "wait"] = "split"
    lines: list[Line] = Field(min_length=1)
    shipping_fee: Money = Decimal(0)
    payments: list[Payment] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)


class Component(_Strict):
    """One entry of a bundle's bill of materials."""

    sku: Id
    quantity: ComponentQuantity


class CatalogItem(_Strict):
    """What the rules need to know about a SKU."""

    merchant: Name = "default"
    temperature: Temperature = "ambient"
    handling: Name = "standard"
    bulky: Flag = False
    cross_border: Flag = False
    offline_store: Flag = False
    tax_rate: TaxRate = Decimal(0)
    components: list[Component] | None = None


class Warehouse(_Strict):
    """A place that ships: a warehouse, a drop-ship supplier or a store."""

    id: Id
    kind: Literal["warehouse", "supplier", "store"] = "warehouse"
    stock: dict[Id, Stock] = Field(default_factory=dict)
    delivery_hours: dict[Name, Hours] = Field(default_factory=dict)
    """Hours per destination; ``*`` is any other destination."""
    child_cost: Cost = Decimal(0)


class Rules(_Strict):
    """Which split rules apply (DOMAIN.md); all on by default."""

    merchant: Flag = True
    warehouse: Flag = True
    handling: Flag = True
    temperature: Flag = True
    bulky: Flag = True
    stock: Flag = True
    offline_store: Flag = True
    bundle: Flag = True
    cross_border: Flag = True


class StockPriceTable(_Strict):
    """``options.stock_prices`` (and the body of the service's ``PUT /v1/prices``):
    prices of stock for the ``stock_value`` objective (issue #17's look-ahead): what
    one unit of a SKU at a warehouse is worth to the rest of the horizon, e.g. the duals
    of :func:`ordersplit.lookahead.prices.price_stock` (whose
    :class:`~ordersplit.lookahead.prices.StockPrices` result this is the wire form of).
    A missing cell prices 0; a warehouse or SKU the request does not use is ignored."""

    version: Version
    """Echoed in the plan (``stock_prices_version``)."""
    prices: dict[Id, dict[Id, StockPrice]]
    """``{warehouse_id: {sku: price}}``; a bundle is priced by its components."""


class Options(_Strict):
    """How to solve: backend, objective order, time budget, money settings."""

    solver: SolverName = "auto"
    time_limit_ms: Annotated[int, Field(ge=1, le=3_600_000, strict=True), Whole] = 200
    objective: list[ObjectiveTerm] | None = Field(
        default=None, json_schema_extra={"minItems": 1, "uniqueItems": True})
    """Lexicographic objective; ``None`` means children then delivery (delivery first
    when ``order.preference`` is ``fastest``). ``fragments`` (lines split over children)
    is appended as the last tie-break when not listed."""
    invoice_methods: list[Method] = Field(default_factory=lambda: ["cash"])
    shipping_fee: Literal["proportional", "first_child"] = "proportional"
    """How the shipping fee is shared over shipment children."""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED, strict=True), Whole] = 0
    work_limit: Annotated[int, Field(ge=1, le=10**12, strict=True), Whole] | None = None
    """A budget of deterministic work units instead of wall time: the plan is then the
    same on any machine and load (``time_limit_ms`` is not enforced). One unit is about a
    microsecond of search on one core; see :mod:`ordersplit.solver.stop`."""
    stock_prices: StockPriceTable | None = None
    """Prices for the ``stock_value`` objective term; required when it is listed (the
    service fills in the prices it holds when a request gives none)."""

    @field_validator("objective")
    @classmethod
    def _distinct_terms(cls, value: list[ObjectiveTerm] | None) -> list[ObjectiveTerm] | None:
        if value is not None:
            if not value:
                raise ValueError(
                    "objective needs at least one of children, delivery, cost, fragments, "
                    "stock_value")
            if len(set(value)) != len(value):
                raise ValueError("objective lists a term twice")
        return value


class SplitRequest(_Strict):
    """A whole split request: the order and the world it is split against."""

    order: Order
    catalog: dict[Id, CatalogItem]
    warehouses: list[Warehouse] = Field(default_factory=list)
    rules: Rules = Field(default_factory=Rules)
    options: Options = Field(default_factory=Options)

    def objective_order(self) -> tuple[ObjectiveTerm, ...]:
        """The lexicographic objective in force for this request."""
        if self.options.objective is not None:
            return tuple(self.options.objective)
        if self.order.preference == "fastest":
            return ("delivery", "children")
        return ("children", "delivery")
