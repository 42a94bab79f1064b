"""The shared world of a scenario: catalogue, warehouses, suppliers and stores.

:func:`generate_network` draws, from a :class:`~ordersplit.bench.scenario.ScenarioConfig`
and a numpy generator, everything the orders of one scenario share: SKUs with their
rule attributes, prices and popularity, and the shipping locations with delivery hours,
per-child cost and a stock matrix. The mapping from the real data is documented in
:mod:`ordersplit.bench.scenario`; the delivery-hours mapping is here:

``hours = HOURS_BASE + HOURS_PER_COST * (intercept + coef * w)`` where ``coef`` and
``intercept`` are an IPMOF fulfilment lane's cost coefficients and ``w`` is the median
IPMOF SKU weight (kg). The mapping is monotone in the lane cost (a dearer lane is a
longer one); with the shipped data it gives 21-55 h for FDC lanes and 28-63 h for RDC
lanes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ordersplit.bench.shapes import Lane, Shapes, load_shapes, sample_quantiles
from ordersplit.models.currency import currency_exponent, format_minor

if TYPE_CHECKING:
    from ordersplit.bench.scenario import ScenarioConfig

HOURS_BASE = 6.0
HOURS_PER_COST = 1.5
INTER_REGION_HOURS = 12.0
"""Extra hours when a forward DC ships outside its home region (long-haul lane)."""
OTHER_REGION_HOURS = 24.0
"""The ``"*"`` entry: the slowest named region plus this."""
STORE_LOCAL_HOURS = 4.0
STORE_REMOTE_HOURS = 72.0
SUPPLIER_EXTRA_HOURS = 24.0
GROCERY_PRICE_FACTOR = 0.15
"""Instacart has no prices: grocery SKUs take Olist prices scaled by this factor."""
BUNDLE_PRICE_FACTOR = 0.9

PRICE_SCALE: dict[str, float] = {
    "BRL": 1.0, "CNY": 1.4, "USD": 0.2, "EUR": 0.18, "GBP": 0.16, "JPY": 28.0,
    "KRW": 260.0, "KWD": 0.06, "INR": 16.0,
}  # fmt: skip
"""Olist prices are BRL; amounts are multiplied by this per target currency (default 1)."""

TAX_GROCERY = "0.09"
TAX_GENERAL = "0.13"


def format_money(units: int, exponent: int) -> str:
    """Minor units as the contract's decimal string (alias of ``format_minor``)."""
    return format_minor(units, exponent)


def lane_hours(coef: float, intercept: float, weight_kg: float) -> float:
    """Delivery hours of a lane from its IPMOF cost coefficients (monotone in cost)."""
    return HOURS_BASE + HOURS_PER_COST * (intercept + coef * weight_kg)


@dataclass
class Network:
    """Catalogue and locations shared by every order of a scenario."""

    regions: tuple[str, ...]
    region_weights: np.ndarray
    exponent: int
    sku_ids: list[str]
    items: list[dict[str, Any]]
    """Catalogue entry (contract ``catalog[sku]``) of every SKU."""
    merchants: list[str]
    merchant_of: np.ndarray
    log_pop: np.ndarray
    """Log popularity weight of every SKU (Zipf over a random rank)."""
    grocery: np.ndarray
    price: np.ndarray
    """Unit price of every SKU in minor units."""
    components: dict[int, list[tuple[int, int]]]
    locations: list[dict[str, Any]]
    """Warehouses, suppliers and stores without stock (``id``, ``kind``, hours, cost)."""
    stock: np.ndarray
    """Units per location (rows, same order as ``locations``) and SKU (columns)."""

    def stock_columns(self, skus: Sequence[int]) -> list[int]:
        """The stocked SKUs behind ``skus``: bundles are replaced by their components."""
        out: list[int] = []
        seen: set[int] = set()
        for s in skus:
            for c in [x for x, _ in self.components[s]] if s in self.components else [s]:
                if c not in seen:
                    seen.add(c)
                    out.append(c)
        return out


