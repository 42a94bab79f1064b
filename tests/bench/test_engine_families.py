"""The split-engine benchmark: family shapes, the interleaved runner, the reference models.

No timing is asserted; the runner is checked for what it records and compares.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.api import split
from ordersplit.bench.engine import (
    BaselineWorker,
    Cell,
    cell_requests,
    goals,
    independent_check,
    run_cell,
    summarize,
)
from ordersplit.bench.families import FAMILIES, RULES, family_config
from ordersplit.bench.orlib_table import weighted_vs_highs
from ordersplit.bench.reference import highs_set_cover
from ordersplit.bench.scenario import generate_orders
from ordersplit.io.orlib import ScpInstance
from ordersplit.models.validate import parse_request

ROOT = Path(__file__).resolve().parents[2]
LIMIT_MS = 20_000  # generous: the tests check results, not speed, on a shared machine


def _cells(reqs: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(quantity, units) of every line against every warehouse that stocks its SKU."""
    out = []
    for req in reqs:
        for line in req["order"]["lines"]:
            for w in req["warehouses"]:
                units = w["stock"].get(line["sku"], 0)
                if w.get("kind", "warehouse") == "warehouse" and units > 0:
                    out.append((line["quantity"], units))
    return out


def _warehouse_units(reqs: list[dict[str, Any]]) -> np.ndarray:
    return np.array([u for r in reqs for w in r["warehouses"] if w.get("kind", "warehouse") == "warehouse"
                     for u in w["stock"].values()])


@pytest.mark.parametrize(("family", "rules"), list(itertools.product(FAMILIES, RULES)))
def test_every_family_has_its_size_and_validates(family: str, rules: str) -> None:
    reqs = generate_orders(family_config(family, "10x30", rules=rules, n_orders=20, seed=5))
    for req in reqs:
        parse_request(req)
        warehouses = [w for w in req["warehouses"] if w.get("kind", "warehouse") == "warehouse"]
        assert len(warehouses) == 30
        gifts = sum(a["kind"] == "gift" for a in req["order"].get("activities", []))
        assert len(req["order"]["lines"]) == 10 + gifts


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_partial_family_shapes(seed: int) -> None:
    reqs = generate_orders(family_config("partial", "10x30", n_orders=30, seed=seed))
    qty = np.array([line["quantity"] for r in reqs for line in r["order"]["lines"]])
    assert qty.min() >= 1 and qty.max() <= 12
    assert 0.1 < (qty >= 4).mean() < 0.3  # 20 % of lines draw 4-12
    units = _warehouse_units(reqs)
    assert units.min() >= 1 and units.max() <= 200
    thin = ((units >= 1) & (units <= 3)).mean()
    assert 0.08 < thin < 0.25  # 15 % of stocked cells hold 1-3 units
    cells = _cells(reqs)
    partial = [q > u for q, u in cells]
    assert sum(partial) >= 10  # warehouses holding part of a line are common
    orders_with_partial = sum(any(q > u for q, u in _cells([r])) for r in reqs)
    assert orders_with_partial >= len(reqs) // 3


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_thin_family_shapes(seed: int) -> None:
    reqs = generate_orders(family_config("thin", "10x30", n_orders=10, seed=seed))
    qty = np.array([line["quantity"] for r in reqs for line in r["order"]["lines"]])
    assert set(qty.tolist()) <= {1, 2, 3}
    units = _warehouse_units(reqs)
    assert units.min() >= 1 and units.max() <= 4
    # every warehouse lists most SKUs (0-4 uniform: 4 in 5 cells are stocked)
    assert 0.7 < len(units) / (10 * 30 * len(reqs)) < 0.9
    assert np.mean([q > u for q, u in _cells(reqs)]) > 0.1  # expected 0.25


def test_default_family_keeps_real_quantities_and_rules_variant_exercises_the_rules() -> None:
    reqs = generate_orders(family_config("default", "30x100", rules="rules", n_orders=20, seed=3))
    qty = [line["quantity"] for r in reqs for line in r["order"]["lines"]]
    assert max(qty) > 1 and np.mean(qty) < 2  # Olist: mostly 1, sometimes more
    items = [item for r in reqs for item in r["catalog"].values()]
    assert any(i.get("temperature") in ("chilled", "frozen") for i in items)
    assert any(i.get("bulky") for i in items)
    assert any("components" in i for i in items)
    assert len({i["merchant"] for i in items}) > 1
    plain = generate_orders(family_config("partial", "30x100", rules="plain", n_orders=5, seed=3))
    assert {i["merchant"] for r in plain for i in r["catalog"].values()} == {"self"}


