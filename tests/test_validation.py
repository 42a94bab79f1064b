"""Bad input gets the contract's error object naming the order and the field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit import RequestError, split
from ordersplit.cli import main


def _bad(example, mutate):
    req = copy.deepcopy(example)
    mutate(req)
    with pytest.raises(RequestError) as info:
        split(req)
    return info.value


CASES = {
    "unknown sku": (lambda r: r["order"]["lines"][1].update(sku="NOPE"), "order.lines[1].sku"),
    "zero quantity": (lambda r: r["order"]["lines"][2].update(quantity=0),
                      "order.lines[2].quantity"),
    "fractional quantity": (lambda r: r["order"]["lines"][0].update(quantity=1.5),
                            "order.lines[0].quantity"),
    "negative price": (lambda r: r["order"]["lines"][0].update(unit_price="-1.00"),
                       "order.lines[0].unit_price"),
    "too many decimals": (lambda r: r["order"]["lines"][0].update(unit_price="1.001"),
                          "order.lines[0].unit_price"),
    "duplicate line id": (lambda r: r["order"]["lines"][1].update(id="L1"), "order.lines[1].id"),
    "bundle component missing": (
        lambda r: r["catalog"].update({"GIFT-BAG": {"components": [{"sku": "GHOST", "quantity": 1}]}}),
        "catalog.GIFT-BAG.components[0].sku"),
    "payments do not add up": (lambda r: r["order"]["payments"][3].update(amount="1.00"),
                               "order.payments"),
    "unknown solver": (lambda r: r["options"].update(solver="magic"), "options.solver"),
    "unknown objective term": (lambda r: r["options"].update(objective=["speed"]),
                               "options.objective[0]"),
    "unknown option": (lambda r: r["options"].update(solvr="auto"), "options.solvr"),
    "unknown rule": (lambda r: r["rules"].update(colour=True), "rules.colour"),
    "unknown currency": (lambda r: r["order"].update(currency="XYZ"), "order.currency"),
    "unknown activity line": (lambda r: r["order"]["activities"][0].update(lines=["L9"]),
                              "order.activities[0].lines[0]"),
    "negative stock": (lambda r: r["warehouses"][0]["stock"].update({"MILK-1L": -1}),
                       "warehouses[0].stock.MILK-1L"),
    "bad backorder": (lambda r: r["order"].update(backorder="later"), "order.backorder"),
    "overlapping discounts exceed a line": (
        lambda r: r["order"]["activities"].append(
            {"id": "PROMO-8", "kind": "discount", "amount": "50.00", "lines": ["L1", "L2"]}),
        "order.activities"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_the_order_and_the_field(example_request, case):
    mutate, field = CASES[case]
    err = _bad(example_request, mutate)
    assert err.field == field, (case, err.field, err.message)
    assert err.order_id == "P-1001"
    body = err.to_dict()["error"]
    assert body["order_id"] == "P-1001" and body["field"] == field and body["message"]


def test_malformed_json_is_a_request_error():
    with pytest.raises(RequestError) as info:
        split('{"order": ')
    assert "malformed JSON" in info.value.message


def test_cli_prints_the_plan(tmp_path, example_request, capsys):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(example_request))
    assert main(["split", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["order_id"] == "P-1001" and out["status"] == "optimal"


@pytest.mark.parametrize("text", ['{"order": ', '{"order": {"id": "X"}}', "[]"])
def test_cli_exits_2_and_prints_nothing_on_bad_input(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "ordersplit.cli", "split", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    err = json.loads(proc.stderr.strip().splitlines()[-1])
    assert set(err["error"]) == {"order_id", "field", "message"}


def test_cli_missing_file_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ordersplit.cli", "split",
                           str(tmp_path / "none.json")], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2 and proc.stdout == ""


# Bounds: every number and id a request carries is bounded where it enters, so a value
# past int64 (or past what a store or a URL can hold) is an error naming the field, never
# an overflow in a solver (docs/service.md lists the bounds).

BOUND_CASES = {
    "delivery hours 1e18": (lambda r: r["warehouses"][0]["delivery_hours"].update(shanghai=1e18),
                            "warehouses[0].delivery_hours.shanghai"),
    "child cost 1e30": (lambda r: r["warehouses"][1].update(child_cost="1e30"),
                        "warehouses[1].child_cost"),
    "stock 2**63": (lambda r: r["warehouses"][0]["stock"].update({"MILK-1L": 2**63}),
                    "warehouses[0].stock.MILK-1L"),
    "quantity 2**63": (lambda r: r["order"]["lines"][3].update(quantity=2**63),
                       "order.lines[3].quantity"),
    "seed 2**63": (lambda r: r["options"].update(seed=2**63), "options.seed"),
    "tax rate with 40 decimals": (
        lambda r: r["catalog"]["MILK-1L"].update(tax_rate="0." + "1" * 40),
        "catalog.MILK-1L.tax_rate"),
    "money as a binary float": (lambda r: r["order"]["lines"][0].update(unit_price=12.5),
                                "order.lines[0].unit_price"),
    "money in exponent notation": (lambda r: r["order"].update(shipping_fee="8E0"),
                                   "order.shipping_fee"),
    "lower-case currency": (lambda r: r["order"].update(currency="cny"), "order.currency"),
    "currency without a minor unit": (lambda r: r["order"].update(currency="XAU"),
                                      "order.currency"),
    "numeric currency": (lambda r: r["order"].update(currency="000"), "order.currency"),
    "goods of a line over 10^12": (
        lambda r: r["order"]["lines"][2].update(unit_price="999999999999.00", quantity=2),
        "order.lines[2].quantity"),
    "order id with a slash": (lambda r: r["order"].update(id="P/1"), "order.id"),
    "order id with NUL": (lambda r: r["order"].update(id="P\x001"), "order.id"),
    "order id of 129 characters": (lambda r: r["order"].update(id="P" * 129), "order.id"),
    "line id with a space": (lambda r: r["order"]["lines"][0].update(id="L 1"),
                             "order.lines[0].id"),
    "warehouse id with a slash": (lambda r: r["warehouses"][0].update(id="SH/1"),
                                  "warehouses[0].id"),
    "destination with a control character": (lambda r: r["order"].update(destination="a\nb"),
                                             "order.destination"),
    "destination with a lone surrogate": (lambda r: r["order"].update(destination="a\ud800"),
                                          "order.destination"),
    "catalog key with a NUL": (lambda r: r["catalog"].update({"A\x00": {}}), "catalog.A\x00"),
    "empty objective": (lambda r: r["options"].update(objective=[]), "options.objective"),
}


@pytest.mark.parametrize("case", sorted(BOUND_CASES))
def test_out_of_bounds_values_name_the_field(example_request, case):
    mutate, field = BOUND_CASES[case]
    err = _bad(example_request, mutate)
    assert err.field.startswith(field), (case, err.field, err.message)
    assert err.order_id is not None  # the order is named, even by an id it rejects
    for python_text in ("Error", "Traceback", "codec", "recursion", "Value error"):
        assert python_text not in err.message, err.message


def test_the_largest_values_are_solved(example_request):
    from ordersplit.models import bounds

    req = copy.deepcopy(example_request)
    req["order"]["id"] = "P" * bounds.MAX_ID_LENGTH
    req["order"]["lines"][3]["quantity"] = bounds.MAX_QUANTITY  # the free gift bag
    for wh in req["warehouses"]:
        wh["stock"] = {sku: bounds.MAX_STOCK for sku in wh["stock"]}
        wh["delivery_hours"] = {k: bounds.MAX_DELIVERY_HOURS for k in wh["delivery_hours"]}
        wh["child_cost"] = "9999999.999999"
    req["options"]["seed"] = bounds.MAX_SEED
    req["options"]["objective"] = ["cost", "children", "delivery"]
    plan = split(req)
    assert plan.order_id == req["order"]["id"]
    assert sum(line.quantity for c in plan.children for line in c.lines
               if line.line_id == "L4") == bounds.MAX_QUANTITY


def test_money_may_be_a_string_or_a_json_integer(example_request):
    req = copy.deepcopy(example_request)
    req["order"]["shipping_fee"] = 8  # the JSON integer 8, exact
    req["order"]["lines"][1]["unit_price"] = 30.0  # a float without a fraction is an integer
    assert split(req).parent.amounts["shipping_fee"] == "8.00"


@pytest.mark.parametrize("text, words", [
    ('{"order": ', "line 1, column 11"),
    (b'{"order": "\xff"}', "not UTF-8"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"order": {"id": 1' + "0" * 5000 + "}}", "out of range"),
], ids=["cut short", "latin-1", "deep", "5000 digits"])
def test_malformed_json_is_described_in_our_words(text, words):
    with pytest.raises(RequestError) as info:
        split(text)
    assert words in info.value.message and info.value.field == ""
    assert "Expecting" not in info.value.message and "codec" not in info.value.message


SHIP_FEE = st.integers(0, 10**14).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(quantity=st.one_of(st.integers(-2, 2**64), st.floats(allow_nan=True)),
       stock=st.integers(-1, 2**64), hours=st.floats(-1, 1e30), fee=SHIP_FEE,
       seed=st.integers(-1, 2**64))
def test_any_number_is_a_plan_or_an_error_naming_its_field(example_request, quantity, stock,
                                                           hours, fee, seed):
    """Extreme numbers in any field: a plan, or a RequestError naming a field we changed."""
    req = copy.deepcopy(example_request)
    req["order"]["lines"][3]["quantity"] = quantity
    req["warehouses"][0]["stock"]["GIFT-BAG"] = stock
    req["warehouses"][1]["delivery_hours"]["shanghai"] = hours
    cash = Decimal(req["order"]["payments"][3]["amount"]) + Decimal(fee) - Decimal("8.00")
    req["order"]["shipping_fee"] = fee
    req["order"]["payments"][3]["amount"] = str(cash)
    req["options"]["seed"] = seed
    try:
        plan = split(req)
    except RequestError as err:
        assert err.field in {"order.lines[3].quantity", "warehouses[0].stock.GIFT-BAG",
                             "warehouses[1].delivery_hours.shanghai", "order.shipping_fee",
                             "order.lines", "order.payments[3].amount", "options.seed"}, err
        return
    assert plan.parent.amounts["shipping_fee"] == fee
