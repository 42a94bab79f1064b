"""The look-ahead study: myopic, look-ahead (per forecast kind) and the offline batch on
one simulated day, with the gap each policy closes.

All online policies split the same stream interleaved order by order
(:func:`~ordersplit.lookahead.simulate.simulate_many`); the batch re-optimizes the same
stream offline (:mod:`ordersplit.lookahead.offline`). Per policy:

- ``gap_closed_pct`` = 100 (myopic - policy) / (myopic - batch) children;
- ``bound_share_pct`` = 100 (myopic - policy) / (myopic - joint bound): Acimovic and
  Graves's measure, the share of the gap to a plan that knows the future;
- ``delivery_vs_myopic_pct`` and ``latency_ratio`` (mean split latency over myopic's,
  and the median of the per-order ratios).

When this build's solver lacks the ``stock_value`` objective term the look-ahead
policies are skipped and the summary says so (``skipped``).
"""

from __future__ import annotations

import json
import logging
import platform
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ordersplit.bench.scenario import scenario_network
from ordersplit.lookahead.forecasters import FORECAST_KINDS, make_forecaster
from ordersplit.lookahead.offline import BatchReference, batch_reference
from ordersplit.lookahead.policy import LookaheadPolicy, Position, stock_value_available
from ordersplit.lookahead.prices import PricingParams
from ordersplit.lookahead.reserve import DEFAULT_RESERVE_RATIO
from ordersplit.lookahead.simulate import (
    MyopicPolicy,
    Policy,
    SimulationConfig,
    SimulationResult,
    simulate_many,
)
from ordersplit.lookahead.stream import scenario_stream

log = logging.getLogger(__name__)

TABLE_COLUMNS = ["policy", "orders", "planned", "errors", "children", "extra_children_per_order",
                 "mean_delivery_hours", "delivery_vs_myopic_pct", "backorder_units",
                 "backorder_units_vs_myopic", "cost", "mean_latency_ms",
                 "p95_latency_ms", "latency_ratio", "median_latency_ratio", "gap_closed_pct",
                 "bound_share_pct", "price_refreshes", "price_refresh_s", "reserved_orders"]
"""Columns of :attr:`StudyResult.table` (one row per policy)."""


@dataclass(frozen=True)
class StudyConfig:
    """What one study runs."""

    simulation: SimulationConfig
    policies: tuple[str, ...] = ("myopic", "lookahead", "batch")
    forecasts: tuple[str, ...] = ("perfect",)
    refresh_orders: int | None = 250
    refresh_hours: float | None = None
    noise_sigma: float = 0.5
    stale_shift: float = 0.25
    position: Position = "after_delivery"
    """Where ``stock_value`` goes: after ``delivery`` (it only breaks ties between equally
    fast plans: the delivery goal holds with every forecast), or right after ``children``."""
    pricing: PricingParams = field(default_factory=PricingParams)
    reserve_ratio: float | None = DEFAULT_RESERVE_RATIO
    """Back-order reservation (:mod:`ordersplit.lookahead.reserve`): a SKU is contested
    when its forecast reaches this many times the units left; ``None``: no reservation."""
    batch_time_limit_s: float = 120.0
    batch_workers: int = 1
    batch_deterministic: bool = False
    """Work limits instead of the clock: the same batch reference under any load."""
    batch_max_rounds: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.policies) - {"myopic", "lookahead", "batch"}
        if unknown:
            raise ValueError(f"unknown policy {sorted(unknown)[0]!r}: myopic, lookahead, batch")
        if "myopic" not in self.policies:
            raise ValueError("the study measures against the myopic policy: list it")
        bad = set(self.forecasts) - set(FORECAST_KINDS)
        if bad:
            raise ValueError(f"unknown forecast kind {sorted(bad)[0]!r}; known: {list(FORECAST_KINDS)}")
        if self.refresh_orders is None and self.refresh_hours is None:
            raise ValueError("give refresh_orders or refresh_hours (or both)")
        if (self.refresh_orders is not None and self.refresh_orders < 1) or \
                (self.refresh_hours is not None and not self.refresh_hours > 0):
            raise ValueError("refresh_orders must be >= 1 and refresh_hours positive")
        if not self.batch_time_limit_s > 0:
            raise ValueError("batch_time_limit_s must be positive")
        if self.reserve_ratio is not None and not self.reserve_ratio > 0:
            raise ValueError("reserve_ratio must be positive (None: no reservation)")


