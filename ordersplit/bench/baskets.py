"""Basket and money helpers of the scenario generator: sampling and exact payment plans.

Money is handled as integer minor units (exact, like ``decimal.Decimal`` at the
currency's precision) and formatted at the edge with
:func:`ordersplit.models.currency.format_minor`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ordersplit.bench.shapes import sample_quantiles

PRIMARY_METHODS = ("cash", "boleto", "debit_card")
"""Methods that take the remainder of the payable."""
PAYMENT_ORDER = ("coupon", "points", "gift_card", "cash", "boleto", "debit_card")
POINTS_FRACTION = (0.01, 0.10)
GIFT_CARD_FRACTION = (0.10, 0.50)


def sample_pmf(rng: np.random.Generator, pmf: Sequence[float], *, minimum: int = 1) -> int:
    """A value ``k + 1`` drawn with probability ``pmf[k]``, at least ``minimum``."""
    cdf = _pmf_cdf(tuple(pmf), minimum)
    if cdf is None:
        return minimum
    return choice_index(rng, cdf) + 1


@lru_cache(maxsize=256)
def _pmf_cdf(pmf: tuple[float, ...], minimum: int) -> np.ndarray | None:
    """The cumulative distribution :func:`sample_pmf` draws from (``None``: no mass)."""
    probs = np.asarray(pmf, dtype=float)
    if minimum > 1:
        probs = probs.copy()
        probs[: minimum - 1] = 0.0
    total = probs.sum()
    if total <= 0:
        return None
    return choice_cdf(probs / total)


def choice_cdf(p: np.ndarray) -> np.ndarray:
    """The cumulative distribution ``rng.choice(len(p), p=p)`` computes from ``p``
    (computed once here, for :func:`choice_index`)."""
    cdf = np.asarray(p, dtype=float).cumsum()
    cdf /= cdf[-1]
    return cdf


def choice_index(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """``rng.choice(len(p), p=p)`` for ``cdf = choice_cdf(p)``: the same index from the
    same single uniform draw, without the per-call checks (about 0.1 ms each)."""
    return int(cdf.searchsorted(rng.random(), side="right"))


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


SMALL_POOL = 512
"""Pools up to this size draw with :func:`top_k` directly (the pruning does not pay)."""
HEAD = 128
"""Positions of largest weight whose keys :meth:`GumbelPool.top_k` always computes."""


class GumbelPool:
    """One fixed pool of log-weights for many Gumbel top-k draws (:func:`top_k`).

    :meth:`top_k` returns the same positions as :func:`top_k` on the same generator and
    leaves the generator in the same state, but computes the Gumbel noise of a few
    positions only: it draws the same uniforms ``rng.gumbel`` would turn into noise
    (one double each, a zero rejected and replaced by the next one), takes the ``k``-th
    largest key ``T`` among the :data:`HEAD` heaviest positions, and then only positions
    whose uniform could lift them to ``T`` (a comparison against one threshold, from
    the heaviest weight outside the head) get a key, computed with the same ``log`` as
    numpy's generator (``math.log``), so the keys are equal bit for bit.
    """

    __slots__ = ("log_weights", "order")

    def __init__(self, log_weights: np.ndarray) -> None:
        self.log_weights = np.asarray(log_weights, dtype=float)
        self.order = np.argsort(-self.log_weights, kind="stable")

    def __len__(self) -> int:
        return len(self.log_weights)

    def top_k(self, rng: np.random.Generator, k: int,
              exclude: np.ndarray | None = None) -> np.ndarray:
        """Pool positions of :func:`top_k` over the pool without the positions in
        ``exclude`` (the draw is over the remaining positions in pool order)."""
        lw = self.log_weights
        n = len(lw)
        keep = None
        if exclude is not None and len(exclude):
            keep = np.ones(n, dtype=bool)
            keep[exclude] = False
        left = n if keep is None else int(keep.sum())
        if left <= SMALL_POOL or 8 * k > left:
            rest = np.arange(n) if keep is None else np.flatnonzero(keep)
            return rest[top_k(rng, lw[rest], k)]
        drawn = _gumbel_uniforms(rng, left)
        u = drawn if keep is None else np.full(n, 2.0)
        if keep is not None:
            u[keep] = drawn
        head_len = min(n, HEAD + 4 * k + (n - left))
        head = self.order[:head_len]
        if keep is not None:
            head = head[keep[head]]
        head_keys = lw[head] - np.log(-np.log(1.0 - u[head]))
        cut = float(np.partition(head_keys, len(head_keys) - k)[len(head_keys) - k])
        cand = head
        if head_len < n:
            # a position outside the head needs gumbel(u) >= cut - its weight, and its
            # weight is at most the first one after the head: u below this threshold
            floor = cut - float(lw[self.order[head_len]]) - 1e-9
            threshold = -math.expm1(-math.exp(-floor)) * (1 + 1e-9) + 1e-300
            mask = u < threshold
            mask[head] = True
            cand = np.flatnonzero(mask)
        return cand[_best(lw, u, cand, k)]


def _best(lw: np.ndarray, u: np.ndarray, cand: np.ndarray, k: int) -> np.ndarray:
    """Indices into ``cand`` of its ``k`` largest keys, largest first. The keys come from
    ``np.log``, which may differ from libm's ``log`` (numpy's generator) in the last bit:
    when two of the first ``k + 1`` keys are that close, they are recomputed exactly."""
    keys = lw[cand] - np.log(-np.log(1.0 - u[cand]))
    best = np.argsort(-keys, kind="stable")[: k + 1]
    top = keys[best]
    if len(top) > 1 and bool((top[:-1] - top[1:] <= 1e-9 * (1.0 + np.abs(top[1:]))).any()):
        keys = _keys(lw, u, cand)
        best = np.argsort(-keys, kind="stable")
    return best[:k]


def _gumbel_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """The ``n`` doubles ``rng.gumbel(size=n)`` consumes, zeros rejected as it does."""
    u = rng.random(n)
    while True:
        zeros = int(np.count_nonzero(u == 0.0))
        if not zeros:
            return u
        u = np.concatenate([u[u != 0.0], rng.random(zeros)])


def _keys(lw: np.ndarray, u: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``lw + gumbel`` at ``positions``, the noise computed as numpy's generator does
    (``loc - scale * log(-log(1 - u))`` with libm's ``log``, which ``math.log`` calls;
    ``np.log`` may differ in the last bit)."""
    log = math.log
    noise = [-log(-log(1.0 - x)) for x in u[positions].tolist()]
    return lw[positions] + np.array(noise, dtype=float)


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
