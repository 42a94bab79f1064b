"""The fast paths change no plan: a few hundred generated orders against stored digests.

The digests (``tests/data/plan_digests.json``, see ``tests/plan_digests.py``) were taken
before the small-order fast paths (issue 13): same children, same lines, same money to
the minor unit. The request is given as JSON text, as a decoded mapping and as a
validated model: the three must give the same plan.
"""

from __future__ import annotations

import json

import pytest

from ordersplit.api import split
from ordersplit.models.validate import parse_request
from tests.plan_digests import cases, load, plan_digest

CASES = cases()
STORED = load()


def test_every_case_has_a_stored_digest() -> None:
    assert sorted(STORED) == sorted(case for case, _ in CASES)


@pytest.mark.parametrize("form", ["text", "mapping", "model"])
def test_plans_match_the_stored_digests(form: str) -> None:
    wrong = []
    for case, req in CASES:
        given = {"text": json.dumps, "mapping": lambda r: r,
                 "model": lambda r: parse_request(json.dumps(r))}[form](req)
        plan = split(given)
        assert plan.status == "optimal", case
        if plan_digest(plan) != STORED[case]:
            wrong.append(case)
    assert not wrong, f"{len(wrong)} of {len(CASES)} plans changed: {wrong[:10]}"
