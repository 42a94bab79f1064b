"""Built-in backends; importing this package registers them."""

from ordersplit.solver.backends import base

__all__ = ["base"]

# Registration side effects: each module decorates its classes with ``@register``.
for _module in ("cpsat", "milp", "heuristics", "combination"):
    try:
        __import__(f"ordersplit.solver.backends.{_module}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a module is being written
        if _exc.name != f"ordersplit.solver.backends.{_module}":
            raise
