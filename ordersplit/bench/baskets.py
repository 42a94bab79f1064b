"""Basket and money helpers of the scenario generator: sampling and exact payment plans.

Money is handled as integer minor units (exact, like ``decimal.Decimal`` at the
currency's precision) and formatted at the edge with
:func:`ordersplit.models.currency.format_minor`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ordersplit.bench.shapes import sample_quantiles

PRIMARY_METHODS = ("cash", "boleto", "debit_card")
"""Methods that take the remainder of the payable."""
PAYMENT_ORDER = ("coupon", "points", "gift_card", "cash", "boleto", "debit_card")
POINTS_FRACTION = (0.01, 0.10)
GIFT_CARD_FRACTION = (0.10, 0.50)


def sample_pmf(rng: np.random.Generator, pmf: Sequence[float], *, minimum: int = 1) -> int:
    """A value ``k + 1`` drawn with probability ``pmf[k]``, at least ``minimum``."""
    probs = np.asarray(pmf, dtype=float)
    if minimum > 1:
        probs = probs.copy()
        probs[: minimum - 1] = 0.0
    total = probs.sum()
    if total <= 0:
        return minimum
    return int(rng.choice(len(probs), p=probs / total)) + 1


def top_k(rng: np.random.Generator, log_weights: np.ndarray, k: int) -> np.ndarray:
    """``k`` distinct positions drawn without replacement proportionally to ``exp(weights)``.

    Gumbel top-k: add Gumbel noise, keep the ``k`` largest; order of draw preserved.
    """
    n = len(log_weights)
    if k >= n:
        keys = log_weights + rng.gumbel(size=n)
        return np.argsort(-keys, kind="stable")
    keys = log_weights + rng.gumbel(size=n)
    part = np.argpartition(-keys, k)[:k]
    return part[np.argsort(-keys[part], kind="stable")]


def payment_plan(
    rng: np.random.Generator,
    payable: int,
    methods: Sequence[str],
    coupon_fraction: tuple[float, ...],
) -> list[tuple[str, int]]:
    """Split ``payable`` (minor units) over ``methods`` so that it adds up exactly.

    Secondary methods take a fraction each (coupon: the Olist voucher share of mixed
    plans; points 1-10 %; gift card 10-50 %); the primary method (cash, boleto or debit
    card, else the first one) takes the rest. A coupon-only plan pays everything by coupon.
    """
    ordered = sorted(
        set(methods),
        key=lambda m: (PAYMENT_ORDER.index(m) if m in PAYMENT_ORDER else len(PAYMENT_ORDER), m),
    )
    primary = next((m for m in ordered if m in PRIMARY_METHODS), ordered[-1])
    amounts: dict[str, int] = {}
    left = payable
    for method in ordered:
        if method == primary:
            continue
        if method == "coupon":
            frac = float(sample_quantiles(rng, coupon_fraction or (0.05, 0.5), 1)[0])
        elif method == "points":
            frac = float(rng.uniform(*POINTS_FRACTION))
        elif method == "gift_card":
            frac = float(rng.uniform(*GIFT_CARD_FRACTION))
        else:
            frac = float(rng.uniform(0.05, 0.5))
        amount = min(left, int(payable * frac))
        amounts[method] = amount
        left -= amount
    amounts[primary] = left
    return [(m, amounts[m]) for m in ordered]
