"""Run split strategies side by side on a generated scenario: ``run_benchmark``.

Every order is parsed and compiled once (timed separately); each strategy then solves
the same compiled :class:`~ordersplit.solver.problem.SplitProblem` under the same time
budget, so only the strategy differs. Strategies are backend names: ours (``auto``,
``cpsat``, ``milp``, ``combination``, the heuristics) and the peers of
:mod:`ordersplit.bench.peers`. See :mod:`ordersplit.bench.metrics` for the columns.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

import ordersplit.bench.peers  # noqa: F401  (registers the peer backends)
from ordersplit.bench.metrics import fixed_part, format_table, summarize
from ordersplit.bench.peers import PEERS
from ordersplit.bench.scenario import ScenarioConfig, iter_orders
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.result import SolveResult, Status
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

OURS: tuple[str, ...] = (
    "auto", "cpsat", "milp", "combination", "greedy", "scarce", "ladder", "pigeonhole",
)  # fmt: skip
"""Our strategies, in table order (``milp_cbc`` is available on request, not by default)."""
PEER_NAMES: tuple[str, ...] = tuple(PEERS)
ALL_STRATEGIES: tuple[str, ...] = OURS + PEER_NAMES
KNOWN: frozenset[str] = frozenset((*ALL_STRATEGIES, "milp_cbc"))


def strategy_kind(name: str) -> str:
    """``ours`` or ``peer``."""
    return "peer" if name.startswith("peer_") else "ours"


@dataclass
class BenchReport:
    """Per-order rows, the per-strategy summary and the settings of one run."""

    rows: pd.DataFrame
    summary: pd.DataFrame
    compile_ms: pd.Series
    settings: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        """The summary table plus the compile-time line, as printed by the CLI."""
        c = self.compile_ms.to_numpy(dtype=float)
        foot = (f"compile (parse + rules + arrays), per order: median {np.median(c):.3f} ms, "
                f"p99 {np.percentile(c, 99):.3f} ms" if c.size else "no orders")
        return f"{format_table(self.summary)}\n{foot}"

    def extra_ratio(self, ours: str = "auto", column: str = "extra_pct") -> float:
        """``column`` of ``ours`` divided by the best peer's (extra children: lower is better)."""
        s = self.summary.set_index("strategy")[column]
        peers = s[[n for n in s.index if strategy_kind(n) == "peer"]]
        if ours not in s.index or peers.empty or not peers.min() > 0:
            return float("nan")
        return float(s[ours] / peers.min())

    def write(self, out_dir: str | Path, plots: bool = True) -> list[Path]:
        """Write ``rows.csv``, ``summary.csv``, ``settings.json`` and the PNG plots."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "rows.csv", out / "summary.csv", out / "settings.json"]
        self.rows.to_csv(paths[0], index=False)
        self.summary.to_csv(paths[1], index=False, float_format="%.6g")
        paths[2].write_text(json.dumps(self.settings, indent=2, default=str) + "\n")
        if plots:
            plots_mod = importlib.import_module("ordersplit.bench.plots")  # matplotlib: slow
            paths += plots_mod.write_plots(self, out)
        return paths


def _solve(problem: Any, name: str, seconds: float) -> tuple[SolveResult | None, float]:
    t0 = time.perf_counter()
    try:
        res = solve_problem(problem, name, Deadline(seconds))
    except Exception as exc:  # one strategy must not take the run down
        log.warning("strategy %s raised: %s", name, exc)
        res = None
    return res, (time.perf_counter() - t0) * 1000


def run_requests(
    requests: Iterable[dict[str, Any]],
    strategies: Sequence[str] | None = None,
    time_limit_ms: int = 200,
    *,
    total: int | None = None,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
) -> BenchReport:
    """Benchmark ``strategies`` (default: all) on ready-made split requests."""
    names = list(strategies) if strategies else list(ALL_STRATEGIES)
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; known: {sorted(KNOWN)}")
    if time_limit_ms <= 0:
        raise ValueError("time_limit_ms must be positive")
    seconds = time_limit_ms / 1000
    rows: list[dict[str, Any]] = []
    compile_ms: list[float] = []
    bar = tqdm(requests, total=total, desc="orders", unit="order", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    for number, raw in enumerate(bar):
        t0 = time.perf_counter()
        compiled = compile_request(parse_request(raw))
        compile_ms.append((time.perf_counter() - t0) * 1000)
        problem, layout = compiled.problem, compiled.layout
        fixed = fixed_part(compiled)
        children_first = bool(problem.objective) and problem.objective[0] == "children"
        for name in names:
            res, ms = _solve(problem, name, seconds)
            ok = res is not None and res.objective is not None and res.status.has_solution
            obj = res.objective if ok and res is not None else None
            shipped = obj is not None and (obj.makespan > 0 or problem.n_items > 0)
            rows.append({
                "order": number,
                "order_id": layout.order_id,
                "strategy": name,
                "status": res.status.value if res is not None else Status.ERROR.value,
                "failed": obj is None,
                "optimal": res is not None and res.status == Status.OPTIMAL,
                "children": obj.children + fixed.children if obj else np.nan,
                "lower_bound": (res.children_lower_bound + fixed.children
                                if res is not None and ok else np.nan),
                "delivery_h": obj.makespan / 60 if obj is not None and shipped else np.nan,
                "cost": (obj.cost + fixed.cost) / layout.cost_scale if obj else np.nan,
                "ms": ms,
                "items": problem.n_items,
                "groups": problem.n_groups,
                "warehouses": problem.n_warehouses,
                "children_first": children_first,
            })  # fmt: skip
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["order", "strategy", "failed", "optimal", "children",
                                      "lower_bound", "children_first", "ms"])
    summary = summarize(frame, names, {n: strategy_kind(n) for n in names})
    info = {"strategies": names, "time_limit_ms": time_limit_ms, **(settings or {})}
    return BenchReport(frame, summary, pd.Series(compile_ms, name="compile_ms"), info)


def run_benchmark(
    config: ScenarioConfig | str = "default",
    strategies: Sequence[str] | None = None,
    time_limit_ms: int = 200,
    seed: int | None = None,
    progress: bool = True,
) -> BenchReport:
    """Generate the scenario ``config`` (a preset name or a config) and benchmark it.

    ``seed`` overrides the config's seed; every strategy gets ``time_limit_ms`` per order.
    """
    cfg = ScenarioConfig.preset(config) if isinstance(config, str) else config
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    settings = {
        "scenario": {k: (sorted(v) if isinstance(v, frozenset) else v)
                     for k, v in cfg.__dict__.items()},
        "seed": cfg.seed,
        "machine_cores": _cores(),
    }
    log.info("benchmark: %d orders, %s, %d ms", cfg.n_orders, strategies or "all", time_limit_ms)
    return run_requests(iter_orders(cfg), strategies, time_limit_ms, total=cfg.n_orders,
                        progress=progress, settings=settings)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
