"""A plan's amounts as decimal strings in one compiled pass.

The money kernels leave every amount of a plan (a hundred on a 10-line order) in one
int64 table; :func:`~ordersplit.money.plan.format_rows` turns it into ``amounts`` dicts
one value at a time in Python, the plan stage's largest single cost. Here one numba
call writes every value's decimal text into a byte buffer, comma-separated, and
Python cuts it into strings with one ``split`` and into dicts with one ``zip`` per
row, all in C. The strings are :func:`~ordersplit.models.currency.format_minor`'s
(``tests/money/test_text_kernel.py`` compares the two on generated values).
:func:`whole_texts` and :func:`parts_texts` run a money kernel and this pass in one
call, for the plan builder.
"""

from __future__ import annotations

import logging

import numba as nb
import numpy as np

from ordersplit.kernels import drop_if_changed, load_kernels
from ordersplit.money import parts_kernel, whole_kernel
from ordersplit.money.parts_kernel import parts_money
from ordersplit.money.rounding import IntArray
from ordersplit.money.whole_kernel import whole_lines

log = logging.getLogger(__name__)

MAX_EXPONENT = 4
"""The largest currency exponent the text kernels are used for (ISO 4217 has 0 to 4)."""
COMMA = 44
MINUS = 45
POINT = 46
ZERO = 48


@nb.njit(cache=True, nogil=True)
def minor_texts(values: np.ndarray, exponent: int, buf: np.ndarray) -> int:
    """Write every value of ``values`` (int64, any shape, row-major) as
    ``format_minor(value, exponent)`` into ``buf`` (uint8), each followed by a comma;
    return the bytes written. ``buf`` holds ``22 + exponent`` bytes per value."""
    n = 0
    digits = np.empty(24 + exponent, dtype=np.uint8)
    for value in values.ravel():
        v = value
        if v < 0:
            buf[n] = MINUS
            n += 1
            v = -v  # (int64's least value has no opposite: the caller never passes it)
        k = 0
        d = 0
        while v > 0 or d <= exponent:  # low digits first, the point after ``exponent``
            digits[k] = ZERO + v % 10
            v //= 10
            k += 1
            d += 1
            if d == exponent:
                digits[k] = POINT
                k += 1
        for j in range(k - 1, -1, -1):
            buf[n] = digits[j]
            n += 1
        buf[n] = COMMA
        n += 1
    return n


@nb.njit(cache=True, nogil=True)
def whole_texts(flat: np.ndarray, n_l: int, n_c: int, n_m: int, shipping_fee: int,
                first_child: bool, exponent: int, buf: np.ndarray) -> int:
    """:func:`~ordersplit.money.whole_kernel.whole_lines` and then :func:`minor_texts`
    of its table, in one call: ``flat`` holds ``whole_lines``' two arrays one after the
    other (its ``lines`` [5, n_l] row by row, then its ``order``). Returns the bytes
    written into ``buf`` (``22 + exponent`` per value of the table), or -1 where
    ``whole_lines`` declines. One call and one array from Python instead of three
    arrays and two calls: each costs little warm, but several microseconds as a
    split meets it, after the solver has had the processor's caches."""
    lines = flat[:5 * n_l].reshape((5, n_l))
    out = np.empty((n_l + n_c + 1, n_m + 5), dtype=np.int64)
    if not whole_lines(lines, n_c, n_m, shipping_fee, first_child, flat[5 * n_l:], out):
        return -1
    return minor_texts(out, exponent, buf)


@nb.njit(cache=True, nogil=True)
def parts_texts(flat: np.ndarray, n_l: int, n_p: int, n_c: int, n_m: int, shipping_fee: int,
                first_child: bool, exponent: int, buf: np.ndarray) -> int:
    """:func:`~ordersplit.money.parts_kernel.parts_money` and then :func:`minor_texts`
    of its table, in one call, as :func:`whole_texts`: ``flat`` holds its ``lines``
    [3, n_l], its ``parts`` [3, n_p] and its ``order``, one after the other."""
    lines = flat[:3 * n_l].reshape((3, n_l))
    parts = flat[3 * n_l:3 * n_l + 3 * n_p].reshape((3, n_p))
    out = np.empty((n_p + n_c + 1, n_m + 5), dtype=np.int64)
    if not parts_money(lines, parts, n_c, n_m, shipping_fee, first_child,
                       flat[3 * n_l + 3 * n_p:], out):
        return -1
    return minor_texts(out, exponent, buf)


def texts(values: IntArray, exponent: int) -> list[str]:
    """``format_minor(v, exponent)`` of every value of the int64 array ``values``, in
    row-major order. ``exponent`` is a currency's (0 to 4)."""
    if values.size == 0:
        return []
    buf = np.empty(values.size * (22 + exponent), dtype=np.uint8)
    return split_texts(buf, minor_texts(values, exponent, buf))


def split_texts(buf: np.ndarray, n: int) -> list[str]:
    """The strings :func:`minor_texts` wrote into the first ``n`` > 0 bytes of ``buf``."""
    return buf[:n - 1].tobytes().decode("ascii").split(",")


def _warm_up() -> None:
    texts(np.array([[0, -5, 123456]], dtype=np.int64), 2)
    buf = np.empty(4 * 6 * 24, dtype=np.uint8)
    whole_texts(np.array([100, 50, 0, 0, 0, 0, 1, 1, 0, 0, 0, 160, 1, 9, 100], dtype=np.int64),
                2, 1, 1, 10, False, 2, buf)
    parts_texts(np.array([100, 50, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 160, 1, 9, 100],
                         dtype=np.int64), 2, 3, 2, 1, 10, False, 2,
                np.empty(6 * 6 * 24, dtype=np.uint8))


# whole_texts and parts_texts compile the other money kernels into their own entries
drop_if_changed(minor_texts, (whole_kernel, parts_kernel))
COMPILED_ON_IMPORT = load_kernels("money text kernel", (minor_texts,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
