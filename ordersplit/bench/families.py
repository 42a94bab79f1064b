"""The split-engine benchmark families: stock shapes x sizes x rules (issue 13).

A *family* fixes the shape of quantities and stock; a *size* fixes lines x warehouses
(``10x30``, ``30x100``, ``100x300``); *rules* is ``plain`` (one shipping group: one
merchant, ambient, standard goods) or ``rules`` (every rule has work to do:
merchants, temperature zones, bulky lines, bundles, offline-store lines with two
stores, cross-border goods and back-orders, some with ``backorder: wait``).

- ``uniform``: today's family, quantity 1, stock density 0.2, geometric depth 5.
- ``partial``: quantities 1-3, 20 % of lines 4-12; stocked cells (density 0.2) hold
  5-200 units, or 1-3 units for 15 % of them, so a warehouse often holds part of a line.
- ``thin``: every cell holds 0-4 units (uniform), quantities 1-3.
- ``default``: the data-shaped ``default`` preset (Olist quantities, its stock) at the
  given size.

Every family puts fewest children first (``fastest_share`` 0): the benchmark compares
child counts against proven optima.
"""

from __future__ import annotations

from typing import Any

from ordersplit.bench.scenario import ScenarioConfig

FAMILIES = ("uniform", "partial", "thin", "default")
SIZES = ("10x30", "30x100", "100x300")
RULES = ("plain", "rules")

_SHAPES: dict[str, dict[str, Any]] = {
    "uniform": {},
    "partial": {"quantity_range": (1, 3), "large_quantity_share": 0.2,
                "large_quantity_range": (4, 12), "stock_range": (5, 200),
                "thin_stock_share": 0.15, "thin_stock_range": (1, 3)},
    "thin": {"quantity_range": (1, 3), "stock_density": 1.0, "stock_range": (0, 4)},
}  # fmt: skip

_ALL_RULES: dict[str, Any] = {
    "single_group": False, "n_stores": 2, "offline_store_share": 0.05, "bulky_share": 0.05,
    "bundle_share": 0.05, "cross_border_share": 0.05, "grocery_share": 0.3,
    "multi_merchant_share": 0.2, "backorder_wait_share": 0.05,
}  # fmt: skip
"""The ``rules`` variant: enough special goods that each rule fires in some orders."""


def parse_size(size: str) -> tuple[int, int]:
    """``"30x100"`` -> (30, 100) (lines, warehouses)."""
    try:
        lines, warehouses = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like 10x30, got {size!r}") from None
    return lines, warehouses


def family_config(family: str, size: str, *, rules: str = "plain", n_orders: int = 50,
                  seed: int = 2026) -> ScenarioConfig:
    """The scenario of one (family, size, rules) cell."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {FAMILIES}")
    if rules not in RULES:
        raise ValueError(f"rules must be one of {RULES}, got {rules!r}")
    lines, warehouses = parse_size(size)
    common: dict[str, Any] = {"n_orders": n_orders, "seed": seed, "fastest_share": 0.0}
    if family == "default":
        cfg = ScenarioConfig.preset("default", lines_per_order=lines, n_warehouses=warehouses,
                                    **common)
        if rules == "plain":
            return cfg.replace(single_group=True, backorder_wait_share=0.0)
        return cfg
    cfg = ScenarioConfig.uniform(lines, warehouses, backorder_wait_share=0.0, **common,
                                 **_SHAPES[family])
    return cfg.replace(**_ALL_RULES) if rules == "rules" else cfg
