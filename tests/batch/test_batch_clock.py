"""One clock for the whole run (the summary splits it by stage) and the deterministic mode
(the same plans with the CPU loaded by another process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ordersplit.batch import reoptimize
from ordersplit.batch.clock import STAGES, Clock

ROUNDING = 0.001 * len(STAGES)
"""Stage times are rounded to the millisecond, each on its own."""


def check_stages(summary: dict[str, Any], expected: set[str]) -> None:
    stages = summary["stages_s"]
    assert set(stages) == expected
    assert all(v >= 0 for v in stages.values())
    assert sum(stages.values()) <= summary["runtime_s"] + ROUNDING


def test_the_summary_splits_the_run_by_stage(small: dict[str, Any], tmp_path: Path) -> None:
    res = reoptimize(small, time_limit_s=30, max_rounds=1, out=tmp_path)
    check_stages(res.summary, {"input", "bound_and_sequential", "search", "joint_bound",
                               "tables", "output"})
    assert res.summary["time_limit_s"] == 30
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["stages_s"] == res.summary["stages_s"]


def test_the_store_stages_are_in_the_split(tiny: dict[str, Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    res = reoptimize(tiny, time_limit_s=10, max_rounds=1, store=url, batch_id="b")
    check_stages(res.summary, {"input", "store_read", "bound_and_sequential", "search",
                               "joint_bound", "tables", "store_write"})


def test_the_clock_refuses_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="time_limit_s"):
        Clock(0)


def test_the_search_leaves_what_the_later_stages_need() -> None:
    clock = Clock(10.0)
    assert clock.reserve(100.0) == 0.0  # nothing left for the search
    assert 0 < clock.reserve(1.0) <= 10.0 - 1.0


def test_deterministic_mode_gives_the_same_tables_under_load(small: dict[str, Any]) -> None:
    """A time limit far too short for the search does not matter in deterministic mode:
    a run with both cores busy with another process gives the same tables."""
    quiet = reoptimize(small, time_limit_s=1, max_rounds=3, deterministic=True)
    burn = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"
    hogs = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(2)]
    try:
        loaded = reoptimize(small, time_limit_s=1, max_rounds=3, deterministic=True)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert quiet.summary["deterministic"] and quiet.summary["rounds"] == 3
    for name in ("master", "items", "payments", "activities", "changes"):
        pd.testing.assert_frame_equal(quiet.tables[name], loaded.tables[name])
