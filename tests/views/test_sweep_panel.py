"""SweepPanel on real local sweeps: cells coloured by state, tooltips, counts, click, Cancel all."""
from __future__ import annotations

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.sweep_panel import SELECTED_BORDER, SweepPanel, axes_text, columns_for, counts_html


def test_cells_counts_and_tooltips_follow_the_jobs(executor, wait):
    s = sweep(executor, "echo LR=$LR; [ $BS = 64 ] && exit 1; true",
              grid={"LR": ["1e-3", "3e-4"], "BS": [32, 64]})
    panel = SweepPanel(s)
    try:
        assert "skx-sweep" in panel._dom_classes and len(panel.cells) == 4
        assert all("skx-sweep-cell" in c._dom_classes for c in panel.cells)
        assert "repeat(2, " in panel.grid.layout.grid_template_columns  # BS values per row
        wait(lambda: not panel._refresher.is_registered(panel))
        assert panel.states == [JobStatus.SUCCEEDED, JobStatus.FAILED] * 2
        ok, bad = panel.cells[0], panel.cells[1]
        assert ok.style.button_color == STATUS_COLOURS[JobStatus.SUCCEEDED]
        assert bad.style.button_color == STATUS_COLOURS[JobStatus.FAILED]
        assert "skx-sweep-cell-failed" in bad._dom_classes
        assert bad.tooltip.startswith("LR=1e-3 BS=64 · job ") and bad.tooltip.endswith("FAILED")
        assert "SUCCEEDED 2" in panel.counts.value and "FAILED 2" in panel.counts.value
        assert panel.cancel_button.disabled
    finally:
        panel.close()


def test_clicking_a_cell_opens_its_launch_panel(executor, wait):
    s = sweep(executor, "echo value=$A", grid={"A": [1, 2, 3]})
    s.wait(30)
    panel = SweepPanel(s)
    try:
        panel.cells[2].click()
        detail = panel.detail_box.children[0]
        assert isinstance(detail, LaunchPanel) and detail.job.id == s.jobs[2].id
        assert "skx-sweep-cell-selected" in panel.cells[2]._dom_classes
        assert panel.cells[2].layout.border == SELECTED_BORDER  # the class alone showed nothing
        wait(lambda: "value=3" in detail.log_pane.value)
        panel.cells[0].click()
        assert panel.detail_box.children[0].job.id == s.jobs[0].id and detail.comm is None  # old one closed
        assert not panel.cells[2].layout.border and panel.cells[0].layout.border == SELECTED_BORDER
        panel.cells[0].click()
        assert panel.detail_box.children == () and panel.selected is None
    finally:
        panel.close()


def test_cancel_all_button(executor, wait):
    s = sweep(executor, "sleep 60", grid={"A": [1, 2, 3]})
    panel = SweepPanel(s)
    try:
        wait(lambda: panel.states.count(JobStatus.RUNNING) == 3)
        panel.cancel_button.click()
        wait(lambda: panel.states == [JobStatus.CANCELLED] * 3, timeout=20)
        assert "CANCELLED 3" in panel.counts.value and panel.cancel_button.disabled
    finally:
        panel.close()


def test_columns_for_grids():
    assert columns_for([{"A": a, "B": b} for a in range(3) for b in range(4)]) == 4
    assert columns_for([{"A": a} for a in range(50)]) == 20
    assert columns_for([]) == 1


def test_counts_keep_each_square_with_its_label():
    html = counts_html({"SUCCEEDED": 5, "FAILED": 1})
    assert html.count("white-space:nowrap") == 2  # a narrow cell wraps between items, never inside one


def test_axes_caption_names_rows_and_columns(executor):
    values = [{"LR": lr, "BS": bs} for lr in ("1e-3", "3e-4") for bs in (32, 64)]
    assert axes_text(values).startswith("rows: LR = 1e-3, 3e-4 · columns: BS = 32, 64 · hover a cell")
    three = [{"A": a, "B": b, "C": c} for a in (1, 2) for b in (1, 2) for c in (7, 8, 9)]
    assert axes_text(three).startswith("rows: A × B · columns: C = 7, 8, 9")
    assert axes_text([{"A": 1}, {"A": 2}]).startswith("one cell per job, in grid order (2 per row)")
    s = sweep(executor, "true", grid={"LR": ["1e-3", "3e-4"], "BS": [32, 64]})
    panel = SweepPanel(s)
    try:
        assert panel.axes in panel.children and "skx-sweep-axes" in panel.axes._dom_classes
        assert "rows: LR = 1e-3, 3e-4 · columns: BS = 32, 64" in panel.axes.value
    finally:
        panel.close()
