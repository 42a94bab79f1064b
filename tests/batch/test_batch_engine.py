"""The batch engine: known optimum, no overselling, never worse than the warm starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ordersplit.batch import OversellError, batch_from_json, reoptimize
from ordersplit.batch.bound import waiting_units
from ordersplit.batch.ledger import Ledger, check_no_oversell
from ordersplit.batch.search import backorder_units, batch_key
from tests.batch.conftest import SMALL, scenario_json


def shipped_per_cell(result: Any, batch: Any) -> dict[tuple[str, str], int]:
    """Units leaving each (warehouse, stocked SKU), read back from the output tables."""
    master = result.tables["master"].set_index("order_id")
    items = result.tables["items"]
    comps: dict[str, list[tuple[str, int]]] = {}
    for tpl in batch.templates:
        for sku, item in tpl.request.catalog.items():
            if item.components and tpl.request.rules.bundle:
                comps[sku] = [(c.sku, c.quantity) for c in item.components]
    out: dict[tuple[str, str], int] = {}
    for row in items.itertuples():
        child = master.loc[row.order_id]
        if child["kind"] != "shipment":
            continue
        for sku, per in comps.get(row.sku, [(row.sku, 1)]):
            key = (str(child["warehouse"]), sku)
            out[key] = out.get(key, 0) + int(row.quantity) * per
    return out


def test_tiny_batch_reaches_the_known_optimum(tiny: dict[str, Any]) -> None:
    res = reoptimize(tiny, time_limit_s=600, max_rounds=3)
    s = res.summary
    assert s["children_sequential"] == 3
    assert s["children_batch"] == 2 == s["children_lower_bound"]
    assert s["gap_closed_pct"] == 100.0
    assert s["extra_children_removed_pct"] == 100.0
    changes = res.changes.set_index("order_id")
    assert changes.loc["A", "warehouses_after"] == "W2"
    assert changes.loc["B", "warehouses_after"] == "W1"
    assert bool(changes.loc["B", "changed_children"])


def test_never_oversells_and_never_worse_than_sequential(small: dict[str, Any]) -> None:
    batch = batch_from_json(small)
    res = reoptimize(batch, time_limit_s=600, max_rounds=3)
    sol = res.solution
    assert sol is not None
    check_no_oversell(batch.world.stock, sol.final)
    assert (backorder_units(sol.final), *batch_key(sol.final)) <= (
        backorder_units(sol.sequential), *batch_key(sol.sequential))
    assert res.summary["children_batch"] <= res.summary["children_sequential"]
    # no more units waiting in SKU units either (a bundle counts as its components)
    ok = [True] * len(sol.final)
    assert (waiting_units(batch.world, batch.templates, sol.final, ok)
            <= waiting_units(batch.world, batch.templates, sol.sequential, ok))
    # independently, from the output tables: no warehouse ships more than it holds
    stock = {(loc.id, sku): int(batch.world.stock[w, k])
             for w, loc in enumerate(batch.world.locations)
             for k, sku in enumerate(batch.world.sku_ids)}
    for cell, units in shipped_per_cell(res, batch).items():
        assert units <= stock.get(cell, 0), cell


def test_ledger_refuses_to_oversell(tiny: dict[str, Any]) -> None:
    batch = batch_from_json(tiny)
    res = reoptimize(batch, time_limit_s=600, max_rounds=1)
    sol = res.solution
    assert sol is not None
    ledger = Ledger.full(batch.world.stock)
    for plan in sol.final:
        ledger.take(plan)
    with pytest.raises(OversellError):
        ledger.take(sol.final[1])  # the same stock twice
    with pytest.raises(OversellError):
        check_no_oversell(batch.world.stock, [*sol.final, sol.final[1]])


def test_never_worse_than_the_current_assignment(tiny: dict[str, Any]) -> None:
    tiny["current"] = {"A": [["L1", "W2", 1]], "B": [["L1", "W1", 1], ["L2", "W1", 1]]}
    res = reoptimize(tiny, time_limit_s=600, max_rounds=2)
    assert res.summary["before"] == "current"
    assert res.summary["warm_start"] == "current"
    assert res.summary["children_current"] == 2 == res.summary["children_after"]
    assert not res.changes["changed_warehouse"].any()


def test_bad_orders_are_reported_and_the_others_go_on(small: dict[str, Any]) -> None:
    reqs = small["requests"]
    reqs[3]["order"]["lines"][0]["quantity"] = -2
    reqs[7]["order"]["lines"][0]["sku"] = "NO-SUCH-SKU"
    reqs[9]["order"]["payments"][0]["amount"] = "0.01"
    reqs[11]["order"]["id"] = reqs[12]["order"]["id"]  # duplicate id: the second one fails
    res = reoptimize(small, time_limit_s=600, max_rounds=1)
    errors = res.errors
    assert len(errors) == 4
    assert set(errors["position"]) == {3, 7, 9, 12}
    assert "order.lines[0].quantity" in set(errors["field"])
    assert res.summary["orders_planned"] + res.summary["orders_failed"] == len(reqs)
    assert res.master[res.master["level"] == 1]["order_id"].nunique() == len(reqs) - 4


def test_deterministic(small: dict[str, Any]) -> None:
    """Same input, same plans (given time: no per-order solve may hit its limit)."""
    a = reoptimize(small, time_limit_s=600, max_rounds=2, order_time_limit_s=10)
    b = reoptimize(small, time_limit_s=600, max_rounds=2, order_time_limit_s=10)
    for name in ("master", "items", "payments", "activities", "changes"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_money_adds_up_per_order(small: dict[str, Any]) -> None:
    res = reoptimize(small, time_limit_s=600, max_rounds=1)
    m = res.master.copy()
    for key in ("goods", "discount", "shipping_fee", "paid", "invoice", "tax"):
        m[key] = m[key].map(lambda v: round(float(v) * 100))
    parents = m[m["level"] == 1].set_index("order_id")
    kids = m[m["level"] == 2].groupby("parent_id")[["goods", "paid", "tax"]].sum()
    joined = parents[["goods", "paid", "tax"]].join(kids.add_suffix("_children"))
    for key in ("goods", "paid", "tax"):
        assert np.array_equal(joined[key].to_numpy(), joined[f"{key}_children"].to_numpy())


@pytest.mark.parametrize("cut", ["components", "region", "location"])
def test_part_budgets_never_add_up_to_more_than_the_free_stock(small: dict[str, Any],
                                                               cut: str) -> None:
    from ordersplit.batch.partition import make_tasks
    from ordersplit.batch.search import BatchState

    batch = batch_from_json(small)
    res = reoptimize(batch, time_limit_s=600, max_rounds=0)
    sol = res.solution
    assert sol is not None
    state = BatchState(batch.world, tuple(batch.templates), 1.0)
    residual = check_no_oversell(batch.world.stock, sol.final)
    tasks = make_tasks(state, sol.final, sol.lower, residual, cut, 3, 1.0)
    total = np.zeros_like(residual)
    seen: list[int] = []
    for task in tasks:
        total[:, task.cols] += task.budget
        seen += task.orders.tolist()
    assert (total <= residual).all()
    assert sorted(seen) == list(range(len(batch.templates)))


def test_an_overselling_current_assignment_cannot_make_the_batch_oversell(
        tiny: dict[str, Any]) -> None:
    tiny["current"] = {"A": [["L1", "W1", 1]], "B": [["L1", "W1", 1], ["L2", "W1", 1]]}
    batch = batch_from_json(tiny)
    res = reoptimize(batch, time_limit_s=600, max_rounds=2)
    sol = res.solution
    assert sol is not None and sol.current is not None
    check_no_oversell(batch.world.stock, sol.current)
    check_no_oversell(batch.world.stock, sol.final)
    assert res.summary["children_after"] == 2


def test_an_order_whose_split_raises_becomes_an_error_row(small: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver exception on one order: that order's error row, every other order planned."""
    from ordersplit.batch import frames, model

    bad = small["requests"][5]["order"]["id"]
    late = small["requests"][8]["order"]["id"]
    real_compile, real_links = model.compile_request, frames.gift_links

    def compile_or_fail(request: Any) -> Any:
        if request.order.id == bad:
            raise RuntimeError("injected solver failure")
        return real_compile(request)

    def links_or_fail(request: Any, drafts: Any) -> Any:
        if request.order.id == late:
            raise ValueError("injected plan failure")
        return real_links(request, drafts)

    monkeypatch.setattr(model, "compile_request", compile_or_fail)
    monkeypatch.setattr(frames, "gift_links", links_or_fail)
    res = reoptimize(small, time_limit_s=600, max_rounds=2)
    errors = res.errors.set_index("order_id")
    assert set(errors.index) == {bad, late}
    assert "injected solver failure" in errors.loc[bad, "message"]
    assert errors.loc[bad, "position"] == 5
    assert "injected plan failure" in errors.loc[late, "message"]
    n = len(small["requests"])
    s = res.summary
    assert s["orders_planned"] == n - 2 and s["orders_failed"] == 2
    parents = set(res.master[res.master["level"] == 1]["order_id"])
    assert len(parents) == n - 2 and bad not in parents and late not in parents
    assert bad not in set(res.changes["order_id"]) and late not in set(res.changes["order_id"])
    assert s["children_batch"] <= s["children_sequential"]
    sol = res.solution
    assert sol is not None
    check_no_oversell(batch_from_json(small).world.stock, sol.final)


