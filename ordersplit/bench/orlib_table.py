"""The OR-Library set covering table: optimum against ours and each heuristic.

A single order with unit quantities and ample stock is a set covering problem
(:mod:`ordersplit.io.orlib`). For every instance ``4.x``, ``5.x``, ``6.x`` and ``e.x``:

* **weighted** (objective ``cost``, child cost = column cost): the proven optimum of
  ``optima.csv`` against ``milp`` (HiGHS; it proves each) and each heuristic, with time;
* **unicost** (objective ``children``, every child cost 1): the best known value of
  ``optima_unicost.csv`` (not proven) against ``auto``, ``milp`` and each heuristic, as a
  gap in %, each exact solver with ``unicost_limit_s`` per instance.

Every value is the objective of a plan checked with
:func:`~ordersplit.solver.evaluate.violations`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ordersplit.io.datasets import data_dir
from ordersplit.io.orlib import ScpInstance, load_optima, read_scp, scp_to_request
from ordersplit.models.validate import parse_request
from ordersplit.solver.compile import compile_request
from ordersplit.solver.evaluate import violations
from ordersplit.solver.heuristics import HEURISTICS
from ordersplit.solver.portfolio import solve_problem
from ordersplit.solver.problem import SplitProblem
from ordersplit.solver.result import Status
from ordersplit.solver.stop import Deadline

log = logging.getLogger(__name__)

WEIGHTED_SOLVER = "milp"
UNICOST_SOLVERS: tuple[str, ...] = ("auto", "milp")
HEURISTIC_NAMES: tuple[str, ...] = tuple(HEURISTICS)
NAME = re.compile(r"scp(\d+|e\d+)$")


def instance_names(folder: Path) -> list[str]:
    """The ``scp4x``, ``scp5x``, ``scp6x`` and ``scpex`` files in ``folder``, in table order."""
    names = [p.stem for p in folder.glob("scp*.txt") if NAME.match(p.stem)]

    def key(name: str) -> tuple[int, int]:
        tail = name[3:]
        if tail.startswith("e"):
            return (9, int(tail[1:]))
        return (int(tail[0]), int(tail[1:]))

    return sorted(names, key=key)


@dataclass
class OrlibReport:
    """The weighted and unicost tables (one row per instance)."""

    weighted: pd.DataFrame
    unicost: pd.DataFrame

    def write(self, out_dir: str | Path) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "orlib_weighted.csv", out / "orlib_unicost.csv", out / "orlib.md"]
        self.weighted.to_csv(paths[0], index=False)
        self.unicost.to_csv(paths[1], index=False)
        paths[2].write_text(self.markdown() + "\n")
        return paths

    def markdown(self) -> str:
        """Both tables as compact Markdown (what BENCHMARKS.md shows)."""
        w, u = self.weighted, self.unicost
        solvers = [c for c in w.columns if f"{c}_s" in w.columns]
        head = ["instance", "rows x cols", "optimum", *solvers]
        lines = _table_head(head)
        for r in w.to_dict("records"):
            cells = [r["instance"], f"{r['rows']} x {r['cols']}", _num(r["optimum"])]
            cells += [f"{_num(r[s])} ({r[f'{s}_s']:.2f} s)" for s in solvers]
            lines.append(_table_row(cells))
        weighted = "\n".join(lines)
        solvers = [c for c in u.columns if f"{c}_gap_pct" in u.columns]
        lines = _table_head(["instance", "best known", *solvers])
        for r in u.to_dict("records"):
            best = _num(r["best_known"]) + ("" if not r.get("best_proven") else " (opt)")
            cells = [r["instance"], best]
            for s in solvers:
                gap = r[f"{s}_gap_pct"]
                mark = "*" if r.get(f"{s}_proven") else ""
                cells.append(f"{_num(r[s])}{mark} ({'' if math.isnan(gap) else f'{gap:+.1f} %, '}"
                             f"{r[f'{s}_s']:.2f} s)")
            lines.append(_table_row(cells))
        return (
            "Weighted (objective `cost`; value (time)):\n\n" + weighted
            + "\n\nUnicost (objective `children`; value (gap to best known, time); "
            "`*` = proven optimal by that solver):\n\n" + "\n".join(lines)
        )


def _num(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _table_head(cols: list[str]) -> list[str]:
    return [_table_row(cols), "|" + "|".join("---" for _ in cols) + "|"]


def _table_row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _problem(name: str, folder: Path, unicost: bool) -> tuple[SplitProblem, bool]:
    """The compiled instance and whether its own costs are all 1 (already unicost)."""
    inst = read_scp(folder / f"{name}.txt")
    objective = ("children",) if unicost else ("cost",)
    req = scp_to_request(inst, unicost=unicost, objective=objective)
    return compile_request(parse_request(req)).problem, bool((inst.costs == 1).all())


def _run(problem: SplitProblem, solver: str, seconds: float) -> tuple[float, float, bool]:
    """(value, seconds, proven) of ``solver`` on ``problem``; value NaN if no valid plan."""
    t0 = time.perf_counter()
    res = solve_problem(problem, solver, Deadline(seconds))
    took = time.perf_counter() - t0
    if res.assignment is None or res.objective is None or not res.status.has_solution:
        return float("nan"), took, False
    bad = violations(problem, res.assignment)
    if bad:
        log.error("%s returned an invalid plan: %s", solver, bad[:3])
        return float("nan"), took, False
    term = problem.objective[0]
    return float(getattr(res.objective, term)), took, res.status == Status.OPTIMAL


def run_orlib(
    folder: str | Path | None = None,
    *,
    instances: Sequence[str] | None = None,
    weighted_limit_s: float = 60.0,
    unicost_limit_s: float = 10.0,
    heuristics: Sequence[str] = HEURISTIC_NAMES,
    unicost_solvers: Sequence[str] = UNICOST_SOLVERS,
    progress: bool = True,
) -> OrlibReport:
    """Both tables over ``instances`` (default: every 4.x, 5.x, 6.x, e.x file in ``folder``).

    ``folder`` defaults to the repository's ``data/orlib_scp``; ``weighted_limit_s`` is a safety
    limit for ``milp`` on the weighted files (it proves each in a few seconds).
    """
    root = Path(folder) if folder else data_dir() / "orlib_scp"
    if not root.is_dir():
        raise FileNotFoundError(f"no OR-Library folder at {root}")
    names = list(instances) if instances else instance_names(root)
    optima = load_optima(root)
    best_unicost = load_optima(root, unicost=True)
    weighted: list[dict[str, object]] = []
    unicost: list[dict[str, object]] = []
    for name in tqdm(names, desc="orlib", unit="instance", file=sys.stderr, disable=not progress):
        problem, ones = _problem(name, root, unicost=False)
        opt = optima.get(name)
        value, took, proven = _run(problem, WEIGHTED_SOLVER, weighted_limit_s)
        row: dict[str, object] = {
            "instance": name, "rows": problem.n_items, "cols": problem.n_warehouses,
            "optimum": opt, WEIGHTED_SOLVER: value, f"{WEIGHTED_SOLVER}_proven": proven,
            f"{WEIGHTED_SOLVER}_s": took,
        }  # fmt: skip
        for h in heuristics:
            row[h], row[f"{h}_s"], _ = _run(problem, h, weighted_limit_s)
        weighted.append(row)

        problem, _ = _problem(name, root, unicost=True)
        # scpe* have unit costs already: their weighted optimum is the unicost optimum
        best = best_unicost.get(name, opt if ones else None)
        urow: dict[str, object] = {"instance": name, "best_known": best,
                                   "best_proven": name not in best_unicost and best is not None}
        for s in (*unicost_solvers, *heuristics):
            limit = unicost_limit_s if s in unicost_solvers else weighted_limit_s
            value, took, proven = _run(problem, s, limit)
            urow[s] = value
            urow[f"{s}_gap_pct"] = 100 * (value - best) / best if best else float("nan")
            urow[f"{s}_s"] = took
            if s in unicost_solvers:
                urow[f"{s}_proven"] = proven
        unicost.append(urow)
        log.info("%s: optimum %s, %s %s; unicost best %s, %s", name, opt, WEIGHTED_SOLVER,
                 row[WEIGHTED_SOLVER], best, {s: urow[s] for s in unicost_solvers})
    return OrlibReport(pd.DataFrame(weighted), pd.DataFrame(unicost))


UNICOST_GROUPS = ("scp4", "scp5", "scp6")
WEIGHTED_AD = tuple(f"scp{c}{i}" for c in "abcd" for i in range(1, 6))


def _split_value(inst: ScpInstance, *, unicost: bool, limit_s: float) -> tuple[float, bool, float]:
    """(value, proven, seconds) of ``ordersplit.split`` with ``auto``, end to end."""
    from ordersplit.api import split

    objective = ("children",) if unicost else ("cost",)
    req = scp_to_request(inst, unicost=unicost, objective=objective,
                         time_limit_ms=round(limit_s * 1000))
    text = json.dumps(req)
    t0 = time.perf_counter()
    plan = split(text)
    took = time.perf_counter() - t0
    value = float(plan.objective.children if unicost else Decimal(plan.objective.cost))
    return value, plan.status == "optimal", took


def unicost_gaps(folder: str | Path | None = None, *, instances: Sequence[str] | None = None,
                 limits_s: Sequence[float] = (10.0, 60.0), progress: bool = True) -> pd.DataFrame:
    """``auto`` on the unicost 4.x-6.x covers: value and gap to ``optima_unicost.csv`` per limit."""
    root = Path(folder) if folder else data_dir() / "orlib_scp"
    names = list(instances) if instances else [
        n for n in instance_names(root) if n.startswith(UNICOST_GROUPS)]
    best = load_optima(root, unicost=True)
    rows: list[dict[str, object]] = []
    for name in tqdm(names, desc="unicost", file=sys.stderr, disable=not progress):
        inst = read_scp(root / f"{name}.txt")
        row: dict[str, object] = {"instance": name, "best_known": best.get(name)}
        for limit in limits_s:
            value, proven, took = _split_value(inst, unicost=True, limit_s=limit)
            tag = f"{limit:g}s"
            ref = best.get(name)
            row[f"auto_{tag}"] = value
            row[f"gap_pct_{tag}"] = 100 * (value - ref) / ref if ref else float("nan")
            row[f"proven_{tag}"] = proven
            row[f"seconds_{tag}"] = took
        rows.append(row)
    return pd.DataFrame(rows)


def _cpu_timed(run: Callable[..., tuple[float, bool, float]], *args: Any, **kwargs: Any,
               ) -> tuple[float, bool, float, float]:
    """``run(*args, **kwargs)``'s (value, proven, seconds) and the process CPU seconds it took."""
    c0 = time.process_time()
    value, proven, took = run(*args, **kwargs)
    return value, proven, took, time.process_time() - c0


