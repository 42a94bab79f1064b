"""The clock the compiled kernels look at: ``time.perf_counter`` without leaving compiled code.

A kernel looks at the deadline at its start and every few hundred nodes. Through
numba's object mode that look costs about 1.5 us (the GIL, a Python call), several
times a small group's whole search; on Linux :func:`now` reads the same clock
(``CLOCK_MONOTONIC``, which ``perf_counter`` reads there) by calling ``clock_gettime``
directly, in some 30 ns. Elsewhere it goes through object mode as before.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numba as nb
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

CLOCK_MONOTONIC = 1
"""Linux's id of the clock ``time.perf_counter`` reads."""
DIRECT = sys.platform.startswith("linux")
"""Whether :func:`now` calls ``clock_gettime`` itself."""


@intrinsic
def _monotonic_ns(typingctx: Any) -> tuple[Any, Any]:
    """``clock_gettime(CLOCK_MONOTONIC)`` in nanoseconds (the symbol is resolved when the
    compiled code is loaded, so numba's cache stays valid across processes)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32, i64 = ir.IntType(32), ir.IntType(64)
        timespec = ir.LiteralStructType([i64, i64])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i32, [i32, timespec.as_pointer()]), "clock_gettime")
        ts = cgutils.alloca_once(builder, timespec)
        builder.call(fn, [ir.Constant(i32, CLOCK_MONOTONIC), ts])
        sec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 0))
        nsec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 1))
        return builder.add(builder.mul(sec, ir.Constant(i64, 1_000_000_000)), nsec)

    return types.int64(), codegen


@nb.njit(cache=True)
def _direct() -> float:
    return _monotonic_ns() * 1e-9  # type: ignore[call-arg]  # (typed by numba)


@nb.njit(cache=True)
def _through_python() -> float:
    with nb.objmode(t="float64"):
        t = time.perf_counter()
    return t


now = _direct if DIRECT else _through_python
"""Seconds on ``time.perf_counter``'s clock, from compiled code."""
