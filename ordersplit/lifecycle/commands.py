"""CLI: ``ordersplit resplit``, ``cancel``, ``reject``, ``status``, ``show`` over a store.

Every command takes ``--store URL`` (default ``$ORDERSPLIT_STORE``, else
``sqlite:///ordersplit.db``). Errors print the contract's error object to standard
error: status 2 for a refused operation, 1 for anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from ordersplit.errors import OrderSplitError, RequestError
from ordersplit.lifecycle import open_store, show, show_json
from ordersplit.lifecycle.errors import LifecycleError
from ordersplit.request_file import read_request

EXIT_REFUSED = 2
EXIT_FAILURE = 1


def _fail(exc: Exception, code: int) -> int:
    order_id = getattr(exc, "order_id", None)
    message = getattr(exc, "message", str(exc))
    print(json.dumps({"error": {"order_id": order_id, "field": "", "message": message}}),
          file=sys.stderr)
    return code


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except RequestError as exc:  # a bad input file (--stock): the error object, as split
            print(json.dumps(exc.to_dict()), file=sys.stderr)
            return EXIT_REFUSED
        except LifecycleError as exc:
            return _fail(exc, EXIT_REFUSED)
        except (OrderSplitError, OSError, ValueError) as exc:
            return _fail(exc, EXIT_FAILURE)
    return wrapper


def _shortage(pairs: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for pair in pairs:
        sku, sep, qty = pair.rpartition("=")
        if not sep or not sku or not qty.isdigit():
            raise ValueError(f"--short wants SKU=QUANTITY, got {pair!r}")
        out[sku] = out.get(sku, 0) + int(qty)
    return out


def cmd_resplit(args: argparse.Namespace) -> int:
    """Re-split a child the warehouse is short for; print the grandchildren's plan."""
    stock = read_request(args.stock) if args.stock else None
    store = open_store(args.store)
    try:
        plan = store.resplit(args.order_id, _shortage(args.short or []), stock)
    finally:
        store.close()
    print(plan.model_dump_json(indent=2))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel (or with ``--reject``, reject) an order; print the refund and linked actions."""
    store = open_store(args.store)
    try:
        end = store.reject if args.reject else store.cancel
        outcome = end(args.order_id, args.note)
    finally:
        store.close()
    print(json.dumps(outcome.to_dict(), indent=2))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Move an order to a new status (in_warehouse, shipped, delivered)."""
    store = open_store(args.store)
    try:
        store.set_status(args.order_id, args.status, args.note)
    finally:
        store.close()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print an order's tree with statuses and amounts (or its JSON with ``--json``)."""
    store = open_store(args.store)
    try:
        text = (json.dumps(show_json(store, args.order_id), indent=2) if args.json
                else show(store, args.order_id))
    finally:
        store.close()
    print(text)
    return 0


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="database URL (default $ORDERSPLIT_STORE or "
                                   "sqlite:///ordersplit.db)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``resplit``, ``cancel``, ``status`` and ``show`` to the CLI."""
    p = subparsers.add_parser("resplit", help="re-split a child order the warehouse is short for")
    p.add_argument("order_id", help="the child order id")
    p.add_argument("--short", action="append", metavar="SKU=QTY",
                   help="a SKU the warehouse is short of (repeatable)")
    p.add_argument("--stock", help="JSON file {warehouse: {sku: units}} of current stock")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_resplit))

    p = subparsers.add_parser("cancel", help="cancel (or reject) a child order")
    p.add_argument("order_id")
    p.add_argument("--reject", action="store_true", help="the customer rejected it on delivery")
    p.add_argument("--note", help="why")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_cancel))

    p = subparsers.add_parser("status", help="move an order to in_warehouse/shipped/delivered")
    p.add_argument("order_id")
    p.add_argument("status", choices=["in_warehouse", "shipped", "delivered"])
    p.add_argument("--note")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_status))

    p = subparsers.add_parser("show", help="an order's tree with statuses and amounts")
    p.add_argument("order_id")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_show))
