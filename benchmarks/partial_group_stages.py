"""CPU per stage of a partial group's exact search, on saved groups (issue 13; h12-prove).

``save``: split each order of a split-engine cell (``ORDERSPLIT_SEARCH_THREADS=1``, the
given budget) and pickle the kernel arrays of every partial-stock group the group
search meets (``group_search._search_kernel``'s data). ``run``: the largest saved group
of one order, searched stage by stage as ``group_search`` does on one thread (the count:
the binary relaxation, then the partial kernel; the makespan probes; the last stage
under the proven makespan), each kernel call timed on the process CPU clock
(``time.process_time``); one JSON line with each stage's CPU seconds, nodes and calls,
the key and set found. Only ``cover_kernel`` and ``partial_kernel`` are imported for
``run``, from the checkout on ``PYTHONPATH``, so two checkouts can be compared on the
same saved groups, order by order:

    python benchmarks/partial_group_stages.py save partial plain 20 /tmp/g.pkl --limit-ms 200
    for i in 1 2 3; do for t in /tmp/base .; do
        PYTHONPATH=$t python benchmarks/partial_group_stages.py run /tmp/g.pkl $i; done; done
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from typing import Any

import numpy as np


def save(family: str, rules: str, n: int, path: str, limit_ms: int, seed: int = 2026) -> None:
    """Split the cell's orders and pickle each order's partial groups' kernel arrays."""
    os.environ["ORDERSPLIT_SEARCH_THREADS"] = "1"
    from ordersplit.api import split
    from ordersplit.bench.engine import Cell, cell_requests
    from ordersplit.solver import group_search as gs

    reqs = cell_requests(Cell(family, rules, "100x300"), n, seed)
    seen: list[dict[str, Any]] = []
    orig = gs._search_kernel

    def wrap(data: Any, terms: Any, stop: Any, inc: Any, count_limit: Any = None) -> Any:
        b = gs._bits(data)
        if not b.binary:
            seen.append({"bits": dict(b.__dict__), "terms": terms, "inc": inc, "count_limit": count_limit})
        return orig(data, terms, stop, inc, count_limit)

    gs._search_kernel = wrap
    out = []
    for i, r in enumerate(reqs):
        seen.clear()
        body = {**r, "options": {**r.get("options", {}), "time_limit_ms": limit_ms}}
        plan = split(json.dumps(body))
        out.append(list(seen))
        print(
            i,
            plan.status,
            plan.objective.children,
            [(s["bits"]["sup"].shape, s["terms"]) for s in seen],
            flush=True,
        )
    with open(path, "wb") as f:
        pickle.dump(out, f)


from ordersplit.solver import cover_kernel as kernel  # noqa: E402
from ordersplit.solver import partial_kernel as pkernel  # noqa: E402


def codes_of(terms):
    t = list(terms)
    if "fragments" in t:
        levels = "unit_hours" in t[: t.index("fragments")]
        frag = pkernel.FRAGMENTS_LEVELS if levels else pkernel.FRAGMENTS_FEWEST
    return np.array([frag if x == "fragments" else kernel.TERM_CODES[x] for x in t], dtype=np.int64)


def words(ids, n_w):
    m = kernel.mask_words(0, n_w) if n_w > 64 else np.zeros(1, dtype=np.uint64)
    for w in ids:
        m[w >> 6] |= np.uint64(1) << np.uint64(w & 63)
    return m


def members(ws):
    out = []
    for i, word in enumerate(ws.tolist()):
        x = int(word)
        while x:
            low = x & -x
            out.append(64 * i + low.bit_length() - 1)
            x ^= low
    return out


class G:
    def __init__(self, d, end):
        self.__dict__.update(d["bits"])
        self.end = end
        self.n_w = self.hours.size
        self.terms = d["terms"]


def run_bits(b, terms, avail_ids, start, min_count=0, stats=None, label=None):
    codes = codes_of(terms)
    key = np.zeros(1 + len(terms), dtype=np.int64)
    used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    state = np.zeros(4, dtype=np.int64)
    if start is not None:
        key[:] = start[0]
        state[0] = 1
        if start[1] is not None:
            state[0] = 2
            used[:] = words(start[1], b.n_w)
    dom = b.dom_terms if terms else b.dom_count
    t0 = time.process_time()
    pkernel.search(
        b.sup,
        b.cand,
        b.by_size,
        b.n_by,
        b.welem,
        b.wdeg,
        dom,
        b.hours,
        b.cost,
        b.worth,
        b.demand,
        b.k_order,
        codes,
        words(avail_ids, b.n_w),
        words([], b.n_w),
        key,
        used,
        state,
        b.end,
        min_count,
    )
    dt = time.process_time() - t0
    if stats is not None:
        s = stats.setdefault(label, [0.0, 0, 0])
        s[0] += dt
        s[1] += int(state[1])
        s[2] += 1
    if state[0] == 0:
        return None, None, bool(state[2])
    k = tuple(key.tolist())
    return k, (members(used) if state[0] == 2 else None), bool(state[2])


