"""Property tests of the batch allocator against an exact ``fractions.Fraction`` reference.

Each hypothesis example is a batch of up to 30 generated orders (0-, 2- and 3-decimal
magnitudes, one-cent totals over many lines, huge and tiny weights side by side, free
gift lines, lines split across children of every kind); over the run that is thousands
of orders. Every invariant is checked exactly and every share against its exact value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordersplit.money.batch import SHIPMENT, STORE, Allocation, MoneyBatch, allocate_batch
from ordersplit.money.small import allocate_one

METHODS = ("coupon", "points", "gift_card", "cash", "voucher-x")
RATES = ((0, 1), (9, 100), (13, 100), (6, 100), (1, 3), (925, 10000))


@dataclass
class Order:
    goods: list[int]
    disc: list[int]
    rate: list[int]
    acts: list[tuple[int, list[int]]]
    kinds: list[int]
    parts: list[tuple[int, int, int]]  # (child, line, weight)
    fee: int
    pay: list[int]
    invoice: list[bool]
    first_child: bool


def _money(draw: st.DrawFn, scale: int) -> int:
    kind = draw(st.sampled_from(["zero", "one", "small", "big", "huge"]))
    return {
        "zero": 0,
        "one": 1,
        "small": draw(st.integers(1, 99)),
        "big": draw(st.integers(100, 10**6)) * scale,
        "huge": draw(st.integers(10**9, 10**12)),
    }[kind]


def _split(draw: st.DrawFn, total: int, n: int) -> list[int]:
    """``total`` as ``n`` non-negative integers (some often zero)."""
    if n == 1:
        return [total]
    cuts = sorted(draw(st.integers(0, total)) for _ in range(n - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


@st.composite
def orders(draw: st.DrawFn) -> Order:
    scale = 10 ** draw(st.sampled_from([0, 2, 3]))
    n_lines = draw(st.integers(1, 8))
    qty = [draw(st.integers(1, 5)) for _ in range(n_lines)]
    goods = [_money(draw, scale) * q for q in qty]
    disc = [draw(st.sampled_from([0, g, g // 3, min(g, 1)])) for g in goods]
    rate = [draw(st.integers(0, len(RATES) - 1)) for _ in range(n_lines)]
    n_children = draw(st.integers(1, 4))
    kinds = [draw(st.sampled_from([0, 0, 1, 2])) for _ in range(n_children)]
    parts = []
    for line in range(n_lines):
        k = draw(st.integers(1, min(3, n_children)))
        children = draw(st.permutations(range(n_children)))[:k]
        for child in children:
            w = draw(st.sampled_from([1, 1, 2, 3, 10**6, draw(st.integers(1, 10**9))]))
            parts.append((child, line, w))
    parts.sort()
    acts = []
    if draw(st.booleans()):  # activities over disjoint line sets
        pool = draw(st.permutations(range(n_lines)))
        n_acts = draw(st.integers(0, 2))
        for a in range(n_acts):
            covered = sorted(pool[a::n_acts])
            if not covered:
                continue
            base = sum(goods[i] - disc[i] for i in covered)
            amount = draw(st.sampled_from([0, 1, base, base // 2, base // 7]))
            acts.append((min(amount, base), covered))
    else:  # overlapping: rates (sixths) adding up to at most one on every line
        sixths = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
        while sum(sixths) > 6:
            sixths[sixths.index(max(sixths))] -= 1
        for k in sixths:
            covered = sorted(set(draw(st.lists(st.integers(0, n_lines - 1), min_size=1))))
            base = sum(goods[i] - disc[i] for i in covered)
            amount = base * k // 6
            acts.append((draw(st.sampled_from([amount, min(amount, 1)])), covered))
    fee = _money(draw, scale)
    payable = sum(goods) - sum(disc) - sum(a for a, _ in acts) + fee
    pay = _split(draw, payable, len(METHODS))
    invoice = [draw(st.booleans()) for _ in METHODS]
    return Order(goods, disc, rate, acts, kinds, parts, fee, pay, invoice, draw(st.booleans()))


def build(batch: list[Order]) -> MoneyBatch:
    line_order: list[int] = []
    goods: list[int] = []
    disc: list[int] = []
    rate: list[int] = []
    act_order: list[int] = []
    act_amount: list[int] = []
    cov_a: list[int] = []
    cov_l: list[int] = []
    child_order: list[int] = []
    kinds: list[int] = []
    p_child: list[int] = []
    p_line: list[int] = []
    p_w: list[int] = []
    for o, od in enumerate(batch):
        l0, c0 = len(goods), len(kinds)
        line_order += [o] * len(od.goods)
        goods += od.goods
        disc += od.disc
        rate += od.rate
        for amount, covered in od.acts:
            cov_a += [len(act_amount)] * len(covered)
            cov_l += [l0 + i for i in covered]
            act_order.append(o)
            act_amount.append(amount)
        child_order += [o] * len(od.kinds)
        kinds += od.kinds
        for c, ln, w in od.parts:
            p_child.append(c0 + c)
            p_line.append(l0 + ln)
            p_w.append(w)

    def arr(x: list[int] | list[list[int]]) -> np.ndarray:
        return np.array(x, dtype=np.int64)

    return MoneyBatch(
        methods=METHODS,
        payments=arr([od.pay for od in batch]).reshape(len(batch), len(METHODS)),
        invoice_methods=np.array([od.invoice for od in batch], dtype=bool),
        shipping_fee=arr([od.fee for od in batch]),
        first_child=np.array([od.first_child for od in batch], dtype=bool),
        line_order=arr(line_order), goods=arr(goods), line_discount=arr(disc), line_rate=arr(rate),
        rate_num=arr([r[0] for r in RATES]), rate_den=arr([r[1] for r in RATES]),
        activity_order=arr(act_order), activity_amount=arr(act_amount),
        cover_activity=arr(cov_a), cover_line=arr(cov_l),
        child_order=arr(child_order), child_kind=arr(kinds),
        part_child=arr(p_child), part_line=arr(p_line), part_weight=arr(p_w),
    )


def close(value: int, exact: Fraction) -> bool:
    """Strictly within one minor unit: the floor or the ceiling of ``exact``."""
    return abs(value - exact) < 1


def sums(values: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *values.shape[1:]), dtype=object)
    for i, s in enumerate(seg):
        out[s] = out[s] + values[i].astype(object)
    return out


def check_invariants(b: MoneyBatch, a: Allocation) -> None:
    keys = a.keys
    k = {name: i for i, name in enumerate(keys)}
    n_o, n_l, n_c = b.n_orders, b.goods.size, b.child_order.size
    # horizontal and vertical, for every key
    assert np.array_equal(a.children, sums(a.parts, b.part_child, n_c))
    assert np.array_equal(a.lines, sums(a.parts, b.part_line, n_l))
    assert np.array_equal(a.orders, sums(a.children, b.child_order, n_o))
    assert np.array_equal(a.orders, sums(a.lines, b.line_order, n_o))
    # parent totals are the order's own figures
    m0 = k[METHODS[0]]
    assert np.array_equal(a.orders[:, m0 : m0 + len(METHODS)], b.payments)
    assert np.array_equal(a.orders[:, k["goods"]], sums(b.goods, b.line_order, n_o))
    assert np.array_equal(a.orders[:, k["shipping_fee"]], b.shipping_fee)
    act_total = sums(b.activity_amount, b.activity_order, n_o)
    own = sums(b.line_discount, b.line_order, n_o)
    assert np.array_equal(a.orders[:, k["discount"]], own + act_total)
    # every part: methods add up to goods - discount + fee; invoice = invoiced methods
    pay = a.parts[:, m0 : m0 + len(METHODS)]
    payable = a.parts[:, k["goods"]] - a.parts[:, k["discount"]] + a.parts[:, k["shipping_fee"]]
    assert np.array_equal(pay.sum(axis=1), payable)
    assert (a.parts >= 0).all()
    inv = (pay * b.invoice_methods[b.line_order[b.part_line]]).sum(axis=1)
    assert np.array_equal(a.parts[:, k["invoice"]], inv)
    # discount components add up both ways
    assert np.array_equal(a.part_components.sum(axis=1), a.parts[:, k["discount"]])
    assert np.array_equal(sums(a.part_components, b.part_line, n_l), a.line_components)
    assert np.array_equal(a.line_components.sum(axis=1), a.lines[:, k["discount"]])


def check_shares(b: MoneyBatch, a: Allocation) -> None:
    k = {name: i for i, name in enumerate(a.keys)}
    m0 = k[METHODS[0]]
    n_l, n_c = b.goods.size, b.child_order.size
    F = Fraction
    # activities over lines by net goods
    net = b.goods - b.line_discount
    for act in range(b.activity_order.size):
        lines = b.cover_line[b.cover_activity == act]
        base = sum(int(net[x]) for x in lines)
        slot = 1 + int(a.activity_slot[act])
        for x in lines:
            got = int(a.line_components[x, slot])
            exact = F(int(b.activity_amount[act]) * int(net[x]), base) if base else F(0)
            assert close(got, exact)
            if net[x] == 0:
                assert got == 0
    # every line's activity discounts: within one unit of their exact sum, within goods
    for x in range(n_l):
        exact_x = F(0)
        for act in np.unique(b.cover_activity[b.cover_line == x]):
            lines = b.cover_line[b.cover_activity == act]
            base = sum(int(net[y]) for y in lines)
            exact_x += F(int(b.activity_amount[act]) * int(net[x]), base) if base else F(0)
        assert close(int(a.line_components[x, 1:].sum()), exact_x)
        assert int(a.lines[x, k["discount"]]) <= int(b.goods[x])
    parts_of = [np.flatnonzero(b.part_line == x) for x in range(n_l)]
    lp = a.lines
    pp = a.parts
    for x in range(n_l):
        ps = parts_of[x]
        wsum = int(b.part_weight[ps].sum())
        g = int(lp[x, k["goods"]])
        d = int(lp[x, k["discount"]])
        for p in ps:
            assert close(int(pp[p, k["goods"]]), F(g * int(b.part_weight[p]), wsum))
            exact_d = F(d * int(pp[p, k["goods"]]), g) if g else F(0)
            assert close(int(pp[p, k["discount"]]), exact_d)
            for j in range(a.line_components.shape[1]):
                c = int(a.line_components[x, j])
                ex = F(int(pp[p, k["discount"]]) * c, d) if d else F(0)
                assert close(int(a.part_components[p, j]), ex)
        # payments: parts x methods inside the line
        pay_l = int(lp[x, k["goods"]] - lp[x, k["discount"]] + lp[x, k["shipping_fee"]])
        for p in ps:
            pay_p = int(pp[p, k["goods"]] - pp[p, k["discount"]] + pp[p, k["shipping_fee"]])
            for m in range(len(METHODS)):
                cell = int(lp[x, m0 + m])
                ex = F(cell * pay_p, pay_l) if pay_l else F(0)
                assert close(int(pp[p, m0 + m]), ex)
        # tax of a line and of its parts, each against invoice * r / (1 + r)
        num, den = RATES[int(b.line_rate[x])]
        r = F(num, den)
        assert close(int(lp[x, k["tax"]]), lp[x, k["invoice"]] * r / (1 + r))
        for p in ps:
            assert close(int(pp[p, k["tax"]]), pp[p, k["invoice"]] * r / (1 + r))
    # payments: lines x methods inside the order
    for o in range(b.n_orders):
        lines = np.flatnonzero(b.line_order == o)
        pay = [int(lp[x, k["goods"]] - lp[x, k["discount"]] + lp[x, k["shipping_fee"]])
               for x in lines]
        total = sum(pay)
        for x, px in zip(lines, pay, strict=True):
            for m in range(len(METHODS)):
                ex = F(int(b.payments[o, m]) * px, total) if total else F(0)
                assert close(int(lp[x, m0 + m]), ex)
        # the parent's tax: per rate, rounded half up once
        want = 0
        for ri, (num, den) in enumerate(RATES):
            inv = sum(int(lp[x, k["invoice"]]) for x in lines if b.line_rate[x] == ri)
            exact = inv * F(num, num + den)
            want += int(exact + F(1, 2)) if exact else 0
        assert int(a.orders[o, k["tax"]]) == want
        # shipping fee over children: policy and exact shares
        children = [int(c) for c in np.flatnonzero(b.child_order == o)]
        units = {c: int(b.part_weight[b.part_child == c].sum()) for c in children}
        cnet = {c: int(a.children[c, k["goods"]] - a.children[c, k["discount"]]) for c in children}
        fee = {c: int(a.children[c, k["shipping_fee"]]) for c in children}
        elig = [c for c in children if b.child_kind[c] != STORE and units[c] > 0]
        ship = [c for c in elig if b.child_kind[c] == SHIPMENT]
        if b.first_child[o] and ship:
            weights = {c: int(c == ship[0]) for c in children}
        elif elig:
            use_net = sum(cnet[c] for c in elig) > 0
            weights = {c: (cnet[c] if use_net else units[c]) if c in elig else 0
                       for c in children}
        else:
            use_net = sum(cnet.values()) > 0
            weights = {c: cnet[c] if use_net else units[c] for c in children}
        wsum = sum(weights.values())
        for c in children:
            exact = F(int(b.shipping_fee[o]) * weights[c], wsum) if wsum else F(0)
            assert close(fee[c], exact)
            if weights[c] == 0:
                assert fee[c] == 0
    # a child's fee over its parts by net
    for c in range(n_c):
        ps = np.flatnonzero(b.part_child == c)
        nets = [int(pp[p, k["goods"]] - pp[p, k["discount"]]) for p in ps]
        ws = nets if sum(nets) > 0 else [int(b.part_weight[p]) for p in ps]
        for p, w in zip(ps, ws, strict=True):
            exact = F(int(a.children[c, k["shipping_fee"]]) * w, sum(ws)) if sum(ws) else F(0)
            assert close(int(pp[p, k["shipping_fee"]]), exact)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(orders(), min_size=1, max_size=30))
def test_batch_invariants_and_exact_shares(batch: list[Order]) -> None:
    b = build(batch)
    a = allocate_batch(b)
    check_invariants(b, a)
    check_shares(b, a)
    again = allocate_batch(b)
    assert np.array_equal(again.parts, a.parts)  # deterministic


def _shuffled_parts(b: MoneyBatch, seed: int) -> MoneyBatch:
    """``b`` with its parts in a random order (the allocator must not care)."""
    perm = np.random.default_rng(seed).permutation(b.part_child.size)
    return replace(b, part_child=b.part_child[perm], part_line=b.part_line[perm],
                   part_weight=b.part_weight[perm])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(orders(), min_size=1, max_size=30), st.integers(1, 7), st.booleans())
def test_chunks_and_workers_do_not_change_results(
    batch: list[Order], chunk: int, shuffle: bool
) -> None:
    """Chunked, threaded and single-chunk allocation agree row for row."""
    b = build(batch)
    if shuffle:
        b = _shuffled_parts(b, chunk)
    whole = allocate_batch(b, chunk_orders=len(batch))
    for workers in (1, 2):
        parts = allocate_batch(b, chunk_orders=chunk, workers=workers)
        for name in ("orders", "lines", "children", "parts", "line_components",
                     "part_components", "activity_slot"):
            assert np.array_equal(getattr(parts, name), getattr(whole, name)), name
    check_invariants(b, whole)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(orders(), min_size=1, max_size=20),
       st.lists(st.sampled_from(["all", "none", "own"]), min_size=len(METHODS),
                max_size=len(METHODS)),
       st.data())
def test_one_activity_over_every_line_and_methods_invoiced_everywhere_or_nowhere(
    batch: list[Order], invoiced: list[str], data: st.DataObject
) -> None:
    """The shapes with fast paths: each order's one activity covers all its lines (no
    gather), and a method is invoiced by every order or by none (no per-row flags).
    Same invariants and exact shares; order by order, the plain-Python path agrees."""
    shaped = []
    for od in batch:
        base = sum(g - d for g, d in zip(od.goods, od.disc, strict=True))
        amount = min(data.draw(st.sampled_from([0, 1, base, base // 2, base // 7])), base)
        payable = sum(od.goods) - sum(od.disc) - amount + od.fee
        invoice = [{"all": True, "none": False, "own": own}[how]
                   for how, own in zip(invoiced, od.invoice, strict=True)]
        shaped.append(replace(od, acts=[(amount, list(range(len(od.goods))))],
                              pay=_split(data.draw, payable, len(METHODS)), invoice=invoice))
    b = build(shaped)
    a = allocate_batch(b)
    check_invariants(b, a)
    check_shares(b, a)
    for od in shaped[:3]:
        one = build([od])
        want, got = allocate_batch(one), allocate_one(one)
        for name in ("orders", "lines", "children", "parts", "line_components",
                     "part_components"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name


def _two_orders(cover_line: list[int], cover_activity: list[int], amounts: list[int]) -> MoneyBatch:
    """Two orders of two lines each (goods 100, 50 | 80, 20), one child per order."""
    def arr(x: list[int]) -> np.ndarray:
        return np.array(x, dtype=np.int64)

    pay = [max(150 - amounts[0], 0), max(100 - amounts[1], 0)]  # checked before payable
    return MoneyBatch(
        methods=("cash",), payments=arr(pay).reshape(2, 1),
        invoice_methods=np.ones((2, 1), dtype=bool), shipping_fee=arr([0, 0]),
        first_child=np.zeros(2, dtype=bool), line_order=arr([0, 0, 1, 1]),
        goods=arr([100, 50, 80, 20]), line_discount=arr([0, 0, 0, 0]),
        line_rate=arr([0, 0, 0, 0]), rate_num=arr([0]), rate_den=arr([1]),
        activity_order=arr([0, 1]), activity_amount=arr(amounts),
        cover_activity=arr(cover_activity), cover_line=arr(cover_line),
        child_order=arr([0, 1]), child_kind=arr([SHIPMENT, SHIPMENT]),
        part_child=arr([0, 0, 1, 1]), part_line=arr([0, 1, 2, 3]), part_weight=arr([1, 1, 1, 1]),
    )


def test_check_rejects_activities_outside_their_order_or_above_their_lines() -> None:
    """Both ways of listing covers (every line once in order, or any other) are checked."""
    every_line = ([0, 1, 2, 3], [0, 0, 1, 1])
    some_lines = ([1, 2, 3], [0, 1, 1])
    for cover_line, cover_activity in (every_line, some_lines):
        allocate_batch(_two_orders(cover_line, cover_activity, [10, 10]))
        with pytest.raises(ValueError, match="more than its lines' net goods"):
            allocate_batch(_two_orders(cover_line, cover_activity, [151, 10]))
        wrong = [1 - a if i == 1 else a for i, a in enumerate(cover_activity)]
        with pytest.raises(ValueError, match="covers a line of another order"):
            allocate_batch(_two_orders(cover_line, wrong, [10, 10]))
