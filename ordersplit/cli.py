"""Command line: ``ordersplit split REQUEST.json`` and friends.

The CLI is a thin face over the Python API. A rejected request prints the contract's
error object to standard error and exits with status 2; nothing partial is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ordersplit.errors import OrderSplitError, RequestError

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def cmd_split(args: argparse.Namespace) -> int:
    from ordersplit.api import split

    try:
        raw = _read(args.request)
    except OSError as exc:
        err = RequestError(f"cannot read {args.request}: {exc.strerror or exc}", field="")
        print(json.dumps(err.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        from ordersplit.models.validate import json_error_text

        err = RequestError(json_error_text(exc), field="")
        print(json.dumps(err.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(data, dict):
        options = data.setdefault("options", {}) if isinstance(data.get("options", {}), dict) else None
        if options is not None:
            if args.solver:
                options["solver"] = args.solver
            if args.time_limit_ms:
                options["time_limit_ms"] = args.time_limit_ms
    try:
        plan = split(data)
        if args.store:  # one transaction; the stored plan if this request was split before
            from ordersplit.lifecycle import open_store

            plan = open_store(args.store).save_split(data, plan).plan
    except RequestError as exc:
        print(json.dumps(exc.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OrderSplitError as exc:
        print(json.dumps({"error": {"order_id": None, "field": "", "message": str(exc)}}),
              file=sys.stderr)
        return EXIT_FAILURE
    text = plan.model_dump_json(indent=None if args.compact else 2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ordersplit", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("split", help="split one order (CONTRACT.md request JSON) into a plan")
    p.add_argument("request", help="request JSON file, or - for standard input")
    p.add_argument("--solver", help="override options.solver (auto, cpsat, milp, greedy, ...)")
    p.add_argument("--time-limit-ms", type=int, help="override options.time_limit_ms")
    p.add_argument("-o", "--output", help="write the plan here instead of standard output")
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.add_argument("--store", help="also save the plan in this order store (database URL)")
    p.set_defaults(func=cmd_split)
    for module in COMMAND_MODULES:
        _register(module, sub)
    return parser


COMMAND_MODULES = (
    "ordersplit.bench.commands",  # bench
    "ordersplit.lifecycle.commands",  # resplit, cancel, show (and split --store)
    "ordersplit.batch.commands",  # reoptimize
    "ordersplit.service.commands",  # serve
)
"""Modules that add subcommands: each defines ``register(subparsers)``; each added
subcommand sets ``func`` (``args -> exit code``) with ``set_defaults``."""


def _register(module: str, sub: argparse._SubParsersAction) -> None:
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return  # that part of ordersplit is not installed in this build
        raise
    mod.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (e.g. piped into head)
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