def test_vectorized_tables_equal_the_per_order_plan_builder(small: dict[str, Any]) -> None:
    """The tables built in one pass per chunk equal those of build_plan order by order."""
    from ordersplit.batch.api import _Bar, _plans_and_rows
    from ordersplit.batch.output import frame
    from ordersplit.batch.search import BatchState
    from ordersplit.batch.shards import InlineRunner

    batch = batch_from_json(small)
    res = reoptimize(batch, time_limit_s=600, max_rounds=1)
    assert res.solution is not None
    state = BatchState(batch.world, tuple(batch.templates), 0.2)
    _, rows, failures = _plans_and_rows(state, InlineRunner(state), res.solution.final,
                                        _Bar(False, 0))
    assert not failures
    assert {p.backend for p in res.solution.final} >= {"fast", "combination"}
    for name in ("master", "items", "payments", "activities"):
        old = frame(rows.get(name, [])).astype(object).where(lambda d: d.notna(), None)
        new = res.tables[name].astype(object).where(lambda d: d.notna(), None)
        assert list(old.columns) == list(new.columns), name
        assert old.astype(str).equals(new.astype(str)), name


def _d_a_b(make_order: Callable[[str, list[tuple[str, str, int]]], dict[str, Any]],
           whs: list[dict[str, Any]]) -> dict[str, Any]:
    """D (X, Y, Z), then A (X), then B (X and Y), against ``whs``."""
    return {"requests": [make_order("D", [("1", "X", 1), ("2", "Y", 1), ("3", "Z", 1)]),
                         make_order("A", [("1", "X", 1)]),
                         make_order("B", [("1", "X", 1), ("2", "Y", 1)])],
            "warehouses": whs}