def run_count(b, avail_ids, start, stats, label):
    least = 0
    t0 = time.process_time()
    key = np.array([start[0][0]], dtype=np.int64)
    used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    state = np.array([1, 0, 0, 0], dtype=np.int64)
    kernel.search(
        b.cand,
        b.cov,
        b.hours,
        b.cost,
        b.worth[:0],
        b.demand,
        b.k_order,
        np.zeros(0, dtype=np.int64),
        words(avail_ids, b.n_w),
        words([], b.n_w),
        key,
        used,
        state,
        b.end,
    )
    s = stats.setdefault(label + "_relax", [0.0, 0, 0])
    s[0] += time.process_time() - t0
    s[1] += int(state[1])
    s[2] += 1
    if not state[2]:
        if state[0] != 2:
            return start[0], start[1], False
        ch = members(used)
        if (b.sup[ch].sum(axis=0) >= b.demand).all():
            return (int(key[0]),), ch, False
        least = len(ch)
    return run_bits(b, (), avail_ids, start, least, stats, label)


def key_of(b, terms, chosen):
    used = np.zeros(b.cand.shape[1], dtype=np.uint64)
    key = np.zeros(1 + len(terms), dtype=np.int64)
    pkernel.leaf_key(
        b.sup, b.cand, b.hours, b.cost, b.worth, b.demand, codes_of(terms), words(chosen, b.n_w), used, key
    )
    return tuple(key.tolist()), members(used)


def solve(d, budget):
    b = G(d, time.perf_counter() + budget)
    stats = {}
    everything = list(range(b.n_w))
    start = d["inc"]
    if start is None and d["count_limit"] is not None:
        start = ((d["count_limit"] + 1,) + (0,) * len(b.terms), None)
    g = np.zeros(max(1, b.n_w), dtype=np.int64)
    size = pkernel.greedy_cover(b.sup, b.welem, b.wdeg, b.demand, g)
    greedy = None if size < 0 else g[:size].tolist()
    if greedy is not None and (
        start is None or len(greedy) < start[0][0] or (len(greedy) == start[0][0] and start[1] is not None)
    ):
        seed = ((len(greedy),), greedy)
    else:
        seed = None if start is None else ((start[0][0],), start[1])
    aborted = False
    if seed is None:
        k, found, ab = run_bits(b, (), everything, None, 0, stats, "count")
    else:
        k, found, ab = run_count(b, everything, seed, stats, "count")
    aborted |= ab
    if found is None:
        return {"stats": stats, "aborted": aborted, "key": None}
    c_star = len(found)
    terms = b.terms
    under = everything
    rest = terms
    if terms and terms[0] == "makespan":
        hours = b.hours.tolist()
        levels = sorted(set(hours))
        lo = levels.index(int(b.floor))
        hi = levels.index(max(hours[w] for w in found))

        def fits(level):
            nonlocal found, aborted
            cap = levels[level]
            _kk, ff, ab = run_count(
                b, [w for w in everything if hours[w] <= cap], ((c_star + 1,), None), stats, "probe"
            )
            aborted |= ab
            if ff is not None and len(ff) <= c_star:
                found = ff
                return True
            return False

        if lo < hi and time.perf_counter() < b.end:
            if fits(hi - 1):
                hi -= 1
            else:
                lo = hi
        if lo < hi and time.perf_counter() < b.end:
            if fits(lo):
                hi = lo
            else:
                lo += 1
        while lo < hi and time.perf_counter() < b.end:
            mid = (lo + hi) // 2
            if fits(mid):
                hi = mid
            else:
                lo = mid + 1
        if lo < hi:
            aborted = True
        under = [w for w in everything if hours[w] <= levels[hi]]
        rest = terms[1:]
    seed_key, seed_set = key_of(b, rest, found)
    if rest:
        k, ch, ab = run_bits(b, rest, under, (seed_key, seed_set), c_star, stats, "last")
    else:
        k, ch, ab = run_bits(b, rest, under, (seed_key, seed_set), 0, stats, "last")
    aborted |= ab
    return {
        "stats": stats,
        "aborted": aborted,
        "c": c_star,
        "key": list(k) if k else None,
        "set": sorted(ch) if ch else None,
    }


def run(path: str, order: int, budget: float) -> None:
    """Print one JSON line: the stages of the largest saved group of ``order``."""
    with open(path, "rb") as f:
        groups = pickle.load(f)[order]
    d = sorted(groups, key=lambda s: -s["bits"]["sup"].size)[0]
    t0 = time.process_time()
    out = solve(d, budget)
    out.update(
        order=order,
        shape=list(d["bits"]["sup"].shape),
        terms=list(d["terms"]),
        total=time.process_time() - t0,
        load=os.getloadavg()[0],
    )
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save")
    s.add_argument("family")
    s.add_argument("rules")
    s.add_argument("orders", type=int)
    s.add_argument("path")
    s.add_argument("--limit-ms", type=int, default=200)
    s.add_argument("--seed", type=int, default=2026)
    r = sub.add_parser("run")
    r.add_argument("path")
    r.add_argument("order", type=int)
    r.add_argument("--budget-s", type=float, default=90.0)
    args = p.parse_args(argv)
    if args.cmd == "save":
        save(args.family, args.rules, args.orders, args.path, args.limit_ms, args.seed)
    else:
        run(args.path, args.order, args.budget_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
