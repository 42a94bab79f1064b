"""The split request (CONTRACT.md): order, catalog, warehouses, rules and options.

Field names are the public contract's. Every model forbids unknown fields, so a
misspelled option is an error rather than a silently ignored setting. Checks that need
more than one field (unknown SKUs, payments that must add up, ...) live in
:mod:`ordersplit.models.validate`, which names the offending field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ordersplit.models.currency import parse_decimal

Money = Annotated[Decimal, BeforeValidator(parse_decimal)]
"""A decimal amount in major units ("12.50"); its precision is checked against the currency."""

Temperature = Literal["ambient", "chilled", "frozen"]
SolverName = Literal[
    "auto", "cpsat", "milp", "milp_cbc", "scarce", "ladder", "pigeonhole", "combination", "greedy"
]
"""``milp`` is HiGHS; ``milp_cbc`` a direct PuLP/CBC model (kept as a baseline)."""
ObjectiveTerm = Literal["children", "delivery", "cost"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Line(_Strict):
    """One order line: a SKU, a quantity and its price."""

    id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0, strict=True)
    unit_price: Money
    discount: Money = Decimal(0)
    """The line's own discount, total for the line."""


class Payment(_Strict):
    """One method of the payment plan (cash, coupon, points, gift_card, or any other name)."""

    method: str = Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    amount: Money


class Activity(_Strict):
    """A promotion: an order-level ``discount`` over ``lines``, or a ``gift`` with linked lines."""

    id: str = Field(min_length=1)
    kind: Literal["discount", "gift"]
    amount: Money | None = None
    lines: list[str] | None = None
    trigger_lines: list[str] = Field(default_factory=list)
    gift_lines: list[str] = Field(default_factory=list)


class Order(_Strict):
    """The paid parent order."""

    id: str = Field(min_length=1)
    currency: str = Field(min_length=3, max_length=3)
    destination: str = Field(min_length=1)
    preference: Literal["fewest_children", "fastest"] = "fewest_children"
    backorder: Literal["split", "wait"] = "split"
    lines: list[Line] = Field(min_length=1)
    shipping_fee: Money = Decimal(0)
    payments: list[Payment] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)


class Component(_Strict):
    """One entry of a bundle's bill of materials."""

    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0, strict=True)


class CatalogItem(_Strict):
    """What the rules need to know about a SKU."""

    merchant: str = "default"
    temperature: Temperature = "ambient"
    handling: str = "standard"
    bulky: bool = False
    cross_border: bool = False
    offline_store: bool = False
    tax_rate: Money = Decimal(0)
    components: list[Component] | None = None


class Warehouse(_Strict):
    """A place that ships: a warehouse, a drop-ship supplier or a store."""

    id: str = Field(min_length=1)
    kind: Literal["warehouse", "supplier", "store"] = "warehouse"
    stock: dict[str, Annotated[int, Field(ge=0, strict=True)]] = Field(default_factory=dict)
    delivery_hours: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    child_cost: Money = Decimal(0)


class Rules(_Strict):
    """Which split rules apply (DOMAIN.md); all on by default."""

    merchant: bool = True
    warehouse: bool = True
    handling: bool = True
    temperature: bool = True
    bulky: bool = True
    stock: bool = True
    offline_store: bool = True
    bundle: bool = True
    cross_border: bool = True


class Options(_Strict):
    """How to solve: backend, objective order, time budget, money settings."""

    solver: SolverName = "auto"
    time_limit_ms: int = Field(default=200, gt=0, le=3_600_000)
    objective: list[ObjectiveTerm] | None = None
    """Lexicographic objective; ``None`` means children then delivery (delivery first
    when ``order.preference`` is ``fastest``)."""
    invoice_methods: list[str] = Field(default_factory=lambda: ["cash"])
    shipping_fee: Literal["proportional", "first_child"] = "proportional"
    """How the shipping fee is shared over shipment children."""
    seed: int = Field(default=0, ge=0)
    work_limit: int | None = Field(default=None, gt=0)
    """A deterministic work budget for the exact search: when set, the split's plan does
    not depend on wall time (the same request, the same plan under any load); the batch's
    ``--deterministic`` mode sets it on every per-order split."""

    @field_validator("objective")
    @classmethod
    def _distinct_terms(cls, value: list[ObjectiveTerm] | None) -> list[ObjectiveTerm] | None:
        if value is not None:
            if not value:
                raise ValueError("objective needs at least one of children, delivery, cost")
            if len(set(value)) != len(value):
                raise ValueError("objective lists a term twice")
        return value


class SplitRequest(_Strict):
    """A whole split request: the order and the world it is split against."""

    order: Order
    catalog: dict[str, CatalogItem]
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
