"""SweepPanel on real local sweeps: titled by name, a table headed by the grid's values, cells with
state, duration and exit code, click to a job's panel, counts, Cancel all, and the saved record."""
from __future__ import annotations

import html
import re

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.sweep_panel import SweepPanel, cell_text, counts_html, matrix_axes, sweep_name


def texts(widgets_) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", w.value)) for w in widgets_]


def test_two_keys_make_a_matrix_headed_by_the_grid_values(executor, wait):
    s = sweep(executor, "echo LR=$LR; [ $BS = 64 ] && exit 1; true",
              grid={"LR": ["1e-3", "3e-4"], "BS": [32, 64]}, name="lr-scan")
    panel = SweepPanel(s)
    try:
        assert texts(panel.row_headers) == ["1e-3", "3e-4"]  # the grid's values, in grid order
        assert texts(panel.column_headers) == ["32", "64"]
        assert panel.key_headers == [] and "repeat(2, " in panel.grid.layout.grid_template_columns
        wait(lambda: not panel._refresher.is_registered(panel))
        assert panel.states == [JobStatus.SUCCEEDED, JobStatus.FAILED] * 2
        ok, bad = panel.cells[0], panel.cells[1]  # LR=1e-3 BS=32, LR=1e-3 BS=64
        assert ok.description.startswith("SUCCEEDED\n") and ok.description.endswith("· exit 0")
        assert bad.description.startswith("FAILED\n") and bad.description.endswith("· exit 1")
        assert re.search(r"\n\d+:\d\d ·", bad.description)  # the duration
        assert "skx-sweep-cell-failed" in bad._dom_classes and "skx-sweep-cell-succeeded" in ok._dom_classes
        assert bad.tooltip.startswith("LR=1e-3 BS=64 · job ") and bad.tooltip.endswith("FAILED")
        children = panel.grid.children  # corner, 2 column heads, then per row: its head and its cells
        assert children[3] is panel.row_headers[0] and children[4:6] == tuple(panel.cells[:2])
        assert "SUCCEEDED 2" in panel.counts.value and "FAILED 2" in panel.counts.value
        assert panel.cancel_button.disabled
        title = texts([panel.title])[0]
        assert title.startswith("lr-scan ") and f"sweep {s.id}" in title and "4 jobs" in title

        text, body, _ = panel.record_parts()  # the saved record: same name, headers and cells
        assert text.startswith(f"lr-scan · sweep {s.id} · 4 jobs · SUCCEEDED 2, FAILED 2")
        assert "<th" in body and ">1e-3</th>" in body and ">64</th>" in body and "exit 1" in body
    finally:
        panel.close()


def test_three_keys_list_one_row_per_job_and_a_column_per_key(executor, wait):
    s = sweep(executor, "true", grid={"A": [1, 2], "B": ["x"], "C": [7, 8]})
    panel = SweepPanel(s)
    try:
        assert texts(panel.key_headers) == ["A", "B", "C"] and panel.row_headers == [] == panel.column_headers
        wait(lambda: not panel._refresher.is_registered(panel))
        values = [texts([w])[0] for w in panel.grid.children if "skx-sweep-value" in w._dom_classes]
        assert values == ["1", "x", "7", "1", "x", "8", "2", "x", "7", "2", "x", "8"]
        assert all(c.description.startswith("SUCCEEDED\n") for c in panel.cells)
        assert texts([panel.title])[0].startswith("sweep ")  # no --name: the engine's base name
    finally:
        panel.close()


def test_clicking_a_cell_opens_its_launch_panel(executor, wait):
    s = sweep(executor, "echo value=$A", grid={"A": [1, 2, 3]})
    s.wait(120)
    panel = SweepPanel(s)
    try:
        assert texts(panel.key_headers) == ["A"]
        panel.cells[2].click()
        detail = panel.detail_box.children[0]
        assert isinstance(detail, LaunchPanel) and detail.job.id == s.jobs[2].id
        assert "skx-sweep-cell-selected" in panel.cells[2]._dom_classes
        wait(lambda: "value=3" in detail.log_pane.value)
        panel.cells[0].click()
        assert panel.detail_box.children[0].job.id == s.jobs[0].id and detail.comm is None  # old one closed
        assert "skx-sweep-cell-selected" not in panel.cells[2]._dom_classes
        panel.cells[0].click()
        assert panel.detail_box.children == () and panel.selected is None
    finally:
        panel.close()


def test_cancel_all_button(executor, wait):
    s = sweep(executor, "sleep 60", grid={"A": [1, 2, 3]})
    panel = SweepPanel(s)
    try:
        wait(lambda: panel.states.count(JobStatus.RUNNING) == 3)
        assert all(c.description.startswith("RUNNING\n") for c in panel.cells)
        panel.cancel_button.click()
        wait(lambda: panel.states == [JobStatus.CANCELLED] * 3, timeout=20)
        assert "CANCELLED 3" in panel.counts.value and panel.cancel_button.disabled
    finally:
        panel.close()


def test_matrix_only_for_two_keys_covering_every_pair():
    full = [{"A": a, "B": b} for a in range(3) for b in range(4)]
    assert matrix_axes(full) == (["0", "1", "2"], ["0", "1", "2", "3"])
    assert matrix_axes(full[:-1]) is None  # a pair missing: one row per job instead
    assert matrix_axes([{"A": 1}]) is None and matrix_axes([]) is None


def test_cell_text_and_names():
    assert cell_text(None, None) == "…"
    facts = {"started": 100.0, "ended": 163.0, "exit_codes": {0: 0, 1: 3}}
    assert cell_text(JobStatus.FAILED, facts) == "FAILED\n1:03 · exit 0, 3"
    assert cell_text(JobStatus.PENDING, {}) == "PENDING\nnot started"
    assert sweep_name({"name": "train_LR-1e-3", "extra": {"sweep": {"values": {"LR": "1e-3"}}}}) == "train"
    assert sweep_name({"name": "x", "extra": {"sweep": {"name": "sw", "values": {}}}}) == "sw"


def test_counts_keep_each_square_with_its_label():
    html_ = counts_html({"SUCCEEDED": 5, "FAILED": 1})
    assert html_.count("white-space:nowrap") == 2  # a narrow cell wraps between items, never inside one
