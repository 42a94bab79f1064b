"""Each split rule of DOMAIN.md, on small orders, switched on and off."""

from __future__ import annotations

import pytest

from ordersplit import split
from ordersplit.errors import RequestError
from ordersplit.models.validate import parse_request
from tests.conftest import make_request, wh
from tests.strategies import check_plan


def plan_of(req):
    plan = split(req)
    check_plan(parse_request(req), plan)
    return plan


def by_line(plan):
    return {line.line_id: child for child in plan.children for line in child.lines}


def test_contract_example(example_request):
    plan = plan_of(example_request)
    kids = by_line(plan)
    assert plan.status == "optimal"
    assert kids["L3"].warehouse == "HZ-2" and "bulky" in kids["L3"].reasons
    assert kids["L1"].temperature == "chilled" and kids["L2"].temperature == "frozen"
    assert kids["L4"].id in kids["L3"].linked_children  # the gift follows its trigger
    assert kids["L3"].id in kids["L4"].linked_children
    assert plan.objective.children == 4


def test_merchants_split_and_rule_off_merges():
    cat = {"A": {"merchant": "m1"}, "B": {"merchant": "m2"}}
    req = make_request([("1", "A", 1), ("2", "B", 1)], [wh("W", 12, A=5, B=5)], cat)
    plan = plan_of(req)
    assert plan.objective.children == 2
    assert all("merchant" in c.reasons for c in plan.children)
    req["rules"] = {"merchant": False}
    assert plan_of(req).objective.children == 1


def test_handling_and_cross_border_are_keys():
    cat = {"A": {"merchant": "m", "handling": "luxury"}, "B": {"merchant": "m"},
           "C": {"merchant": "m", "cross_border": True}}
    req = make_request([("1", "A", 1), ("2", "B", 1), ("3", "C", 1)],
                       [wh("W", 12, A=5, B=5, C=5)], cat)
    plan = plan_of(req)
    assert plan.objective.children == 3
    kids = by_line(plan)
    assert "handling" in kids["1"].reasons and "cross_border" in kids["3"].reasons
    req["rules"] = {"handling": False, "cross_border": False}
    assert plan_of(req).objective.children == 1


def test_temperature_rule_off_merges_zones():
    cat = {"MILK": {"merchant": "m", "temperature": "chilled"},
           "ICE": {"merchant": "m", "temperature": "frozen"}}
    req = make_request([("1", "MILK", 1), ("2", "ICE", 1)], [wh("W", 12, MILK=1, ICE=1)], cat,
                       )
    req["rules"] = {"temperature": False}
    plan = plan_of(req)
    assert plan.objective.children == 1 and plan.children[0].temperature is None


def test_bulky_ships_alone_and_fastest_even_against_fewest():
    # W2 holds everything (one child would do), but the bulky fridge ships from fast W1.
    cat = {"FRIDGE": {"merchant": "m", "bulky": True}}
    req = make_request([("1", "FRIDGE", 1), ("2", "A", 1)],
                       [wh("W1", 6, FRIDGE=1), wh("W2", 48, FRIDGE=1, A=1)], cat)
    kids = by_line(plan_of(req))
    assert kids["1"].warehouse == "W1" and kids["1"].reasons[0] == "bulky"
    assert len(kids["1"].lines) == 1 and kids["2"].warehouse == "W2"
    req["rules"] = {"bulky": False}
    assert plan_of(req).objective.children == 1


def test_bundle_ships_whole_from_one_warehouse():
    cat = {"KIT": {"merchant": "m", "components": [{"sku": "A", "quantity": 2},
                                                   {"sku": "B", "quantity": 1}]},
           "A": {"merchant": "m"}, "B": {"merchant": "m"}}
    # W1 has all A, W2 all B, only W3 has both: the bundle must come from W3.
    req = make_request([("1", "KIT", 1)],
                       [wh("W1", 6, A=9), wh("W2", 6, B=9), wh("W3", 48, A=2, B=1)], cat)
    plan = plan_of(req)
    assert [c.warehouse for c in plan.children] == ["W3"]
    req["order"]["preference"] = "fastest"
    assert [c.warehouse for c in plan_of(req).children] == ["W3"]  # still whole
    req["rules"] = {"bundle": False}
    plan = plan_of(req)  # components may now ship separately, faster
    assert sorted(c.warehouse for c in plan.children) == ["W1", "W2"]
    assert {line.component_of for c in plan.children for line in c.lines} == {"KIT"}


STORE_CATALOG = {"S1": {"merchant": "m", "offline_store": True},
                 "S2": {"merchant": "m", "offline_store": True, "temperature": "frozen"}}
STORE_LINES = [("1", "S1", 1), ("2", "A", 1), ("3", "S2", 2)]


def test_offline_store_lines_form_one_store_child():
    req = make_request(STORE_LINES, [wh("W", 12, A=5), wh("SHOP", 1, kind="store", S1=1, S2=2)],
                       STORE_CATALOG)
    plan = plan_of(req)
    store = [c for c in plan.children if c.kind == "store"]
    assert len(store) == 1 and {x.line_id for x in store[0].lines} == {"1", "3"}
    assert store[0].warehouse == "SHOP" and "offline_store" in store[0].reasons
    assert store[0].warehouses == ["SHOP"]


