"""OR-Library set covering as split problems: objective ``cost`` reaches the proven optimum.

The whole table (every 4.x, 5.x, 6.x and e instance) is produced by ``ordersplit bench
--orlib``; the test suite proves a sample of each family so CI stays short.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ordersplit import split
from ordersplit.io.orlib import load_optima, read_scp, scp_to_request

ORLIB = Path(__file__).resolve().parents[1] / "data" / "orlib_scp"


@pytest.mark.parametrize("name", ["scp41", "scp52", "scp61", "scpe1"])
def test_cost_objective_reaches_the_proven_optimum(name):
    """scp41: the LP optimum is integral; scp52: it is not, and the MIP must not
    inherit the LP run (a reused HiGHS instance claimed 304 optimal there)."""
    optimum = load_optima(ORLIB)[name]
    req = scp_to_request(read_scp(ORLIB / f"{name}.txt"), objective=("cost",))
    plan = split(req)
    assert plan.status == "optimal"
    assert float(plan.objective.cost) == optimum
    covered = {line.line_id for child in plan.children for line in child.lines}
    assert len(covered) == len(req["order"]["lines"])
