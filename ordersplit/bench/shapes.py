"""Small empirical distributions read once from the shipped data (or built-in fallbacks).

:func:`load_shapes` reads the Olist, Instacart and IPMOF CSVs (via
:mod:`ordersplit.io.datasets`) and reduces them to a :class:`Shapes`: probability mass
functions, quantile tables and a few shares. When the data directory is missing it logs a
warning and returns :data:`FALLBACK`, the same statistics computed from the same files
and frozen into this module (rounded), so generated scenarios keep their shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ordersplit.io import datasets

log = logging.getLogger(__name__)

QUANTILE_LEVELS = tuple(i / 20 for i in range(21))
"""Levels of the quantile tables (0, 5, ..., 100 %); sampling interpolates between them."""

MAX_BASKET = 60

CHILLED_DEPARTMENTS = frozenset({"dairy eggs", "meat seafood", "deli", "produce"})
FROZEN_DEPARTMENTS = frozenset({"frozen"})


@dataclass(frozen=True)
class Lane:
    """One destination region's lanes in an IPMOF network (cost = intercept + coef x kg)."""

    region: str
    fdc_coef: float
    fdc_intercept: float
    rdc_coef: float
    rdc_intercept: float


@dataclass(frozen=True)
class Shapes:
    """Empirical distributions used by the scenario generator."""

    olist_lines: tuple[float, ...]
    """P(distinct products per order = k + 1), Olist ``order_items``."""
    instacart_lines: tuple[float, ...]
    """P(lines per order = k + 1), Instacart ``order_products__prior`` (capped at 60)."""
    quantity: tuple[float, ...]
    """P(units of one product in one order = k + 1), Olist ``order_items``."""
    price_quantiles: tuple[float, ...]
    """Olist ``price`` at :data:`QUANTILE_LEVELS` (BRL)."""
    freight_quantiles: tuple[float, ...]
    """Olist ``freight_value`` per item row at :data:`QUANTILE_LEVELS` (BRL)."""
    payment_plans: tuple[tuple[tuple[str, ...], float], ...]
    """Distinct mapped payment-method sets per order and their shares, Olist payments."""
    coupon_fraction: tuple[float, ...]
    """Share of the payable paid by coupon (voucher) in mixed plans, quantiles."""
    merchants_per_order: tuple[float, ...]
    """P(distinct sellers per order = k + 1), Olist ``order_items``."""
    bulky_share: float
    """Share of Olist products with weight > 30 kg or a side > 100 cm."""
    frozen_share: float
    """Share of Instacart order lines in department ``frozen``."""
    chilled_share: float
    """Share of Instacart order lines in dairy eggs / meat seafood / deli / produce."""
    destination_weights: tuple[float, ...]
    """Olist ``customer_state`` shares, most common first."""
    lanes: tuple[Lane, ...]
    """IPMOF retailer 2 lanes per region (FDC and RDC fulfilment)."""
    sku_weight_kg: float
    """Median IPMOF SKU weight, the reference parcel for lane costs."""
    from_data: bool = True


def _pmf(counts: pd.Series, cap: int) -> tuple[float, ...]:
    values = counts.clip(upper=cap).value_counts().sort_index()
    probs = np.zeros(cap)
    probs[np.asarray(values.index, dtype=int) - 1] = values.to_numpy(dtype=float)
    probs /= probs.sum()
    return tuple(round(float(p), 6) for p in probs)


def _quantiles(values: pd.Series) -> tuple[float, ...]:
    q = np.quantile(values.to_numpy(dtype=float), QUANTILE_LEVELS)
    return tuple(round(float(x), 4) for x in q)


