"""Diagnostics only: profile the event loop and the solver workers of ``ordersplit serve``.

With ``$ORDERSPLIT_PROFILE_DIR`` set, the serving process runs under :mod:`cProfile` and
every solver worker profiles the jobs it runs (CPU time, so that waiting for
requests or for a core does not count); each writes ``loop-<pid>.prof`` or
``worker-<pid>.prof`` there when it stops (read them with :mod:`pstats`). Unset (the
default), nothing is profiled and nothing is written.
"""

from __future__ import annotations

import cProfile
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "ORDERSPLIT_PROFILE_DIR"


@contextmanager
def profiled(role: str) -> Iterator[None]:
    """Profile the block when ``$ORDERSPLIT_PROFILE_DIR`` is set; dump ``<role>-<pid>.prof``."""
    where = os.environ.get(ENV)
    if not where:
        yield
        return
    profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        path = Path(where) / f"{role}-{os.getpid()}.prof"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(path)
            log.warning("profile of the %s written to %s", role, path)
        except OSError:
            log.exception("could not write the %s profile to %s", role, path)