def test_unknown_family_or_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown family"):
        family_config("dense", "10x30")
    with pytest.raises(ValueError, match="10x30"):
        family_config("thin", "ten")


@pytest.fixture(scope="module")
def tiny_rows() -> list[dict[str, Any]]:
    cell = Cell("thin", "rules", "10x30")
    return run_cell(cell, cell_requests(cell, 2, seed=7), ["milp_cbc", "cpsat", "milp"], LIMIT_MS)


def test_runner_interleaves_auto_and_each_baseline_on_the_same_orders(tiny_rows) -> None:
    assert [(r["order"], r["solver"]) for r in tiny_rows] == [
        (k, s) for k in (0, 1) for s in ("auto", "milp_cbc", "cpsat", "milp")]
    by_order = {}
    for r in tiny_rows:
        assert r["status"] == "optimal"  # 20 s is plenty at 10 x 30
        by_order.setdefault(r["order"], set()).add((r["children"], r["delivery_hours"]))
    assert all(len(v) == 1 for v in by_order.values())  # proven optima agree


def test_summary_and_goals_cover_every_solver(tiny_rows) -> None:
    summary = summarize(tiny_rows)
    assert [s["solver"] for s in summary] == ["auto", "milp_cbc", "cpsat", "milp"]
    for s in summary[1:]:
        assert s["orders"] == 2 and s["auto_more_children"] == 0 and s["optimal_disagree"] == 0
        assert s["ratio_median_of_ratios"] > 0 and s["ratio_of_medians"] > 0
    names = {g.goal for g in goals(summary)}
    assert {"median <= 1 ms", ">= 99% proven in 20000 ms", "ratio vs milp_cbc >= 20x"} <= names


def test_summary_flags_auto_with_more_children_than_a_proven_optimum(tiny_rows) -> None:
    rows = [dict(r) for r in tiny_rows]
    rows[0]["children"] += 1  # order 0, auto
    s = {x["solver"]: x for x in summarize(rows)}
    assert s["milp"]["auto_more_children"] == 1 and s["milp"]["auto_worse_than_proven"] == 1
    assert s["milp"]["optimal_disagree"] == 1


def test_independent_check_agrees_with_optimal_plans_and_catches_a_worse_one() -> None:
    reqs = cell_requests(Cell("partial", "rules", "10x30"), 12, seed=11)
    caught = 0
    for req in reqs:
        req["options"] = {"time_limit_ms": LIMIT_MS}
        plan = split(json.dumps(req))
        assert plan.status == "optimal"
        assert independent_check(req, plan, limit_s=60)["agree"] is True
        greedy = split(json.dumps({**req, "options": {"solver": "greedy", "time_limit_ms": LIMIT_MS}}))
        if (greedy.objective.children, greedy.objective.delivery_hours) != (
                plan.objective.children, plan.objective.delivery_hours):
            assert independent_check(req, greedy, limit_s=60)["agree"] is False
            caught += 1
    assert caught >= 1  # greedy misses the optimum on some of these orders


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_highs_set_cover_finds_the_brute_force_optimum(data: st.DataObject) -> None:
    rows = data.draw(st.integers(2, 6))
    cols = data.draw(st.integers(2, 7))
    costs = np.array(data.draw(st.lists(st.integers(1, 9), min_size=cols, max_size=cols)))
    covers = [np.array(sorted(data.draw(st.sets(st.integers(0, cols - 1), min_size=1))))
              for _ in range(rows)]
    inst = ScpInstance(rows, cols, costs, covers)
    best = min(inst.cover_cost(c) for k in range(1, cols + 1) for c in itertools.combinations(range(cols), k)
               if all(set(cov.tolist()) & set(c) for cov in covers))
    value, proven, _ = highs_set_cover(inst, 30)
    assert proven and value == best


def test_weighted_table_runs_auto_and_highs_on_a_file(tmp_path: Path) -> None:
    text = "3 4\n 3 2 2 5\n 2 1 2\n 2 2 3\n 2 3 4\n"  # rows: {1,2}, {2,3}, {3,4}; optimum 2+2=4
    (tmp_path / "scpt1.txt").write_text(text)
    table = weighted_vs_highs([tmp_path / "scpt1.txt"], limit_s=20, progress=False)
    row = table.iloc[0]
    assert row["auto"] == row["highs"] == 4 and row["auto_proven"] and row["highs_proven"]
    assert row["ratio"] > 0 and row["cpu_ratio"] > 0 and row["auto_cpu_s"] > 0


