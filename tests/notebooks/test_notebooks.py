"""The tutorial notebooks are paired with MyST Markdown text (jupytext) and the pairs agree.

Each ``notebooks/NN_name.ipynb`` has a ``notebooks/NN_name.md`` (jupytext's MyST format) with the
same cells: the text is what diffs and reviews well, the .ipynb is what nbval runs and what holds
the expected stdout of the ``# NBVAL_CHECK_OUTPUT`` cells (text files carry no outputs).
``jupytext --sync notebooks/NN_name.ipynb`` (or saving in JupyterLab with jupytext installed)
updates the older file of a pair from the newer one and keeps the .ipynb's outputs.

(Running the notebooks is nbval's job: ``python -m pytest notebooks --nbval-lax``, part of
``bash .ci/run``.)
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.cli import jupytext as jupytext_cli

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = ["01_quickstart", "02_resource_picker", "03_multinode", "04_jobs_and_restart",
            "05_skypilot_clouds", "06_python_and_sweeps", "07_metrics", "08_budgets"]
FORMATS = "ipynb,md:myst"
LOCAL_ONLY = [name for name in EXPECTED if name != "05_skypilot_clouds"]
CHECK = "# NBVAL_CHECK_OUTPUT"


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def test_every_tutorial_is_a_pair() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.md")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_and_text_have_the_same_cells(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    text = jupytext.read(NOTEBOOKS / f"{name}.md")
    fix = f"run: jupytext --sync notebooks/{name}.ipynb"
    assert nb.metadata.get("jupytext", {}).get("formats") == FORMATS, f"not paired; {fix}"
    assert text.metadata.get("jupytext", {}).get("formats") == FORMATS, f"not paired; {fix}"
    assert _cells(nb) == _cells(text), f"notebooks/{name}.ipynb and .md differ; {fix}"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_valid_and_names_its_kernel(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"  # no "Select Kernel" dialog in JupyterLab


def test_sync_carries_a_text_edit_into_the_notebook_and_keeps_checked_outputs(tmp_path: Path) -> None:
    """The pairing works with jupytext itself: edit the text, sync, and the .ipynb follows."""
    for suffix in (".ipynb", ".md"):
        shutil.copy(NOTEBOOKS / f"01_quickstart{suffix}", tmp_path / f"01_quickstart{suffix}")
    ipynb, md = tmp_path / "01_quickstart.ipynb", tmp_path / "01_quickstart.md"
    before = nbformat.read(ipynb, as_version=4)
    edited = md.read_text().replace("# 01 · Quickstart", "# 01 · Quickstart (edited)", 1)
    assert edited != md.read_text()
    md.write_text(edited)
    stamp = ipynb.stat().st_mtime + 10  # the text is the newer file of the pair
    os.utime(md, (stamp, stamp))

    assert jupytext_cli(["--sync", "--quiet", str(ipynb)]) == 0

    after = nbformat.read(ipynb, as_version=4)
    assert after.cells[0].source.startswith("# 01 · Quickstart (edited)")
    assert [c.get("id") for c in after.cells] == [c.get("id") for c in before.cells]
    checked = [(c.source, c.outputs) for c in before.cells if CHECK in c.source]
    assert checked and checked == [(c.source, c.outputs) for c in after.cells if CHECK in c.source]


@pytest.mark.parametrize("name", EXPECTED)
def test_only_checked_cells_carry_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    checked = [c for c in code if CHECK in c.source]
    assert checked, f"{name} checks no output"
    for cell in code:
        if cell in checked:
            assert cell.execution_count is not None, "nbval skips comparing cells never executed"
            assert [o.output_type for o in cell.outputs] == ["stream"] and cell.outputs[0].name == "stdout"
        else:
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", LOCAL_ONLY)
def test_local_tutorials_never_import_sky(name: str) -> None:
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells)
    assert not re.search(r"^\s*(import sky\b|from sky\b)", source, re.M)
