"""A plan's amounts as decimal strings in one compiled pass.

The money kernels leave every amount of a plan (a hundred on a 10-line order) in one
int64 table; :func:`~ordersplit.money.plan.format_rows` turns it into ``amounts`` dicts
one value at a time in Python, the plan stage's largest single cost. Here one numba
call writes every value's decimal text into a byte buffer, comma-separated, and
Python cuts it into strings with one ``split`` and into dicts with one ``zip`` per
row, all in C. The strings are :func:`~ordersplit.models.currency.format_minor`'s
(``tests/money/test_text_kernel.py`` compares the two on generated values).
"""

from __future__ import annotations

import logging

import numba as nb
import numpy as np

from ordersplit.kernels import load_kernels
from ordersplit.money.rounding import IntArray

log = logging.getLogger(__name__)

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


def texts(values: IntArray, exponent: int) -> list[str]:
    """``format_minor(v, exponent)`` of every value of the int64 array ``values``, in
    row-major order. ``exponent`` is a currency's (0 to 4)."""
    if values.size == 0:
        return []
    buf = np.empty(values.size * (22 + exponent), dtype=np.uint8)
    n = minor_texts(values, exponent, buf)
    return buf[:n - 1].tobytes().decode("ascii").split(",")


def _warm_up() -> None:
    texts(np.array([[0, -5, 123456]], dtype=np.int64), 2)


COMPILED_ON_IMPORT = load_kernels("money text kernel", (minor_texts,), _warm_up)
"""Whether importing this module compiled the kernel (a cold cache) rather than loaded it."""
