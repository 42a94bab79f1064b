"""Command line: ``ordersplit split REQUEST.json`` and friends.

The CLI is a thin face over the Python API. A rejected request prints the contract's
error object to standard error and exits with status 2; nothing partial is printed.

Start-up stays light: a subcommand's module (and its libraries) is imported only when
that subcommand runs, and a subcommand whose optional extra is not installed says which
one to install (exit 2) instead of failing on an import.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ordersplit.errors import OrderSplitError, RequestError
from ordersplit.request_file import MAX_REQUEST_BYTES, order_id_of, read_request

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


class Lazy(NamedTuple):
    """A subcommand defined in another module, loaded only when it runs."""

    module: str
    """Defines ``register(subparsers)``; each subcommand it adds sets ``func``
    (``args -> exit code``) with ``set_defaults``."""
    help: str
    """The one-line help shown by ``ordersplit --help`` (the module is not loaded)."""
    extra: str | None
    """The optional extra it needs (``pip install 'ordersplit[EXTRA]'``), if any."""


LAZY: dict[str, Lazy] = {
    "bench": Lazy("ordersplit.bench.commands",
                  "benchmark split strategies (ours and the peers) side by side", "bench"),
    "reoptimize": Lazy("ordersplit.batch.commands",
                       "re-split a batch of pending orders jointly against shared stock", "batch"),
    "simulate": Lazy("ordersplit.lookahead.commands",
                     "split a day of arriving orders against depleting stock (a policy)", "batch"),
    "prices": Lazy("ordersplit.lookahead.commands",
                   "shadow prices of stock per warehouse and SKU from a demand forecast", "batch"),
    "serve": Lazy("ordersplit.service.commands", "run the HTTP service (POST /v1/split, ...)",
                  "service"),
    "resplit": Lazy("ordersplit.lifecycle.commands",
                    "re-split a child order the warehouse is short for", None),
    "cancel": Lazy("ordersplit.lifecycle.commands", "cancel (or reject) a child order", None),
    "release": Lazy("ordersplit.lifecycle.commands",
                    "release a held child (e.g. a gift whose trigger was cancelled)", None),
    "status": Lazy("ordersplit.lifecycle.commands",
                   "move an order to in_warehouse/shipped/delivered", None),
    "show": Lazy("ordersplit.lifecycle.commands", "an order's tree with statuses and amounts",
                 None),
}

EXTRAS: dict[str, tuple[str, ...]] = {
    "service": ("fastapi", "uvicorn", "prometheus_client", "orjson"),
    "batch": ("pandas", "pyarrow", "tqdm", "scipy"),
    "dask": ("distributed",),
    "bench": ("pandas", "matplotlib", "tqdm"),
    "postgres": ("psycopg",),
}
"""The import names each optional extra of pyproject.toml provides."""


def missing_extra(what: str, extra: str) -> str | None:
    """The one-line message when ``extra`` is not installed (``None`` when it is)."""
    if all(importlib.util.find_spec(name) is not None for name in EXTRAS[extra]):
        return None
    return f"{what} needs the '{extra}' extra: pip install 'ordersplit[{extra}]'"


def _error(message: str, field: str = "", order_id: str | None = None) -> None:
    err = {"error": {"order_id": order_id, "field": field, "message": message}}
    print(json.dumps(err), file=sys.stderr)


def cmd_split(args: argparse.Namespace) -> int:
    """Validate the request (light: no solver loaded yet), then split it."""
    try:
        data = read_request(args.request, args.max_bytes)
    except RequestError as exc:
        print(json.dumps(exc.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(data, dict):
        options = data.setdefault("options", {}) if isinstance(data.get("options", {}), dict) else None
        if options is not None:
            if args.solver:
                options["solver"] = args.solver
            if args.time_limit_ms:
                options["time_limit_ms"] = args.time_limit_ms
    try:
        from ordersplit.models.validate import parse_request

        request = parse_request(data)
        from ordersplit.api import split  # the solver stack, once the request is valid

        plan = split(request)
        if args.store:  # one transaction; the stored plan if this request was split before
            from ordersplit.lifecycle import open_store

            plan = open_store(args.store).save_split(data, plan).plan
    except RequestError as exc:
        print(json.dumps(exc.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OverflowError, RecursionError) as exc:  # a number or a structure out of range
        _error(f"the request holds a value out of range: {exc}", order_id=order_id_of(data))
        return EXIT_BAD_INPUT
    except OrderSplitError as exc:
        _error(str(exc), order_id=order_id_of(data))
        return EXIT_FAILURE
    text = plan.model_dump_json(indent=None if args.compact else 2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0


KERNELS_CHAIN = ("ordersplit.solver.cover_kernel", "ordersplit.solver.partial_kernel",
                 "ordersplit.solver.group_prep")
"""Kernel modules the others call into: each compiles with the ones before it loaded."""
KERNELS_CHAIN_END = ("ordersplit.solver.staged_kernel", "ordersplit.solver.group_kernel")
"""The rest of the chain, the longest compiles (the small group search calls the staged one)."""
KERNELS_ALONE = ("ordersplit.money.whole_kernel", "ordersplit.money.parts_kernel",
                 "ordersplit.money.text_kernel")
"""Kernel modules that need no other kernel module."""
KERNELS_AFTER_CHAIN = ("ordersplit.solver.cover_local_search", "ordersplit.solver.fragments_kernel",
                       "ordersplit.solver.problem_facts")
"""Kernel modules that need only :data:`KERNELS_CHAIN`."""

_BESIDE = """import logging, sys
from importlib import import_module
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
modules = [import_module(name) for name in sys.argv[1].split(",")]
sys.stdin.readline()  # the chain is in numba's cache now
modules += [import_module(name) for name in sys.argv[2].split(",")]
sys.exit(int(sys.argv[3]) if any(m.COMPILED_ON_IMPORT for m in modules) else 0)
"""
_COMPILED = 10
"""The second process's exit status when it compiled a kernel (rather than loaded all)."""