def test_store_lines_ship_from_the_store_that_holds_them_all():
    # SHOP-1 is faster but short of S2; SHOP-3 holds both but does not deliver to the city
    req = make_request(STORE_LINES, [wh("W", 12, A=5), wh("SHOP-1", 1, kind="store", S1=1, S2=1),
                                     wh("SHOP-2", 8, kind="store", S1=3, S2=2),
                                     {**wh("SHOP-3", 1, kind="store", S1=9, S2=9),
                                      "delivery_hours": {}}], STORE_CATALOG)
    store = next(c for c in plan_of(req).children if c.kind == "store")
    assert (store.warehouse, store.warehouses) == ("SHOP-2", ["SHOP-2"])
    req["rules"] = {"stock": False}  # listing the SKUs is enough: the fastest lister wins
    store = next(c for c in plan_of(req).children if c.kind == "store")
    assert store.warehouse == "SHOP-1"


def test_store_lines_no_store_holds_wait_together_in_their_own_backorder():
    req = make_request([*STORE_LINES, ("4", "A", 9)],
                       [wh("W", 12, A=5), wh("SHOP", 1, kind="store", S1=1)], STORE_CATALOG)
    plan = plan_of(req)
    assert not [c for c in plan.children if c.kind == "store"]
    waiting = [sorted(x.line_id for x in c.lines) for c in plan.children
               if c.kind == "backorder"]
    assert sorted(waiting) == [["1", "3"], ["4"]]  # not mixed with the plain back-order
    assert all(c.warehouse is None and c.warehouses == [] for c in plan.children
               if c.kind == "backorder")
    req["order"]["backorder"] = "wait"
    assert plan_of(req).waits_for_stock


def test_store_lines_without_any_store_are_refused_naming_the_line():
    req = make_request(STORE_LINES, [wh("W", 12, A=5)], STORE_CATALOG)
    with pytest.raises(RequestError) as bad:
        split(req)
    assert (bad.value.field, bad.value.order_id) == ("order.lines[0]", "O-1")
    req["rules"] = {"offline_store": False}  # the rule off: they are plain lines
    assert all(c.kind != "store" for c in split(req).children)


def test_backorder_split_ships_what_the_network_has():
    req = make_request([("1", "A", 5), ("2", "B", 1)], [wh("W1", 12, A=2, B=1), wh("W2", 24, A=1)])
    plan = plan_of(req)
    back = [c for c in plan.children if c.kind == "backorder"]
    assert len(back) == 1 and back[0].lines[0].quantity == 2 and back[0].reasons == ["stock"]
    shipped = sum(x.quantity for c in plan.children if c.kind == "shipment" for x in c.lines
                  if x.line_id == "1")
    assert shipped == 3 and not plan.waits_for_stock


def test_backorder_wait_holds_the_whole_order():
    req = make_request([("1", "A", 5), ("2", "B", 1)], [wh("W1", 12, A=2, B=1)],
                       backorder="wait")
    plan = plan_of(req)
    assert plan.waits_for_stock
    assert all(c.kind == "backorder" for c in plan.children)


def test_stock_rule_off_ignores_quantities():
    req = make_request([("1", "A", 50)], [wh("W1", 12, A=1)])
    req["rules"] = {"stock": False}
    plan = plan_of(req)
    assert [c.kind for c in plan.children] == ["shipment"]


def test_suppliers_ship_their_own_children():
    req = make_request([("1", "A", 1), ("2", "DS", 1)],
                       [wh("W1", 12, A=5), wh("SUP", 72, kind="supplier", DS=5)])
    plan = plan_of(req)
    assert sorted(c.warehouse for c in plan.children) == ["SUP", "W1"]
    assert all(c.reasons == ["warehouse"] for c in plan.children)


def test_warehouse_rule_off_gives_one_child_per_group():
    req = make_request([("1", "A", 1), ("2", "B", 1)], [wh("W1", 12, A=1), wh("W2", 24, B=1)])
    req["rules"] = {"warehouse": False}
    plan = plan_of(req)
    assert plan.objective.children == 1
    assert plan.children[0].warehouses == ["W1", "W2"] and plan.children[0].delivery_hours == 24


def test_line_quantity_splits_when_the_objective_prefers_it():
    # fastest preference: the 2 units come from two fast warehouses, not one slow one
    req = make_request([("1", "A", 2)], [wh("W1", 6, A=1), wh("W2", 6, A=1), wh("W3", 48, A=2)],
                       preference="fastest")
    plan = plan_of(req)
    assert sorted(c.warehouse for c in plan.children) == ["W1", "W2"]
    req["order"]["preference"] = "fewest_children"
    assert [c.warehouse for c in plan_of(req).children] == ["W3"]


def test_cost_objective_picks_cheap_children():
    req = make_request([("1", "A", 1)], [wh("W1", 6, "9.50", A=1), wh("W2", 48, "1.25", A=1)],
                       objective=["cost"])
    plan = plan_of(req)
    assert plan.children[0].warehouse == "W2" and plan.objective.cost == "1.25"


def test_unreachable_destination_is_backordered():
    req = make_request([("1", "A", 1)], [{"id": "W", "stock": {"A": 5},
                                           "delivery_hours": {"elsewhere": 5}}])
    plan = plan_of(req)
    assert [c.kind for c in plan.children] == ["backorder"]
