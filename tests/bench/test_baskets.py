"""The scenario generator's fast draws give the same orders as the plain numpy draws.

A seed must keep giving the same scenario: :class:`GumbelPool` and :func:`choice_index`
replace ``rng.gumbel`` over a whole pool and ``rng.choice`` with ``p``, so they must
return the same values and leave the generator in the same state.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordersplit.bench import baskets
from ordersplit.bench.baskets import GumbelPool, choice_cdf, choice_index, sample_pmf, top_k
from ordersplit.bench.scenario import ScenarioConfig, generate_orders


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 4000),
    k=st.integers(1, 40),
    spread=st.sampled_from([0.0, 0.3, 1.0, 2.5]),
    n_excluded=st.integers(0, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_pool_draw_is_the_plain_gumbel_draw(n: int, k: int, spread: float, n_excluded: int,
                                             seed: int) -> None:
    """Same positions as top_k over the pool without the excluded positions, and the
    generator ends in the same state."""
    setup = np.random.default_rng(seed)
    lw = -spread * np.log1p(setup.permutation(n).astype(float))
    exclude = np.unique(setup.integers(0, n, size=min(n_excluded, n - 1)))
    rest = np.setdiff1d(np.arange(n), exclude)
    k = min(k, len(rest))
    fast_rng, plain_rng = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    fast = GumbelPool(lw).top_k(fast_rng, k, exclude)
    plain = rest[top_k(plain_rng, lw[rest], k)]
    assert fast.tolist() == plain.tolist()
    assert fast_rng.random() == plain_rng.random()


@settings(max_examples=40, deadline=None)
@given(
    pmf=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12).filter(lambda p: sum(p) > 0),
    seed=st.integers(0, 2**32 - 1),
)
def test_choice_index_is_rng_choice(pmf: list[float], seed: int) -> None:
    p = np.asarray(pmf) / np.sum(pmf)
    cdf = choice_cdf(p)
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    fast = [choice_index(fast_rng, cdf) for _ in range(50)]
    plain = [int(plain_rng.choice(len(p), p=p)) for _ in range(50)]
    assert fast == plain
    assert fast_rng.random() == plain_rng.random()


def test_sample_pmf_with_minimum_skips_the_low_values() -> None:
    rng = np.random.default_rng(0)
    draws = {sample_pmf(rng, (0.9, 0.05, 0.05), minimum=2) for _ in range(200)}
    assert draws == {2, 3}
    assert sample_pmf(rng, (1.0, 0.0), minimum=2) == 2  # no mass left: the minimum


def _digest(config: ScenarioConfig) -> str:
    return hashlib.sha256(json.dumps(generate_orders(config), sort_keys=True).encode()
                          ).hexdigest()


@pytest.mark.parametrize("preset,overrides", [
    ("default", {"n_orders": 150, "n_skus": 6000, "seed": 3}),
    ("default", {"n_orders": 150, "n_skus": 4000, "multi_merchant_share": 0.5, "seed": 5}),
    ("scarce", {"n_orders": 100, "n_skus": 3000, "seed": 1}),
])
def test_scenario_is_the_same_with_the_plain_draws(preset: str, overrides: dict[str, object],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole scenarios: the pruned draws (large pools) against every pool drawn plainly."""
    config = ScenarioConfig.preset(preset, **overrides)
    fast = _digest(config)
    monkeypatch.setattr(baskets, "SMALL_POOL", 10**9)
    assert _digest(config) == fast