def _from_data() -> Shapes:
    items = datasets.read_olist("order_items")
    per_product = items.groupby(["order_id", "product_id"]).size()
    lines_olist = per_product.groupby(level=0).size()
    sellers = items.groupby("order_id")["seller_id"].nunique()

    pays = datasets.read_olist("order_payments")
    pays = pays.assign(method=pays["payment_type"].map(datasets.OLIST_PAYMENT_METHODS))
    plans = pays.groupby("order_id")["method"].agg(lambda s: "+".join(sorted(set(s))))
    plan_share = plans.value_counts(normalize=True)
    by_order = pays.groupby(["order_id", "method"])["payment_value"].sum().unstack(fill_value=0)
    mixed = by_order[
        (by_order.get("coupon", 0) > 0) & (by_order.drop(columns="coupon") > 0).any(axis=1)
    ]
    frac = (mixed["coupon"] / mixed.sum(axis=1)).clip(0.01, 0.99)

    bulky = datasets.bulky_mask(datasets.read_olist("products"))

    ic_lines = datasets.read_instacart("order_products__prior")
    ic_products = datasets.read_instacart("products")
    depts = datasets.read_instacart("departments")
    joined = ic_lines.merge(ic_products, on="product_id").merge(depts, on="department_id")
    dept_share = joined["department"].value_counts(normalize=True)
    frozen = float(dept_share[dept_share.index.isin(FROZEN_DEPARTMENTS)].sum())
    chilled = float(dept_share[dept_share.index.isin(CHILLED_DEPARTMENTS)].sum())

    customers = datasets.read_olist("customers")
    dest = customers["customer_state"].value_counts(normalize=True)

    trans = datasets.read_ipmof("trans_info", 2)
    region_info = datasets.read_ipmof("region_info", 2)
    fulfil = trans[trans["type"] == "fulfillment"]
    lanes = []
    for _, row in region_info.sort_values("region_id").iterrows():
        fdc = fulfil[(fulfil["from"] == row["fdc_id"]) & (fulfil["to"] == row["region_id"])]
        rdc = fulfil[(fulfil["from"] == row["rdc_id"]) & (fulfil["to"] == row["region_id"])]
        if fdc.empty or rdc.empty:
            continue
        lanes.append(
            Lane(
                str(row["region_id"]),
                float(fdc["coef"].iloc[0]),
                float(fdc["intercept"].iloc[0]),
                float(rdc["coef"].iloc[0]),
                float(rdc["intercept"].iloc[0]),
            )
        )
    weight = float(datasets.read_ipmof("sku_info", 2)["sku_weight"].median())

    return Shapes(
        olist_lines=_pmf(lines_olist, 10),
        instacart_lines=_pmf(ic_lines.groupby("order_id").size(), MAX_BASKET),
        quantity=_pmf(per_product, 6),
        price_quantiles=_quantiles(items["price"]),
        freight_quantiles=_quantiles(items["freight_value"]),
        payment_plans=tuple(
            (tuple(str(k).split("+")), round(float(v), 6)) for k, v in plan_share.items()
        ),
        coupon_fraction=_quantiles(frac),
        merchants_per_order=_pmf(sellers, 3),
        bulky_share=round(float(bulky.mean()), 6),
        frozen_share=round(frozen, 6),
        chilled_share=round(chilled, 6),
        destination_weights=tuple(round(float(x), 6) for x in dest.to_numpy()),
        lanes=tuple(lanes),
        sku_weight_kg=round(weight, 4),
    )


@lru_cache(maxsize=1)
def load_shapes() -> Shapes:
    """The data's shapes (read once), or :data:`FALLBACK` with a warning if data is missing."""
    if datasets.find_data_dir() is None:
        log.warning("data directory not found; scenario generator uses built-in shapes")
        return FALLBACK
    try:
        return _from_data()
    except (FileNotFoundError, KeyError, ValueError) as exc:
        log.warning("could not read the data directory (%s); using built-in shapes", exc)
        return FALLBACK


def sample_quantiles(
    rng: np.random.Generator, quantiles: tuple[float, ...], size: int
) -> np.ndarray:
    """Inverse-CDF samples from a quantile table (linear between the levels)."""
    u = rng.random(size)
    return np.interp(u, QUANTILE_LEVELS, quantiles)


