"""Start-up and install: lazy imports, optional extras named when missing, the kernel notice.

Speed itself is measured by ``benchmarks/bench_startup.py``; these tests check what makes
it possible (which modules each command loads) and what a user sees.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ordersplit import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "contract_order.json"
HEAVY = ("pandas", "ortools", "fastapi", "dask", "distributed", "matplotlib", "pyarrow",
         "sqlalchemy", "uvicorn", "tqdm")


def _modules_after(code: str) -> set[str]:
    """Top-level modules loaded in a fresh interpreter after running ``code``."""
    probe = (f"import sys, json\n{code}\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def _main(*args: str) -> str:
    return ("from ordersplit.cli import main\nimport contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    try:\n        main({list(args)!r})\n    except SystemExit:\n        pass")


def test_help_loads_no_library() -> None:
    loaded = _modules_after(_main("--help"))
    assert not loaded & {*HEAVY, "numpy", "numba", "pydantic"}


def test_bad_json_is_refused_before_the_solver_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"order": ')
    assert not _modules_after(_main("split", str(bad))) & {*HEAVY, "numpy", "numba", "pydantic"}


def test_a_split_loads_only_what_it_needs() -> None:
    loaded = _modules_after(_main("split", str(EXAMPLE)))
    assert "numba" in loaded  # the kernel that split the order
    assert not loaded & set(HEAVY)


def test_io_readers_do_not_import_the_benchmarks() -> None:
    loaded = _full_modules("import ordersplit.io.datasets, ordersplit.io.orlib")
    assert "ordersplit.io.datasets" in loaded
    assert not {m for m in loaded if m.startswith("ordersplit.bench")}
    for source in (ROOT / "ordersplit" / "io").glob("*.py"):
        text = source.read_text()
        assert "from ordersplit.bench" not in text and "import ordersplit.bench" not in text, source.name


def _full_modules(code: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", f"import sys, json\n{code}\n"
                           "print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("argv", "extra", "hidden"), [
    (["serve"], "service", "fastapi"),
    (["reoptimize", "examples/batch"], "batch", "pyarrow"),
    (["bench", "--orders", "1"], "bench", "matplotlib"),
    (["reoptimize", "examples/batch", "--scheduler", "tcp://127.0.0.1:1"], "dask", "distributed"),
    (["split", str(EXAMPLE), "--store", "postgresql+psycopg://u@h/db"], "postgres", "psycopg"),
])
def test_a_missing_extra_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               argv: list[str], extra: str, hidden: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == hidden else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"needs the '{extra}' extra: pip install 'ordersplit[{extra}]'")
    if argv[0] == "serve":
        assert lines[0] == ("ordersplit serve needs the 'service' extra: "
                            "pip install 'ordersplit[service]'")


def test_the_extras_in_pyproject_match_what_the_cli_checks() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(cli.EXTRAS) | {"all", "dev"} == set(extras)
    core = " ".join(project["dependencies"]).lower()
    for name, modules in cli.EXTRAS.items():
        for module in modules:
            dist = {"prometheus_client": "prometheus-client", "distributed": "dask"}.get(module, module)
            assert dist not in core, f"{dist} is in the core install"
            assert any(dist in req.lower() for req in _expand(extras, name)), (name, dist)
    assert set(_expand(extras, "all")) <= set(_expand(extras, "dev"))
    for name in cli.EXTRAS:
        assert set(_expand(extras, name)) <= set(_expand(extras, "all"))


def _expand(extras: dict[str, list[str]], name: str) -> list[str]:
    """An extra's requirements, with ``ordersplit[...]`` references followed."""
    out: list[str] = []
    for req in extras[name]:
        if req.startswith("ordersplit["):
            for inner in req[len("ordersplit["):-1].split(","):
                out += _expand(extras, inner)
        else:
            out.append(req)
    return out


def test_warmup_reports_the_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["warmup"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("split kernels ") and "cache:" in out


def test_a_cold_cache_announces_the_compile(monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    from ordersplit import kernels
    from ordersplit.solver import cover_kernel

    loaded = (cover_kernel.search,)
    with caplog.at_level(logging.WARNING, logger=kernels.__name__):
        monkeypatch.setattr(kernels, "cache_is_warm", lambda _: True)
        assert kernels.load_kernels("k", loaded, cover_kernel._warm_up) is False
        assert caplog.records == []
        monkeypatch.setattr(kernels, "cache_is_warm", lambda _: False)
        assert kernels.load_kernels("k", loaded, cover_kernel._warm_up) is True
    assert kernels.COMPILE_EXPECTED in caplog.records[0].getMessage()
    assert "compiled in" in caplog.records[-1].getMessage()


def test_the_kernel_caches_are_warm_after_import() -> None:
    from ordersplit.kernels import cache_is_warm
    from ordersplit.solver import cover_kernel, cover_local_search, group_prep, partial_kernel

    assert cache_is_warm((cover_kernel.search, cover_kernel.greedy_cover, cover_kernel.leaf_key))
    assert cache_is_warm((group_prep.group_arrays, group_prep.plan_terms,
                          group_prep.fill_plain, group_prep.sku_elements,
                          group_prep.group_bits, group_prep.group_sku_elements))
    from ordersplit.solver import staged_kernel

    assert cache_is_warm((staged_kernel.staged_search,))
    assert cache_is_warm((partial_kernel.search, partial_kernel.dominance))
    assert cache_is_warm((cover_local_search.search,))
    from ordersplit.money import parts_kernel, text_kernel, whole_kernel

    assert cache_is_warm((whole_kernel.whole_lines, parts_kernel.parts_money,
                          text_kernel.minor_texts))


def test_the_money_kernels_load_no_solver_module() -> None:
    """Data flows one way: the money layer loads its kernels (``ordersplit.kernels``)
    without reaching back into the solver."""
    probe = ("import sys, json\n"
             "from ordersplit.money import parts_kernel, text_kernel, whole_kernel\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ordersplit'))))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "ordersplit.kernels" in loaded
    assert not [m for m in loaded if m.startswith("ordersplit.solver")]


def _without_extras(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with every optional extra's modules made unimportable."""
    blocked = sorted({m for mods in cli.EXTRAS.values() for m in mods})
    probe = f"import sys\nfor m in {blocked!r}:\n    sys.modules[m] = None\n{code}"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd=ROOT)


def test_the_core_splits_and_stores_without_any_extra(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    proc = _without_extras(
        "from ordersplit.cli import main\n"
        f"assert main(['split', {str(EXAMPLE)!r}, '--compact', '--store', 'sqlite:///{db}']) == 0\n"
        "from ordersplit.money import allocate_one, allocate_plan")
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = json.loads(proc.stdout.strip().splitlines()[-1])
    assert plan["status"] == "optimal" and plan["children"]


def test_the_dataframe_faces_name_the_extra_without_pandas() -> None:
    proc = _without_extras("from ordersplit.money import order_tables")
    assert proc.returncode != 0
    assert "needs pandas, which comes with the 'batch' extra" in proc.stderr
