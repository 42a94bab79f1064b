"""The order tree as readable text: lineage, statuses, places and amounts."""

from __future__ import annotations

from ordersplit.lifecycle.nodes import OrderNode

SHOWN = ("goods", "discount", "shipping_fee")


def _money(node: OrderNode) -> str:
    parts = [f"{k} {node.fmt(node.amounts[k])}" for k in SHOWN]
    pays = ", ".join(f"{m} {node.fmt(node.amounts[m])}" for m in node.methods)
    return f"{'  '.join(parts)}  paid {node.fmt(node.paid)} ({pays})"


def _head(node: OrderNode, links: dict[str, list[str]]) -> str:
    where = node.warehouse or ("several warehouses" if node.warehouses else "-")
    bits = [node.id, f"[{node.status}]", f"level {node.level}", node.kind]
    if node.level > 1:
        bits.append(f"from {where}")
        if node.temperature:
            bits.append(node.temperature)
        if node.delivery_hours is not None:
            bits.append(f"{node.delivery_hours:g}h")
    if links.get(node.id):
        bits.append("linked: " + ", ".join(links[node.id]))
    return "  ".join(bits)


def render_tree(orders: list[OrderNode], top: str, links: dict[str, list[str]]) -> str:
    """The subtree of ``orders`` under ``top`` (an id), one order per block."""
    kids: dict[str | None, list[OrderNode]] = {}
    for node in orders:
        kids.setdefault(node.parent_id, []).append(node)
    by_id = {n.id: n for n in orders}
    out: list[str] = []

    def walk(node: OrderNode, indent: str, last: bool, is_top: bool) -> None:
        branch = "" if is_top else ("└─ " if last else "├─ ")
        out.append(f"{indent}{branch}{_head(node, links)}")
        inner = indent + ("" if is_top else ("   " if last else "│  "))
        out.append(f"{inner}   {_money(node)}  {node.currency}")
        for item in node.items:
            comp = f" (of {item.component_of})" if item.component_of else ""
            out.append(f"{inner}   · {item.line_id} {item.sku}{comp} x{item.quantity}  "
                       f"goods {node.fmt(item.amounts['goods'])}  "
                       f"discount {node.fmt(item.amounts['discount'])}")
        below = kids.get(node.id, [])
        for i, child in enumerate(below):
            walk(child, inner, i == len(below) - 1, False)

    node = by_id[top]
    if node.level > 1:
        out.append(f"(root {node.root_id}, parent {node.parent_id})")
    walk(node, "", True, True)
    return "\n".join(out)
