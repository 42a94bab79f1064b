"""Reading a request file for the command line, bounded before anything is parsed.

A request file is untrusted input: its size is checked before it is read (a file larger
than :data:`MAX_REQUEST_BYTES` is never read whole), JSON nested deeper than
:data:`MAX_DEPTH` is refused, and every failure is a :class:`RequestError` naming the
field, never a traceback. Only the standard library is imported here, so that a bad file
is refused before the solver stack loads.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

from ordersplit.errors import RequestError, json_error_text

MAX_REQUEST_BYTES = 8 * 1024 * 1024
"""The default size limit of one request file (8 MiB; the largest OR-Library request,
200 lines x 2,000 warehouses, is 0.3 MB). ``ordersplit split --max-bytes`` changes it."""

MAX_DEPTH = 32
"""Deepest JSON nesting accepted; the contract's own requests are 5 levels deep."""


def read_request(source: str, max_bytes: int = MAX_REQUEST_BYTES) -> Any:
    """The decoded JSON of ``source`` (a path, or ``-`` for standard input)."""
    raw = _read_bounded(source, max_bytes)
    try:
        data = json.loads(raw)
    except RecursionError:
        raise RequestError(f"JSON nested deeper than {MAX_DEPTH} levels", field="") from None
    except ValueError as exc:  # malformed, not UTF-8, or a number past Python's digit limit
        raise RequestError(json_error_text(exc), field="") from None
    check_depth(data)
    return data


def _read_bounded(source: str, max_bytes: int) -> bytes:
    too_big = f"the request is larger than the {max_bytes:,}-byte limit (--max-bytes)"
    try:
        if source == "-":
            return _read_at_most(sys.stdin.buffer, max_bytes, too_big)
        path = Path(source)
        if path.is_file() and os.stat(path).st_size > max_bytes:
            raise RequestError(too_big, field="")
        with path.open("rb") as fh:  # a pipe or a growing file: bounded all the same
            return _read_at_most(fh, max_bytes, too_big)
    except OSError as exc:
        raise RequestError(f"cannot read {source}: {exc.strerror or exc}", field="") from None


def _read_at_most(fh: BinaryIO, max_bytes: int, too_big: str) -> bytes:
    raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise RequestError(too_big, field="")
    return raw


def check_depth(data: Any) -> None:
    """Raise :class:`RequestError` naming the first value nested deeper than :data:`MAX_DEPTH`."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if len(path) >= MAX_DEPTH:
            from ordersplit.models.validate import json_path  # only on this error path

            raise RequestError(f"JSON nested deeper than {MAX_DEPTH} levels",
                               field=json_path(path), order_id=order_id_of(data))
        stack.extend((child, (*path, key)) for key, child in items)


def order_id_of(data: Any) -> str | None:
    """``order.id`` of a decoded request when it is a string (for error objects)."""
    order = data.get("order") if isinstance(data, dict) else None
    oid = order.get("id") if isinstance(order, dict) else None
    return oid if isinstance(oid, str) else None
