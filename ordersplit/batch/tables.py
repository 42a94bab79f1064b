"""The batch's input tables (CSV or Parquet): read a folder, turn the tables into a batch.

A folder holds one file per table, ``NAME.csv`` or ``NAME.parquet``. Money is a
decimal string in major units (as in the contract), quantities are integers, booleans
are ``true``/``false`` (or 1/0). Lists inside a cell are separated by ``;``. Column by
column (``*`` = required; the rest may be missing or empty):

``orders`` - one row per pending parent order, in arrival order
    ``order_id``\\*, ``currency``\\*, ``destination``\\*, ``preference``
    (``fewest_children``/``fastest``), ``backorder`` (``split``/``wait``),
    ``shipping_fee`` (default 0).
``lines`` - one row per order line
    ``order_id``\\*, ``line_id``\\*, ``sku``\\*, ``quantity``\\*, ``unit_price``\\*,
    ``discount`` (the line's own discount, total for the line).
``payments`` - the payment plan: ``order_id``\\*, ``method``\\*, ``amount``\\*.
``activities`` - promotions: ``order_id``\\*, ``activity_id``\\*, ``kind``\\*
    (``discount``/``gift``), ``amount`` (discounts), ``lines`` (the lines a discount
    covers; empty = all), ``trigger_lines``, ``gift_lines`` (gifts).
``catalog`` - one row per SKU
    ``sku``\\*, ``merchant``, ``temperature`` (``ambient``/``chilled``/``frozen``),
    ``handling``, ``bulky``, ``cross_border``, ``offline_store``, ``tax_rate``,
    ``components`` (a bundle's bill of materials, ``SKU:QTY;SKU:QTY``).
``warehouses`` - every location: ``warehouse_id``\\*, ``kind``
    (``warehouse``/``supplier``/``store``), ``child_cost``.
``stock`` - units on hand for the whole batch (including what the pending orders
    currently reserve): ``warehouse_id``\\*, ``sku``\\*, ``quantity``\\*.
``delivery_hours`` - ``warehouse_id``\\*, ``destination``\\* (``*`` = any other),
    ``hours``\\*.
``assignment`` (optional) - the current plan of each pending order:
    ``order_id``\\*, ``line_id``\\*, ``warehouse_id`` (empty = waits for stock),
    ``quantity``\\*. Lines of an order with rows here that are not fully covered wait
    for stock.
``settings.json`` (optional) - ``{"rules": {...}, "options": {...}}`` applied to every
    order (CONTRACT.md ``rules`` and ``options``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ordersplit.batch.inputs import BatchInput, templates_from_requests, world_from_warehouses
from ordersplit.errors import RequestError

log = logging.getLogger(__name__)

TABLES = ("orders", "lines", "payments", "activities", "catalog", "warehouses", "stock",
          "delivery_hours", "assignment")
REQUIRED = ("orders", "lines", "catalog", "warehouses", "stock", "delivery_hours")
COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "currency", "destination"),
    "lines": ("order_id", "line_id", "sku", "quantity", "unit_price"),
    "payments": ("order_id", "method", "amount"),
    "activities": ("order_id", "activity_id", "kind"),
    "catalog": ("sku",),
    "warehouses": ("warehouse_id",),
    "stock": ("warehouse_id", "sku", "quantity"),
    "delivery_hours": ("warehouse_id", "destination", "hours"),
    "assignment": ("order_id", "line_id", "quantity"),
}
"""Required columns of each table."""


def read_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Every table found in ``folder`` (CSV or Parquet); strings stay strings."""
    root = Path(folder)
    out: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        pq, csv = root / f"{name}.parquet", root / f"{name}.csv"
        if pq.exists():
            out[name] = pd.read_parquet(pq)
        elif csv.exists():
            out[name] = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = [t for t in REQUIRED if t not in out]
    if missing:
        raise RequestError(f"missing tables {missing} in {root}", field="")
    settings = root / "settings.json"
    if settings.exists():
        out["settings"] = pd.DataFrame([{"json": settings.read_text()}])
    return out


