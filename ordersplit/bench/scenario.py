"""Seeded generator of realistic split requests (CONTRACT.md JSON dicts).

Usage::

    from ordersplit.bench.scenario import ScenarioConfig, generate_orders
    requests = generate_orders(ScenarioConfig.preset("default", n_orders=500, seed=7))
    raw = generate_orders(ScenarioConfig.uniform(lines=30, warehouses=100, n_orders=50))

Every request passes :func:`ordersplit.models.validate.parse_request`. The output is a
pure function of the config (``seed`` included): same config, identical dicts.

Structure
=========

A scenario is one *network* (:func:`ordersplit.bench.network.generate_network`: a
catalogue of ``n_skus`` SKUs, ``n_warehouses`` warehouses, ``n_suppliers`` drop-ship
suppliers, ``n_stores`` stores, with a stock matrix) shared by ``n_orders`` orders. Each
request carries its order, the catalogue restricted to the SKUs the order uses plus
bundle components, and every location with its stock restricted to those SKUs (so a
"10 lines x 30 warehouses" request has exactly 30 warehouses).

Mapping from the shipped data (the repository's ``data/``) to generated fields
==============================================================================

Statistics are read once (:func:`ordersplit.bench.shapes.load_shapes`); if the data
directory is missing, a warning is logged and a frozen copy of the same statistics
(:data:`ordersplit.bench.shapes.FALLBACK`) is used, so the shapes do not change.

Olist (``olist_sample``, multi-seller marketplace, BRL):

- ``order_items``: distinct ``product_id`` per ``order_id`` -> lines per order of a
  *general* basket (P(1) = 97 %, P(2) = 2.7 %, ...; pmf capped at 10); item rows per
  ``(order_id, product_id)`` -> ``quantity`` of a line (P(1) = 93 %, P(2) = 5 %, ...,
  capped at 6).
- ``order_items.price`` -> SKU ``unit_price``: inverse-CDF over 21 quantiles (2.90 ..
  4799 BRL, median 78.90), times the currency scale
  (:data:`ordersplit.bench.network.PRICE_SCALE`, e.g. CNY 1.4, USD 0.2, JPY 28), rounded
  to the currency's minor unit. Grocery SKUs (no price in Instacart) take 0.15 x that.
  Bundles cost 0.9 x the sum of their components.
- ``order_items.freight_value`` -> ``order.shipping_fee``: one draw (quantiles, median
  16.32 BRL, times the currency scale) per unit of every non-gift line, summed (Olist
  has one item row, with its own freight, per unit).
- ``order_items.seller_id``: distinct sellers per order -> number of merchants in an
  order (P(>1) = 0.96 %, the default ``multi_merchant_share``; 2 or 3 merchants in the
  Olist ratio 69:2). As in Olist only baskets of 2+ lines span merchants, so the share
  is applied conditionally on that (the overall rate stays ``multi_merchant_share``).
  Merchants are ``self`` (the platform, ``self_share`` of the SKUs) and ``M001``..
  (the rest, sized 1/rank like Olist's long tail of sellers); a merchant is picked in
  proportion to its SKUs' popularity, preferring merchants that can fill the basket.
  Gift lines come from the trigger line's merchant, bundles are single-merchant.
- ``order_payments.payment_type`` -> the set of payment methods of an order, sampled
  from the Olist plans' frequencies (cash 74 %, boleto 19 %, coupon only 2.5 %,
  cash + coupon 2.5 %, debit card 1.5 %), mapped ``credit_card -> cash``,
  ``voucher -> coupon``, ``boleto -> boleto``, ``debit_card -> debit_card``,
  ``not_defined -> cash``; repeated methods collapse into one. In mixed plans the
  coupon pays the Olist voucher share (quantiles of voucher / total, median 72 %).
  ``points`` (``points_share`` of orders, 1-10 % of the payable) and ``gift_card``
  (``gift_card_share``, 10-50 %) are added from CONTRACT.md's methods. The primary
  method pays the rest, so payments add up *exactly* to the payable.
- ``products``: ``product_weight_g`` > 30 kg or longest side > 100 cm -> ``bulky``
  (0.84 % of products; default ``bulky_share`` among general SKUs).
- ``customers.customer_state`` frequencies (SP 42 %, RJ 14 %, MG 11 %, ...) -> the
  weights of ``order.destination`` over the regions, most popular first.

Instacart (``instacart_sample``, grocery):

- lines per order -> lines per order of a *grocery* basket (mean 10, up to 54; pmf
  capped at 60). A basket is grocery with probability ``grocery_share`` and then draws
  grocery SKUs only (a ``grocery_share`` of the catalogue is grocery).
- ``departments.department`` of ordered products -> ``temperature`` of grocery SKUs:
  ``frozen`` -> frozen (7.1 % of lines, default ``frozen_share``); ``dairy eggs``,
  ``meat seafood``, ``deli``, ``produce`` -> chilled (51.6 %, ``chilled_share``); all
  other departments -> ambient. General SKUs are ambient. Tax rate 0.09 for grocery,
  0.13 otherwise.

IPMOF (``ipmof_network``, retailer 2: 14 regions, one RDC and one FDC):

- ``region_info.region_id`` -> region names (``Region001``..``Region014`` for
  ``regions <= 14``, else ``R001``..). Warehouses are numbered ``RDC001``.. (the first
  ``rdc_share``) then ``FDC001``..; warehouse ``i`` has home region ``i mod regions``
  (several warehouses per region once ``n_warehouses`` > regions).
- ``trans_info`` fulfilment lanes (``coef``, ``intercept``; cost = intercept + coef x
  kg) and ``sku_info.sku_weight`` median (1.66 kg) -> ``delivery_hours``:
  ``hours = 6 + 1.5 x (intercept + coef x 1.66)`` (monotone in lane cost). An FDC uses
  its home region's FDC lane for its home region, and the destination's RDC lane + 12 h
  elsewhere; an RDC uses the destination's RDC lane (+6 h outside its home region);
  both add 0-6 h of per-warehouse jitter. Suppliers: RDC lane + 24 h + 0-12 h. Stores:
  4 h to their home region, 72 h elsewhere. ``"*"`` = slowest region + 24 h.
- lane ``intercept`` (the fixed part of the lane cost) -> ``child_cost``: an FDC's home
  FDC intercept, an RDC's home RDC intercept, suppliers 1.5 x the mean RDC intercept,
  stores 0.5 x their home FDC intercept (times the currency scale).

Not in the data (assumptions, all configurable): stock (``stock_density``: each
warehouse stocks a SKU independently with this probability; ``stock_depth``: units are
geometric with this mean, or uniform in ``stock_range`` with a ``thin_stock_share`` of
cells in ``thin_stock_range``; the benchmark families of
:mod:`ordersplit.bench.families` use that); quantities (``quantity_range`` with a
``large_quantity_share`` in ``large_quantity_range``, instead of Olist's); popularity
(SKU weight ``rank ** -zipf_a`` over a random rank; lines drawn without replacement);
only ``cold_chain_share`` of the warehouses (at least one) stock chilled/frozen SKUs;
suppliers (``kind: supplier``) each hold ``supplier_skus`` general SKUs of one
third-party merchant, stocked nowhere else (drop-ship), deep stock; stores (``kind:
store``) stock the ``offline_store`` SKUs (80 %) and some ambient SKUs; bundles are 2-3
plain SKUs (quantity 1-2) of the same merchant and temperature; ``luxury_share`` of
general SKUs have ``handling: luxury``; ``cross_border_share`` of SKUs are cross-border;
line discounts (5-20 % of the line, ``line_discount_share`` of lines); a discount
activity (``discount_activity_share`` of orders, 3-15 % of the covered lines' net goods,
all lines or a random subset); a gift activity (``gift_share``: one extra line at price
0, a popular SKU of the trigger line's merchant, triggered by that line); ``preference:
fastest`` (``fastest_share``); ``backorder: wait`` (``backorder_wait_share``).

Presets
=======

- ``default``: realistic, as above (30 warehouses, 2,000 SKUs, 20 merchants, 5
  suppliers, 4 stores, 14 regions, density 0.35, depth 8).
- ``scarce``: like ``default`` with ``stock_density=0.08`` and ``stock_depth=1.5``:
  many lines have one or no source, back-orders are common.
- ``uniform``: fixed size for raw solver benchmarks: exactly ``lines_per_order`` lines
  (default 10) of quantity 1 and exactly ``n_warehouses`` warehouses (default 30), no
  suppliers, stores or gifts; with ``single_group=True`` (the preset's default) every
  SKU is ``self``/ambient/standard, not bulky/cross-border/offline, no bundles: one
  shipping group per order. Density 0.2, depth 5. Build it with
  :meth:`ScenarioConfig.uniform` (``10 x 30``, ``30 x 100``, ``100 x 300``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ordersplit.bench.baskets import (
    GumbelPool,
    choice_cdf,
    choice_index,
    payment_plan,
    sample_pmf,
    top_k,
)
from ordersplit.bench.network import PRICE_SCALE, Network, generate_network, location_dicts
from ordersplit.bench.shapes import Shapes, load_shapes, sample_quantiles
from ordersplit.models.currency import currency_exponent, format_minor

RULE_NAMES = (
    "merchant", "warehouse", "handling", "temperature", "bulky", "stock", "offline_store",
    "bundle", "cross_border",
)  # fmt: skip

_SHARES = (
    "rdc_share", "cold_chain_share", "stock_density", "grocery_share", "frozen_share",
    "chilled_share", "bulky_share", "cross_border_share", "luxury_share", "bundle_share",
    "offline_store_share", "multi_merchant_share", "self_share", "line_discount_share",
    "discount_activity_share", "gift_share", "points_share", "gift_card_share",
    "fastest_share", "backorder_wait_share", "large_quantity_share", "thin_stock_share",
)  # fmt: skip


@dataclass(frozen=True)
class ScenarioConfig:
    """Everything that shapes a scenario; the output is a pure function of it.

    Shares are probabilities in [0, 1]; ``None`` means "from the data" (see the module
    docstring for each one's source).
    """

    n_orders: int = 1000
    lines_per_order: int | Literal["realistic"] = "realistic"
    """Fixed line count, or ``"realistic"``: Olist (general) / Instacart (grocery) pmf."""
    quantity: int | Literal["realistic"] = "realistic"
    """Fixed quantity per line, or ``"realistic"``: Olist units per product."""
    quantity_range: tuple[int, int] | None = None
    """Quantities drawn uniformly in ``[lo, hi]`` (overrides ``quantity``)."""
    large_quantity_share: float = 0.0
    """With ``quantity_range``: this share of lines draws from ``large_quantity_range``."""
    large_quantity_range: tuple[int, int] = (4, 12)
    n_warehouses: int = 30
    n_skus: int = 2000
    n_merchants: int = 20
    n_suppliers: int = 5
    supplier_skus: int = 10
    n_stores: int = 4
    regions: int | tuple[str, ...] = 14
    rdc_share: float = 0.25
    cold_chain_share: float = 0.5
    stock_density: float = 0.35
    stock_depth: float = 8.0
    stock_range: tuple[int, int] | None = None
    """Units of a stocked warehouse cell drawn uniformly in ``[lo, hi]`` (instead of
    geometric with mean ``stock_depth``); a draw of 0 leaves the cell empty."""
    thin_stock_share: float = 0.0
    """With ``stock_range``: this share of stocked cells draws from ``thin_stock_range``."""
    thin_stock_range: tuple[int, int] = (1, 3)
    zipf_a: float = 1.0
    disabled_rules: frozenset[str] = frozenset()
    """Rules switched off in every request (``rules`` names of CONTRACT.md)."""
    grocery_share: float = 0.3
    frozen_share: float | None = None
    """Share of grocery SKUs that are frozen (``None``: Instacart, 7.1 %)."""
    chilled_share: float | None = None
    """Share of grocery SKUs that are chilled (``None``: Instacart, 51.6 %)."""
    bulky_share: float | None = None
    """Share of general SKUs that are bulky (``None``: Olist, 0.84 %)."""
    cross_border_share: float = 0.03
    luxury_share: float = 0.02
    bundle_share: float = 0.03
    offline_store_share: float = 0.02
    multi_merchant_share: float | None = None
    """Share of orders with 2-3 merchants (``None``: Olist, 0.96 %)."""
    self_share: float = 0.5
    line_discount_share: float = 0.1
    discount_activity_share: float = 0.2
    gift_share: float = 0.1
    points_share: float = 0.05
    gift_card_share: float = 0.03
    fastest_share: float = 0.1
    backorder_wait_share: float = 0.05
    currency: str = "CNY"
    single_group: bool = False
    """One shipping group per order: one merchant, ambient, standard, no special goods."""
    options: dict[str, Any] = field(default_factory=lambda: {"solver": "auto"}, hash=False)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _SHARES:
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in ("n_orders", "n_warehouses", "n_suppliers", "n_stores", "supplier_skus"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.n_skus < 1 or self.n_merchants < 1:
            raise ValueError("n_skus and n_merchants must be at least 1")
        for name in ("lines_per_order", "quantity"):
            value = getattr(self, name)
            if value != "realistic" and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int or 'realistic'")
        if isinstance(self.lines_per_order, int) and self.lines_per_order > self.n_skus:
            raise ValueError("lines_per_order exceeds n_skus")
        if isinstance(self.regions, int) and self.regions < 1:
            raise ValueError("regions must be at least 1")
        for name in ("quantity_range", "large_quantity_range", "stock_range", "thin_stock_range"):
            lo, hi = getattr(self, name) or (1, 1)
            if not 0 <= lo <= hi or (lo == 0 and "quantity" in name):
                raise ValueError(f"{name} must be (lo, hi) with 0 <= lo <= hi (quantities >= 1)")
        if self.stock_depth <= 0 or self.zipf_a < 0:
            raise ValueError("stock_depth must be positive and zipf_a non-negative")
        unknown = set(self.disabled_rules) - set(RULE_NAMES)
        if unknown:
            raise ValueError(f"unknown rules {sorted(unknown)}")
        currency_exponent(self.currency)  # KeyError on an unknown currency

    def replace(self, **changes: Any) -> ScenarioConfig:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def effective(self) -> ScenarioConfig:
        """The config actually generated: ``single_group`` switches special goods off."""
        if not self.single_group:
            return self
        return self.replace(
            n_merchants=1, n_suppliers=0, n_stores=0, grocery_share=0.0, bulky_share=0.0,
            cross_border_share=0.0, luxury_share=0.0, bundle_share=0.0,
            offline_store_share=0.0, multi_merchant_share=0.0,
        )  # fmt: skip

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ScenarioConfig:
        """A named preset (``default``, ``scarce``, ``uniform``) with ``overrides``."""
        try:
            base = PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}") from None
        return base.replace(**overrides) if overrides else base

    @classmethod
    def uniform(cls, lines: int = 10, warehouses: int = 30, **overrides: Any) -> ScenarioConfig:
        """The fixed-size preset: exactly ``lines`` lines and ``warehouses`` warehouses."""
        return cls.preset("uniform", lines_per_order=lines, n_warehouses=warehouses, **overrides)


PRESETS: dict[str, ScenarioConfig] = {
    "default": ScenarioConfig(),
    "scarce": ScenarioConfig(stock_density=0.08, stock_depth=1.5),
    "uniform": ScenarioConfig(
        lines_per_order=10,
        quantity=1,
        n_warehouses=30,
        n_suppliers=0,
        n_stores=0,
        stock_density=0.2,
        stock_depth=5.0,
        gift_share=0.0,
        single_group=True,
    ),
}
"""Named presets; see the module docstring."""


class _OrderMaker:
    """Draws the orders of one scenario from its network (internal)."""

    def __init__(self, cfg: ScenarioConfig, net: Network, shapes: Shapes) -> None:
        self.cfg = cfg.effective()
        self.net = net
        self.shapes = shapes
        self.exp = net.exponent
        self.scale = PRICE_SCALE.get(self.cfg.currency.upper(), 1.0)
        self.rules = {r: r not in self.cfg.disabled_rules for r in RULE_NAMES}
        self.merchant_pmf = shapes.merchants_per_order or (1.0,)
        multi = self.cfg.multi_merchant_share
        share = 1.0 - self.merchant_pmf[0] if multi is None else multi
        # Only baskets of 2+ lines can span merchants (as in Olist): condition on that.
        self.multi = [share, share]
        if not isinstance(self.cfg.lines_per_order, int):
            for kind, pmf in enumerate((shapes.olist_lines, shapes.instacart_lines)):
                several = 1.0 - (pmf[0] if pmf else 1.0)
                self.multi[kind] = min(1.0, share / several) if several > 0 else 0.0
        plans = shapes.payment_plans or ((("cash",), 1.0),)
        self.plans = [p for p, _ in plans]
        probs = np.array([w for _, w in plans], dtype=float)
        self.plan_p = probs / probs.sum()
        self.plan_cdf = choice_cdf(self.plan_p)
        self.region_cdf = choice_cdf(np.asarray(net.region_weights, dtype=float))
        # per basket type (0 general, 1 grocery): SKU indices per merchant, merchant mass
        self.pools: list[dict[int, np.ndarray]] = []
        self.mass: list[np.ndarray] = []
        self.all_pools: list[np.ndarray] = []
        self.sizes: list[np.ndarray] = []
        self.by_merchant = [np.flatnonzero(net.merchant_of == m) for m in range(len(net.merchants))]
        self.merchant_draws = [GumbelPool(net.log_pop[idx]) for idx in self.by_merchant]
        self.draws: list[dict[int, GumbelPool]] = []
        pop = np.exp(net.log_pop)
        for kind in (False, True):
            by_merchant: dict[int, np.ndarray] = {}
            mass = np.zeros(len(net.merchants))
            for m in range(len(net.merchants)):
                idx = np.flatnonzero((net.grocery == kind) & (net.merchant_of == m))
                if len(idx):
                    by_merchant[m] = idx
                    mass[m] = pop[idx].sum()
            self.pools.append(by_merchant)
            self.draws.append({m: GumbelPool(net.log_pop[idx]) for m, idx in by_merchant.items()})
            self.mass.append(mass)
            self.all_pools.append(np.flatnonzero(net.grocery == kind))
            self.sizes.append(np.array([len(by_merchant.get(m, ())) for m in range(len(mass))]))

    def _skus(self, rng: np.random.Generator, kind: int, n_lines: int) -> list[int]:
        mass = self.mass[kind]
        available = int((mass > 0).sum())
        k = 1
        multi = self.multi[kind]
        if multi > 0 and available > 1 and n_lines > 1 and rng.random() < multi:
            k = min(sample_pmf(rng, self.merchant_pmf, minimum=2), available, n_lines)
        # Prefer merchants that can fill their share of the basket on their own.
        need = -(-n_lines // k)
        sizes = self.sizes[kind]
        eligible = np.where(sizes >= need, mass, 0.0)
        if int((eligible > 0).sum()) < k:
            eligible = mass
        chosen = rng.choice(len(mass), size=k, replace=False, p=eligible / eligible.sum())
        split = np.ones(k, dtype=int) + rng.multinomial(n_lines - k, np.full(k, 1.0 / k))
        out: list[int] = []
        for m, count in zip(chosen, split, strict=True):
            idx = self.pools[kind][int(m)]
            pick = self.draws[kind][int(m)].top_k(rng, int(count))
            out.extend(int(s) for s in idx[pick])
        if len(out) < n_lines:  # a small merchant ran out of SKUs: top up from the others
            pool = self.all_pools[kind]
            rest = pool[~np.isin(pool, out)]
            pick = top_k(rng, self.net.log_pop[rest], n_lines - len(out))
            out.extend(int(s) for s in rest[pick])
        return out

    def make(self, rng: np.random.Generator, number: int) -> dict[str, Any]:
        cfg, net, shapes, exp = self.cfg, self.net, self.shapes, self.exp
        kind = int(bool(self.mass[1].sum() > 0) and rng.random() < cfg.grocery_share)
        if isinstance(cfg.lines_per_order, int):
            n_lines = cfg.lines_per_order
        else:
            pmf = shapes.instacart_lines if kind else shapes.olist_lines
            n_lines = sample_pmf(rng, pmf or (1.0,))
        n_lines = min(n_lines, len(self.all_pools[kind]))
        skus = self._skus(rng, kind, n_lines)
        if cfg.quantity_range is not None:
            qtys = [_draw_quantity(rng, cfg) for _ in skus]
        elif isinstance(cfg.quantity, int):
            qtys = [cfg.quantity] * len(skus)
        else:
            qtys = [sample_pmf(rng, shapes.quantity or (1.0,)) for _ in skus]

        lines: list[dict[str, Any]] = []
        net_goods: list[int] = []
        for i, (s, q) in enumerate(zip(skus, qtys, strict=True)):
            goods = int(net.price[s]) * q
            line: dict[str, Any] = {
                "id": f"L{i + 1}", "sku": net.sku_ids[s], "quantity": q,
                "unit_price": format_minor(int(net.price[s]), exp),
            }  # fmt: skip
            discount = 0
            if cfg.line_discount_share and rng.random() < cfg.line_discount_share:
                discount = int(goods * rng.uniform(0.05, 0.2))
                if discount:
                    line["discount"] = format_minor(discount, exp)
            lines.append(line)
            net_goods.append(goods - discount)

        freight = sample_quantiles(rng, shapes.freight_quantiles or (0.0, 40.0), sum(qtys))
        shipping = int(np.round(freight * self.scale * 10**exp).sum())

        activities: list[dict[str, Any]] = []
        if cfg.gift_share and rng.random() < cfg.gift_share:
            # "Buy A, get B free": B is a popular SKU of A's merchant (any temperature).
            t = int(rng.integers(0, len(lines)))
            merchant = int(net.merchant_of[skus[t]])
            pool = self.by_merchant[merchant]
            taken = np.flatnonzero(np.isin(pool, skus))
            if len(taken) < len(pool):
                gift = int(pool[self.merchant_draws[merchant].top_k(rng, 1, taken)[0]])
                skus.append(gift)
                gid = f"L{len(lines) + 1}"
                lines.append({"id": gid, "sku": net.sku_ids[gift], "quantity": 1,
                              "unit_price": format_minor(0, exp)})  # fmt: skip
                net_goods.append(0)
                activities.append({"id": "GIFT-1", "kind": "gift",
                                   "trigger_lines": [lines[t]["id"]],
                                   "gift_lines": [gid]})  # fmt: skip
        promo = 0
        if cfg.discount_activity_share and rng.random() < cfg.discount_activity_share:
            paid_lines = [i for i, g in enumerate(net_goods) if g > 0]
            if paid_lines:
                covered = paid_lines
                if len(paid_lines) > 1 and rng.random() < 0.5:
                    size = int(rng.integers(1, len(paid_lines) + 1))
                    covered = sorted(rng.choice(paid_lines, size=size, replace=False).tolist())
                base = sum(net_goods[i] for i in covered)
                promo = int(base * rng.uniform(0.03, 0.15))
                if promo:
                    act: dict[str, Any] = {"id": "PROMO-1", "kind": "discount",
                                           "amount": format_minor(promo, exp)}  # fmt: skip
                    if covered != paid_lines or len(paid_lines) != len(lines):
                        act["lines"] = [lines[i]["id"] for i in covered]
                    activities.insert(0, act)

        payable = sum(net_goods) - promo + shipping
        methods = list(self.plans[choice_index(rng, self.plan_cdf)])
        if cfg.points_share and rng.random() < cfg.points_share:
            methods.append("points")
        if cfg.gift_card_share and rng.random() < cfg.gift_card_share:
            methods.append("gift_card")
        plan = payment_plan(rng, payable, methods, shapes.coupon_fraction)

        order: dict[str, Any] = {
            "id": f"P{cfg.seed}-{number:06d}",
            "currency": cfg.currency,
            "destination": net.regions[choice_index(rng, self.region_cdf)],
        }
        if cfg.fastest_share and rng.random() < cfg.fastest_share:
            order["preference"] = "fastest"
        if cfg.backorder_wait_share and rng.random() < cfg.backorder_wait_share:
            order["backorder"] = "wait"
        order["lines"] = lines
        order["shipping_fee"] = format_minor(shipping, exp)
        order["payments"] = [{"method": m, "amount": format_minor(a, exp)} for m, a in plan]
        if activities:
            order["activities"] = activities

        catalog: dict[str, Any] = {}
        for s in dict.fromkeys(skus):
            item = dict(net.items[s])
            if "components" in item:
                item["components"] = [dict(c) for c in item["components"]]
            catalog[net.sku_ids[s]] = item
        cols = net.stock_columns(list(dict.fromkeys(skus)))
        for c in cols:
            sku = net.sku_ids[c]
            if sku not in catalog:
                catalog[sku] = dict(net.items[c])
        warehouses = location_dicts(
            net.locations, [net.sku_ids[c] for c in cols], net.stock[:, cols]
        )
        return {
            "order": order,
            "catalog": catalog,
            "warehouses": warehouses,
            "rules": dict(self.rules),
            "options": dict(cfg.options),
        }


def _draw_quantity(rng: np.random.Generator, cfg: ScenarioConfig) -> int:
    """One line's quantity under ``quantity_range`` / ``large_quantity_*``."""
    assert cfg.quantity_range is not None
    lo, hi = cfg.quantity_range
    if cfg.large_quantity_share and rng.random() < cfg.large_quantity_share:
        lo, hi = cfg.large_quantity_range
    return int(rng.integers(lo, hi + 1))


def iter_orders(config: ScenarioConfig, network: Network | None = None) -> Iterator[dict[str, Any]]:
    """Yield the scenario's requests one by one (same sequence as :func:`generate_orders`)."""
    rng = np.random.default_rng([config.seed, 0])
    net = network if network is not None else generate_network(config, rng)
    maker = _OrderMaker(config, net, load_shapes())
    order_rng = np.random.default_rng([config.seed, 1])
    for i in range(config.n_orders):
        yield maker.make(order_rng, i + 1)


def generate_orders(
    config: ScenarioConfig | str = "default", network: Network | None = None
) -> list[dict[str, Any]]:
    """All ``config.n_orders`` requests of a scenario (a preset name is accepted)."""
    cfg = ScenarioConfig.preset(config) if isinstance(config, str) else config
    return list(iter_orders(cfg, network))


def scenario_network(config: ScenarioConfig) -> Network:
    """The network :func:`generate_orders` uses for ``config`` (same seed, same draw)."""
    return generate_network(config, np.random.default_rng([config.seed, 0]))