def test_an_order_of_one_sku_waits_so_that_a_larger_one_ships_whole(
        make_order: Callable[[str, list[tuple[str, str, int]]], dict[str, Any]]) -> None:
    """L1 (fast) has X, Y, Z; L2 has X, Y. In arrival order D takes X, Y, Z at L1, A
    takes X at L2, and B (X and Y) ships Y from L2 and waits for X: 4 children. B's
    lower-bound plan (L1) is D's, which cannot give way; but A, an order of one SKU, can
    wait without a new child: B ships X and Y from L2, A waits. 3 children, as many
    units waiting."""
    whs = [{"id": "L1", "stock": {"X": 1, "Y": 1, "Z": 1}, "delivery_hours": {"*": 10}},
           {"id": "L2", "stock": {"X": 1, "Y": 1}, "delivery_hours": {"*": 20}}]
    res = reoptimize(_d_a_b(make_order, whs), time_limit_s=600, max_rounds=1,
                     bound_time_limit_s=0)
    s = res.summary
    assert (s["children_sequential"], s["children_batch"]) == (4, 3)
    assert s["backorder_units_batch"] == s["backorder_units_sequential"] == 1
    waits = res.master[res.master["kind"] == "backorder"]["root_id"].tolist()
    assert waits == ["A"]


