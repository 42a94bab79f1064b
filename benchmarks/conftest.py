"""Collect the pytest-benchmark files (``bench_*.py``) when pytest is pointed at benchmarks/.

The project's ``python_files`` stays the default (``test_*.py``), so the normal test run
never picks these up; only ``pytest benchmarks/ --benchmark-only`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
