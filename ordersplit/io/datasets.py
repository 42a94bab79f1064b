"""Readers for the public data shipped in the repository's ``data/`` (see its README.md).

Three sets are read here, each into plain pandas DataFrames with the source's own column
names (nothing renamed, nothing dropped):

- ``olist_sample/``: Olist Brazilian e-commerce (orders, items, payments, products,
  sellers, customers); source ``cab-g/bravida-analytics-case``.
- ``instacart_sample/``: Instacart market basket (orders, order products, products,
  aisles, departments); source ``billyrohh/instacart_dataset``.
- ``ipmof_network/``: two retailers' fulfilment networks (region -> RDC/FDC, SKU weights,
  lane cost coefficients); source ``Junyaokk/IPMOF``.

The data directory is ``$ORDERSPLIT_DATA`` when set, otherwise the repository's own
``data/`` (next to the ``ordersplit`` package of an editable install or a clone, or in the
working directory). Nothing outside the repository is searched.

This module only reads; turning the data into split requests is the benchmark's job
(:mod:`ordersplit.bench.olist`), so data flows one way: io -> bench.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd

log = logging.getLogger(__name__)

OlistTable = Literal["orders", "order_items", "order_payments", "products", "sellers", "customers"]
InstacartTable = Literal["orders", "order_products__prior", "products", "aisles", "departments"]
IpmofTable = Literal["region_info", "sku_info", "trans_info"]

DATA_ENV = "ORDERSPLIT_DATA"
DATA_SETS = ("orlib_scp", "olist_sample", "instacart_sample", "ipmof_network")
"""The folders of a data directory; a ``data/`` holding none of them is not ours."""

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
"""``data/`` of the repository this package was loaded from (a clone or editable install)."""


def _candidates() -> Iterator[Path]:
    env = os.environ.get(DATA_ENV)
    if env:
        yield Path(env)
        return
    yield REPO_DATA
    yield Path.cwd().resolve() / "data"


def _is_data_dir(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_dir() for name in DATA_SETS)


def find_data_dir() -> Path | None:
    """The data directory, or ``None`` when it cannot be found."""
    for cand in _candidates():
        if _is_data_dir(cand):
            return cand
    return None


def data_dir(path: str | Path | None = None) -> Path:
    """``path`` if given, else :func:`find_data_dir`; raises ``FileNotFoundError`` if absent."""
    found = Path(path) if path is not None else find_data_dir()
    if found is None or not found.is_dir():
        raise FileNotFoundError(
            f"data directory not found: run from a clone of the repository (its data/) "
            f"or set {DATA_ENV}"
        )
    return found


@lru_cache(maxsize=64)
def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(str(path))
    return pd.read_csv(path)


def read_olist(table: OlistTable, root: str | Path | None = None) -> pd.DataFrame:
    """One Olist table, e.g. ``read_olist("order_items")`` (cached; do not mutate)."""
    return _read_csv(data_dir(root) / "olist_sample" / f"olist_{table}_dataset.csv")


def read_instacart(table: InstacartTable, root: str | Path | None = None) -> pd.DataFrame:
    """One Instacart table, e.g. ``read_instacart("departments")`` (cached; do not mutate)."""
    return _read_csv(data_dir(root) / "instacart_sample" / f"{table}.csv")


def read_ipmof(
    table: IpmofTable, retailer: int = 2, root: str | Path | None = None
) -> pd.DataFrame:
    """One IPMOF network table of ``retailer`` 1 or 2 (cached; do not mutate)."""
    return _read_csv(data_dir(root) / "ipmof_network" / f"retailer{retailer}" / f"{table}.csv")


# --------------------------------------------------------------------------- Olist conventions

OLIST_PAYMENT_METHODS: dict[str, str] = {
    "credit_card": "cash",
    "voucher": "coupon",
    "boleto": "boleto",
    "debit_card": "debit_card",
    "not_defined": "cash",
}
"""Olist ``payment_type`` -> contract payment method."""

BULKY_WEIGHT_G = 30_000
BULKY_SIDE_CM = 100


def bulky_mask(products: pd.DataFrame) -> pd.Series:
    """Olist products heavier than 30 kg or with a side over 100 cm (ship as bulky)."""
    dims = products[["product_length_cm", "product_height_cm", "product_width_cm"]]
    return (products["product_weight_g"] > BULKY_WEIGHT_G) | (dims.max(axis=1) > BULKY_SIDE_CM)