def _s(value: Any) -> str:
    """A cell as text ('' for missing)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _bool(value: Any) -> bool:
    return _s(value).lower() in ("true", "1", "yes", "y", "t")


def _int(value: Any) -> Any:
    """An integer cell; a non-integer is passed on as is so validation names the field."""
    text = _s(value)
    try:
        return int(text)
    except ValueError:
        try:
            as_float = float(text)
        except ValueError:
            return text
        return int(as_float) if as_float.is_integer() else text


def _list(value: Any) -> list[str]:
    return [x.strip() for x in _s(value).split(";") if x.strip()]


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    return [] if df is None else [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


def _check_columns(tables: Mapping[str, pd.DataFrame]) -> None:
    for name, cols in COLUMNS.items():
        df = tables.get(name)
        if df is None:
            continue
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise RequestError(f"table {name} lacks columns {missing}", field=name)


def warehouse_dicts(tables: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Contract ``warehouses`` from the warehouses, stock and delivery-hours tables."""
    whs: dict[str, dict[str, Any]] = {}
    for r in _records(tables["warehouses"]):
        wid = _s(r["warehouse_id"])
        entry: dict[str, Any] = {"id": wid, "stock": {}, "delivery_hours": {}}
        if _s(r.get("kind")):
            entry["kind"] = _s(r["kind"])
        if _s(r.get("child_cost")):
            entry["child_cost"] = _s(r["child_cost"])
        whs[wid] = entry
    for r in _records(tables["stock"]):
        wid = _s(r["warehouse_id"])
        if wid not in whs:
            raise RequestError(f"stock names unknown warehouse {wid!r}", field="stock.warehouse_id")
        sku = _s(r["sku"])
        whs[wid]["stock"][sku] = whs[wid]["stock"].get(sku, 0) + _int(r["quantity"])
    for r in _records(tables["delivery_hours"]):
        wid = _s(r["warehouse_id"])
        if wid not in whs:
            raise RequestError(f"delivery_hours names unknown warehouse {wid!r}",
                               field="delivery_hours.warehouse_id")
        whs[wid]["delivery_hours"][_s(r["destination"])] = float(_s(r["hours"]))
    return list(whs.values())


