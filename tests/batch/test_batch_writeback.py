"""Write-back into the lifecycle store: supersede with lineage, idempotent per batch id,
released orders fixed, a crash leaves every order old or new (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from ordersplit.batch import reoptimize
from ordersplit.lifecycle import Store, open_store
from ordersplit.lifecycle import schema as t

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("master", "items", "payments", "activities", "changes")


def live(store: Store, oid: str) -> list[str]:
    """Ids of the order's children that are not superseded."""
    return [o.id for o in store.tree(oid) if o.level == 2 and o.status != "superseded"]


def same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True),
                                      b[name].reset_index(drop=True), check_dtype=False)


def check_order(store: Store, oid: str) -> list[str]:
    """The order is whole: its live children (one generation) carry every unit of every
    line once and add up to the parent for every amount; returns their ids."""
    tree = store.tree(oid)
    root = tree[0]
    kids = [o for o in tree if o.level == 2 and o.status != "superseded"]
    assert kids and all(o.parent_id == oid and o.root_id == oid for o in kids)
    gens = {o.id.rsplit("-", 1)[0] for o in kids}
    assert len(gens) == 1, f"{oid}: children of two generations {sorted(gens)}"
    for key in root.keys:
        assert sum(o.amounts[key] for o in kids) == root.amounts[key], (oid, key)
    units: dict[str, int] = {}
    for o in kids:
        for item in o.items:
            if item.component_of is None:
                units[item.line_id] = units.get(item.line_id, 0) + item.quantity
    for item in root.items:
        if item.line_id in units:
            assert units[item.line_id] == item.quantity, (oid, item.line_id)
    return [o.id for o in kids]


def test_replan_supersedes_with_lineage_and_is_idempotent(tiny: dict[str, Any], store_url: str
                                                          ) -> None:
    """Stored sequential plans (3 children) are replaced by the batch's (2): the old
    children superseded with the batch id in their history, the new ones under the same
    parent; the same batch id again writes nothing and returns the same tables."""
    first = reoptimize(tiny, time_limit_s=10, max_rounds=0, store=store_url, batch_id="b0")
    assert first.summary["store"]["inserted"] == 2
    store = open_store(store_url)
    try:
        assert sorted(live(store, "B")) == ["B-1", "B-2"]
        res = reoptimize(tiny, time_limit_s=10, max_rounds=3, store=store_url, batch_id="b1")
        assert res.summary["store"]["replaced"] == 2
        assert live(store, "A") == ["A-v2-1"] and live(store, "B") == ["B-v2-1"]
        assert store.order("A-v2-1").warehouse == "W2" and store.order("B-v2-1").warehouse == "W1"
        for old in ("A-1", "B-1", "B-2"):
            node = store.order(old)
            assert node.status == "superseded"  # not cancelled: nothing was refunded
            note = json.loads(store.history(old)[-1].note or "{}")
            assert note["batch_id"] == "b1" and note["superseded_by"] == live(store, old[0])
        for oid in ("A", "B"):
            check_order(store, oid)
        changes = res.changes.set_index("order_id")
        assert changes.loc["B", "superseded"] == "B-1;B-2"
        assert changes.loc["B", "superseded_by"] == "B-v2-1"
        assert changes.loc["B", "store_action"] == "replaced"
        master = res.master.set_index("order_id")
        assert master.loc["B-v2-1", "parent_id"] == "B" and master.loc["B-v2-1", "level"] == 2
        assert "B-1" not in master.index
        assert [s.count for s in store.stats("child")] == [2]  # superseded ones do not count
        counts = store.row_counts()
        again = reoptimize(tiny, time_limit_s=10, max_rounds=3, store=store_url, batch_id="b1")
        assert store.row_counts() == counts
        assert again.summary["store"]["already_written"] == 2
        same_tables(res.tables, again.tables)
        later = reoptimize(tiny, time_limit_s=10, max_rounds=3, store=store_url, batch_id="b2")
        assert later.summary["store"]["unchanged"] == 2
        assert (later.changes["children_before"] == later.changes["children_after"]).all()
        same_tables({**res.tables, "changes": later.changes}, later.tables)
    finally:
        store.close()


