"""numba's cache of a compiled function that calls kernels of other modules.

numba keys a cached function on its own source file's stamp only. A function that calls
compiled kernels of other modules has their code compiled into its own cache entry, so
after those modules change it would go on running their old code until its own file
changed too. :func:`drop_if_changed` keeps a digest of those modules' sources beside the
cache and drops the caller's entries when it differs, so that they are compiled afresh.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)


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