def catalog_dicts(tables: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Contract ``catalog`` entries by SKU."""
    catalog: dict[str, dict[str, Any]] = {}
    for r in _records(tables["catalog"]):
        item: dict[str, Any] = {}
        for key in ("merchant", "temperature", "handling", "tax_rate"):
            if _s(r.get(key)):
                item[key] = _s(r[key])
        for key in ("bulky", "cross_border", "offline_store"):
            if _s(r.get(key)):
                item[key] = _bool(r[key])
        comps = _list(r.get("components"))
        if comps:
            item["components"] = [{"sku": c.rsplit(":", 1)[0],
                                   "quantity": _int(c.rsplit(":", 1)[1]) if ":" in c else 1}
                                  for c in comps]
        catalog[_s(r["sku"])] = item
    return catalog


class _ByOrder:
    """A table's rows grouped by ``order_id``, each row made a dict only when asked for
    (at a million orders, every row as a dict at once would take gigabytes): the columns
    as lists (references to the frame's own values) and each order's row positions."""

    def __init__(self, df: pd.DataFrame | None) -> None:
        self.columns: dict[str, list[Any]] = {} if df is None else {
            str(c): df[c].tolist() for c in df.columns}
        keys = [_s(v) for v in self.columns.get("order_id", [])]
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object), sort=False)
        self.code = {str(u): i for i, u in enumerate(uniques.tolist())}
        self.rows = np.argsort(codes, kind="stable")
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))])

    def get(self, oid: str) -> list[dict[str, Any]]:
        """The rows of order ``oid`` in table order, as ``{column: value}``."""
        c = self.code.get(oid)
        if c is None:
            return []
        cols = self.columns
        return [{name: values[i] for name, values in cols.items()}
                for i in self.rows[self.starts[c]:self.starts[c + 1]].tolist()]


def request_dicts(tables: Mapping[str, pd.DataFrame]) -> Iterator[dict[str, Any]]:
    """One contract request (without warehouses) per row of ``orders``, in its order, made
    one at a time."""
    catalog = catalog_dicts(tables)
    settings: dict[str, Any] = {}
    if "settings" in tables:
        settings = json.loads(tables["settings"]["json"].iloc[0])
    by_order = {table: _ByOrder(tables.get(table)) for table in ("lines", "payments",
                                                                 "activities")}
    orders = _ByOrder(tables["orders"])
    for at in range(len(tables["orders"])):
        o = {name: values[at] for name, values in orders.columns.items()}
        oid = _s(o["order_id"])
        rows = {table: by_order[table].get(oid) for table in by_order}
        order: dict[str, Any] = {"id": oid, "currency": _s(o["currency"]),
                                 "destination": _s(o["destination"])}
        for key in ("preference", "backorder", "shipping_fee"):
            if _s(o.get(key)):
                order[key] = _s(o[key])
        order["lines"] = [
            {"id": _s(r["line_id"]), "sku": _s(r["sku"]), "quantity": _int(r["quantity"]),
             "unit_price": _s(r["unit_price"]),
             **({"discount": _s(r["discount"])} if _s(r.get("discount")) else {})}
            for r in rows.get("lines", [])]
        order["payments"] = [{"method": _s(r["method"]), "amount": _s(r["amount"])}
                             for r in rows.get("payments", [])]
        acts = []
        for r in rows.get("activities", []):
            act: dict[str, Any] = {"id": _s(r["activity_id"]), "kind": _s(r["kind"])}
            if _s(r.get("amount")):
                act["amount"] = _s(r["amount"])
            if _s(r.get("lines")):
                act["lines"] = _list(r["lines"])
            for key in ("trigger_lines", "gift_lines"):
                if _s(r.get(key)):
                    act[key] = _list(r[key])
            acts.append(act)
        order["activities"] = acts
        skus: set[str] = set()
        for line in order["lines"]:
            skus.add(line["sku"])
            for comp in catalog.get(line["sku"], {}).get("components", []):
                skus.add(comp["sku"])
        req: dict[str, Any] = {"order": order,
                               "catalog": {s: catalog[s] for s in sorted(skus) if s in catalog},
                               "warehouses": []}
        for key in ("rules", "options"):
            if key in settings:
                req[key] = settings[key]
        yield req


def current_assignment(tables: Mapping[str, pd.DataFrame]
                       ) -> dict[str, list[tuple[str, str | None, int]]] | None:
    """The ``assignment`` table per order id, or ``None`` without one."""
    df = tables.get("assignment")
    if df is None:
        return None
    out: dict[str, list[tuple[str, str | None, int]]] = {}
    for r in _records(df):
        wid = _s(r.get("warehouse_id")) or None
        qty = _int(r["quantity"])
        if not isinstance(qty, int) or qty < 0:
            continue  # a bad row only weakens the warm start
        out.setdefault(_s(r["order_id"]), []).append((_s(r["line_id"]), wid, qty))
    return out


def batch_from_tables(tables: Mapping[str, pd.DataFrame]) -> BatchInput:
    """A validated batch from the tables (a bad order becomes an error row)."""
    _check_columns(tables)
    world = world_from_warehouses(warehouse_dicts(tables))
    templates, errors, n = templates_from_requests(world, request_dicts(tables))
    batch = BatchInput(world, templates, errors, n)
    batch.current = current_assignment(tables)
    return batch


# -- writing: requests -> tables (the example folder, round-trip tests) --------------------


def _join(values: list[str] | None) -> str:
    return ";".join(values or [])


def tables_from_requests(requests: list[dict[str, Any]], warehouses: list[dict[str, Any]]
                         ) -> dict[str, pd.DataFrame]:
    """The input tables of contract requests sharing ``warehouses`` (inverse of the reader)."""
    orders, lines, payments, activities = [], [], [], []
    catalog: dict[str, dict[str, Any]] = {}
    for req in requests:
        o = req["order"]
        orders.append({"order_id": o["id"], "currency": o["currency"],
                       "destination": o["destination"],
                       "preference": o.get("preference", "fewest_children"),
                       "backorder": o.get("backorder", "split"),
                       "shipping_fee": o.get("shipping_fee", "0")})
        lines += [{"order_id": o["id"], "line_id": ln["id"], "sku": ln["sku"],
                   "quantity": ln["quantity"], "unit_price": ln["unit_price"],
                   "discount": ln.get("discount", "")} for ln in o["lines"]]
        payments += [{"order_id": o["id"], "method": p["method"], "amount": p["amount"]}
                     for p in o.get("payments", [])]
        activities += [{"order_id": o["id"], "activity_id": a["id"], "kind": a["kind"],
                        "amount": a.get("amount", ""),
                        "lines": _join(a.get("lines")), "trigger_lines": _join(a.get("trigger_lines")),
                        "gift_lines": _join(a.get("gift_lines"))} for a in o.get("activities", [])]
        catalog.update(req.get("catalog", {}))
    cat_rows = []
    for sku in sorted(catalog):
        item = catalog[sku]
        cat_rows.append({
            "sku": sku, "merchant": item.get("merchant", ""),
            "temperature": item.get("temperature", ""), "handling": item.get("handling", ""),
            "bulky": str(bool(item.get("bulky", False))).lower(),
            "cross_border": str(bool(item.get("cross_border", False))).lower(),
            "offline_store": str(bool(item.get("offline_store", False))).lower(),
            "tax_rate": item.get("tax_rate", ""),
            "components": ";".join(f"{c['sku']}:{c['quantity']}"
                                   for c in item.get("components") or [])})
    whs = [{"warehouse_id": w["id"], "kind": w.get("kind", "warehouse"),
            "child_cost": w.get("child_cost", "0")} for w in warehouses]
    stock = [{"warehouse_id": w["id"], "sku": s, "quantity": q}
             for w in warehouses for s, q in sorted(w.get("stock", {}).items()) if q > 0]
    hours = [{"warehouse_id": w["id"], "destination": d, "hours": h}
             for w in warehouses for d, h in w.get("delivery_hours", {}).items()]
    out = {"orders": orders, "lines": lines, "payments": payments, "activities": activities,
           "catalog": cat_rows, "warehouses": whs, "stock": stock, "delivery_hours": hours}
    return {name: pd.DataFrame.from_records(rows, columns=_columns(name, rows))
            for name, rows in out.items()}


def _columns(name: str, rows: list[dict[str, Any]]) -> list[str] | None:
    return None if rows else list(COLUMNS.get(name, ()))


def write_tables(tables: Mapping[str, pd.DataFrame], folder: str | Path, fmt: str = "csv") -> None:
    """Each table as ``FOLDER/NAME.csv`` (or ``.parquet``), every column as text."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        text = df.astype(str).replace({"None": "", "nan": ""})
        if fmt == "csv":
            text.to_csv(root / f"{name}.csv", index=False)
        else:
            text.to_parquet(root / f"{name}.parquet", index=False)
