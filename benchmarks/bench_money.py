"""Benchmark of the vectorized money allocator (pytest-benchmark).

``pytest benchmarks/bench_money.py --benchmark-only`` allocates 1,000,000 lines (about
200,000 orders) with every component - goods, line discounts, a discount activity per
order, the shipping fee over children of every kind, four payment methods, invoice and
VAT at three rates - and compares it with a straightforward per-order
``decimal.Decimal`` loop that applies the same rules (largest remainders, the same
controlled-rounding greedy for the payment tables, the same fee and tax policies; its
line x method tables are checked equal to the allocator's). The Decimal loop is timed on a subset of
the same orders and scaled per line (it is linear in the lines). The two are timed in
alternation, round by round, so a burst of load on the shared machine hits both sides
alike. Wall and CPU seconds, best and median, and the ratios are logged and stored in
the benchmark's ``extra_info``.
"""

from __future__ import annotations

import logging
import time
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ordersplit.money.batch import MoneyBatch, allocate_batch

logger = logging.getLogger(__name__)

N_ORDERS = 200_000
METHODS = ("coupon", "points", "gift_card", "cash")
SUBSET_ORDERS = 2_000
ROUNDS = 7


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
ZERO = Decimal(0)


def _largest_remainder(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` over ``weights`` in cents: floors, then the cents left to the largest remainders."""
    wsum = sum(weights, ZERO)
    if not wsum:
        return [ZERO] * len(weights)
    exact = [total * w / wsum for w in weights]
    shares = [e.quantize(CENT, ROUND_FLOOR) for e in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    if left:
        ranked = sorted(range(len(exact)), key=lambda i: (shares[i] - exact[i], i))
        for i in ranked[:left]:
            shares[i] += CENT
    return shares


def _quotas(total: Decimal, exact: list[Decimal]) -> list[Decimal]:
    """Round ``exact`` to cents adding up to ``total`` (largest remainders first)."""
    shares = [e.quantize(CENT, ROUND_FLOOR) for e in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    ranked = sorted(range(len(exact)), key=lambda i: (shares[i] - exact[i], i))
    for i in ranked[:left]:
        shares[i] += CENT
    return shares


def _controlled(rows: list[Decimal], cols: list[Decimal]) -> list[list[Decimal]]:
    """Rows x columns ``row * col / total`` in cents, both margins exact (the same greedy)."""
    if len(rows) == 1:
        return [list(cols)]
    total = sum(rows, ZERO)
    if not total:
        return [[ZERO] * len(cols) for _ in rows]
    exact = [[b * c / total for c in cols] for b in rows]
    cells = [[e.quantize(CENT, ROUND_FLOOR) for e in row] for row in exact]
    frac = [[e != c for e, c in zip(er, cr, strict=True)] for er, cr in zip(exact, cells,
                                                                             strict=True)]
    need_row = [int((b - sum(cr, ZERO)) / CENT) for b, cr in zip(rows, cells, strict=True)]
    need_col = [int((c - sum((cr[m] for cr in cells), ZERO)) / CENT)
                for m, c in enumerate(cols)]
    left = [sum(fr) for fr in frac]
    for m in range(len(cols) - 1):
        cand = [i for i, fr in enumerate(frac) if fr[m] and need_row[i] > 0]
        for i, fr in enumerate(frac):
            left[i] -= fr[m]
        cand.sort(key=lambda i: (max(left[i] + 1 - need_row[i], 0), -need_row[i], i))
        for i in cand[: need_col[m]]:
            cells[i][m] += CENT
            need_row[i] -= 1
    for i, need in enumerate(need_row):
        cells[i][-1] += CENT * need
    return cells


def decimal_orders(batch: MoneyBatch, n_orders: int) -> list[dict[str, Any]]:
    """The first ``n_orders`` orders as plain Python data (built before timing)."""
    lines_of = np.searchsorted(batch.line_order, np.arange(n_orders + 1)).tolist()
    kids_of = np.searchsorted(batch.child_order, np.arange(n_orders + 1)).tolist()
    rates = [Decimal(int(n)) / Decimal(int(d)) for n, d in zip(batch.rate_num, batch.rate_den,
                                                                strict=True)]
    part_line, part_child = batch.part_line.tolist(), batch.part_child.tolist()
    weight = batch.part_weight.tolist()
    kinds = batch.child_kind.tolist()
    parts_of: dict[int, list[tuple[int, int]]] = {}
    for p, line in enumerate(part_line):
        if line < lines_of[-1]:
            parts_of.setdefault(line, []).append((part_child[p], weight[p]))
    out = []
    for o in range(n_orders):
        lo, hi = lines_of[o], lines_of[o + 1]
        out.append({
            "goods": [Decimal(g) * CENT for g in batch.goods[lo:hi].tolist()],
            "disc": [Decimal(d) * CENT for d in batch.line_discount[lo:hi].tolist()],
            "rate": [rates[r] for r in batch.line_rate[lo:hi].tolist()],
            "parts": [parts_of[i] for i in range(lo, hi)],
            "kids": list(range(kids_of[o], kids_of[o + 1])),
            "kinds": kinds[kids_of[o]:kids_of[o + 1]],
            "first_child": bool(batch.first_child[o]),
            "activity": Decimal(int(batch.activity_amount[o])) * CENT,
            "fee": Decimal(int(batch.shipping_fee[o])) * CENT,
            "pay": [Decimal(x) * CENT for x in batch.payments[o].tolist()],
            "invoiced": batch.invoice_methods[o].tolist(),
        })
    return out


def decimal_loop(orders: list[dict[str, Any]]) -> list[Any]:
    """A straightforward per-order ``Decimal`` allocation: same components, same rules.

    The baseline of the vectorized allocator: the activity over lines by net goods,
    goods and discount over parts (and the discount's split into own and activity),
    the fee over children (store children none, ``first_child``) and their parts, the
    line x method table and each line's parts x methods by the same controlled-rounding
    greedy, invoice per part, VAT per order and rate rounded half up then shared over
    lines and parts - one order at a time, largest remainders everywhere. (No exact
    b-matching fallback: the greedy's rare failures do not change the timing.)
    """
    results = []
    for od in orders:
        n = len(od["goods"])
        net = [g - d for g, d in zip(od["goods"], od["disc"], strict=True)]
        act = _largest_remainder(od["activity"], net)
        disc = [d + a for d, a in zip(od["disc"], act, strict=True)]
        rows: list[list[Any]] = []  # [line, child, goods, disc, net, weight] per part
        for i, parts in enumerate(od["parts"]):
            pg = _largest_remainder(od["goods"][i], [Decimal(w) for _, w in parts])
            pd_ = _largest_remainder(disc[i], pg)
            if len(parts) > 1:
                _controlled(pd_, [od["disc"][i], act[i]])
            for (c, w), g, d in zip(parts, pg, pd_, strict=True):
                rows.append([i, c, g, d, g - d, w])
        kids = od["kids"]
        mine = {c: [r for r in rows if r[1] == c] for c in kids}
        c_net = {c: sum((r[4] for r in mine[c]), ZERO) for c in kids}
        units = {c: sum(r[5] for r in mine[c]) for c in kids}
        eligible = [c for c, k in zip(kids, od["kinds"], strict=True) if k != 2 and units[c]]
        ships = [c for c, k in zip(kids, od["kinds"], strict=True) if k == 0 and units[c]]
        if od["first_child"] and ships:
            weights = [Decimal(c == ships[0]) for c in kids]
        elif eligible:
            by_net = sum((c_net[c] for c in eligible), ZERO) > 0
            weights = [(c_net[c] if by_net else Decimal(units[c])) if c in eligible else ZERO
                       for c in kids]
        else:
            by_net = sum(c_net.values(), ZERO) > 0
            weights = [c_net[c] if by_net else Decimal(units[c]) for c in kids]
        for c, fee in zip(kids, _largest_remainder(od["fee"], weights), strict=True):
            has_net = c_net[c] > 0
            shares = _largest_remainder(fee, [r[4] if has_net else Decimal(r[5])
                                              for r in mine[c]])
            for r, f in zip(mine[c], shares, strict=True):
                r.append(r[4] + f)  # the part's payable
        by_line = [[r for r in rows if r[0] == i] for i in range(n)]
        payable = [sum((r[6] for r in rs), ZERO) for rs in by_line]
        table = _controlled(payable, od["pay"])
        tax_groups: dict[Decimal, list[int]] = {}
        line_inv = []
        part_inv = []
        for i, rs in enumerate(by_line):
            cells = _controlled([r[6] for r in rs], table[i])
            invs = [sum((v for v, inv in zip(row, od["invoiced"], strict=True) if inv), ZERO)
                    for row in cells]
            part_inv.append(invs)
            line_inv.append(sum(invs, ZERO))
            tax_groups.setdefault(od["rate"][i], []).append(i)
        for rate, members in tax_groups.items():
            k = rate / (1 + rate)
            tax = (sum((line_inv[i] for i in members), ZERO) * k).quantize(CENT, ROUND_HALF_UP)
            line_tax = _quotas(tax, [line_inv[i] * k for i in members])
            for i, t in zip(members, line_tax, strict=True):
                if len(part_inv[i]) > 1:
                    _quotas(t, [v * k for v in part_inv[i]])
        results.append(table)
    return results


def _timed(func: Any, *args: Any) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def test_allocate_one_million_lines(benchmark: Any) -> None:
    """1,000,000 lines, about 200,000 orders, every component; vs the Decimal loop.

    The machine is shared, so wall time includes waiting for a core: CPU seconds
    (``time.process_time``) are recorded too, best and median of the rounds, for both
    sides; the ratio is given both ways, always against the Decimal loop's best round.
    """
    batch = make_batch(N_ORDERS)
    allocate_batch(batch)  # warm up
    result = benchmark.pedantic(allocate_batch, args=(batch,), rounds=5, iterations=1)
    assert result.orders.shape[0] == N_ORDERS
    n_lines = batch.goods.size
    sub_lines = int(np.searchsorted(batch.line_order, SUBSET_ORDERS))
    subset = decimal_orders(batch, SUBSET_ORDERS)
    runs, dec = [], []
    for _ in range(ROUNDS):  # alternated: both sides see the same load
        runs.append(_timed(allocate_batch, batch))
        dec.append(_timed(decimal_loop, subset))
    walls = sorted(w for w, _ in runs)
    cpus = sorted(c for _, c in runs)

    # the baseline computes the same thing: its line x method tables are the allocator's
    tables = decimal_loop(subset)
    dec_pay = np.array([[int(c / CENT) for c in row] for t in tables for row in t])
    first_pay = 3  # goods, discount, shipping_fee, then the methods
    assert np.array_equal(dec_pay, result.lines[:sub_lines, first_pay : first_pay + len(METHODS)])
    scale = n_lines / sub_lines  # the loop is linear in the lines
    dec_wall = min(w for w, _ in dec) * scale
    dec_cpu = min(c for _, c in dec) * scale
    info = {
        "lines": n_lines, "orders": N_ORDERS, "parts": int(batch.part_child.size),
        "vectorized_wall_best_s": round(walls[0], 3),
        "vectorized_wall_median_s": round(walls[len(walls) // 2], 3),
        "vectorized_cpu_best_s": round(cpus[0], 3),
        "vectorized_cpu_median_s": round(cpus[len(cpus) // 2], 3),
        "decimal_loop_subset_lines": sub_lines,
        "decimal_loop_wall_s_scaled": round(dec_wall, 1),
        "decimal_loop_cpu_s_scaled": round(dec_cpu, 1),
        "decimal_loop_cpu_median_s_scaled": round(sorted(c for _, c in dec)[ROUNDS // 2] * scale, 1),
        "ratio_wall_best": round(dec_wall / walls[0], 1),
        "ratio_cpu_best": round(dec_cpu / cpus[0], 1),
        "ratio_cpu_median": round(dec_cpu / cpus[len(cpus) // 2], 1),
    }
    benchmark.extra_info.update(info)
    logger.warning("money benchmark: %s", info)