@dataclass
class StudyResult:
    """The per-policy table, every policy's per-order rows, the batch and a summary."""

    table: pd.DataFrame
    orders: pd.DataFrame
    """:data:`~ordersplit.lookahead.simulate.ROW_COLUMNS` plus ``policy``."""
    batch: BatchReference | None
    summary: dict[str, Any]

    def write(self, out: str | Path) -> list[Path]:
        """``OUT/policies.csv``, ``OUT/orders.csv``, ``OUT/summary.json`` and, with
        matplotlib, ``OUT/over_time.png``."""
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        paths = [root / "policies.csv", root / "orders.csv", root / "summary.json"]
        self.table.to_csv(paths[0], index=False)
        self.orders.to_csv(paths[1], index=False)
        paths[2].write_text(json.dumps(self.summary, indent=2, default=str) + "\n")
        plot = plot_over_time(self, root / "over_time.png")
        return [*paths, *([plot] if plot else [])]


def build_policies(cfg: StudyConfig, net: Any, stream: Any) -> tuple[list[Policy], dict[str, str]]:
    """The online policies of the study, and those skipped with the reason."""
    policies: list[Policy] = [MyopicPolicy()]
    skipped: dict[str, str] = {}
    if "lookahead" not in cfg.policies:
        return policies, skipped
    sim = cfg.simulation
    for kind in cfg.forecasts:
        name = f"lookahead_{kind}"
        if not stock_value_available():
            skipped[name] = ("the solver of this build has no stock_value objective term "
                             "(ordersplit.solver.problem.OBJECTIVE_TERMS)")
            continue
        fc = make_forecaster(kind, stream, net, sim.scenario, sim.horizon_hours, sim.seed,
                             cfg.noise_sigma, cfg.stale_shift)
        policies.append(LookaheadPolicy(net, fc, refresh_orders=cfg.refresh_orders,
                                        refresh_hours=cfg.refresh_hours, params=cfg.pricing,
                                        position=cfg.position, name=name,
                                        reserve_ratio=cfg.reserve_ratio))
    for name, why in skipped.items():
        log.info("%s skipped: %s", name, why)
    return policies, skipped


def run_study(cfg: StudyConfig) -> StudyResult:
    """Run the study; see the module doc."""
    sim = cfg.simulation
    net = scenario_network(sim.scenario)
    stream = scenario_stream(sim.scenario, net, sim.horizon_hours, sim.seed)
    policies, skipped = build_policies(cfg, net, stream)
    with _BatchBeside(cfg, stream, net) as offline:
        results = simulate_many(sim, policies, net, stream)
        batch = offline.result()
    table = policy_table(results, batch)
    orders = pd.concat([r.orders.assign(policy=name) for name, r in results.items()],
                       ignore_index=True)
    summary = {
        "scenario": {**asdict(sim.scenario), "disabled_rules": sorted(sim.scenario.disabled_rules)},
        "simulation": {"horizon_hours": sim.horizon_hours, "seed": sim.seed,
                       "replenish_every_hours": sim.replenish_every_hours},
        "study": {"policies": list(cfg.policies), "forecasts": list(cfg.forecasts),
                  "refresh_orders": cfg.refresh_orders, "refresh_hours": cfg.refresh_hours,
                  "noise_sigma": cfg.noise_sigma, "stale_shift": cfg.stale_shift,
                  "position": cfg.position, "pricing": asdict(cfg.pricing),
                  "reserve_ratio": cfg.reserve_ratio,
                  "batch_time_limit_s": cfg.batch_time_limit_s,
                  "batch_deterministic": cfg.batch_deterministic,
                  "batch_max_rounds": cfg.batch_max_rounds},
        "policies": {name: {**r.totals, **r.policy_stats} for name, r in results.items()},
        "batch": batch.as_dict() if batch is not None else None,
        "table": json.loads(table.to_json(orient="records")),
        "skipped": skipped,
        "stock_value_term": stock_value_available(),
        "load_average": _loadavg(),
        "python": platform.python_version(),
    }
    return StudyResult(table, orders, batch, summary)


