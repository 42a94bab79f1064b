"""Benchmark of the vectorized money allocator (pytest-benchmark).

``pytest benchmarks/bench_money.py --benchmark-only`` allocates 1,000,000 lines (about
200,000 orders) with every component - goods, line discounts, a discount activity per
order, the shipping fee over children of every kind, four payment methods, invoice and
VAT at three rates - and compares it with a straightforward per-order
``decimal.Decimal`` loop. The Decimal loop is timed on a subset of the same orders and
scaled per line (it is linear in the lines); both figures and the ratio are logged and
stored in the benchmark's ``extra_info``.
"""

from __future__ import annotations

import logging
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ordersplit.money.batch import MoneyBatch, allocate_batch

logger = logging.getLogger(__name__)

N_ORDERS = 200_000
METHODS = ("coupon", "points", "gift_card", "cash")
SUBSET_ORDERS = 2_000


def make_batch(n_orders: int, seed: int = 7) -> MoneyBatch:
    """``n_orders`` random orders of 1-9 lines (5 on average), all components present."""
    rng = np.random.default_rng(seed)
    n_lines_of = rng.integers(1, 10, n_orders)
    line_order = np.repeat(np.arange(n_orders), n_lines_of)
    n_l = line_order.size
    qty = rng.integers(1, 6, n_l)
    price = np.where(rng.random(n_l) < 0.05, 0, rng.integers(1, 100_000, n_l))  # 5% gifts
    goods = price * qty
    disc = np.where(rng.random(n_l) < 0.3, goods // rng.integers(5, 20, n_l), 0)
    net = goods - disc
    # children: 1-3 per order; kinds shipment mostly, some backorder and store
    n_ch_of = rng.integers(1, 4, n_orders)
    child_order = np.repeat(np.arange(n_orders), n_ch_of)
    child_first = np.concatenate([[0], np.cumsum(n_ch_of)[:-1]])
    kind = rng.choice(np.array([0, 0, 0, 1, 2]), child_order.size)
    kind[child_first] = 0
    # parts: each line to a random child of its order; 10% of lines split over two
    own = child_first[line_order] + (rng.random(n_l) * n_ch_of[line_order]).astype(np.int64)
    split = (rng.random(n_l) < 0.10) & (qty > 1)
    other = child_first[line_order] + (own - child_first[line_order] + 1) % n_ch_of[line_order]
    split &= other != own
    first_units = np.where(split, qty // 2, qty)
    # parts grouped by line, like an items table sorted by order and line
    part_line = np.repeat(np.arange(n_l), 1 + split)
    first_pos = np.concatenate([[0], np.cumsum(1 + split)[:-1]])
    second = np.arange(part_line.size) - first_pos[part_line] == 1
    part_child = np.where(second, other[part_line], own[part_line])
    part_weight = np.where(second, (qty - first_units)[part_line], first_units[part_line])
    # one discount activity per order over all its lines: a tenth of the net goods
    net_of = np.bincount(line_order, weights=net, minlength=n_orders).astype(np.int64)
    act_amount = net_of // 10
    fee = rng.choice(np.array([0, 600, 800, 1200]), n_orders)
    payable = net_of - act_amount + fee
    shares = rng.dirichlet(np.ones(len(METHODS)), n_orders)
    pay = np.floor(shares * payable[:, None]).astype(np.int64)
    pay[:, -1] += payable - pay.sum(axis=1)
    rates = np.array([0, 9, 13]), np.array([1, 100, 100])
    invoice = np.zeros((n_orders, len(METHODS)), dtype=bool)
    invoice[:, -1] = True
    invoice[:, 2] = rng.random(n_orders) < 0.5
    return MoneyBatch(
        methods=METHODS, payments=pay, invoice_methods=invoice, shipping_fee=fee,
        first_child=rng.random(n_orders) < 0.1,
        line_order=line_order, goods=goods, line_discount=disc,
        line_rate=rng.integers(0, 3, n_l), rate_num=rates[0], rate_den=rates[1],
        activity_order=np.arange(n_orders), activity_amount=act_amount,
        cover_activity=line_order.copy(), cover_line=np.arange(n_l),
        child_order=child_order, child_kind=kind,
        part_child=part_child, part_line=part_line, part_weight=part_weight,
    )


CENT = Decimal("0.01")


def _share(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """The usual way: round each share half up, the last one takes the rest."""
    wsum = sum(weights, Decimal(0))
    if wsum == 0:
        return [Decimal(0)] * len(weights)
    out = [(total * w / wsum).quantize(CENT, ROUND_HALF_UP) for w in weights[:-1]]
    return [*out, total - sum(out, Decimal(0))]


def decimal_orders(batch: MoneyBatch, n_orders: int) -> list[dict[str, Any]]:
    """The first ``n_orders`` orders as plain Python data (built before timing)."""
    cent = Decimal("0.01")
    lines_of = np.searchsorted(batch.line_order, np.arange(n_orders + 1)).tolist()
    rates = [Decimal(int(n)) / Decimal(int(d)) for n, d in zip(batch.rate_num, batch.rate_den,
                                                                strict=True)]
    part_line, part_child = batch.part_line.tolist(), batch.part_child.tolist()
    weight = batch.part_weight.tolist()
    parts_of: dict[int, list[tuple[int, int]]] = {}
    for p, line in enumerate(part_line):
        if line < lines_of[-1]:
            parts_of.setdefault(line, []).append((part_child[p], weight[p]))
    out = []
    for o in range(n_orders):
        lo, hi = lines_of[o], lines_of[o + 1]
        out.append({
            "goods": [Decimal(g) * cent for g in batch.goods[lo:hi].tolist()],
            "disc": [Decimal(d) * cent for d in batch.line_discount[lo:hi].tolist()],
            "rate": [rates[r] for r in batch.line_rate[lo:hi].tolist()],
            "parts": [parts_of[i] for i in range(lo, hi)],
            "activity": Decimal(int(batch.activity_amount[o])) * cent,
            "fee": Decimal(int(batch.shipping_fee[o])) * cent,
            "pay": [Decimal(x) * cent for x in batch.payments[o].tolist()],
            "invoiced": batch.invoice_methods[o].tolist(),
        })
    return out


def decimal_loop(orders: list[dict[str, Any]]) -> None:
    """A straightforward per-order ``Decimal`` allocation of the same components.

    The baseline the vectorized allocator is compared with: the activity over lines,
    goods and discount over parts, the fee over children and their parts, every method
    over lines and then over parts, invoice and VAT per part - one order at a time,
    each share rounded half up and the leftover given to the last item.
    """
    for od in orders:
        net = [g - d for g, d in zip(od["goods"], od["disc"], strict=True)]
        act = _share(od["activity"], net)
        disc = [d + a for d, a in zip(od["disc"], act, strict=True)]
        child_net: dict[int, Decimal] = {}
        rows = []  # (line, child, net) per part
        for i, parts in enumerate(od["parts"]):
            pg = _share(od["goods"][i], [Decimal(w) for _, w in parts])
            pdisc = _share(disc[i], pg)
            for (c, _), g, d in zip(parts, pg, pdisc, strict=True):
                child_net[c] = child_net.get(c, Decimal(0)) + g - d
                rows.append([i, c, g - d])
        kids = sorted(child_net)
        fee = _share(od["fee"], [child_net[c] for c in kids])
        for c, f in zip(kids, fee, strict=True):
            mine = [r for r in rows if r[1] == c]
            for r, share in zip(mine, _share(f, [r[2] for r in mine]), strict=True):
                r[2] += share
        payable = [sum((r[2] for r in rows if r[0] == i), Decimal(0)) for i in range(len(net))]
        by_method = [_share(amount, payable) for amount in od["pay"]]
        for i in range(len(net)):
            mine = [r for r in rows if r[0] == i]
            invoice = [Decimal(0)] * len(mine)
            for m, cells in enumerate(by_method):
                for k, v in enumerate(_share(cells[i], [r[2] for r in mine])):
                    if od["invoiced"][m]:
                        invoice[k] += v
            rate = od["rate"][i]
            for inv in invoice:
                (inv * rate / (1 + rate)).quantize(CENT, ROUND_HALF_UP)


def test_allocate_one_million_lines(benchmark: Any) -> None:
    """1,000,000 lines, about 200,000 orders, every component; vs the Decimal loop."""
    batch = make_batch(N_ORDERS)
    allocate_batch(batch)  # warm up
    result = benchmark.pedantic(allocate_batch, args=(batch,), rounds=5, iterations=1)
    assert result.orders.shape[0] == N_ORDERS
    vector_s = benchmark.stats.stats.min
    n_lines = batch.goods.size

    cpu = time.process_time()
    allocate_batch(batch)
    vector_cpu = time.process_time() - cpu
    sub_lines = int(np.searchsorted(batch.line_order, SUBSET_ORDERS))
    subset = decimal_orders(batch, SUBSET_ORDERS)
    start, cpu = time.perf_counter(), time.process_time()
    decimal_loop(subset)
    decimal_s = (time.perf_counter() - start) / sub_lines * n_lines  # scaled per line
    decimal_cpu = (time.process_time() - cpu) / sub_lines * n_lines
    ratio = decimal_s / vector_s
    info = {
        # CPU seconds as well: on a shared machine wall time includes waiting for a core
        "vectorized_cpu_s": round(vector_cpu, 3),
        "decimal_loop_cpu_s_scaled": round(decimal_cpu, 1),
        "cpu_ratio": round(decimal_cpu / vector_cpu, 1),
        "lines": n_lines, "orders": N_ORDERS, "parts": int(batch.part_child.size),
        "vectorized_s": round(vector_s, 3),
        "decimal_loop_s_scaled": round(decimal_s, 1),
        "decimal_loop_subset_lines": sub_lines,
        "ratio": round(ratio, 1),
    }
    benchmark.extra_info.update(info)
    logger.warning("money benchmark: %s", info)
