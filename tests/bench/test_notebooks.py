"""The notebooks are stored without outputs and execute top to bottom (small sizes).

The same run by hand: ``jupyter execute notebooks/*.ipynb`` (from the repository root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["lookahead.ipynb", "money.ipynb", "quickstart.ipynb", "strategies.ipynb"]
CELL_TIMEOUT_S = 1800
"""Only bounds a hung kernel; a cell's speed is not what these tests check."""


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


SMALLER = {"lookahead.ipynb": {"N_ORDERS": 60}}
"""Parameters set smaller than the stored notebook's first cell for the test run: the same
code runs top to bottom, on fewer orders (the stored values are what a reader runs)."""


def _with_parameters(nb: Any, values: dict[str, object]) -> None:
    """Set ``NAME = value`` lines of the notebook's first code cell (its parameters)."""
    cell = next(c for c in nb.cells if c.cell_type == "code")
    lines = cell.source.splitlines()
    for name, value in values.items():
        hits = [i for i, line in enumerate(lines) if line.split("=")[0].strip() == name]
        assert len(hits) == 1, f"{name} is not a parameter of the first cell"
        lines[hits[0]] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    _with_parameters(nb, SMALLER.get(name, {}))
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
