"""A user looks at every view besides the picker: failed, cancelled, multi-node and remote-Python
launch panels, the sweep panel and the jobs table (%skyjobs) with a sweep group.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py); all jobs run on the
local backend. Element screenshots go to test-artifacts/views_*.png; everything asserted is
read from the page as rendered.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # the conftest's page fixture creates it

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A state dir of its own: the jobs table shows this notebook's jobs only, whatever ran before it.
SETUP = ('import os, tempfile\nos.environ["SKYEXEC_NB_HOME"] = tempfile.mkdtemp(prefix="skx-views-")\n'
         '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"')

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


def line_count(locator) -> int:
    """Lines an inline element takes on screen (its client rects)."""
    return locator.evaluate("el => el.getClientRects().length")


def row_badge(table, name: str):
    """The status badge in the row of the (only) top job called ``name`` (the session's registry
    also holds the other browser tests' jobs)."""
    cell = table.locator(".skx-jobs-name:not(.skx-jobs-member)", has_text=name)
    job_class = next(c for c in cell.get_attribute("class").split() if re.fullmatch(r"skx-job-\d+", c))
    return table.locator(f".skx-status.{job_class}")


def test_views_a_user_sees(notebook) -> None:
    from playwright.sync_api import expect

    notebook.open(notebook.write("browser_views.ipynb", CELLS))
    notebook.run_all()

    # A failed shell job: red badge, the reason in words, the log with its stderr line.
    failed = notebook.cell_output(FAILED).locator(".skx-launch")
    expect(failed.locator(".skx-status")).to_contain_text("FAILED")
    expect(failed.locator(".skx-error")).to_contain_text("exited with code 3")
    expect(failed.locator(".skx-log")).to_contain_text("error: data.csv not found")
    expect(failed.locator(".skx-cancel-button")).to_be_disabled()
    shot(failed, "failed_panel")

    cancelled = notebook.cell_output(CANCELLED).locator(".skx-launch")
    expect(cancelled.locator(".skx-status")).to_contain_text("CANCELLED")
    expect(cancelled.locator(".skx-status-cancelled")).to_have_count(1)
    expect(cancelled.locator(".skx-log")).to_contain_text("waiting forever")
    expect(cancelled.locator(".skx-cancel-button")).to_be_disabled()
    shot(cancelled, "cancelled_panel")

    # Two nodes: each line says which node wrote it.
    nodes = notebook.cell_output(NODES).locator(".skx-launch")
    expect(nodes.locator(".skx-status")).to_contain_text("SUCCEEDED")
    expect(nodes.locator(".skx-log")).to_contain_text("[0] hello from node 0 of 2")  # short rank prefixes
    expect(nodes.locator(".skx-log")).to_contain_text("[1] hello from node 1 of 2")
    shot(nodes, "multinode_panel")

    # Remote Python that raised: the exception in red, the remote traceback in the log.
    python = notebook.cell_output(PYTHON).locator(".skx-launch")
    expect(python.locator(".skx-status")).to_contain_text("FAILED")
    expect(python.locator(".skx-error")).to_have_text("ZeroDivisionError: division by zero")
    expect(python.locator(".skx-log")).to_contain_text("Traceback (most recent call last)")
    expect(python.locator(".skx-log")).to_contain_text('File "<cell>", line 2')
    shot(python, "python_error_panel")

    # The sweep panel: titled by its name; 6 cells under the grid's values (3 LR rows x 2 BS columns).
    sweep = notebook.cell_output(SWEEP).locator(".skx-sweep")
    cells = sweep.locator(".skx-sweep-cell")
    expect(cells).to_have_count(6)
    expect(sweep.locator(".skx-sweep-cell-succeeded")).to_have_count(5)
    expect(cells.nth(5)).to_have_class(re.compile(r"\bskx-sweep-cell-failed\b"))
    expect(sweep.locator(".skx-sweep-counts")).to_contain_text("SUCCEEDED 5")
    expect(sweep.locator(".skx-sweep-counts")).to_contain_text("FAILED 1")
    expect(sweep.locator(".skx-sweep-cancel")).to_be_disabled()
    expect(sweep.locator(".skx-sweep-title")).to_contain_text("train")
    assert [t.strip() for t in sweep.locator(".skx-sweep-rowhead").all_inner_texts()] == ["1e-3", "3e-4", "1e-4"]
    assert [t.strip() for t in sweep.locator(".skx-sweep-colhead").all_inner_texts()] == ["32", "64"]
    expect(cells.nth(5)).to_contain_text("FAILED")
    expect(cells.nth(5)).to_contain_text("exit 1")
    expect(cells.nth(0)).to_contain_text("exit 0")
    shot(sweep, "sweep_panel")
    cells.nth(5).click()  # the failed one: its launch panel opens below, the cell is outlined
    detail = sweep.locator(".skx-launch")
    expect(detail.locator(".skx-status")).to_contain_text("FAILED")
    expect(detail.locator(".skx-launch-title")).to_contain_text("train_LR-1e-4_BS-64")
    expect(detail.locator(".skx-log")).to_contain_text("training with LR=1e-4 BS=64")
    expect(cells.nth(5)).to_have_css("outline-width", "2px")
    shot(sweep, "sweep_panel_selected")
    cells.nth(5).click()
    expect(detail).to_have_count(0)

    # The jobs table: the sweep is one group row (collapsed), plain jobs below it.
    table = notebook.cell_output(JOBS).locator(".skx-jobs")
    names = table.locator(".skx-jobs-name")
    group = table.locator(".skx-jobs-group.skx-jobs-name")
    expect(group).to_contain_text("train")
    expect(group).to_contain_text("6 jobs")
    size = group.locator("span", has_text="6 jobs")
    assert line_count(size) == 1  # "6 jobs" is never split over two lines
    for job in ("will-fail", "to-cancel", "two-nodes", "divide"):
        expect(names.filter(has_text=job)).to_have_count(1)
    expect(table.locator(".skx-jobs-member")).to_have_count(0)
    counts = table.locator(".skx-jobs-counts")
    expect(counts).to_contain_text("SUCCEEDED 5")
    expect(counts).to_contain_text("FAILED 1")
    items = counts.locator(".skx-sweep-count")
    expect(items).to_have_count(2)
    assert [line_count(items.nth(i)) for i in range(2)] == [1, 1]  # a square never parts from its label
    for job, state in (("will-fail", "FAILED"), ("to-cancel", "CANCELLED"), ("two-nodes", "SUCCEEDED"),
                       ("divide", "FAILED")):
        expect(row_badge(table, job)).to_have_text(state)
    shot(table, "jobs_table")

    # Expanded: one short row per member, named by its values, in grid order.
    table.locator(".skx-jobs-expand").click()
    members = table.locator(".skx-jobs-member.skx-jobs-name")
    expect(members).to_have_count(6)
    expect(table.locator(".skx-jobs-expand")).to_have_attribute("title", re.compile("^Collapse"))
    expected = [f"LR={lr} BS={bs}" for lr in ("1e-3", "3e-4", "1e-4") for bs in (32, 64)]
    for i, text in enumerate(expected):
        expect(members.nth(i)).to_contain_text(text)
    plain_height = names.filter(has_text="will-fail").bounding_box()["height"]
    for i in range(6):
        assert members.nth(i).bounding_box()["height"] <= plain_height + 1, f"member row {i} wraps"
    expect(table.locator(".skx-jobs-member .skx-status-pill", has_text="FAILED")).to_have_count(1)
    shot(table, "jobs_table_expanded")

    # A member keeps its own Show button: its panel opens below the table.
    last_member = table.locator(".skx-jobs-member .skx-show-button").nth(5)
    last_member.click()
    shown = table.locator(".skx-jobs-detail .skx-launch")
    expect(shown.locator(".skx-launch-title")).to_contain_text("train_LR-1e-4_BS-64")
    expect(shown.locator(".skx-status")).to_contain_text("FAILED")

    # Collapse again; the Sweep button opens the sweep panel below the table instead.
    table.locator(".skx-jobs-expand").click()
    expect(members).to_have_count(0)
    table.locator(".skx-jobs-sweep-button").click()
    below = table.locator(".skx-jobs-detail .skx-sweep")
    expect(below.locator(".skx-sweep-cell")).to_have_count(6)
    expect(below.locator(".skx-sweep-counts")).to_contain_text("FAILED 1")
    shot(table, "jobs_table_sweep_detail")