def _compile_beside() -> subprocess.Popen[bytes] | None:
    """A second process that compiles :data:`KERNELS_ALONE` at once and then, told on its
    standard input, :data:`KERNELS_AFTER_CHAIN`, while this one compiles the chain (each
    process writes numba's cache of its own modules only); None when it cannot start."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
    try:
        return subprocess.Popen([sys.executable, "-c", _BESIDE, ",".join(KERNELS_ALONE),
                                 ",".join(KERNELS_AFTER_CHAIN), str(_COMPILED)],
                                stdin=subprocess.PIPE, env=env)
    except OSError as exc:
        logging.getLogger(__name__).warning("compiling the kernels in one process: %s", exc)
        return None


def cmd_warmup(args: argparse.Namespace) -> int:
    """Compile (or load) the split kernels now, e.g. while building an image or in CI.

    On a cold cache the compile takes minutes of one core; a second process compiles the
    kernel modules off the longest chain of modules meanwhile (on two cores 11 % less wall
    time), then this one loads them from the cache."""
    t0 = time.perf_counter()
    beside = _compile_beside() if (os.cpu_count() or 1) > 1 else None
    try:
        modules = [importlib.import_module(name) for name in KERNELS_CHAIN]
        if beside is not None and beside.stdin is not None:
            with contextlib.suppress(OSError):
                beside.stdin.write(b"go\n")
                beside.stdin.close()
        modules += [importlib.import_module(name) for name in KERNELS_CHAIN_END]
    except BaseException:
        if beside is not None:
            beside.kill()
            beside.wait()
        raise
    # its modules, compiled there or not (a failure is then raised here), load from the cache
    beside_compiled = beside is not None and beside.wait() == _COMPILED
    modules += [importlib.import_module(name) for name in KERNELS_ALONE + KERNELS_AFTER_CHAIN]
    compiled = beside_compiled or any(m.COMPILED_ON_IMPORT for m in modules)
    how = "compiled" if compiled else "loaded from the cache"
    print(f"split kernels {how} in {time.perf_counter() - t0:.1f} s "
          f"(cache: {_cache_dir()})")
    return 0


def _cache_dir() -> str:
    from ordersplit.kernels import cache_dir
    from ordersplit.solver import cover_kernel

    return cache_dir(cover_kernel.search)


def _add_split(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("split", help="split one order (request JSON, docs/contract.md) into a plan")
    p.add_argument("request", help="request JSON file, or - for standard input")
    p.add_argument("--solver", help="override options.solver (auto, cpsat, milp, greedy, ...)")
    p.add_argument("--time-limit-ms", type=int, help="override options.time_limit_ms")
    p.add_argument("-o", "--output", help="write the plan here instead of standard output")
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.add_argument("--store", help="also save the plan in this order store (database URL)")
    p.add_argument("--max-bytes", type=int, default=MAX_REQUEST_BYTES,
                   help=f"refuse a request file larger than this (default {MAX_REQUEST_BYTES:,}; "
                        "checked before it is read)")
    p.set_defaults(func=cmd_split)
    p = sub.add_parser("warmup", help="compile the split kernels now (once per installation)")
    p.set_defaults(func=cmd_warmup)


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


EVERY = "*"
"""``build_parser(EVERY)``: every subcommand whose module (and extra) can be loaded."""


def build_parser(command: str | None = EVERY) -> argparse.ArgumentParser:
    """The parser with ``command``'s module loaded (every module for :data:`EVERY`); the
    subcommands not loaded show their help line only."""
    parser = argparse.ArgumentParser(prog="ordersplit", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_split(sub)
    if command == EVERY:
        wanted = {lazy.module for lazy in LAZY.values()}
    else:
        wanted = {LAZY[command].module} if command in LAZY else set()
    loaded: set[str] = set()
    for name, lazy in LAZY.items():
        if lazy.module in loaded:
            continue
        if lazy.module in wanted and _register(lazy.module, sub):
            loaded.add(lazy.module)
        else:
            sub.add_parser(name, help=lazy.help)
    return parser


def _register(module: str, sub: argparse._SubParsersAction) -> bool:
    """Add ``module``'s subcommands; False when its optional extra is not installed."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == "ordersplit":
            raise
        return False
    mod.register(sub)
    return True


def _options_need(args: argparse.Namespace) -> str | None:
    """The missing-extra message for what the options ask for (a PostgreSQL store, Dask)."""
    store = getattr(args, "store", None) or ""
    if store.startswith("postgresql"):
        return missing_extra("a PostgreSQL store", "postgres")
    if getattr(args, "scheduler", None):
        return missing_extra("ordersplit reoptimize --scheduler", "dask")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    lazy = LAZY.get(command or "")
    if lazy is not None and lazy.extra is not None:
        msg = missing_extra(f"ordersplit {command}", lazy.extra)
        if msg:  # before its module is imported: that import would fail
            print(msg, file=sys.stderr)
            return EXIT_BAD_INPUT
    args = build_parser(command).parse_args(argv)
    msg = _options_need(args)
    if msg:
        print(msg, file=sys.stderr)
        return EXIT_BAD_INPUT
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (e.g. piped into head)
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
