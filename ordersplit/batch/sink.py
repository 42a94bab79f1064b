"""Order tables written to files piece by piece, so a large batch never holds them whole.

A :class:`TableSink` takes each table's rows in pieces, in order, and appends them to
``OUT/NAME.csv`` (the header once) or to ``OUT/NAME.parquet`` (one row group per piece).
A CSV written in pieces is byte for byte the file of the whole table written at once,
as long as every piece has the same column types (the batch's tables do: their text and
number columns never change type between orders).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet")


def parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its object columns as pandas strings (what the Parquet files hold)."""
    return df.astype({c: "string" for c in df.columns if df[c].dtype == object})


class TableSink:
    """Appends the pieces of named tables to files in ``out`` (``fmt`` csv or parquet)."""

    def __init__(self, out: str | Path, fmt: str, columns: dict[str, Sequence[str]]) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: csv or parquet")
        self.root = Path(out)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.columns = {name: list(cols) for name, cols in columns.items()}
        self.rows = dict.fromkeys(columns, 0)
        self._started: set[str] = set()
        self._writers: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        return self.root / f"{name}.{self.fmt}"

    def write(self, name: str, df: pd.DataFrame) -> None:
        """Append ``df`` (the next rows of table ``name``, its columns in order)."""
        if list(df.columns) != self.columns[name]:
            raise ValueError(f"table {name}: columns {list(df.columns)} are not "
                             f"{self.columns[name]}")
        if not len(df):
            return
        self.rows[name] += len(df)
        if self.fmt == "csv":
            first = name not in self._started
            df.to_csv(self.path(name), index=False, header=first, mode="w" if first else "a")
        else:
            self._parquet(name, df)
        self._started.add(name)

    def _parquet(self, name: str, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = self._writers.get(name)
        table = pa.Table.from_pandas(parquet_ready(df), preserve_index=False)
        if writer is None:
            writer = self._writers[name] = pq.ParquetWriter(self.path(name), table.schema)
        writer.write_table(table.cast(writer.schema))

    def close(self) -> list[Path]:
        """Finish every file; a table that got no rows is written with its header (or
        its columns) only. Returns the paths, by table name order of ``columns``."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        for name in self.columns:
            if name not in self._started:
                frame = pd.DataFrame(columns=self.columns[name])
                if self.fmt == "csv":
                    frame.to_csv(self.path(name), index=False)
                else:
                    parquet_ready(frame).to_parquet(self.path(name), index=False)
                self._started.add(name)
        log.info("tables written in pieces to %s: %s", self.root, self.rows)
        return [self.path(name) for name in self.columns]