class _BatchBeside:
    """The offline batch of a study: a deterministic one (work limits: the same result
    under any load) runs in a process of its own while the policies simulate; one on the
    clock runs after them (else each would slow the other)."""

    def __init__(self, cfg: StudyConfig, stream: Any, net: Any) -> None:
        self.cfg = cfg
        self.call = partial(batch_reference, stream, net,
                            replenish_every_hours=cfg.simulation.replenish_every_hours,
                            time_limit_s=cfg.batch_time_limit_s, workers=cfg.batch_workers,
                            deterministic=cfg.batch_deterministic,
                            max_rounds=cfg.batch_max_rounds)
        self.pool: ProcessPoolExecutor | None = None
        self.future: Future[BatchReference] | None = None

    def __enter__(self) -> _BatchBeside:
        if "batch" in self.cfg.policies and self.cfg.batch_deterministic:
            self.pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
            self.future = self.pool.submit(self.call)
        return self

    def result(self) -> BatchReference | None:
        if self.future is not None:
            return self.future.result()
        if "batch" not in self.cfg.policies:
            return None
        return self.call()

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def policy_table(results: dict[str, SimulationResult], batch: BatchReference | None
                 ) -> pd.DataFrame:
    """One row per policy (the batch last), with the gaps against myopic and the batch."""
    myopic = results["myopic"]
    base_children = myopic.totals["children"]
    base_hours = myopic.totals["mean_delivery_hours"]
    base_lat = myopic.orders["latency_ms"].astype(float).to_numpy()
    rows: list[dict[str, Any]] = []
    for name, r in results.items():
        t = r.totals
        lat = r.orders["latency_ms"].astype(float).to_numpy()
        rows.append({
            "policy": name, "orders": t["orders"], "planned": t["planned"], "errors": t["errors"],
            "children": t["children"],
            "extra_children_per_order": _extra(t["children"], t["planned"]),
            "mean_delivery_hours": t["mean_delivery_hours"],
            "delivery_vs_myopic_pct": _pct(t["mean_delivery_hours"] - base_hours, base_hours),
            "backorder_units": t["backorder_units"],
            "backorder_units_vs_myopic": t["backorder_units"] - myopic.totals["backorder_units"],
            "cost": t["cost"], "mean_latency_ms": t["mean_latency_ms"],
            "p95_latency_ms": t["p95_latency_ms"],
            "latency_ratio": t["mean_latency_ms"] / myopic.totals["mean_latency_ms"]
            if myopic.totals["mean_latency_ms"] > 0 else None,
            "median_latency_ratio": float(np.median(lat / np.maximum(base_lat, 1e-9)))
            if len(lat) else None,
            "price_refreshes": r.policy_stats.get("price_refreshes", 0.0),
            "price_refresh_s": r.policy_stats.get("price_refresh_s", 0.0),
            "reserved_orders": r.policy_stats.get("reserved_orders", 0.0),
            **gaps(base_children, t["children"], batch)})
    if batch is not None:
        rows.append({"policy": "batch", "orders": batch.orders, "planned": batch.planned,
                     "errors": batch.errors, "children": batch.children,
                     "extra_children_per_order": _extra(batch.children, batch.planned),
                     "mean_delivery_hours": batch.mean_delivery_hours,
                     # the batch measures delivery its own way: against its own sequential pass
                     "delivery_vs_myopic_pct": _pct(batch.mean_delivery_hours
                                                    - batch.sequential_mean_delivery_hours,
                                                    batch.sequential_mean_delivery_hours),
                     **gaps(base_children, batch.children, batch)})
    return pd.DataFrame.from_records(rows, columns=TABLE_COLUMNS)


def gaps(myopic: float, children: float, batch: BatchReference | None) -> dict[str, float | None]:
    """The share of the myopic-to-batch gap and of the myopic-to-bound gap closed."""
    if batch is None:
        return {"gap_closed_pct": None, "bound_share_pct": None}
    gap = myopic - batch.children
    bound_gap = None if batch.joint_bound is None else myopic - batch.joint_bound
    return {"gap_closed_pct": 100 * (myopic - children) / gap if gap > 0 else None,
            "bound_share_pct": 100 * (myopic - children) / bound_gap
            if bound_gap is not None and bound_gap > 0 else None}


def _extra(children: float, planned: float) -> float | None:
    return (children - planned) / planned if planned else None


def _pct(delta: float, base: float) -> float | None:
    return 100 * delta / base if base else None


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return ""


def plot_over_time(result: StudyResult, path: Path) -> Path | None:
    """Cumulative children of each policy over the day, and each look-ahead policy's
    children saved against myopic (the batch's total as a reference line); ``None``
    without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (the bench extra): no plot")
        return None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    orders = result.orders
    base = None
    for name, rows in orders.groupby("policy", sort=False):
        cum = rows["children"].fillna(0).astype(float).cumsum().to_numpy()
        hours = rows["arrival_h"].to_numpy()
        top.plot(hours, cum, label=str(name))
        if name == "myopic":
            base = cum
        elif base is not None and len(base) == len(cum):
            bottom.plot(hours, base - cum, label=str(name))
    if result.batch is not None:
        top.axhline(result.batch.children, color="grey", ls="--", label="batch (offline)")
        if base is not None:
            bottom.axhline(base[-1] - result.batch.children, color="grey", ls="--",
                           label="batch (offline)")
    top.set_ylabel("children (cumulative)")
    bottom.set_ylabel("children saved vs myopic")
    bottom.set_xlabel("simulated hours")
    for ax in (top, bottom):
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
