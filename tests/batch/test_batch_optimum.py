"""Small batches reach the joint optimum a monolithic CP-SAT model proves (the whole-part
joint move), and the joint bound stays under it."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_bound_gap import batch, joint_optimum
from ordersplit.batch import reoptimize


@pytest.mark.parametrize("kind", ["plain", "rules", "scarce"])
def test_small_batches_reach_the_proven_joint_optimum(kind: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(2):
        data = batch(kind, int(rng.integers(6, 10)), rng)
        s = reoptimize(data, time_limit_s=30, deterministic=True, max_rounds=6,
                       bound_time_limit_s=10).summary
        optimum = joint_optimum(data, int(s["joint_bound_wait_cap_units"]))
        assert optimum is not None
        assert s["children_joint_bound"] <= optimum
        assert s["children_batch"] == optimum, (kind, s["children_sequential"], optimum)
