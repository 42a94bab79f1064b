"""The CLI over a store: split --store, show, status, resplit, cancel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lifecycle_data import gift_request

from ordersplit.cli import main


def test_cli_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    req = tmp_path / "req.json"
    req.write_text(json.dumps(gift_request()))
    assert main(["split", str(req), "--store", url, "--compact"]) == 0
    first = capsys.readouterr().out
    assert main(["split", str(req), "--store", url, "--compact"]) == 0  # idempotent
    assert capsys.readouterr().out == first
    assert main(["status", "G-1-1", "in_warehouse", "--store", url]) == 0
    assert main(["resplit", "G-1-1", "--short", "BREAD=1", "--store", url]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in plan["children"]] == ["G-1-1-1", "G-1-1-2"]
    assert main(["cancel", "G-1-1-1", "--store", url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "cancelled" and out["linked"][0]["action"] == "hold"
    assert main(["show", "G-1", "--store", url]) == 0
    text = capsys.readouterr().out
    assert "G-1-1-1  [cancelled]  level 3" in text and "in_warehouse" in text
    assert main(["resplit", "G-1-1-2", "--short", "BREAD=1", "--store", url]) == 2
    err = json.loads(capsys.readouterr().err)
    assert err["error"]["order_id"] == "G-1-1-2" and "level 4" in err["error"]["message"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(gift_request(shipping_fee="0.00",
                                             payments=[{"method": "cash", "amount": "49.01"}])))
    assert main(["split", str(other), "--store", url]) == 1
    assert "different request" in capsys.readouterr().err
