"""CLI: ``ordersplit resplit``, ``cancel``, ``release``, ``status``, ``show`` over a store.

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
        except RequestError as exc:  # bad input (a shortage, a --stock file): the error object
            print(json.dumps(exc.to_dict()), file=sys.stderr)
            return EXIT_REFUSED
        except LifecycleError as exc:
            return _fail(exc, EXIT_REFUSED)
        except (OrderSplitError, OSError, ValueError) as exc:
            return _fail(exc, EXIT_FAILURE)
    return wrapper


def _shortage(pairs: list[str], order_id: str) -> dict[str, int]:
    """``--short SKU=QTY`` pairs; the quantities are checked against the child later."""
    out: dict[str, int] = {}
    for pair in pairs:
        sku, sep, qty = pair.rpartition("=")
        try:
            units = int(qty)
        except ValueError:
            units = None
        if not sep or not sku or units is None:
            raise RequestError(f"--short wants SKU=QUANTITY, got {pair!r}", field="--short",
                               order_id=order_id)
        out[sku] = out.get(sku, 0) + units
    return out


def _stock(path: str | None, order_id: str) -> dict[str, dict[str, int]] | None:
    """The ``--stock`` file: ``{warehouse: {sku: units}}``, or None without one."""
    if not path:
        return None
    data = read_request(path)  # bounded in size and depth, errors in our words
    if not isinstance(data, dict) or not all(
            isinstance(units, dict) for units in data.values()):
        raise RequestError("the stock snapshot is {warehouse: {sku: units}}", field="--stock",
                           order_id=order_id)
    return data


def cmd_resplit(args: argparse.Namespace) -> int:
    """Re-split a child the warehouse is short for; print the grandchildren's plan."""
    shortage = _shortage(args.short or [], args.order_id)
    stock = _stock(args.stock, args.order_id)
    store = open_store(args.store)
    try:
        plan = store.resplit(args.order_id, shortage, stock)
    finally:
        store.close()
    print(plan.model_dump_json(indent=2))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel (or with ``--reject``, reject) an order; print the refund and linked actions."""
    store = open_store(args.store)
    try:
        end = store.reject if args.reject else store.cancel
        outcome = end(args.order_id, args.note, gifts=args.gifts)
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


def cmd_release(args: argparse.Namespace) -> int:
    """Release a held order; print its id and the status it went back to."""
    store = open_store(args.store)
    try:
        back = store.release(args.order_id, args.note)
    finally:
        store.close()
    print(json.dumps({"order_id": args.order_id, "status": back}))
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
    """Add ``resplit``, ``cancel``, ``release``, ``status`` and ``show`` to the CLI."""
    p = subparsers.add_parser("resplit", help="re-split a child order the warehouse is short for")
    p.add_argument("order_id", help="the child order id")
    p.add_argument("--short", action="append", metavar="SKU=QTY",
                   help="a SKU the warehouse is short of (repeatable)")
    p.add_argument("--stock", help="JSON file {warehouse: {sku: units}}: a fresh stock "
                                   "snapshot, used as given (it already shows the shortage)")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_resplit))

    p = subparsers.add_parser("cancel", help="cancel (or reject) a child order")
    p.add_argument("order_id")
    p.add_argument("--reject", action="store_true", help="the customer rejected it on delivery")
    p.add_argument("--note", help="why")
    p.add_argument("--gifts", choices=["hold", "cancel"], default="hold",
                   help="what happens to its unshipped linked gift children (default hold)")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_cancel))

    p = subparsers.add_parser("release", help="release a held order (e.g. a gift whose "
                                              "trigger was cancelled) back to work")
    p.add_argument("order_id")
    p.add_argument("--note", help="why")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_release))

    p = subparsers.add_parser("status",
                              help="move an order to in_warehouse/shipped/delivered/held")
    p.add_argument("order_id")
    p.add_argument("status", choices=["in_warehouse", "shipped", "delivered", "held"])
    p.add_argument("--note")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_status))

    p = subparsers.add_parser("show", help="an order's tree with statuses and amounts")
    p.add_argument("order_id")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    _store_arg(p)
    p.set_defaults(func=_guarded(cmd_show))
