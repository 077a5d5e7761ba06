"""The committed tutorial notebooks are what notebooks/make_notebooks.py generates, and are clean.

(Running them is nbval's job: ``python -m pytest notebooks --nbval-lax``, part of ``bash .ci/run``.)
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = ["01_quickstart.ipynb", "02_resource_picker.ipynb", "03_multinode.ipynb",
            "04_jobs_and_restart.ipynb", "05_skypilot_clouds.ipynb"]


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebooks_match_the_generator(capsys: pytest.CaptureFixture) -> None:
    generator = _generator()
    assert list(generator.NOTEBOOKS) == EXPECTED
    assert generator.main(["--check"]) == 0, capsys.readouterr().err


def test_generator_writes_valid_notebooks(tmp_path: Path) -> None:
    assert _generator().main(["--out", str(tmp_path)]) == 0
    for name in EXPECTED:
        nb = nbformat.read(tmp_path / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"  # no "Select Kernel" dialog in JupyterLab


@pytest.mark.parametrize("name", EXPECTED)
def test_only_checked_cells_carry_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    checked = [c for c in code if "# NBVAL_CHECK_OUTPUT" in c.source]
    assert checked, f"{name} checks no output"
    for cell in code:
        if cell in checked:
            assert cell.execution_count is not None, "nbval skips comparing cells never executed"
            assert [o.output_type for o in cell.outputs] == ["stream"] and cell.outputs[0].name == "stdout"
        else:
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", EXPECTED[:4])
def test_local_tutorials_never_import_sky(name: str) -> None:
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells)
    assert not re.search(r"^\s*(import sky\b|from sky\b)", source, re.M)
