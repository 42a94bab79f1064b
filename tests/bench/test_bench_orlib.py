"""OR-Library set covering reader, request builder and optima loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ordersplit.io.orlib import (
    load_optima,
    load_optima_table,
    read_scp,
    scp_to_request,
)
from ordersplit.models.validate import parse_request

ORLIB = Path(__file__).resolve().parents[2] / "data" / "orlib_scp"


def test_read_scp41() -> None:
    inst = read_scp(ORLIB / "scp41.txt")
    assert (inst.rows, inst.cols, inst.name) == (200, 1000, "scp41")
    assert inst.costs.shape == (1000,)
    assert inst.costs.min() >= 1 and inst.costs.max() <= 100
    assert len(inst.covers) == 200
    assert all(c.min() >= 0 and c.max() < 1000 for c in inst.covers)
    density = sum(len(c) for c in inst.covers) / (200 * 1000)
    assert density == pytest.approx(0.02, abs=0.001)  # optima.csv: density 2.0 %
    assert sum(len(r) for r in inst.column_rows()) == sum(len(c) for c in inst.covers)


def test_read_scpe1_and_requests_validate() -> None:
    inst = read_scp(ORLIB / "scpe1.txt")
    assert (inst.rows, inst.cols) == (50, 500)
    assert set(inst.costs.tolist()) == {1}
    req = scp_to_request(inst, unicost=True, objective=("children",))
    parsed = parse_request(req)
    assert len(parsed.order.lines) == 50 and len(parsed.warehouses) == 500
    assert parsed.options.objective == ["children"]

    big = read_scp(ORLIB / "scp41.txt")
    parsed = parse_request(scp_to_request(big))
    assert parsed.options.objective == ["cost"] and parsed.options.time_limit_ms == 60_000
    costs = [int(w.child_cost) for w in parsed.warehouses]
    assert costs == big.costs.tolist()
    stocked = sum(len(w.stock) for w in parsed.warehouses)
    assert stocked == sum(len(c) for c in big.covers)
    assert {i.merchant for i in parsed.catalog.values()} == {"self"}
    unicost = parse_request(scp_to_request(big, unicost=True))
    assert {int(w.child_cost) for w in unicost.warehouses} == {1}


def test_cover_cost_checks_coverage() -> None:
    inst = read_scp(ORLIB / "scpe1.txt")
    with pytest.raises(ValueError, match="not covered"):
        inst.cover_cost([0])
    assert inst.cover_cost(range(inst.cols), unicost=True) == inst.cols


def test_load_optima() -> None:
    optima = load_optima(ORLIB)
    assert optima["scp41"] == 429 and optima["scpe1"] == 5 and optima["scpd5"] == 61
    assert len(optima) == 50  # 4.x-6.x, e.x, and A-D (files: benchmarks/get_orlib_ad.py)
    unicost = load_optima(ORLIB, unicost=True)
    assert unicost["scp41"] == 38
    assert load_optima(ORLIB / "optima_unicost.csv") == unicost
    assert load_optima_table(ORLIB)["scp41"] == (429, True)
    assert load_optima_table(ORLIB, unicost=True)["scp41"] == (38, False)


def test_reader_agrees_with_the_published_optimum() -> None:
    opt = pytest.importorskip("scipy.optimize")
    sparse = pytest.importorskip("scipy.sparse")

    optima = load_optima(ORLIB)
    for name in ("scpe1", "scp41"):
        inst = read_scp(ORLIB / f"{name}.txt")
        rows = np.repeat(np.arange(inst.rows), [len(c) for c in inst.covers])
        cols = np.concatenate(inst.covers)
        a = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(inst.rows, inst.cols))
        res = opt.milp(
            inst.costs.astype(float),
            constraints=opt.LinearConstraint(a, lb=1, ub=np.inf),
            integrality=np.ones(inst.cols),
            bounds=opt.Bounds(0, 1),
        )
        assert res.status == 0
        chosen = np.flatnonzero(res.x > 0.5).tolist()
        assert inst.cover_cost(chosen) == optima[name]


def test_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("3 2\n1 1\n1 1\n2 1 2\n")
    with pytest.raises(ValueError, match="row 3"):
        read_scp(bad)
    bad.write_text("1 2\n1 1\n1 3\n")
    with pytest.raises(ValueError, match="out of range"):
        read_scp(bad)
