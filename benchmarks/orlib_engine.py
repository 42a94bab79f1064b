"""OR-Library set covering (issue 13): unicost gaps, and ``auto`` against plain HiGHS.

- **Unicost** 4.x, 5.x, 6.x (objective ``children``): ``ordersplit.split`` with ``auto``
  at each ``--unicost-limits`` (default 10 s and 60 s), value and gap in % to the best
  known values of ``optima_unicost.csv``.
- **Weighted** 4.x-6.x and A-D (objective ``cost``): ``split()`` with ``auto`` and a plain
  HiGHS set-cover model (``ordersplit/bench/reference.py``: binary columns, one
  covering row per element, built from the parsed instance and timed with it), one
  right after the other on each instance; the ratio HiGHS s / auto s (above 1: ``auto``
  faster) and its geometric mean. The A-D files (4.5 MB) are not committed:
  ``benchmarks/get_orlib_ad.py`` puts them, checksummed, into ``data/orlib_scp/`` where
  this finds them; or point ``--ad-dir`` (or ``$ORDERSPLIT_ORLIB_AD``) at a folder holding
  ``scpa1.txt`` .. ``scpd5.txt``; missing ones are skipped and listed.

    python benchmarks/orlib_engine.py --quick --out bench-out/orlib      # a few minutes
    python benchmarks/orlib_engine.py --out bench-out/orlib              # full: ~35 min+
    python benchmarks/orlib_engine.py --skip-unicost --ad-dir /path/to/orlib --out out/
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ordersplit.bench.orlib_table import (
    UNICOST_GROUPS,
    WEIGHTED_AD,
    geometric_mean,
    instance_names,
    unicost_gaps,
    weighted_vs_highs,
)
from ordersplit.io.datasets import data_dir

AD_ENV = "ORDERSPLIT_ORLIB_AD"
QUICK_UNICOST = ("scp41", "scp51", "scp61")
QUICK_WEIGHTED = ("scp41", "scp51", "scp61", "scpa1", "scpb1", "scpc1", "scpd1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orlib-dir", type=Path, default=None,
                   help="4.x-6.x files and optima (default shared/data/orlib_scp)")
    p.add_argument("--ad-dir", type=Path, default=os.environ.get(AD_ENV) or None,
                   help=f"folder with scpa1..scpd5 (default: ${AD_ENV}, else --orlib-dir; "
                        "benchmarks/get_orlib_ad.py fetches them)")
    p.add_argument("--unicost", default="", help="comma-separated instances (default all 4.x-6.x)")
    p.add_argument("--unicost-limits", default="10,60", help="seconds, comma-separated")
    p.add_argument("--weighted", default="", help="comma-separated instances (default 4.x-6.x, A-D)")
    p.add_argument("--weighted-limit", type=float, default=60.0)
    p.add_argument("--repeats", type=int, default=1, help="alternations per weighted instance")
    p.add_argument("--skip-unicost", action="store_true")
    p.add_argument("--skip-weighted", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help=f"unicost {','.join(QUICK_UNICOST)} at 10 s; weighted {','.join(QUICK_WEIGHTED)}")
    p.add_argument("--out", type=Path, help="directory for the CSV files and summary.json")
    args = p.parse_args(argv)
    if args.quick:
        args.unicost = args.unicost or ",".join(QUICK_UNICOST)
        args.weighted = args.weighted or ",".join(QUICK_WEIGHTED)
        if args.unicost_limits == "10,60":
            args.unicost_limits = "10"
    return args


def weighted_paths(names: list[str], root: Path, ad: Path) -> tuple[list[Path], list[str]]:
    """Existing files for ``names`` (4.x-6.x in ``root``, A-D in ``ad``) and the missing ones."""
    found: list[Path] = []
    missing: list[str] = []
    for name in names:
        path = (ad if name in WEIGHTED_AD else root) / f"{name}.txt"
        if path.exists():
            found.append(path)
        else:
            missing.append(name)
    return found, missing


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.orlib_dir or data_dir() / "orlib_scp"
    ad = Path(args.ad_dir) if args.ad_dir else root
    load_before = os.getloadavg()
    started = time.perf_counter()
    unicost = pd.DataFrame()
    weighted = pd.DataFrame()
    missing: list[str] = []
    if not args.skip_unicost:
        limits = [float(v) for v in args.unicost_limits.split(",")]
        names = [n for n in args.unicost.split(",") if n] or None
        unicost = unicost_gaps(root, instances=names, limits_s=limits)
    if not args.skip_weighted:
        names = [n for n in args.weighted.split(",") if n] or [
            n for n in instance_names(root) if n.startswith(UNICOST_GROUPS)] + list(WEIGHTED_AD)
        paths, missing = weighted_paths(names, root, ad)
        weighted = weighted_vs_highs(paths, limit_s=args.weighted_limit, repeats=args.repeats,
                                     optima_dirs=[root])
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"{time.perf_counter() - started:.0f} s")
    summary: dict[str, object] = {"load_average_before": load_before,
                                  "load_average_after": load_after, "args": vars(args)}
    if not unicost.empty:
        print("\nUnicost (auto, split() end to end; value, gap to best known, seconds; * proven):")
        print(unicost.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        for col in [c for c in unicost.columns if c.startswith("gap_pct_")]:
            at_best = int((unicost[col] <= 0).sum())
            print(f"  {col}: mean {unicost[col].mean():.1f} %, max {unicost[col].max():.1f} %, "
                  f"{at_best}/{len(unicost)} at the best known value")
            summary[f"unicost_{col}_mean"] = float(unicost[col].mean())
    if not weighted.empty:
        gm = geometric_mean(weighted["ratio"].tolist())
        wrong = weighted[(weighted["auto"] - weighted["highs"]).abs() > 1e-6]
        print("\nWeighted (auto vs plain HiGHS, same run, alternating; ratio = HiGHS s / auto s):")
        print(weighted.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        print(f"  geometric mean ratio {gm:.2f} ({'PASS' if gm >= 1 else 'FAIL'}: goal >= 1, "
              f"auto at least as fast); range {weighted['ratio'].min():.2f}-"
              f"{weighted['ratio'].max():.2f}; values differ on {len(wrong)} instance(s)")
        for family, rows in weighted.groupby(weighted["instance"].str[:4]):
            print(f"  {family}: geometric mean ratio {geometric_mean(rows['ratio'].tolist()):.2f}, "
                  f"CPU {geometric_mean(rows['cpu_ratio'].tolist()):.2f} ({len(rows)} instances)")
        off = weighted[(weighted["auto"] - weighted["optimum"]).abs() > 1e-6]
        print(f"  auto off the optimum on {len(off)} instance(s); not proven on "
              f"{int((~weighted['auto_proven'].astype(bool)).sum())}")
        summary["weighted_ratio_geomean"] = gm
        summary["weighted_ratio_median"] = float(np.median(weighted["ratio"]))
        summary["weighted_cpu_ratio_geomean"] = geometric_mean(weighted["cpu_ratio"].tolist())
    if missing:
        print(f"  skipped (file not found): {', '.join(missing)}", file=sys.stderr)
        summary["missing"] = missing
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        unicost.to_csv(args.out / "orlib_unicost_gaps.csv", index=False)
        weighted.to_csv(args.out / "orlib_weighted_vs_highs.csv", index=False)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
