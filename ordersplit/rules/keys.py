"""Rule keys: which attributes a child must hold one value of, and why children differ.

A child carries one group key (merchant, handling, temperature, cross-border, each
only when its rule is on) and one warehouse (when the warehouse rule is on). Bulky,
offline-store and stock are rules about *which* lines go together rather than keys,
and are applied by :mod:`ordersplit.rules.presource`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ordersplit.models.request import CatalogItem, Rules

KEY_RULES = ("merchant", "handling", "temperature", "cross_border")
"""Rules that put an attribute into the group key, in reason order."""

REASON_ORDER = ("merchant", "warehouse", "handling", "temperature", "cross_border", "bulky",
                "stock", "offline_store", "bundle")


@dataclass(frozen=True)
class GroupKey:
    """The attributes a child holds one value of (``None`` where the rule is off)."""

    merchant: str | None
    handling: str | None
    temperature: str | None
    cross_border: bool | None


KeyFields = tuple[str | None, str | None, str | None, bool | None]


def key_fields(item: CatalogItem, rules: Rules) -> KeyFields:
    """The fields of :func:`group_key`, as a plain tuple (cheap to hash and compare)."""
    return (item.merchant if rules.merchant else None,
            item.handling if rules.handling else None,
            item.temperature if rules.temperature else None,
            item.cross_border if rules.cross_border else None)


def group_key(item: CatalogItem, rules: Rules) -> GroupKey:
    """The group key of a catalog item under ``rules``."""
    return GroupKey(*key_fields(item, rules))


def differing_rules(a: GroupKey, b: GroupKey) -> list[str]:
    """The key rules on which two groups differ."""
    return [name for name in KEY_RULES if getattr(a, name) != getattr(b, name)]
