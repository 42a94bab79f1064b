"""Bad input gets the contract's error object naming the order and the field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

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
