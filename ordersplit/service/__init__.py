"""The HTTP service: a FastAPI app over :func:`ordersplit.split` (``ordersplit serve``).

The app is built by :func:`ordersplit.service.app.create_app`; this package's root stays
light so that the CLI can register ``serve`` without importing FastAPI.
"""

from ordersplit.service.config import ServiceConfig

__all__ = ["ServiceConfig"]
