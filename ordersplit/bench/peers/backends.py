"""The peers behind the common backend interface (``peer_*`` names; never exact)."""

from __future__ import annotations

from ordersplit.bench.peers.fill import most_stock_fill, nearest_fill, priority_fill
from ordersplit.bench.peers.location_sets import location_sets
from ordersplit.bench.peers.shopify import shopify_rules
from ordersplit.solver.backends.base import register
from ordersplit.solver.backends.heuristics import HeuristicBackend


@register
class PriorityFillBackend(HeuristicBackend):
    """Magento MSI source priority / Saleor prioritize sorting order."""

    name = "peer_priority_fill"
    method = staticmethod(priority_fill)


@register
class NearestFillBackend(HeuristicBackend):
    """Magento MSI distance priority."""

    name = "peer_nearest_fill"
    method = staticmethod(nearest_fill)


@register
class MostStockBackend(HeuristicBackend):
    """Saleor prioritize high stock."""

    name = "peer_most_stock"
    method = staticmethod(most_stock_fill)


@register
class LocationSetsBackend(HeuristicBackend):
    """Salesforce Order Management fewest splits (with a step cap)."""

    name = "peer_location_sets"
    method = staticmethod(location_sets)


@register
class ShopifyBackend(HeuristicBackend):
    """Shopify routing rules: minimize split fulfillments, then closest location."""

    name = "peer_shopify"
    method = staticmethod(shopify_rules)