def test_released_orders_are_fixed_and_hold_their_stock(tiny: dict[str, Any], store_url: str
                                                        ) -> None:
    """A's child reached the warehouse: A keeps W1's X, so B cannot take it and stays."""
    reoptimize(tiny, time_limit_s=10, max_rounds=0, store=store_url, batch_id="b0")
    store = open_store(store_url)
    try:
        store.set_status("A-1", "in_warehouse")
        res = reoptimize(tiny, time_limit_s=10, max_rounds=3, store=store_url, batch_id="b1")
        s = res.summary["store"]
        assert (s["released"], s["kept"], s["unchanged"], s["replaced"]) == (1, 1, 1, 0)
        assert live(store, "A") == ["A-1"] and sorted(live(store, "B")) == ["B-1", "B-2"]
        assert store.order("A-1").status == "in_warehouse"
        master = res.master.set_index("order_id")
        assert master.loc["A-1", "status"] == "in_warehouse"  # as stored
        assert res.changes.set_index("order_id").loc["A", "store_action"] == "kept"
    finally:
        store.close()


def test_store_needs_a_batch_id(tiny: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch id"):
        reoptimize(tiny, store=f"sqlite:///{tmp_path / 'x.db'}")


def test_a_stored_order_that_differs_is_an_error_row(tiny: dict[str, Any], store_url: str) -> None:
    reoptimize(tiny, time_limit_s=10, max_rounds=0, store=store_url, batch_id="b0")
    tiny["requests"][0]["order"]["lines"][0]["quantity"] = 2
    tiny["requests"][0]["order"]["payments"][0]["amount"] = "2.00"
    res = reoptimize(tiny, time_limit_s=10, max_rounds=2, store=store_url, batch_id="b1")
    assert res.errors["order_id"].tolist() == ["A"]
    assert "differs" in res.errors["message"][0]
    assert set(res.master["root_id"]) == {"B"}


def test_killed_mid_write_back_leaves_every_order_old_or_new(
        small: dict[str, Any], store_url: str, tmp_path: Path) -> None:
    """A run killed (SIGKILL) in the middle of its write-back: every order has either
    its old children or the batch's, never a mix, and the same batch id then finishes
    the job with the tables the store keeps."""
    src = tmp_path / "batch.json"
    src.write_text(json.dumps(small))
    n = len(small["requests"])
    base = reoptimize(src, time_limit_s=60, max_rounds=0, store=store_url, batch_id="b0")
    old = {oid: set(ids.split(";")) for oid, ids in
           base.changes.set_index("order_id")["superseded_by"].items()}
    cmd = [sys.executable, "-c", "import sys; from ordersplit.cli import main; sys.exit(main())",
           "reoptimize", str(src), "--store", store_url, "--batch-id", "b1", "--no-progress",
           "--time-limit-s", "60", "--max-rounds", "4", "--order-time-limit-s", "5"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    store = open_store(store_url)
    try:
        bw = t.batch_writes
        mine = bw.c.batch_id == "b1"
        with store.engine.connect() as conn:
            # read-only polling: it never holds the run up, and it ends with the run
            # (bounded by its own --time-limit-s), so no clock of the test's own
            while True:
                assert proc.poll() is None, "the run ended before it was killed"
                with conn.begin():
                    new = conn.execute(select(func.count()).select_from(bw).where(
                        mine, bw.c.action == "replaced")).scalar()
                if new:
                    break
                time.sleep(0.005)
            proc.send_signal(signal.SIGSTOP)  # frozen where it is, maybe mid-transaction
            with conn.begin():
                written = int(conn.execute(select(func.count()).select_from(bw).where(
                    mine)).scalar() or 0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        assert written < n, "the write-back ended before it was killed"
        done = store.batch_changes("b1", list(old))
        for oid, before in old.items():
            kids = set(check_order(store, oid))
            if oid in done and done[oid]["store_action"] == "replaced":
                assert kids == set(done[oid]["superseded_by"].split(";"))
            else:
                assert kids == before, f"{oid}: neither old nor new"
        assert len(done) == written
        finished = reoptimize(src, time_limit_s=60, max_rounds=4, order_time_limit_s=5,
                              store=store_url, batch_id="b1")
        assert finished.summary["store"]["already_written"] == written
        assert len(store.batch_changes("b1", list(old))) == n
        for oid in old:
            check_order(store, oid)
        again = reoptimize(src, time_limit_s=60, max_rounds=4, store=store_url, batch_id="b1")
        same_tables(finished.tables, again.tables)
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
