"""Re-split semantics: a reported shortage lowers the short warehouse's stock of that SKU
to what it can still ship (the child's units less the shortage), unless the caller gives a
fresh stock snapshot, which is used as given. Bad shortages name their field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from lifecycle_checks import check_tree
from lifecycle_data import gift_request

from ordersplit.cli import main
from ordersplit.errors import RequestError
from ordersplit.lifecycle import Store
from ordersplit.models.plan import Plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contract_order.json"


def _example(**warehouse_stock: dict[str, int]) -> dict[str, Any]:
    req = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    for w in req["warehouses"]:
        w["stock"].update(warehouse_stock.get(w["id"].replace("-", "_"), {}))
    return req


def _units(plan: Plan) -> dict[tuple[str, str | None], int]:
    """Units per (kind, warehouse) over the plan's children."""
    out: dict[tuple[str, str | None], int] = {}
    for c in plan.children:
        key = (c.kind, c.warehouse)
        out[key] = out.get(key, 0) + sum(line.quantity for line in c.lines)
    return out


def test_readme_example_ships_what_the_short_warehouse_still_has(store: Store) -> None:
    """SH-1 reported one of the two milks missing: one ships from SH-1, one waits (the
    stored 40-unit snapshot does not override the report; no other warehouse has milk)."""
    store.split(_example())
    plan = store.resplit("P-1001-1", {"MILK-1L": 1})
    assert _units(plan) == {("shipment", "SH-1"): 1, ("backorder", None): 1}
    check_tree(store.tree("P-1001"))


def test_the_short_unit_comes_from_another_warehouse_that_has_it(store: Store) -> None:
    """HZ-2 holds one milk: the one SH-1 still has ships from SH-1, the other from HZ-2."""
    store.split(_example(HZ_2={"MILK-1L": 1}))
    plan = store.resplit("P-1001-1", {"MILK-1L": 1})
    assert _units(plan) == {("shipment", "SH-1"): 1, ("shipment", "HZ-2"): 1}


def test_fewest_children_may_move_everything_to_one_warehouse(store: Store) -> None:
    """HZ-2 holds five: one child from HZ-2 beats two (fewest children first)."""
    store.split(_example(HZ_2={"MILK-1L": 5}))
    plan = store.resplit("P-1001-1", {"MILK-1L": 1})
    assert _units(plan) == {("shipment", "HZ-2"): 2}


def test_a_fresh_snapshot_is_used_as_given(store: Store) -> None:
    """The caller counted again: SH-1 has the milk after all; the snapshot wins."""
    store.split(_example(HZ_2={"MILK-1L": 5}))
    plan = store.resplit("P-1001-1", {"MILK-1L": 1}, {"SH-1": {"MILK-1L": 2}, "HZ-2": {}})
    assert _units(plan) == {("shipment", "SH-1"): 2}


@pytest.mark.parametrize(("sku", "short"), [("MILK", 1), ("MILK", 3), ("BREAD", 1),
                                            ("BREAD", 2)])
def test_the_short_warehouse_never_ships_more_than_it_has_left(store: Store, sku: str,
                                                               short: int) -> None:
    store.split(gift_request())
    carried = store.order("G-1-1").units()[sku]
    plan = store.resplit("G-1-1", {sku: short})
    from_w1 = sum(line.quantity for c in plan.children if c.warehouse == "W1"
                  for line in c.lines if line.sku == sku)
    assert from_w1 == carried - short
    assert sum(line.quantity for c in plan.children for line in c.lines
               if line.sku == sku) == carried
    check_tree(store.tree("G-1"))


def test_bad_shortages_and_snapshots_name_the_field(store: Store) -> None:
    store.split(gift_request())
    counts = store.row_counts()
    for shortage, field in (({"MILK": -1}, "shortage.MILK"), ({"MILK": 0}, "shortage.MILK"),
                            ({"MILK": 4}, "shortage.MILK"), ({"NOPE": 1}, "shortage.NOPE")):
        with pytest.raises(RequestError) as bad:
            store.resplit("G-1-1", shortage)
        assert (bad.value.field, bad.value.order_id) == (field, "G-1-1")
    with pytest.raises(RequestError) as bad:
        store.resplit("G-1-1", {"MILK": 1}, {"W1": {"MILK": -2}})
    assert bad.value.field == "stock.W1.MILK"
    assert store.row_counts() == counts


def test_cli_bad_shortage_exits_2_naming_the_field(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    assert main(["split", str(EXAMPLE), "--store", url]) == 0
    capsys.readouterr()
    for short, field in (("MILK-1L=-1", "shortage.MILK-1L"), ("MILK-1L=x", "--short"),
                         ("MILK-1L=3", "shortage.MILK-1L")):
        assert main(["resplit", "P-1001-1", "--short", short, "--store", url]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        err = json.loads(captured.err)["error"]
        assert (err["field"], err["order_id"]) == (field, "P-1001-1")
    bad = tmp_path / "stock.json"
    bad.write_text("[1, 2]")
    assert main(["resplit", "P-1001-1", "--short", "MILK-1L=1", "--stock", str(bad),
                 "--store", url]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["field"] == "--stock"
    assert main(["resplit", "P-1001-1", "--short", "MILK-1L=1", "--store", url]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(c["kind"], c["warehouse"]) for c in plan["children"]] == [
        ("shipment", "SH-1"), ("backorder", None)]


def _milk_order() -> dict[str, Any]:
    """Five milks: SH-1's snapshot claims three, HZ-2 has two; so two children."""
    return {
        "order": {"id": "M-1", "currency": "CNY", "destination": "city",
                  "lines": [{"id": "L1", "sku": "MILK", "quantity": 5, "unit_price": "1.00"}],
                  "payments": [{"method": "cash", "amount": "5.00"}]},
        "catalog": {"MILK": {"merchant": "m", "temperature": "chilled"}},
        "warehouses": [{"id": "SH-1", "stock": {"MILK": 3}, "delivery_hours": {"city": 12}},
                       {"id": "HZ-2", "stock": {"MILK": 2}, "delivery_hours": {"city": 24}}],
    }


def test_a_reported_shortage_holds_for_later_resplits_of_the_tree(store: Store) -> None:
    """SH-1 reported it had one milk of three: a later re-split of the HZ-2 child finds
    none left at SH-1 (the stored snapshot's phantom units stay gone); a fresh snapshot
    still wins."""
    plan = store.split(_milk_order()).plan
    assert [(c.id, c.warehouse) for c in plan.children] == [("M-1-1", "SH-1"),
                                                            ("M-1-2", "HZ-2")]
    first = store.resplit("M-1-1", {"MILK": 2})
    assert _units(first) == {("shipment", "SH-1"): 1, ("backorder", None): 2}
    later = store.resplit("M-1-2", {"MILK": 1})
    assert _units(later) == {("shipment", "HZ-2"): 1, ("backorder", None): 1}
    check_tree(store.tree("M-1"))


def test_a_fresh_snapshot_overrides_earlier_reports(store: Store) -> None:
    store.split(_milk_order())
    store.resplit("M-1-1", {"MILK": 2})
    later = store.resplit("M-1-2", {"MILK": 1}, {"SH-1": {"MILK": 1}, "HZ-2": {"MILK": 1}})
    assert _units(later) == {("shipment", "HZ-2"): 1, ("shipment", "SH-1"): 1}