def weighted_vs_highs(paths: Sequence[Path], *, limit_s: float = 60.0, repeats: int = 1,
                      progress: bool = True, optima_dirs: Sequence[Path] = ()) -> pd.DataFrame:
    """``auto`` (``split()``, objective ``cost``) against a plain HiGHS set-cover model.

    Both run on each instance one right after the other (``repeats`` alternations; the
    median wall and CPU time of each is kept), so the ratio sees the same machine load.
    ``ratio`` is HiGHS seconds / auto seconds (``cpu_ratio`` the same in process CPU
    seconds, less sensitive to load): above 1 means ``auto`` is faster. The optima come
    from ``optima.csv`` in the files' folders and in ``optima_dirs``.
    """
    from ordersplit.bench.reference import highs_set_cover

    optima: dict[str, int] = {}
    for folder in dict.fromkeys([*optima_dirs, *(p.parent for p in paths)]):
        if (folder / "optima.csv").exists():
            optima.update(load_optima(folder))
    rows: list[dict[str, object]] = []
    for path in tqdm(paths, desc="weighted", file=sys.stderr, disable=not progress):
        inst = read_scp(path)
        auto_s, highs_s, auto_cpu, highs_cpu = [], [], [], []
        t0 = time.perf_counter()  # parse + compile alone, to see where auto's time goes
        req = scp_to_request(inst, objective=("cost",))
        compile_request(parse_request(json.dumps(req)))
        prep = time.perf_counter() - t0
        for _ in range(repeats):
            a_value, a_proven, a_took, a_cpu = _cpu_timed(_split_value, inst, unicost=False,
                                                          limit_s=limit_s)
            h_value, h_proven, h_took, h_cpu = _cpu_timed(highs_set_cover, inst, limit_s)
            auto_s.append(a_took)
            highs_s.append(h_took)
            auto_cpu.append(a_cpu)
            highs_cpu.append(h_cpu)
        a, h = float(np.median(auto_s)), float(np.median(highs_s))
        a_c, h_c = float(np.median(auto_cpu)), float(np.median(highs_cpu))
        rows.append({
            "instance": inst.name, "rows": inst.rows, "cols": inst.cols,
            "optimum": optima.get(inst.name), "auto": a_value, "auto_proven": a_proven,
            "auto_s": a, "auto_parse_compile_s": prep, "highs": h_value,
            "highs_proven": h_proven, "highs_s": h, "ratio": h / a,
            "auto_cpu_s": a_c, "highs_cpu_s": h_c, "cpu_ratio": h_c / a_c if a_c > 0 else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def geometric_mean(values: Sequence[float]) -> float:
    """Geometric mean of positive values (NaN when empty)."""
    arr = np.asarray([v for v in values if v > 0], dtype=float)
    return float(np.exp(np.log(arr).mean())) if arr.size else float("nan")
