"""Share a child's money out again over its grandchildren, exactly.

Each of the child's items (lines) is shared over the grandchild parts that carry it,
with the money package's kernels and the allocator's policies: goods by quantity,
discount by goods, shipping fee by net amount, payment methods by a controlled
rounding (every part's methods add up to its payable), invoice as the sum of the
invoiced methods, tax as the floor or ceiling of every part's own VAT quota. So every
key of every child item equals the sum of its parts, and the grandchildren add up to
the child - lines to headers - to the minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ordersplit.lifecycle.errors import LifecycleError
from ordersplit.lifecycle.nodes import OWN_DISCOUNT, OrderNode
from ordersplit.money.rounding import (
    IntArray,
    apportion,
    apportion_quotas,
    as_int,
    controlled_round,
    segment_sum,
)


@dataclass(frozen=True)
class Reshared:
    """The child's money over the grandchild parts, in the child's key order."""

    keys: tuple[str, ...]
    parts: IntArray
    """[n_parts, n_keys]"""
    children: IntArray
    """[n_grandchildren, n_keys]"""
    components: list[dict[str, int]]
    """Per part: its discount by source (``_own`` and each activity id)."""


def reshare(child: OrderNode, part_item: list[int], part_child: list[int],
            part_weight: list[int], *, n_children: int,
            rates: list[tuple[int, int]]) -> Reshared:
    """Share ``child``'s item amounts over parts (``rates[i]``: item ``i``'s VAT num/den)."""
    keys = child.keys
    items = child.items
    n_i = len(items)
    if sorted(set(part_item)) != list(range(n_i)):
        raise LifecycleError("every item of the child needs at least one part", order_id=child.id)
    order = np.argsort(as_int(part_item), kind="stable")
    seg = as_int(part_item)[order]
    weight = as_int(part_weight)[order]
    amounts = as_int([[item.amounts[k] for k in keys] for item in items]).reshape(n_i, len(keys))
    col = {k: i for i, k in enumerate(keys)}

    goods = apportion(amounts[:, col["goods"]], weight, seg, n_i)
    disc = apportion(amounts[:, col["discount"]], goods, seg, n_i)
    net = goods - disc
    item_net = amounts[:, col["goods"]] - amounts[:, col["discount"]]
    fee = apportion(amounts[:, col["shipping_fee"]],
                    np.where(item_net[seg] > 0, net, weight), seg, n_i)
    methods = [col[m] for m in child.methods]
    payable = net + fee
    if not np.array_equal(segment_sum(payable, seg, n_i), amounts[:, methods].sum(axis=1)):
        raise LifecycleError("the child's payments do not add up to its lines' payable",
                             order_id=child.id)
    pay = (controlled_round(seg, payable, amounts[:, methods]) if methods
           else np.zeros((seg.size, 0), dtype=np.int64))
    mask = np.array([m in child.invoiced for m in child.methods], dtype=np.int64)
    inv = (pay * mask).sum(axis=1) if methods else np.zeros(seg.size, dtype=np.int64)
    num = as_int([r[0] for r in rates])
    tden = as_int([r[0] + r[1] for r in rates])
    tax = apportion_quotas(amounts[:, col["tax"]], inv, num[seg], tden[seg], seg=seg, n_seg=n_i)

    sources = sorted({s for item in items for s in item.discounts},
                     key=lambda s: (s != OWN_DISCOUNT, s))
    comp_items = as_int([[item.discounts.get(s, 0) for s in sources] for item in items])
    comp_items = comp_items.reshape(n_i, len(sources))
    if sources and np.array_equal(comp_items.sum(axis=1), amounts[:, col["discount"]]):
        comp = controlled_round(seg, disc, comp_items)
    else:  # no breakdown known: all of it counts as the line's own discount
        sources = [OWN_DISCOUNT]
        comp = disc.reshape(-1, 1)

    grouped = np.zeros((seg.size, len(keys)), dtype=np.int64)
    grouped[:, col["goods"]], grouped[:, col["discount"]] = goods, disc
    grouped[:, col["shipping_fee"]] = fee
    grouped[:, methods] = pay
    grouped[:, col["invoice"]], grouped[:, col["tax"]] = inv, tax
    parts = np.empty_like(grouped)
    parts[order] = grouped
    comps = np.empty_like(comp)
    comps[order] = comp
    children = segment_sum(parts, as_int(part_child), n_children)
    return Reshared(keys, parts, children,
                    [{s: int(v) for s, v in zip(sources, row, strict=True)} for row in comps])