# Frozen copy of _from_data() on data/ (recomputed with `python -m
# ordersplit.bench.shapes`); used when the data directory is missing.
# fmt: off
FALLBACK = Shapes(
    olist_lines=(0.970516, 0.027038, 0.001766, 0.000408, 0.0, 0.0, 0.000272, 0.0, 0.0, 0.0),
    instacart_lines=(
        0.048849, 0.058805, 0.060361, 0.065028, 0.07654, 0.078407, 0.071251, 0.059739, 0.056627,
        0.046049, 0.046982, 0.040448, 0.042004, 0.028625, 0.024891, 0.023024, 0.021157, 0.018979,
        0.020535, 0.013379, 0.01369, 0.014001, 0.010268, 0.007156, 0.007467, 0.009023, 0.0056,
        0.004667, 0.004978, 0.004667, 0.003734, 0.002489, 0.000933, 0.002489, 0.000622, 0.002489,
        0.000311, 0.000622, 0.000311, 0.000933, 0.0, 0.000311, 0.0, 0.0, 0.000311, 0.0, 0.0, 0.0,
        0.0, 0.000311, 0.000311, 0.000311, 0.0, 0.000311, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    ),
    quantity=(0.932027, 0.050486, 0.009335, 0.004076, 0.001972, 0.002104),
    price_quantiles=(
        2.9, 16.9, 22.99, 29.0, 34.9, 39.99, 49.0, 53.9, 59.9, 69.9, 78.9, 89.0, 99.494, 110.0,
        125.0, 140.0, 165.0, 198.94, 259.9, 399.0, 4799.0
    ),
    freight_quantiles=(
        0.0, 7.78, 8.88, 10.96, 12.13, 13.08, 14.08, 14.61, 15.11, 15.66, 16.32, 17.07, 17.95,
        18.66, 19.94, 21.77, 23.912, 27.368, 35.048, 47.658, 262.72
    ),
    payment_plans=(
        (("cash",), 0.740504),
        (("boleto",), 0.194222),
        (("coupon",), 0.025323),
        (("cash", "coupon"), 0.024954),
        (("debit_card",), 0.014997),
    ),
    coupon_fraction=(
        0.026, 0.1332, 0.2116, 0.3105, 0.4332, 0.4749, 0.5559, 0.6013, 0.6443, 0.6882, 0.723,
        0.7424, 0.7852, 0.82, 0.8618, 0.9053, 0.9441, 0.9548, 0.9649, 0.986, 0.99
    ),
    merchants_per_order=(0.990353, 0.009375, 0.000272),
    bulky_share=0.008425,
    frozen_share=0.071384,
    chilled_share=0.515578,
    destination_weights=(
        0.424339, 0.143454, 0.109158, 0.051998, 0.048433, 0.037492, 0.033436, 0.021266, 0.019053,
        0.01598, 0.015857, 0.015489, 0.009588, 0.008359, 0.006638, 0.006146, 0.005286, 0.005286,
        0.004917, 0.004794, 0.003688, 0.00295, 0.002827, 0.000983, 0.000983, 0.00086, 0.000738
    ),
    lanes=(
        Lane("Region001", 3.9, 8.4, 13.6, 13.8),
        Lane("Region002", 2.9, 8.0, 9.2, 22.4),
        Lane("Region003", 9.7, 16.4, 13.6, 13.8),
        Lane("Region004", 4.9, 8.7, 13.6, 13.8),
        Lane("Region005", 1.9, 6.7, 3.9, 8.4),
        Lane("Region006", 9.7, 16.4, 12.7, 14.5),
        Lane("Region007", 9.7, 16.4, 9.2, 22.4),
        Lane("Region008", 3.9, 8.4, 6.3, 10.4),
        Lane("Region009", 4.9, 8.7, 5.8, 8.1),
        Lane("Region010", 7.8, 9.8, 9.7, 10.4),
        Lane("Region011", 7.8, 9.8, 9.2, 22.4),
        Lane("Region012", 1.9, 6.7, 12.7, 14.5),
        Lane("Region013", 7.5, 11.2, 8.2, 22.4),
        Lane("Region014", 2.9, 8.0, 12.7, 14.5),
    ),
    sku_weight_kg=1.6612,
    from_data=False,
)
# fmt: on


if __name__ == "__main__":  # pragma: no cover - maintenance helper
    logging.basicConfig(level=logging.INFO)
    log.info("%r", _from_data())