def test_a_waiting_order_moves_its_group_to_a_donors_location(
        make_order: Callable[[str, list[tuple[str, str, int]]], dict[str, Any]]) -> None:
    """L1 (fast) has X, Y, Z, L2 has Y, L3 (slow) has X and Y. D takes X, Y, Z at L1, A
    takes X at L3, B (X and Y) ships Y from L2 and waits for X: 4 children. No order
    holds X where B ships; but at L3 A's X and the Y left there cover B's group: B moves
    to L3, A (one SKU) waits. 3 children, as many units waiting."""
    whs = [{"id": "L1", "stock": {"X": 1, "Y": 1, "Z": 1}, "delivery_hours": {"*": 10}},
           {"id": "L2", "stock": {"Y": 1}, "delivery_hours": {"*": 20}},
           {"id": "L3", "stock": {"X": 1, "Y": 1}, "delivery_hours": {"*": 30}}]
    res = reoptimize(_d_a_b(make_order, whs), time_limit_s=600, max_rounds=1,
                     bound_time_limit_s=0)
    s = res.summary
    assert (s["children_sequential"], s["children_batch"]) == (4, 3)
    b = res.master[(res.master["root_id"] == "B") & (res.master["level"] == 2)]
    assert b["warehouse"].tolist() == ["L3"]


def test_a_group_short_anyway_waits_whole_so_that_a_waiting_order_ships(
        make_order: Callable[[str, list[tuple[str, str, int]]], dict[str, Any]]) -> None:
    """U is stocked nowhere. A (X and U, one group) arrives first: it ships X from L1 and
    waits for U; B (X only) waits for X: 3 children. A's group waits in any plan, so B
    takes the X (re-split first, as a taker) and A waits whole: 2 children, as many
    units waiting."""
    whs = [{"id": "L1", "stock": {"X": 1, "Y": 1}, "delivery_hours": {"*": 10}}]
    data = {"requests": [make_order("A", [("1", "X", 1), ("2", "U", 1)]),
                         make_order("B", [("1", "X", 1)])],
            "warehouses": whs}
    res = reoptimize(data, time_limit_s=600, max_rounds=1, bound_time_limit_s=0)
    s = res.summary
    assert (s["children_sequential"], s["children_batch"]) == (3, 2)
    assert s["backorder_units_batch"] == s["backorder_units_sequential"] == 2
    assert s["moves_accepted_takers"] == 1
    waits = res.master[res.master["kind"] == "backorder"]["root_id"].tolist()
    assert waits == ["A"]


def test_the_moves_widen_before_the_search_gives_up() -> None:
    """Without a round cap, a full turn of cuts without a gain widens the moves; the
    search ends only after a full turn at the widest breadth finds nothing either (40
    orders of the small scenario's shape: every turn at every breadth runs)."""
    from ordersplit.batch.partition import CUTS
    from ordersplit.batch.search import BREADTHS

    forty = replace(SMALL, n_orders=40)
    s = reoptimize(scenario_json(forty), time_limit_s=600, bound_time_limit_s=0).summary
    assert s["search_breadth"] == BREADTHS[-1]
    assert s["rounds"] >= len(BREADTHS) * len(CUTS)
    assert s["children_batch"] <= s["children_sequential"]


