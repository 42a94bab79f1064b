"""Bad request files via the CLI: exit 2 with the contract's error object, never a traceback.

Covers what the parser of the request cannot see: a file too large to read (the size is
checked before reading), JSON nested too deep for the decoder, numbers out of range,
standard input.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ordersplit import request_file
from ordersplit.cli import main
from ordersplit.errors import RequestError
from ordersplit.request_file import MAX_DEPTH, MAX_REQUEST_BYTES, read_request


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ordersplit.cli", *args], input=stdin,
                          capture_output=True, check=False)


def _error_of(proc: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    """The error object: exit 2, nothing on standard output, one JSON line, no traceback."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == b""
    assert b"Traceback" not in proc.stderr
    err = json.loads(proc.stderr.decode().strip().splitlines()[-1])["error"]
    assert set(err) == {"order_id", "field", "message"}
    return dict(err)


def _one_line_order(price: str) -> dict[str, Any]:
    return {
        "order": {"id": "BIG-1", "currency": "USD", "destination": "a",
                  "lines": [{"id": "L1", "sku": "A", "quantity": 1, "unit_price": price}],
                  "payments": [{"method": "cash", "amount": price}]},
        "catalog": {"A": {"merchant": "self"}},
        "warehouses": [{"id": "W", "stock": {"A": 1}, "delivery_hours": {"*": 24}}],
    }


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as fh:  # 100 MB, sparse: nothing is written to disk
        fh.truncate(100 * 1024 * 1024)
    err = _error_of(_cli("split", str(big)))
    assert f"{MAX_REQUEST_BYTES:,}-byte limit" in err["message"] and err["field"] == ""
    small = tmp_path / "small.json"
    small.write_text(json.dumps(_one_line_order("1.00")))
    assert "limit" in _error_of(_cli("split", "--max-bytes", "100", str(small)))["message"]


def test_the_size_check_does_not_open_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("the oversized file was opened")

    monkeypatch.setattr(Path, "open", never)
    with pytest.raises(RequestError, match="limit"):
        read_request(str(big), max_bytes=1000)


class _Endless(io.RawIOBase):
    """Standard input that never ends; counts what is read from it."""

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size >= 0, "standard input read whole"
        self.taken += size
        return b" " * size


def test_standard_input_is_read_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    endless = _Endless()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(endless))  # type: ignore[arg-type]
    with pytest.raises(RequestError, match="limit"):
        read_request("-", max_bytes=4096)
    assert endless.taken == 4097


def test_standard_input_splits(example_request: dict[str, Any]) -> None:
    proc = _cli("split", "--compact", "-", stdin=json.dumps(example_request).encode())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["order_id"] == example_request["order"]["id"]


def test_100000_deep_nesting_is_an_error_object(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    err = _error_of(_cli("split", str(deep)))
    assert "nested deeper" in err["message"]


def test_nesting_past_the_limit_names_the_field_and_the_order() -> None:
    note: Any = 1
    for _ in range(MAX_DEPTH + 5):
        note = {"a": note}
    with pytest.raises(RequestError) as info:
        request_file.check_depth({"order": {"id": "N-1", "note": note}})
    assert info.value.order_id == "N-1"
    assert info.value.field.startswith("order.note.a.a")
    request_file.check_depth({"order": {"id": "N-1", "lines": [{"x": [[1]]}]}})  # shallow: fine


def test_amounts_beyond_int64_minor_units_are_an_error_object(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(_one_line_order("99999999999999999999.00")))
    err = _error_of(_cli("split", str(path)))
    assert err["order_id"] == "BIG-1"


def test_an_unreadable_path_is_an_error_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", str(tmp_path)]) == 2  # a directory
    err = json.loads(capsys.readouterr().err.strip().splitlines()[-1])["error"]
    assert err["message"].startswith("cannot read")


def test_a_bad_stock_file_for_resplit_is_an_error_object(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "stock.json"
    bad.write_text('{"SH-1": ')
    store = f"sqlite:///{tmp_path / 'orders.db'}"
    assert main(["resplit", "P-1001-1", "--stock", str(bad), "--store", store]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = json.loads(captured.err.strip().splitlines()[-1])["error"]
    assert err["message"].startswith("malformed JSON")
