"""PNG plots of a benchmark run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from ordersplit.bench.runner import BenchReport

COLORS = {"ours": "#1f77b4", "peer": "#ff7f0e"}


def write_plots(report: BenchReport, out_dir: Path) -> list[Path]:
    """``extra_children.png``, ``time_per_order.png``, ``quality_vs_time.png``."""
    s = report.summary
    colors = [COLORS.get(k, "grey") for k in s["kind"]]
    paths: list[Path] = []

    fig, ax = plt.subplots(figsize=(8, 0.4 * len(s) + 1.5))
    ax.barh(s["strategy"], s["extra_pct"], color=colors)
    ax.invert_yaxis()
    ax.set_xlabel("extra children, % of orders (children - orders) / orders")
    ax.set_title("Extra children per strategy (blue: ordersplit, orange: peers)")
    paths.append(_save(fig, out_dir / "extra_children.png"))

    fig, ax = plt.subplots(figsize=(8, 0.4 * len(s) + 1.5))
    data = [report.rows.loc[report.rows["strategy"] == n, "ms"].clip(lower=1e-3).to_numpy()
            for n in s["strategy"]]
    ax.boxplot(data, orientation="horizontal", whis=(1, 99), showfliers=False)
    ax.set_yticks(range(1, len(s) + 1), list(s["strategy"]))
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("solve time per order, ms (box: quartiles, whiskers: p1-p99)")
    ax.set_title("Time per order")
    paths.append(_save(fig, out_dir / "time_per_order.png"))

    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(s["ms_median"].clip(lower=1e-3), s["gap_pct"], c=colors)
    for _, r in s.iterrows():
        ax.annotate(str(r["strategy"]), (max(r["ms_median"], 1e-3), r["gap_pct"]),
                    fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("median ms per order")
    ax.set_ylabel("children above the best proven bound, % (children-first orders)")
    ax.set_title("Avoidable children against speed")
    paths.append(_save(fig, out_dir / "quality_vs_time.png"))
    return paths


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