def test_an_ejection_chain_moves_a_dear_holder_to_where_a_cheap_one_waits(
        make_order: Callable[[str, list[tuple[str, str, int]]], dict[str, Any]]) -> None:
    """L1 (fast) has X, Y, Z; L2 has X, Z. H (X and Z) takes L1, G (X) takes L2's X, J (X
    and Y) ships Y from L1 and waits for X: 4 children. H cannot wait without a new child
    and has nowhere to go while G holds L2's X; as a chain J takes X at L1, H moves to
    L2, G (one SKU) waits: 3 children, as many units waiting."""
    whs = [{"id": "L1", "stock": {"X": 1, "Y": 1, "Z": 1}, "delivery_hours": {"*": 10}},
           {"id": "L2", "stock": {"X": 1, "Z": 1}, "delivery_hours": {"*": 20}}]
    data = {"requests": [make_order("H", [("1", "X", 1), ("2", "Z", 1)]),
                         make_order("G", [("1", "X", 1)]),
                         make_order("J", [("1", "X", 1), ("2", "Y", 1)])],
            "warehouses": whs}
    res = reoptimize(data, time_limit_s=600, max_rounds=1, bound_time_limit_s=0)
    s = res.summary
    assert (s["children_sequential"], s["children_batch"]) == (4, 3)
    assert s["backorder_units_batch"] == s["backorder_units_sequential"] == 1
    assert s["moves_accepted_chains"] == 1
    waits = res.master[res.master["kind"] == "backorder"]["root_id"].tolist()
    assert waits == ["G"]


def test_store_lines_take_the_store_stock_once(make_order: Any) -> None:
    """Two orders want the one unit a store holds: one store child ships it, the other
    order's store line waits (the store's units are counted like any other's)."""
    whs = [{"id": "ST", "kind": "store", "stock": {"S": 1}, "delivery_hours": {"*": 5}},
           {"id": "W1", "stock": {"X": 5}, "delivery_hours": {"*": 10}}]
    batch = {"requests": [make_order(o, [("L1", "S", 1), ("L2", "X", 1)]) for o in ("A", "B")],
             "warehouses": whs}
    for req in batch["requests"]:
        req["catalog"]["S"]["offline_store"] = True
    res = reoptimize(batch, time_limit_s=600, max_rounds=2)
    assert res.errors.empty
    kinds = res.master[res.master["level"] == 2].groupby("kind")["order_id"].count().to_dict()
    assert kinds.get("store") == 1  # never two store children for one unit
    assert kinds.get("backorder") == 1


def test_store_stock_does_not_shrink_the_joint_bound_cap(make_order: Any) -> None:
    """Store lines served from a store's own stock count as not shipped, as the joint
    bound assumes: else the waiting cap misses them and the LP has no feasible point
    (it then fell back to the weaker group bound on every scenario with stores)."""
    whs = [{"id": "ST", "kind": "store", "stock": {"S": 2}, "delivery_hours": {"*": 5}},
           {"id": "W1", "stock": {"X": 1}, "delivery_hours": {"*": 10}}]
    batch = {"requests": [make_order(o, [("L1", "S", 1), ("L2", "X", 1)])
                          for o in ("A", "B", "C")], "warehouses": whs}
    for req in batch["requests"]:
        req["catalog"]["S"]["offline_store"] = True
    res = reoptimize(batch, time_limit_s=600, max_rounds=2)
    assert res.errors.empty
    s = res.summary
    assert s["joint_bound_status"] == "optimal"
    assert s["children_joint_bound"] <= s["children_batch"]
    sol = res.solution
    assert sol is not None
    work = batch_from_json(batch)
    ok = [True] * len(sol.final)
    # 6 units wanted, only the one unit of X leaves a warehouse that is not a store
    assert waiting_units(work.world, work.templates, sol.final, ok) == 5


def test_the_batch_key_kept_per_round_equals_a_recount(small_scarce: dict[str, Any]) -> None:
    """The driver shifts the batch key by the plans a round changed instead of summing
    every plan again: after any replacements it is the recount's (the search checks
    the same at its end)."""
    from ordersplit.batch.engine import shifted_key

    res = reoptimize(batch_from_json(small_scarce), time_limit_s=600, max_rounds=0,
                     deterministic=True)
    sol = res.solution
    assert sol is not None
    plans, others = list(sol.sequential), list(sol.lower)
    assert batch_key(plans) != batch_key(others)
    key = batch_key(plans)
    for idx in ([0], [1, 3], list(range(len(plans) - 1, -1, -2)), []):
        old = [plans[i] for i in idx]
        new = [others[i] for i in idx]
        for i in idx:
            plans[i] = others[i]
        key = shifted_key(key, old, new)
        assert key == batch_key(plans)
