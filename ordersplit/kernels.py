"""Loading the numba kernels of every layer: from the cache, or a compile said aloud.

Each kernel module (the solver's searches, the money kernels) compiles its functions
when imported (``cache=True``: once per installation, loaded from numba's cache in the
module's ``__pycache__`` afterwards), so that no order's time budget pays for it.
:func:`load_kernels` does that and, on a cold cache, logs a warning with the expected
time first; ``ordersplit warmup`` compiles on purpose.

numba keys a cached function on its own source file's stamp only. A function that calls
compiled kernels of other modules has their code compiled into its own cache entry, so
after those modules change it would go on running their old code until its own file
changed too. :func:`drop_if_changed` keeps a digest of those modules' sources beside the
cache and drops the caller's entries when it differs, so that they are compiled afresh.

This module imports no layer of ordersplit, so every layer can use it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

COMPILE_EXPECTED = ("from a few seconds to about a minute on an idle 2-core machine, "
                    "several minutes on a busy one")
"""What one kernel's cold compile takes, for the notice (session 12, idle: 3-59 s each,
the staged and the small group search the longest; 163 s for all of them)."""


def cache_is_warm(kernels: tuple[object, ...]) -> bool:
    """True when numba's cache holds every one of ``kernels`` for this source (a load,
    not a compile).

    Reads numba's cache index (an internal API: if it moved, say warm rather than warn
    wrongly)."""
    try:
        return all(k._cache._cache_file._load_index() for k in kernels)  # type: ignore[attr-defined]
    except Exception:
        return True


def cache_dir(kernel: Any) -> str:
    """Where numba keeps ``kernel`` compiled (its module's ``__pycache__``)."""
    return str(kernel.stats.cache_path)


def load_kernels(name: str, kernels: tuple[Any, ...], warm_up: Callable[[], None]) -> bool:
    """Load ``kernels`` from numba's cache, or compile them (with a notice on stderr's log
    first, since that takes a while); True when they were compiled. ``warm_up`` calls
    them with the types used at run time."""
    if cache_is_warm(kernels):
        warm_up()
        return False
    log.warning("compiling the %s once (%s); later runs load it from numba's cache in %s",
                name, COMPILE_EXPECTED, cache_dir(kernels[0]))
    t0 = time.perf_counter()
    warm_up()
    log.warning("%s compiled in %.1f s", name, time.perf_counter() - t0)
    return True


def sources_digest(modules: tuple[ModuleType, ...]) -> str:
    """SHA-256 over the source files of ``modules``, in the order given."""
    h = hashlib.sha256()
    for module in modules:
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()


def drop_if_changed(kernel: Any, depends_on: tuple[ModuleType, ...]) -> bool:
    """Remove the cached entries of every compiled function of ``kernel``'s module when
    the sources of ``depends_on`` differ from those it was last compiled with (and note
    the new digest); True when entries were dropped or none were noted yet. Call it
    before the module's functions first run. A cache folder that cannot be written is
    left alone (numba then compiles without caching anyway)."""
    try:
        digest = sources_digest(depends_on)
    except OSError:  # no sources to read (a source-less install): nothing to compare
        return False
    folder = Path(kernel.stats.cache_path)
    prefix = kernel.py_func.__module__.rsplit(".", 1)[-1] + "."
    stamp = folder / f"{prefix}deps"
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for entry in folder.glob(f"{prefix}*.nb[ic]"):
            entry.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError as exc:
        log.warning("could not refresh numba's cache in %s: %s", folder, exc)
    return True