def location_dicts(
    locations: Sequence[dict[str, Any]], skus: Sequence[str], stock: np.ndarray
) -> list[dict[str, Any]]:
    """Contract ``warehouses`` entries with stock restricted to ``skus`` (``stock`` columns)."""
    rows = stock.tolist()
    out = []
    for loc, row in zip(locations, rows, strict=True):
        entry = dict(loc)
        entry["delivery_hours"] = dict(loc["delivery_hours"])
        entry["stock"] = {s: int(q) for s, q in zip(skus, row, strict=True) if q > 0}
        out.append(entry)
    return out


def region_names(regions: int | tuple[str, ...], shapes: Shapes) -> tuple[str, ...]:
    """Region names: given ones, else the IPMOF region ids (``R001``... beyond those)."""
    if isinstance(regions, tuple):
        return regions
    lanes = [lane.region for lane in shapes.lanes]
    if regions <= len(lanes):
        return tuple(lanes[:regions])
    return tuple(f"R{i + 1:03d}" for i in range(regions))


def _lanes_for(n: int, shapes: Shapes) -> list[Lane]:
    lanes = list(shapes.lanes) or [Lane("R", 4.0, 10.0, 9.0, 14.0)]
    return [lanes[i % len(lanes)] for i in range(n)]


def _hours(value: float) -> int:
    return round(value)


def _money(value: float, exponent: int) -> str:
    return format_minor(max(0, round(value * 10**exponent)), exponent)


