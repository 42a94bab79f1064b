"""OR-Library set covering instances (J. E. Beasley) as split requests.

File format (``data/orlib_scp/ORLIB_README.txt``), whitespace-separated: the
number of rows ``m`` and of columns ``n``; the cost of each of the ``n`` columns; then
for each row the number of columns covering it followed by those columns (1-based).

A single-order split with unit quantities and ample stock is a set covering problem:
rows are order lines (one SKU each), columns are warehouses, a warehouse covers a line
when it stocks the SKU. :func:`scp_to_request` builds that request; the weighted
objective is ``cost`` (child cost = column cost), the unicost one ``cost`` with every
child cost 1 (= fewest children). :func:`load_optima` reads the reference values
(``optima.csv``: proven optima of the weighted files; ``optima_unicost.csv``: best
known unicost values, not proven).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ordersplit.models.currency import format_minor


@dataclass(frozen=True)
class ScpInstance:
    """A set covering instance; ``covers[i]`` are the 0-based columns covering row ``i``."""

    rows: int
    cols: int
    costs: np.ndarray
    covers: list[np.ndarray]
    name: str = ""

    def column_rows(self) -> list[np.ndarray]:
        """For each column, the 0-based rows it covers."""
        acc: list[list[int]] = [[] for _ in range(self.cols)]
        for i, cols in enumerate(self.covers):
            for j in cols.tolist():
                acc[j].append(i)
        return [np.asarray(r, dtype=np.int64) for r in acc]

    def cover_cost(self, columns: Sequence[int], *, unicost: bool = False) -> int:
        """Cost of a set of 0-based columns; raises ``ValueError`` if a row is uncovered."""
        chosen = set(columns)
        for i, cols in enumerate(self.covers):
            if not chosen.intersection(cols.tolist()):
                raise ValueError(f"row {i} is not covered")
        return len(chosen) if unicost else int(self.costs[list(chosen)].sum())


def read_scp(path: str | Path) -> ScpInstance:
    """Read an OR-Library set covering file (``scp41.txt``, ``scpe1.txt``, ...)."""
    p = Path(path)
    tokens = np.array(p.read_text().split(), dtype=np.int64)
    if len(tokens) < 2:
        raise ValueError(f"{p}: not a set covering file")
    rows, cols = int(tokens[0]), int(tokens[1])
    pos = 2
    costs = tokens[pos : pos + cols].copy()
    pos += cols
    if len(costs) != cols:
        raise ValueError(f"{p}: expected {cols} column costs")
    covers: list[np.ndarray] = []
    for i in range(rows):
        if pos >= len(tokens):
            raise ValueError(f"{p}: file ends at row {i + 1} of {rows}")
        k = int(tokens[pos])
        members = tokens[pos + 1 : pos + 1 + k] - 1
        if len(members) != k or k == 0:
            raise ValueError(f"{p}: row {i + 1} is truncated or empty")
        if members.min() < 0 or members.max() >= cols:
            raise ValueError(f"{p}: row {i + 1} names a column out of range")
        covers.append(members)
        pos += 1 + k
    if pos != len(tokens):
        raise ValueError(f"{p}: {len(tokens) - pos} unexpected trailing values")
    return ScpInstance(rows=rows, cols=cols, costs=costs, covers=covers, name=p.stem)


def scp_to_request(
    inst: ScpInstance,
    *,
    unicost: bool = False,
    objective: Sequence[str] = ("cost",),
    time_limit_ms: int = 60_000,
) -> dict[str, Any]:
    """The instance as a split request (CONTRACT.md) whose optimum is the cover's.

    One line per row (SKU ``R<i>``, quantity 1, unit price 1.00, paid in cash); one
    warehouse ``W<j>`` per column with 1 unit of every SKU it covers, delivery 24 h to
    anywhere and ``child_cost`` = the column cost (1 when ``unicost``). Every SKU is
    the same merchant and ambient/standard, so the order is a single shipping group.
    """
    width = len(str(max(inst.rows, inst.cols)))
    skus = [f"R{i + 1:0{width}d}" for i in range(inst.rows)]
    lines = [
        {"id": f"L{i + 1}", "sku": sku, "quantity": 1, "unit_price": "1.00"}
        for i, sku in enumerate(skus)
    ]
    stock: list[dict[str, int]] = [{} for _ in range(inst.cols)]
    for i, cols in enumerate(inst.covers):
        for j in cols.tolist():
            stock[j][skus[i]] = 1
    warehouses = [
        {
            "id": f"W{j + 1:0{width}d}",
            "stock": stock[j],
            "delivery_hours": {"*": 24},
            "child_cost": "1" if unicost else str(int(inst.costs[j])),
        }
        for j in range(inst.cols)
    ]
    name = inst.name or "scp"
    return {
        "order": {
            "id": f"{name}-unicost" if unicost else name,
            "currency": "USD",
            "destination": "anywhere",
            "lines": lines,
            "payments": [{"method": "cash", "amount": format_minor(100 * inst.rows, 2)}],
        },
        "catalog": {sku: {"merchant": "self"} for sku in skus},
        "warehouses": warehouses,
        "options": {"objective": list(objective), "time_limit_ms": time_limit_ms},
    }


def _optima_file(path: str | Path, unicost: bool) -> Path:
    p = Path(path)
    return p / ("optima_unicost.csv" if unicost else "optima.csv") if p.is_dir() else p


def load_optima(path: str | Path, *, unicost: bool = False) -> dict[str, int]:
    """Reference values by instance name from ``optima.csv`` / ``optima_unicost.csv``.

    ``path`` is the CSV itself or the directory holding both (``unicost`` picks the
    file). Columns:
    ``instance,rows,cols,density,best_known,is_optimal,source``; values are ``best_known``
    (proven optima in ``optima.csv``, best known unicost values otherwise).
    """
    with _optima_file(path, unicost).open(newline="") as fh:
        return {row["instance"]: int(row["best_known"]) for row in csv.DictReader(fh)}


def load_optima_table(path: str | Path, *, unicost: bool = False) -> dict[str, tuple[int, bool]]:
    """Like :func:`load_optima` with the ``is_optimal`` flag: ``{name: (value, proven)}``."""
    with _optima_file(path, unicost).open(newline="") as fh:
        return {
            row["instance"]: (int(row["best_known"]), row["is_optimal"].strip().lower() == "true")
            for row in csv.DictReader(fh)
        }
