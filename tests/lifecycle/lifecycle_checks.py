"""Invariants every stored lineage must keep, as one assertion helper."""

from __future__ import annotations

from ordersplit.lifecycle import OrderNode
from ordersplit.lifecycle.links import working


def check_tree(tree: list[OrderNode]) -> None:
    """Money adds up at every level (every key, lines to headers, children to parent,
    each line's parts to the line), lineage is consistent and at most three levels."""
    by_id = {o.id: o for o in tree}
    root = tree[0]
    assert root.level == 1 and root.parent_id is None and root.root_id == root.id
    for node in tree:
        assert node.root_id == root.id
        assert 1 <= node.level <= 3
        keys = node.keys
        for k in keys:
            assert sum(i.amounts[k] for i in node.items) == node.amounts[k], (node.id, k)
        for item in node.items:
            assert sum(item.amounts[m] for m in node.methods) == (
                item.amounts["goods"] - item.amounts["discount"] + item.amounts["shipping_fee"])
            assert sum(item.discounts.values()) == item.amounts["discount"]
            assert 0 <= item.amounts["discount"] <= item.amounts["goods"]
        if node.level > 1:
            parent = by_id[node.parent_id]  # type: ignore[index]
            assert parent.level == node.level - 1
            assert node.id.startswith(parent.id + "-")
        kids = [o for o in tree if o.parent_id == node.id]
        if kids:
            assert node.status == "split"
            for k in keys:
                assert sum(c.amounts[k] for c in kids) == node.amounts[k], (node.id, k)
            for line in {i.line_id for i in node.items}:
                for k in keys:
                    mine = sum(i.amounts[k] for i in node.items if i.line_id == line)
                    theirs = sum(i.amounts[k] for c in kids for i in c.items
                                 if i.line_id == line)
                    assert theirs == mine, (node.id, line, k)
    leaves = working(tree)
    for k in root.keys:
        assert sum(o.amounts[k] for o in leaves) == root.amounts[k], k
    for root_line in root.items:  # (no bundles in these tests: quantities are whole lines)
        assert sum(i.quantity for o in leaves for i in o.items
                   if i.line_id == root_line.line_id) == root_line.quantity