def _locations(
    cfg: ScenarioConfig, rng: np.random.Generator, shapes: Shapes, regions: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Warehouses (RDC first, then FDC), drop-ship suppliers, stores; stock comes later."""
    exponent = currency_exponent(cfg.currency)
    scale = PRICE_SCALE.get(cfg.currency.upper(), 1.0)
    lanes = _lanes_for(len(regions), shapes)
    w = shapes.sku_weight_kg or 1.0
    fdc = [lane_hours(lane.fdc_coef, lane.fdc_intercept, w) for lane in lanes]
    rdc = [lane_hours(lane.rdc_coef, lane.rdc_intercept, w) for lane in lanes]
    n_reg = len(regions)
    locations: list[dict[str, Any]] = []
    n_rdc = min(cfg.n_warehouses, max(1, round(cfg.n_warehouses * cfg.rdc_share)))

    def finish(hours: list[float]) -> dict[str, int]:
        out = {r: _hours(h) for r, h in zip(regions, hours, strict=True)}
        out["*"] = _hours(max(hours) + OTHER_REGION_HOURS)
        return out

    for i in range(cfg.n_warehouses):
        home = i % n_reg
        jitter = rng.integers(0, 7, n_reg)
        if i < n_rdc:
            hours = [rdc[d] + (0 if d == home else 6) + jitter[d] for d in range(n_reg)]
            cost = lanes[home].rdc_intercept
            wid = f"RDC{i + 1:03d}"
        else:
            hours = [
                fdc[d] if d == home else rdc[d] + INTER_REGION_HOURS + jitter[d]
                for d in range(n_reg)
            ]
            cost = lanes[home].fdc_intercept
            wid = f"FDC{i + 1:03d}"
        locations.append(
            {"id": wid, "kind": "warehouse", "delivery_hours": finish(hours),
             "child_cost": _money(cost * scale, exponent)}
        )  # fmt: skip
    mean_rdc_cost = float(np.mean([lane.rdc_intercept for lane in lanes]))
    for j in range(cfg.n_suppliers):
        jitter = rng.integers(0, 13, n_reg)
        hours = [rdc[d] + SUPPLIER_EXTRA_HOURS + jitter[d] for d in range(n_reg)]
        locations.append(
            {"id": f"SUP{j + 1:03d}", "kind": "supplier", "delivery_hours": finish(hours),
             "child_cost": _money(1.5 * mean_rdc_cost * scale, exponent)}
        )  # fmt: skip
    for k in range(cfg.n_stores):
        home = k % n_reg
        hours = [STORE_LOCAL_HOURS if d == home else STORE_REMOTE_HOURS for d in range(n_reg)]
        locations.append(
            {"id": f"STORE{k + 1:03d}", "kind": "store", "delivery_hours": finish(hours),
             "child_cost": _money(0.5 * lanes[home].fdc_intercept * scale, exponent)}
        )  # fmt: skip
    return locations


def _cell_units(
    cfg: ScenarioConfig, rng: np.random.Generator, shape: tuple[int, int], depth: float
) -> np.ndarray:
    """Units of every stocked warehouse cell: geometric (mean ``depth``), or uniform in
    ``cfg.stock_range`` with a ``thin_stock_share`` of cells in ``thin_stock_range``."""
    if cfg.stock_range is None:
        return rng.geometric(1.0 / depth, shape)
    lo, hi = cfg.stock_range
    units = rng.integers(lo, hi + 1, shape)
    if cfg.thin_stock_share:
        thin = rng.random(shape) < cfg.thin_stock_share
        tlo, thi = cfg.thin_stock_range
        units = np.where(thin, rng.integers(tlo, thi + 1, shape), units)
    return units


def generate_network(cfg: ScenarioConfig, rng: np.random.Generator) -> Network:
    """Draw the catalogue and the locations (with stock) of a scenario."""
    shapes = load_shapes()
    eff = cfg.effective()
    exponent = currency_exponent(eff.currency)
    scale = PRICE_SCALE.get(eff.currency.upper(), 1.0)
    regions = region_names(eff.regions, shapes)
    weights = np.array(shapes.destination_weights or [1.0], dtype=float)
    if len(weights) < len(regions):
        weights = np.concatenate([weights, np.full(len(regions) - len(weights), weights.min())])
    weights = weights[: len(regions)] / weights[: len(regions)].sum()

    n = eff.n_skus
    sku_ids = [f"SKU{i:05d}" for i in range(n)]
    rank = rng.permutation(n)
    log_pop = -eff.zipf_a * np.log1p(rank.astype(float))

    n_merchants = max(1, eff.n_merchants)
    merchants = ["self"] + [f"M{m:03d}" for m in range(1, n_merchants)]
    if n_merchants > 1:
        others = 1.0 / np.arange(1, n_merchants)
        others = others / others.sum() * (1.0 - eff.self_share)
        mprob = np.concatenate([[eff.self_share], others])
        merchant_of = rng.choice(n_merchants, size=n, p=mprob / mprob.sum())
    else:
        merchant_of = np.zeros(n, dtype=np.int64)

    u = rng.random((8, n))
    grocery = u[0] < eff.grocery_share
    frozen_share = eff.frozen_share if eff.frozen_share is not None else shapes.frozen_share
    chilled_share = eff.chilled_share if eff.chilled_share is not None else shapes.chilled_share
    bulky_share = eff.bulky_share if eff.bulky_share is not None else shapes.bulky_share
    frozen = grocery & (u[1] < frozen_share)
    chilled = grocery & ~frozen & (u[1] < frozen_share + chilled_share)
    bulky = ~grocery & (u[2] < bulky_share)
    luxury = ~grocery & ~bulky & (u[3] < eff.luxury_share)
    cross_border = u[4] < eff.cross_border_share
    offline = (u[5] < eff.offline_store_share) if eff.n_stores > 0 else np.zeros(n, dtype=bool)
    temperature = np.where(frozen, "frozen", np.where(chilled, "chilled", "ambient"))

    price_major = sample_quantiles(rng, shapes.price_quantiles or (1.0, 100.0), n) * scale
    price_major = np.where(grocery, price_major * GROCERY_PRICE_FACTOR, price_major)
    price = np.maximum(1, np.round(price_major * 10**exponent)).astype(np.int64)

    # Drop-ship: each supplier sells a few general SKUs of "its" merchant, stocked only there.
    plain = ~grocery & ~offline & ~bulky
    dropship: list[np.ndarray] = []
    taken = np.zeros(n, dtype=bool)
    for j in range(eff.n_suppliers):
        merchant = 1 + j % (n_merchants - 1) if n_merchants > 1 else 0
        pool = np.flatnonzero(plain & ~taken & (merchant_of == merchant))
        pick = rng.choice(pool, size=min(eff.supplier_skus, len(pool)), replace=False)
        taken[pick] = True
        dropship.append(np.sort(pick))

    # Bundles: a bill of materials over 2-3 plain SKUs of the same merchant and zone.
    components: dict[int, list[tuple[int, int]]] = {}
    simple = ~taken & ~offline & ~bulky & ~luxury & ~cross_border
    is_bundle = simple & (u[6] < eff.bundle_share)
    part_ok = simple & ~is_bundle
    groups: dict[tuple[int, str], np.ndarray] = {}
    for b in np.flatnonzero(is_bundle).tolist():
        key = (int(merchant_of[b]), str(temperature[b]))
        if key not in groups:
            groups[key] = np.flatnonzero(
                part_ok & (merchant_of == key[0]) & (temperature == key[1])
            )
        pool = groups[key]
        size = int(rng.integers(2, 4))
        if len(pool) < size:
            continue
        parts = rng.choice(pool, size=size, replace=False)
        qtys = rng.integers(1, 3, size)
        components[b] = [(int(p), int(q)) for p, q in zip(parts, qtys, strict=True)]
        price[b] = max(1, round(BUNDLE_PRICE_FACTOR * int((price[parts] * qtys).sum())))
    bundle_mask = np.zeros(n, dtype=bool)
    bundle_mask[list(components)] = True

    items: list[dict[str, Any]] = []
    for s in range(n):
        item: dict[str, Any] = {
            "merchant": merchants[int(merchant_of[s])],
            "temperature": str(temperature[s]),
            "tax_rate": TAX_GROCERY if grocery[s] else TAX_GENERAL,
        }
        if luxury[s]:
            item["handling"] = "luxury"
        if bulky[s]:
            item["bulky"] = True
        if cross_border[s]:
            item["cross_border"] = True
        if offline[s]:
            item["offline_store"] = True
        if s in components:
            item["components"] = [{"sku": sku_ids[c], "quantity": q} for c, q in components[s]]
        items.append(item)

    locations = _locations(eff, rng, shapes, regions)
    n_loc = len(locations)
    stock = np.zeros((n_loc, n), dtype=np.int64)
    w = eff.n_warehouses
    depth = max(eff.stock_depth, 1.0)
    if w:
        cold = rng.random(w) < eff.cold_chain_share
        cold[int(rng.integers(0, w))] = True
        has = rng.random((w, n)) < eff.stock_density
        has &= ~(taken | bundle_mask)[None, :]
        has &= cold[:, None] | (temperature == "ambient")[None, :]
        stock[:w] = np.where(has, _cell_units(eff, rng, (w, n), depth), 0)
    for j, pick in enumerate(dropship):
        stock[w + j, pick] = rng.geometric(1.0 / (5 * depth), len(pick))
    base = w + eff.n_suppliers
    for k in range(eff.n_stores):
        has = np.where(offline, rng.random(n) < 0.8, rng.random(n) < eff.stock_density * 0.5)
        has &= (temperature == "ambient") & ~bundle_mask & ~taken
        stock[base + k] = np.where(has, rng.geometric(1.0 / max(depth / 2, 1.0), n), 0)

    return Network(
        regions=regions,
        region_weights=weights,
        exponent=exponent,
        sku_ids=sku_ids,
        items=items,
        merchants=merchants,
        merchant_of=merchant_of,
        log_pop=log_pop,
        grocery=grocery,
        price=price,
        components=components,
        locations=locations,
        stock=stock,
    )
