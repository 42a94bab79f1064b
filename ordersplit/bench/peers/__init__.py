"""Peers: the split strategies of other order systems, reimplemented as baselines.

Each is a function over the compiled :class:`~ordersplit.solver.problem.SplitProblem`
returning an assignment ``x[item, warehouse]`` (or ``None``), written from the vendor's
documented behaviour (not its code), and registered as a backend so that it runs under
exactly the same rules, stock and reach as our solvers. Importing this package
registers them.

============================  ==================================================
backend                       behaviour (whose)
============================  ==================================================
``peer_priority_fill``        per-line fill in warehouse priority order (Magento
                              MSI source priority; Saleor prioritize sorting order)
``peer_nearest_fill``         per-line fill from the nearest warehouse first
                              (Magento MSI distance priority)
``peer_most_stock``           per-line fill, warehouse with most stock first
                              (Saleor prioritize high stock)
``peer_location_sets``        location sets of growing size with a step cap
                              (Salesforce Order Management fewest splits)
``peer_shopify``              minimize split fulfillments, then closest location
                              (Shopify order routing rules)
============================  ==================================================
"""

from collections.abc import Callable

from ordersplit.bench.peers import backends as _backends  # noqa: F401  (registers)
from ordersplit.bench.peers.fill import most_stock_fill, nearest_fill, priority_fill
from ordersplit.bench.peers.location_sets import location_sets
from ordersplit.bench.peers.shopify import shopify_rules
from ordersplit.solver.problem import IntArray, SplitProblem

PEERS: dict[str, Callable[[SplitProblem], IntArray | None]] = {
    "peer_priority_fill": priority_fill,
    "peer_nearest_fill": nearest_fill,
    "peer_most_stock": most_stock_fill,
    "peer_location_sets": location_sets,
    "peer_shopify": shopify_rules,
}
"""Peer functions by backend name."""

__all__ = [
    "PEERS",
    "location_sets",
    "most_stock_fill",
    "nearest_fill",
    "priority_fill",
    "shopify_rules",
]