def _split_engine_script() -> Any:
    """``benchmarks/split_engine.py`` loaded as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("split_engine", ROOT / "benchmarks" / "split_engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_engine_cli_writes_rows_summary_and_goals(tmp_path: Path, capsys) -> None:
    module = _split_engine_script()
    assert module.main(["--families", "partial", "--rules", "plain", "--sizes", "10x30",
                        "--orders", "2", "--baselines", "milp", "--check-cpsat", "1",
                        "--check-sizes", "10x30", "--out", str(tmp_path)]) == 0
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert rows["solver"].tolist() == ["auto", "milp", "auto", "milp"]
    payload = json.loads((tmp_path / "summary.json").read_text())
    assert {g["goal"] for g in payload["goals"]} >= {"median <= 1 ms", "p99 <= 5 ms"}
    assert len(payload["summary"]) == 2 and "load_average_before" in payload
    assert "goals:" in capsys.readouterr().out


def test_baselines_in_a_worker_process_interleave_order_by_order(tiny_rows) -> None:
    """The same orders with the baselines in a worker process (pinned to a processor of
    this one's, as ``--baseline-cpu`` does): the same interleaving and plans as in
    process, the baselines' rows marked ``process`` with their CPU time."""
    cell = Cell("thin", "rules", "10x30")
    with BaselineWorker(["milp_cbc", "cpsat", "milp"],
                        cpus=[min(os.sched_getaffinity(0))]) as worker:
        rows = run_cell(cell, cell_requests(cell, 2, seed=7), ["milp_cbc", "cpsat", "milp"],
                        LIMIT_MS, worker=worker)
    assert [(r["order"], r["solver"], r["mode"]) for r in rows] == [
        (k, s, "inline" if s == "auto" else "process")
        for k in (0, 1) for s in ("auto", "milp_cbc", "cpsat", "milp")]
    inline = {(r["order"], r["solver"]): r for r in tiny_rows}
    for r in rows:
        twin = inline[(r["order"], r["solver"])]
        assert r["status"] == twin["status"] == "optimal"
        assert (r["children"], r["delivery_hours"], r["backend"]) == (
            twin["children"], twin["delivery_hours"], twin["backend"])
        assert r["cpu_ms"] > 0 and r["wall_ms"] > 0
    summary = summarize(rows)
    assert [s["mode"] for s in summary] == ["inline", "process", "process", "process"]
    assert all(s["auto_more_children"] == 0 for s in summary[1:])


def test_split_engine_cli_runs_the_baselines_in_a_worker(tmp_path: Path, capsys) -> None:
    module = _split_engine_script()
    assert module.main(["--families", "uniform", "--rules", "rules", "--sizes", "10x30",
                        "--orders", "2", "--baselines", "milp", "--baseline-mode", "process",
                        "--out", str(tmp_path)]) == 0
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert rows["solver"].tolist() == ["auto", "milp", "auto", "milp"]
    assert rows["mode"].tolist() == ["inline", "process", "inline", "process"]
    assert (tmp_path / "summary.md").read_text().startswith("baselines: process")
    assert "baselines process" in capsys.readouterr().out


def test_auto_in_blocks_then_the_baselines_on_the_same_orders() -> None:
    """``auto_block``: auto splits a block's orders back to back, then each baseline the
    same orders; the last block may be shorter, and ``baseline_orders`` still limits
    the baselines. Ratios are taken order by order as before."""
    cell = Cell("uniform", "plain", "10x30")
    reqs = cell_requests(cell, 3, seed=7)
    rows = run_cell(cell, reqs, ["milp"], LIMIT_MS, auto_block=2)
    assert [(r["order"], r["solver"]) for r in rows] == [
        (0, "auto"), (1, "auto"), (0, "milp"), (1, "milp"), (2, "auto"), (2, "milp")]
    assert all(r["status"] == "optimal" for r in rows)
    milp = summarize(rows)[1]
    assert milp["orders"] == 3 and milp["auto_more_children"] == 0
    assert milp["optimal_disagree"] == 0
    limited = run_cell(cell, reqs, ["milp"], LIMIT_MS, baseline_orders=1, auto_block=2)
    assert [(r["order"], r["solver"]) for r in limited] == [
        (0, "auto"), (1, "auto"), (0, "milp"), (2, "auto")]
