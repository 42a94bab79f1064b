"""Look-ahead splitting (issue #17): demand forecasts, stock shadow prices, a simulator.

- :mod:`~ordersplit.lookahead.forecast`: expected units per (region, SKU) over a horizon.
- :mod:`~ordersplit.lookahead.prices`: the pricing LP (HiGHS) and :class:`StockPrices`.
- :mod:`~ordersplit.lookahead.simulate`: orders arriving over a horizon, split by a policy.
"""

from ordersplit.lookahead.forecast import Forecast, ForecastError, fit_forecast, load_forecast
from ordersplit.lookahead.network import PricingNetwork, network_from_scenario, network_from_world
from ordersplit.lookahead.prices import PricingParams, StockPrices, price_stock

__all__ = ["Forecast", "ForecastError", "PricingNetwork", "PricingParams", "StockPrices",
           "fit_forecast", "load_forecast", "network_from_scenario", "network_from_world",
           "price_stock"]
