"""Batch input and output: tables (CSV, Parquet), JSON, the example, Dask, the store, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ordersplit.batch import batch_from_json, reoptimize
from ordersplit.batch.tables import read_tables, tables_from_requests, write_tables
from ordersplit.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "batch"
PLAN_TABLES = ("master", "items", "payments", "activities", "changes")


def same_plans(a: Any, b: Any) -> None:
    for name in PLAN_TABLES:
        pd.testing.assert_frame_equal(a.tables[name].reset_index(drop=True),
                                      b.tables[name].reset_index(drop=True))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_round_trip(small: dict[str, Any], tmp_path: Path, fmt: str) -> None:
    """JSON -> tables on disk -> batch gives the same plans; outputs read back whole."""
    write_tables(tables_from_requests(small["requests"], small["warehouses"]), tmp_path / "in",
                 fmt)
    # deterministic: both runs do the same counted work, whatever the machine's load (a
    # search round cut short by the clock in one run only would give other plans)
    from_json = reoptimize(small, time_limit_s=600, max_rounds=1, deterministic=True)
    from_files = reoptimize(tmp_path / "in", time_limit_s=600, max_rounds=1, deterministic=True,
                            out=tmp_path / "out", fmt=fmt)
    same_plans(from_json, from_files)
    for name in (*PLAN_TABLES, "errors"):
        path = tmp_path / "out" / f"{name}.{fmt}"
        assert path.exists()
        back = pd.read_csv(path, dtype=str) if fmt == "csv" else pd.read_parquet(path)
        assert len(back) == len(from_files.tables[name])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["orders_planned"] == len(small["requests"])


def test_json_list_of_requests_is_accepted(tiny: dict[str, Any]) -> None:
    reqs = tiny["requests"]
    reqs[0]["warehouses"] = tiny["warehouses"]  # the list form: the first request's warehouses
    res = reoptimize(reqs, time_limit_s=600, max_rounds=2)
    assert res.summary["children_batch"] == 2
    assert batch_from_json(reqs).n_input == 2


def test_example_folder_beats_its_current_assignment() -> None:
    tables = read_tables(EXAMPLE)
    assert len(tables["orders"]) == 200 and "assignment" in tables
    res = reoptimize(EXAMPLE, time_limit_s=600, max_rounds=2)
    s = res.summary
    assert s["orders_planned"] + s["orders_failed"] == 200
    assert s["before"] == "current"
    assert s["children_after"] <= s["children_current"]
    assert s["children_after"] <= s["children_sequential"]


def test_dask_local_cluster_matches_local(small: dict[str, Any]) -> None:
    distributed = pytest.importorskip("distributed")
    # deterministic: both runs do the same counted work, whatever the machine's load
    local = reoptimize(small, time_limit_s=600, max_rounds=2, workers=2, deterministic=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = reoptimize(small, time_limit_s=600, max_rounds=2, scheduler=client,
                          deterministic=True)
    same_plans(local, dask)


def test_cli_reoptimize(tiny: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "batch.json"
    src.write_text(json.dumps(tiny))
    code = main(["reoptimize", str(src), "--out", str(tmp_path / "out"), "--no-progress",
                 "--max-rounds", "2", "--time-limit-s", "5", "--format", "parquet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "2 orders: 2 plans + 0 errors (checked)" in out
    assert (tmp_path / "out" / "master.parquet").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{\"nope\": 1}")
    assert main(["reoptimize", str(bad), "--no-progress"]) == 2
