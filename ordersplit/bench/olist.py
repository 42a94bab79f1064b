"""Real Olist orders as split requests (benchmark inputs).

The orders, items, payments and products come from the shipped Olist sample (read by
:mod:`ordersplit.io.datasets`); the warehouses from the scenario generator's network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from ordersplit.bench.network import format_money, generate_network, location_dicts
from ordersplit.bench.scenario import ScenarioConfig
from ordersplit.io import datasets


def _scale_to(amounts: list[int], total: int) -> list[int]:
    """Integer amounts proportional to ``amounts`` that add up to ``total`` exactly."""
    have = sum(amounts)
    if have <= 0:
        return [total] + [0] * (len(amounts) - 1)
    raw = [a * total for a in amounts]
    out = [r // have for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(amounts)), key=lambda i: (-(raw[i] % have), i))
    for i in order[:rest]:
        out[i] += 1
    return out


def olist_requests(
    n: int,
    seed: int = 0,
    *,
    config: ScenarioConfig | None = None,
    root: str | Path | None = None,
) -> list[dict[str, Any]]:
    """``n`` real Olist orders (sampled with ``seed``) as split requests.

    Mapping, per order:

    - lines: one line per distinct ``(product_id, price)`` of ``order_items``; quantity =
      number of item rows (Olist has one row per unit); ``unit_price`` = ``price``.
    - catalog: ``product_id`` -> ``merchant`` = ``seller_id`` (``"S-"`` + first 8 hex
      digits), ``bulky`` when ``product_weight_g`` > 30 kg or the longest side > 100 cm;
      everything else ambient/standard (Olist is general merchandise).
    - ``shipping_fee`` = sum of ``freight_value`` over the item rows.
    - payments: ``payment_type`` mapped by :data:`OLIST_PAYMENT_METHODS` and summed per
      method; Olist's ``payment_value`` includes instalment interest and rounding, so the
      plan is rescaled proportionally (largest remainder, in cents) to add up exactly to
      the payable = goods + shipping fee. Orders without payments pay all in cash.
    - ``destination`` = the customer's ``customer_state`` (unknown -> ``"*"``-served).
    - warehouses: a network generated from ``config`` (default preset ``"default"``, with
      the regions set to the 14 most common customer states); each product gets its stock
      vector drawn once (``stock_density``/``stock_depth``) so that all orders see the
      same stock for the same product.

    Currency is ``BRL``. Only orders with at least one item are used.
    """
    items = datasets.read_olist("order_items", root)
    pays = datasets.read_olist("order_payments", root)
    orders = datasets.read_olist("orders", root)
    customers = datasets.read_olist("customers", root)
    products = datasets.read_olist("products", root)
    bulky = set(products.loc[datasets.bulky_mask(products), "product_id"].astype(str))
    states = customers["customer_state"].value_counts().index[:14].tolist()
    state_of = orders.merge(customers, on="customer_id", how="left").set_index("order_id")[
        "customer_state"
    ]

    base = config if config is not None else ScenarioConfig.preset("default")
    cfg = base.replace(regions=tuple(str(s) for s in states), currency="BRL", seed=seed)
    rng = np.random.default_rng(seed)
    net = generate_network(cfg, rng)
    warehouses = [loc for loc in net.locations if loc["kind"] == "warehouse"]
    stock_rng = np.random.default_rng([seed, 1])
    stock_of: dict[str, np.ndarray] = {}

    def stock_vector(pid: str) -> np.ndarray:
        if pid not in stock_of:
            has = stock_rng.random(len(warehouses)) < cfg.stock_density
            qty = stock_rng.geometric(1.0 / max(cfg.stock_depth, 1.0), len(warehouses))
            stock_of[pid] = np.where(has, qty, 0)
        return stock_of[pid]

    ids = np.array(sorted(items["order_id"].unique()))
    chosen = rng.choice(ids, size=min(n, len(ids)), replace=False)
    by_order = items[items["order_id"].isin(set(chosen))].groupby("order_id", sort=False)
    pays_by = pays.groupby("order_id")
    out: list[dict[str, Any]] = []
    for oid in chosen:
        rows = by_order.get_group(oid)
        groups = rows.groupby(["product_id", "price"], sort=True)
        lines: list[dict[str, Any]] = []
        catalog: dict[str, dict[str, Any]] = {}
        goods = 0
        for k, (key, grp) in enumerate(groups):
            pid, price = cast(tuple[str, float], key)
            qty = len(grp)
            cents = round(float(price) * 100)
            goods += cents * qty
            lines.append(
                {
                    "id": f"L{k + 1}",
                    "sku": str(pid),
                    "quantity": qty,
                    "unit_price": format_money(cents, 2),
                }
            )
            seller = str(grp["seller_id"].iloc[0])
            item: dict[str, Any] = {"merchant": f"S-{seller[:8]}"}
            if str(pid) in bulky:
                item["bulky"] = True
            catalog[str(pid)] = item
        freight = sum(round(float(f) * 100) for f in rows["freight_value"])
        payable = goods + freight
        per_method: dict[str, int] = {}
        if oid in pays_by.groups:
            for _, p in pays_by.get_group(oid).sort_values("payment_sequential").iterrows():
                method = datasets.OLIST_PAYMENT_METHODS.get(str(p["payment_type"]), "cash")
                per_method[method] = per_method.get(method, 0) + round(
                    float(p["payment_value"]) * 100
                )
        if not per_method:
            per_method = {"cash": payable}
        amounts = _scale_to(list(per_method.values()), payable)
        payments = [
            {"method": m, "amount": format_money(a, 2)}
            for m, a in zip(per_method, amounts, strict=True)
        ]
        dest = state_of.get(oid)
        skus = list(catalog)
        locs = location_dicts(warehouses, skus, np.stack([stock_vector(s) for s in skus], axis=1))
        out.append(
            {
                "order": {
                    "id": f"OL-{str(oid)[:12]}",
                    "currency": "BRL",
                    "destination": str(dest) if isinstance(dest, str) else "unknown",
                    "lines": lines,
                    "shipping_fee": format_money(freight, 2),
                    "payments": payments,
                },
                "catalog": catalog,
                "warehouses": locs,
                "options": dict(cfg.options),
            }
        )
    return out
