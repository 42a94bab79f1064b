"""Forecast kinds: each a pure function of its seed, each reading the right window."""

from __future__ import annotations

import numpy as np
import pytest

from ordersplit.bench.scenario import ScenarioConfig, scenario_network
from ordersplit.lookahead.forecasters import FORECAST_KINDS, make_forecaster, parse_kinds, shifted_mix
from ordersplit.lookahead.stream import order_units, scenario_stream

CFG = ScenarioConfig.preset("scarce", n_orders=120, seed=2)
NET = scenario_network(CFG)
STREAM = scenario_stream(CFG, NET, 24.0, 2)


def _windows(kind: str, seed: int) -> list[np.ndarray]:
    fc = make_forecaster(kind, STREAM, NET, CFG, 24.0, seed)
    return [fc.forecast(a, b).units for a, b in ((0.0, 24.0), (6.0, 12.0), (20.0, 24.0))]


@pytest.mark.parametrize("kind", FORECAST_KINDS)
def test_the_same_seed_gives_the_same_forecasts(kind: str) -> None:
    first, again = _windows(kind, 7), _windows(kind, 7)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = _windows(kind, 8)
    same = all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    assert same == (kind == "perfect")  # only the realised demand ignores the seed


def test_the_perfect_forecast_is_the_demand_still_to_come() -> None:
    fc = make_forecaster("perfect", STREAM, NET, CFG, 24.0, 0)
    k = 40
    now = float(STREAM.times[k])
    rest = fc.forecast(now, 24.0)
    assert rest.horizon_hours == pytest.approx(24.0 - now)
    sku = {s: i for i, s in enumerate(NET.sku_ids)}
    region = {r: i for i, r in enumerate(NET.regions)}
    expected = np.zeros_like(rest.units)
    for req in STREAM.requests[k + 1:]:  # the order arriving now is not future demand
        for s, q in order_units(req).items():
            expected[region[req["order"]["destination"]], sku[s]] += q
    np.testing.assert_array_equal(rest.units, expected)
    assert fc.forecast(now, now + 1e-9).units.sum() == 0


def test_noise_is_multiplicative_and_the_stale_mix_is_shifted() -> None:
    perfect = make_forecaster("perfect", STREAM, NET, CFG, 24.0, 0).forecast(0.0, 24.0).units
    noisy = make_forecaster("noisy", STREAM, NET, CFG, 24.0, 0, sigma=0.5).forecast(0.0, 24.0).units
    assert ((noisy > 0) == (perfect > 0)).all() and not np.allclose(noisy, perfect)
    assert make_forecaster("noisy", STREAM, NET, CFG, 24.0, 0, sigma=0.0).forecast(
        0.0, 24.0).units == pytest.approx(perfect)
    stale = make_forecaster("stale", STREAM, NET, CFG, 24.0, 0, shift=0.0).forecast(0.0, 24.0).units
    assert stale.sum() > 0 and not np.array_equal(stale, perfect)  # an earlier day
    perm = shifted_mix(100, 0.3, 0)
    assert sorted(perm.tolist()) == list(range(100)) and (perm != np.arange(100)).sum() == 30
    assert (shifted_mix(100, 0.0, 0) == np.arange(100)).all()


def test_bad_kinds_and_parameters_are_refused() -> None:
    assert parse_kinds("perfect, stale,perfect") == ("perfect", "stale")
    with pytest.raises(ValueError, match="unknown forecast kind 'psychic'"):
        parse_kinds("perfect,psychic")
    with pytest.raises(ValueError, match="unknown forecast kind"):
        make_forecaster("psychic", STREAM, NET, CFG, 24.0, 0)
    with pytest.raises(ValueError, match="sigma"):
        make_forecaster("noisy", STREAM, NET, CFG, 24.0, 0, sigma=-1.0)
    with pytest.raises(ValueError, match="shift"):
        make_forecaster("stale", STREAM, NET, CFG, 24.0, 0, shift=1.5)
