"""Hand freed heap memory back to the system between the stages of a batch.

A stage of a large batch frees many mid-sized buffers (numpy arrays of solved and
packed plans, pickled messages); glibc keeps them in its arenas, so the process's
resident size stays at the stage's peak while the next stage allocates other sizes
on top. ``malloc_trim(0)`` returns the free pages of every arena to the system.
Elsewhere (no glibc) :func:`release` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)


@cache
def _trim() -> ctypes._NamedFuncPointer | None:
    """glibc's ``malloc_trim``, or None where there is none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release(where: str) -> bool:
    """Return the free pages of this process's heap to the system (``where``: the stage
    just ended, for the log); whether any were returned."""
    fn = _trim()
    if fn is None:
        return False
    freed = bool(fn(0))
    log.debug("heap trimmed after %s: %s", where, "pages returned" if freed else "nothing")
    return freed
