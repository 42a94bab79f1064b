"""The benchmark runner, its CLI and the OR-Library table on tiny runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ordersplit.bench import BenchReport, ScenarioConfig, run_benchmark
from ordersplit.bench.metrics import SUMMARY_COLUMNS
from ordersplit.cli import main

STRATEGIES = ["auto", "greedy", "pigeonhole", "peer_priority_fill", "peer_shopify"]


@pytest.fixture(scope="module")
def report() -> BenchReport:
    cfg = ScenarioConfig.preset("default", n_orders=25)
    return run_benchmark(cfg, STRATEGIES, time_limit_ms=20_000, seed=3, progress=False)


def test_summary_has_one_row_per_strategy(report: BenchReport) -> None:
    s = report.summary
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    assert s["strategy"].tolist() == STRATEGIES
    assert (s["orders"] == 25).all() and (s["failed"] == 0).all()
    assert s.set_index("strategy").loc["peer_shopify", "kind"] == "peer"
    assert len(report.rows) == 25 * len(STRATEGIES)
    assert len(report.compile_ms) == 25


def test_metrics_are_consistent(report: BenchReport) -> None:
    s = report.summary.set_index("strategy")
    rows = report.rows
    for name in STRATEGIES:
        r = rows[rows["strategy"] == name]
        assert s.loc[name, "children_per_order"] == pytest.approx(r["children"].mean())
        extra = 100 * (r["children"].sum() - len(r)) / len(r)
        assert s.loc[name, "extra_pct"] == pytest.approx(extra)
        assert s.loc[name, "ms_p99"] >= s.loc[name, "ms_median"] >= 0
        assert (r["children"] >= r["lower_bound"]).all()
        assert s.loc[name, "gap_pct"] >= 0
    # auto proves everything on these small orders; peers prove nothing beyond empty problems
    assert s.loc["auto", "optimal_pct"] == 100.0
    assert s.loc["auto", "gap_pct"] == pytest.approx(0.0)
    cf = rows[rows["children_first"]]
    per_order = cf.pivot(index="order", columns="strategy", values="children")
    assert (per_order["auto"] <= per_order.drop(columns="auto").min(axis=1)).all()
    assert report.extra_ratio() <= 1.0


def test_table_and_files(report: BenchReport, tmp_path: Path) -> None:
    text = report.table()
    for name in STRATEGIES:
        assert name in text
    assert "extra %" in text and "ms p99" in text and "compile" in text
    paths = report.write(tmp_path)
    names = {p.name for p in paths}
    assert {"rows.csv", "summary.csv", "settings.json", "extra_children.png",
            "time_per_order.png", "quality_vs_time.png"} <= names
    for p in paths:
        assert p.stat().st_size > 0
    assert (tmp_path / "extra_children.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_csv(tmp_path / "summary.csv")
    assert back["strategy"].tolist() == STRATEGIES
    assert np.isfinite(back["extra_pct"]).all()


def test_same_seed_same_children() -> None:
    cfg = ScenarioConfig.uniform(10, 30, n_orders=4)
    a = run_benchmark(cfg, ["pigeonhole", "peer_nearest_fill"], 200, seed=9, progress=False)
    b = run_benchmark(cfg, ["pigeonhole", "peer_nearest_fill"], 200, seed=9, progress=False)
    assert a.rows["children"].tolist() == b.rows["children"].tolist()


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategies"):
        run_benchmark(ScenarioConfig.uniform(n_orders=1), ["nope"], progress=False)


def test_cli_bench(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--scenario", "uniform", "--orders", "3", "--lines", "5",
                 "--warehouses", "12", "--seed", "2", "--time-limit-ms", "300",
                 "--strategies", "auto,peer_most_stock", "--out", str(tmp_path),
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "peer_most_stock" in out and "auto / best peer" in out
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "time_per_order.png").exists()
    assert main(["bench", "--orders", "1", "--strategies", "nope", "--out", str(tmp_path),
                 "--no-progress"]) == 2


DATA = Path(__file__).resolve().parents[2] / "data"


def test_orlib_table_on_scpe1(tmp_path: Path) -> None:
    from ordersplit.bench.orlib_table import instance_names, run_orlib

    names = instance_names(DATA / "orlib_scp")
    assert len(names) == 30 and names[0] == "scp41" and names[-1] == "scpe5"
    rep = run_orlib(instances=["scpe1"], unicost_limit_s=3.0, heuristics=("pigeonhole",),
                    unicost_solvers=("auto",), progress=False)
    w = rep.weighted.iloc[0]
    assert w["optimum"] == 5 and w["milp"] == 5 and bool(w["milp_proven"])
    assert w["pigeonhole"] >= 5
    u = rep.unicost.iloc[0]
    assert u["best_known"] == 5 and u["auto"] >= 5 and u["auto_gap_pct"] >= 0
    md = rep.markdown()
    assert "| scpe1 |" in md
    assert {p.name for p in rep.write(tmp_path)} == {"orlib_weighted.csv", "orlib_unicost.csv",
                                                     "orlib.md"}
