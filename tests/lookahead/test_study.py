"""The study: policies interleaved on one stream, replenishment by period, the offline
batch reference, the table and what is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ordersplit.bench.scenario import ScenarioConfig, scenario_network
from ordersplit.lookahead.commands import main
from ordersplit.lookahead.offline import BatchReference, batch_reference, periods
from ordersplit.lookahead.simulate import MyopicPolicy, SimulationConfig, simulate_many
from ordersplit.lookahead.stream import OrderStream, scenario_stream
from ordersplit.lookahead.study import TABLE_COLUMNS, StudyConfig, gaps, run_study


class _Again(MyopicPolicy):
    name = "myopic_again"


def _day(n: int, preset: str = "scarce", seed: int = 4, **kw: Any) -> tuple[Any, ...]:
    # a work limit, not the wall clock: the tests compare the plans of separate runs, and a
    # time budget that binds under load gives one of them a different (feasible) plan
    scenario = ScenarioConfig.preset(preset, n_orders=n, seed=seed,
                                     options={"solver": "auto", "work_limit": 2_000_000})
    cfg = SimulationConfig(scenario, seed=seed, **kw)
    net = scenario_network(cfg.scenario)
    return cfg, net, scenario_stream(cfg.scenario, net, cfg.horizon_hours, cfg.seed)


def test_every_order_is_a_plan_or_an_error_for_every_policy_each_on_its_own_stock() -> None:
    cfg, net, stream = _day(50)
    res = simulate_many(cfg, [MyopicPolicy(), _Again()], net, stream)
    for r in res.values():
        rows = r.orders
        assert list(rows["order_id"]) == [q["order"]["id"] for q in stream.requests]
        assert r.totals["planned"] + r.totals["errors"] == r.totals["orders"] == 50
        assert rows["status"].notna().all() and r.min_stock >= 0 and (r.final_stock >= 0).all()
        assert (net.stock - r.final_stock >= 0).all()  # no replenishment: stock only falls
    a, b = res["myopic"], res["myopic_again"]
    # the same policy on its own copy of the stock makes the same plans
    assert a.totals["children"] == b.totals["children"]
    np.testing.assert_array_equal(a.final_stock, b.final_stock)
    with pytest.raises(ValueError, match="repeat"):
        simulate_many(cfg, [MyopicPolicy(), MyopicPolicy()], net, stream)


def test_replenishment_restarts_each_period_from_the_starting_stock() -> None:
    """A day replenished every 6 h is the same as its 6-hour periods run from full stock."""
    cfg, net, stream = _day(60, replenish_every_hours=6.0)
    whole = simulate_many(cfg, [MyopicPolicy()], net, stream)["myopic"].orders
    parts = periods(stream.times, 6.0)
    assert len(parts) >= 3 and sum(p.size for p in parts) == len(stream)
    alone = SimulationConfig(cfg.scenario, cfg.horizon_hours, None, cfg.seed)
    for part in parts:
        sub = OrderStream(stream.times[part].copy(), tuple(stream.requests[k] for k in part))
        rows = simulate_many(alone, [MyopicPolicy()], net, sub)["myopic"].orders
        cols = ["order_id", "status", "children", "units_shipped"]
        pd.testing.assert_frame_equal(rows[cols].reset_index(drop=True),
                                      whole.iloc[part][cols].reset_index(drop=True))


def test_the_batch_reference_is_never_worse_than_its_sequential_baseline() -> None:
    _, net, stream = _day(60)
    # deterministic: a search that overran its share of the clock under load would leave
    # the joint bound less than its minimum time, and the bound would be skipped (None)
    ref = batch_reference(stream, net, time_limit_s=5.0, bound_time_limit_s=2.0,
                          deterministic=True)
    assert ref.orders == ref.planned + ref.errors == 60
    assert ref.children <= ref.sequential_children
    assert ref.joint_bound is not None and ref.joint_bound <= ref.children
    by_period = batch_reference(stream, net, replenish_every_hours=8.0, time_limit_s=6.0,
                                bound_time_limit_s=1.0, deterministic=True)
    assert len(by_period.periods) >= 2 and by_period.orders == 60
    assert by_period.children <= by_period.sequential_children
    assert by_period.children == sum(p["children_batch"] for p in by_period.periods)


def test_gap_closed_is_measured_against_myopic_and_the_batch() -> None:
    ref = BatchReference(orders=50, planned=50, errors=0, children=90, sequential_children=100,
                         joint_bound=80, mean_delivery_hours=50.0,
                         sequential_mean_delivery_hours=50.0, runtime_s=1.0)
    assert gaps(100, 96, ref) == {"gap_closed_pct": 40.0, "bound_share_pct": 20.0}
    ref.children = 100
    assert gaps(100, 100, ref)["gap_closed_pct"] is None  # no gap to close
    assert gaps(100, 96, None) == {"gap_closed_pct": None, "bound_share_pct": None}


def test_a_study_writes_its_table_summary_and_plot(tmp_path: Path) -> None:
    cfg, _, _ = _day(40, preset="default")
    res = run_study(StudyConfig(cfg, policies=("myopic", "lookahead", "batch"),
                                forecasts=("perfect", "stale"), batch_time_limit_s=4.0))
    table = res.table
    assert list(table.columns) == TABLE_COLUMNS and table["policy"].iloc[-1] == "batch"
    myopic = table.set_index("policy").loc["myopic"]
    batch = table.set_index("policy").loc["batch"]
    assert batch["children"] <= res.batch.sequential_children  # type: ignore[union-attr]
    assert myopic["extra_children_per_order"] == pytest.approx(
        (myopic["children"] - myopic["planned"]) / myopic["planned"])
    if myopic["children"] > batch["children"]:
        assert batch["gap_closed_pct"] == pytest.approx(100.0)
    online = set(table["policy"]) - {"batch"}
    assert online == {"myopic"} | ({"lookahead_perfect", "lookahead_stale"} - set(
        res.summary["skipped"]))
    assert len(res.orders) == 40 * len(online)
    paths = res.write(tmp_path)
    assert {p.name for p in paths} >= {"policies.csv", "orders.csv", "summary.json"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["batch"]["orders"] == 40 and "load_average" in summary
    pytest.importorskip("matplotlib")
    assert (tmp_path / "over_time.png").stat().st_size > 0


def test_a_deterministic_batch_beside_the_policies_is_the_batch_alone() -> None:
    """The study runs a deterministic batch in a process of its own while the policies
    simulate: its reference is the one the batch gives alone, on the same stream."""
    cfg, net, stream = _day(50)
    res = run_study(StudyConfig(cfg, policies=("myopic", "batch"), batch_deterministic=True,
                                batch_max_rounds=3))
    alone = batch_reference(stream, net, deterministic=True, max_rounds=3)
    assert res.batch is not None
    assert (res.batch.children, res.batch.sequential_children, res.batch.joint_bound) == (
        alone.children, alone.sequential_children, alone.joint_bound)
    assert res.summary["study"]["batch_deterministic"] is True


def test_study_settings_are_checked() -> None:
    cfg, _, _ = _day(2)
    with pytest.raises(ValueError, match="myopic"):
        StudyConfig(cfg, policies=("batch",))
    with pytest.raises(ValueError, match="unknown policy"):
        StudyConfig(cfg, policies=("myopic", "oracle"))
    with pytest.raises(ValueError, match="forecast"):
        StudyConfig(cfg, forecasts=("psychic",))
    with pytest.raises(ValueError, match="refresh"):
        StudyConfig(cfg, refresh_orders=None)
    with pytest.raises(ValueError, match="refresh_hours"):
        StudyConfig(cfg, refresh_hours=-1.0)


def test_simulate_command_runs_the_policies_and_writes_the_study(tmp_path: Path,
                                                                 capsys: Any) -> None:
    out = tmp_path / "study"
    assert main(["simulate", "--scenario", "scarce", "--orders", "12", "--policies", "batch",
                 "--batch-time-limit-s", "2", "--out-dir", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["policies"]) == {"myopic"} and printed["batch"]["orders"] == 12
    assert (out / "policies.csv").exists() and (out / "summary.json").exists()
    assert main(["simulate", "--orders", "3", "--policies", "myopic,oracle"]) == 2
    assert "unknown policy 'oracle'" in capsys.readouterr().err
    assert main(["simulate", "--orders", "3", "--forecast", "psychic"]) == 2
    assert main(["simulate", "--orders", "3", "--refresh-orders", "0"]) == 2
    assert "refresh" in capsys.readouterr().err


def test_study_runner_passes_the_pricing_weights_and_refuses_bad_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``--hour-cost`` / ``--split-weight`` reach the pricing LP of every scenario; a
    negative weight is a named error (exit 2), not a traceback."""
    from benchmarks.lookahead_study import main as study_main
    from benchmarks.lookahead_study import parse_args, study_config

    args = parse_args(["--orders", "50", "--split-weight", "0", "--hour-cost", "0.5"])
    cfg = study_config(args, "scarce")
    assert (cfg.pricing.split_weight, cfg.pricing.hour_cost) == (0.0, 0.5)
    assert study_config(parse_args(["--orders", "50"]), "default").pricing == StudyConfig(
        cfg.simulation).pricing
    assert study_main(["--orders", "50", "--split-weight", "-1"]) == 2
    assert "split_weight" in capsys.readouterr().err
