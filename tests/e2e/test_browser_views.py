"""A user looks at every view besides the picker: failed, cancelled, multi-node and remote-Python
launch panels, the sweep panel and the jobs table (%skyjobs) with a sweep group.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py); all jobs run on the
local backend. Element screenshots go to test-artifacts/views_*.png; everything asserted is
read from the page as rendered.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # the conftest's page fixture creates it

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"'

FAILED_CELL = """\
%%skylaunch --name will-fail --out failed
echo "loading data"
echo "error: data.csv not found" >&2
exit 3"""

CANCELLED_CELL = """\
%%skylaunch --name to-cancel --out to_cancel
echo "waiting forever"
sleep 600"""

NODES_CELL = """\
%%skylaunch --nodes 2 --name two-nodes --out two_nodes
echo "hello from node $SKYPILOT_NODE_RANK of $SKYPILOT_NUM_NODES\""""

PYTHON_CELL = """\
%%skylaunch --python --name divide --out divide
values = [2, 1, 0]
ratios = [1 / t for t in values]"""

SWEEP_CELL = """\
%%skylaunch --sweep LR=1e-3,3e-4,1e-4 --sweep BS=32,64 --max-parallel 3 --name train --out grid
echo "training with LR=$LR BS=$BS"
if [ "$LR" = 1e-4 ] && [ "$BS" = 64 ]; then exit 1; fi"""

WAIT_CELL = """\
for j in (failed, two_nodes, divide):
    j.wait(timeout=60)
grid.wait(60)
to_cancel.cancel()
print(to_cancel.wait(timeout=60))"""

JOBS_CELL = "%skyjobs"

CELLS = [SETUP, FAILED_CELL, CANCELLED_CELL, NODES_CELL, PYTHON_CELL, SWEEP_CELL, WAIT_CELL, JOBS_CELL]
FAILED, CANCELLED, NODES, PYTHON, SWEEP, WAIT, JOBS = range(1, 8)


def shot(locator, name: str) -> None:
    locator.screenshot(path=str(ARTIFACTS / f"views_{name}.png"))


def test_views_a_user_sees(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    notebook.open(notebook.write("browser_views.ipynb", CELLS))
    notebook.run_all()

    failed = notebook.cell_output(FAILED).locator(".skx-launch")
    expect(failed.locator(".skx-status")).to_contain_text("FAILED")
    shot(failed, "failed_panel")

    cancelled = notebook.cell_output(CANCELLED).locator(".skx-launch")
    expect(cancelled.locator(".skx-status")).to_contain_text("CANCELLED")
    shot(cancelled, "cancelled_panel")

    nodes = notebook.cell_output(NODES).locator(".skx-launch")
    expect(nodes.locator(".skx-status")).to_contain_text("SUCCEEDED")
    shot(nodes, "multinode_panel")

    python = notebook.cell_output(PYTHON).locator(".skx-launch")
    expect(python.locator(".skx-status")).to_contain_text("FAILED")
    shot(python, "python_error_panel")

    sweep = notebook.cell_output(SWEEP).locator(".skx-sweep")
    expect(sweep.locator(".skx-sweep-cell")).to_have_count(6)
    shot(sweep, "sweep_panel")

    table = notebook.cell_output(JOBS).locator(".skx-jobs")
    expect(table.locator(".skx-jobs-group").first).to_be_visible()
    shot(table, "jobs_table")
    table.locator(".skx-jobs-expand").click()
    expect(table.locator(".skx-jobs-member.skx-jobs-name")).to_have_count(6)
    shot(table, "jobs_table_expanded")
