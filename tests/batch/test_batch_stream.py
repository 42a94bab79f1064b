"""``reoptimize(stream=True)`` writes the order tables piece by piece while it builds them:
the files must be the ones the whole tables give, failed orders included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ordersplit.batch import api, frames, reoptimize
from ordersplit.batch.output import TABLE_COLUMNS, TABLE_NAMES

RUN = {"time_limit_s": 600, "max_rounds": 1, "deterministic": True, "bound_time_limit_s": 0}


def _files(folder: Path, fmt: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob(f"*.{fmt}"))}


@pytest.mark.parametrize("workers,window", [(1, 7), (2, 50)])
def test_streamed_csv_files_are_the_whole_tables_files(small: dict[str, Any], tmp_path: Path,
                                                       workers: int, window: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    whole = reoptimize(small, out=tmp_path / "whole", workers=workers, **RUN)
    monkeypatch.setattr(api, "STREAM_WINDOW", window)  # many pieces, cut inside the chunks
    streamed = reoptimize(small, out=tmp_path / "streamed", workers=workers, stream=True, **RUN)
    a, b = _files(tmp_path / "whole", "csv"), _files(tmp_path / "streamed", "csv")
    assert sorted(a) == sorted(b) == sorted([*TABLE_COLUMNS, "changes", "errors"])
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    assert sorted(streamed.tables) == ["changes", "errors"]
    assert [p.stem for p in streamed.streamed] == list(TABLE_COLUMNS)
    assert streamed.summary["orders_planned"] == whole.summary["orders_planned"] == len(
        small["requests"])
    with pytest.raises(KeyError, match="written to files"):
        _ = streamed.master


def test_streamed_parquet_reads_back_as_the_whole_tables(small: dict[str, Any], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    reoptimize(small, out=tmp_path / "whole", fmt="parquet", **RUN)
    monkeypatch.setattr(api, "STREAM_WINDOW", 11)
    reoptimize(small, out=tmp_path / "streamed", fmt="parquet", stream=True, **RUN)
    a, b = _files(tmp_path / "whole", "parquet"), _files(tmp_path / "streamed", "parquet")
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(pd.read_parquet(a[name]), pd.read_parquet(b[name]))


def test_an_order_failing_in_a_streamed_piece_is_an_error_row_without_rows(
        small: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    late = small["requests"][8]["order"]["id"]
    real_links = frames.gift_links

    def links_or_fail(request: Any, drafts: Any) -> Any:
        if request.order.id == late:
            raise ValueError("injected plan failure")
        return real_links(request, drafts)

    monkeypatch.setattr(frames, "gift_links", links_or_fail)
    monkeypatch.setattr(api, "STREAM_WINDOW", 5)  # the order fails inside the second piece
    res = reoptimize(small, out=tmp_path, stream=True, **RUN)
    assert list(res.errors["order_id"]) == [late]
    assert res.summary["orders_planned"] == len(small["requests"]) - 1
    for name in TABLE_COLUMNS:
        rows = pd.read_csv(tmp_path / f"{name}.csv", dtype=str)
        assert late not in set(rows["root_id"]), name
    master = pd.read_csv(tmp_path / "master.csv", dtype=str)
    assert master["root_id"].nunique() == len(small["requests"]) - 1


def test_stream_needs_an_out_folder_and_no_store(small: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="out folder"):
        reoptimize(small, stream=True, **RUN)


@pytest.mark.parametrize("stream", [False, True])
def test_a_batch_of_only_invalid_orders_gives_error_rows_and_empty_tables(
        tmp_path: Path, stream: bool) -> None:
    bad = {"order": {"id": "A", "currency": "USD", "destination": "x", "lines": [],
                     "payments": []}, "catalog": {}, "warehouses": []}
    batch = {"requests": [bad], "warehouses": [{"id": "W1", "stock": {"X": 1},
                                                "delivery_hours": {"*": 10}}]}
    res = reoptimize(batch, out=tmp_path, stream=stream, **RUN)
    assert list(res.errors["order_id"]) == ["A"]
    assert res.summary["orders_planned"] == 0 and res.summary["orders_failed"] == 1
    assert sorted(res.tables) == (["changes", "errors"] if stream else sorted(TABLE_NAMES))
    for name, columns in TABLE_COLUMNS.items():
        assert list(pd.read_csv(tmp_path / f"{name}.csv").columns) == list(columns)
        assert len(pd.read_csv(tmp_path / f"{name}.csv")) == 0
