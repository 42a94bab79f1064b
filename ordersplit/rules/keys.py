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


def group_key(item: CatalogItem, rules: Rules) -> GroupKey:
    """The group key of a catalog item under ``rules``."""
    return GroupKey(
        merchant=item.merchant if rules.merchant else None,
        handling=item.handling if rules.handling else None,
        temperature=item.temperature if rules.temperature else None,
        cross_border=item.cross_border if rules.cross_border else None,
    )


def differing_rules(a: GroupKey, b: GroupKey) -> list[str]:
    """The key rules on which two groups differ."""
    return [name for name in KEY_RULES if getattr(a, name) != getattr(b, name)]
