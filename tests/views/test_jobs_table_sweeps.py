"""JobsTable groups a sweep's jobs under one expandable row (real local sweeps)."""
from __future__ import annotations

from skyexec_nb.engine.jobs.status import STATUS_COLOURS, JobStatus
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.views.jobs_rows import JobRow, SweepRow
from skyexec_nb.views.jobs_table import JobsTable, group_rows
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.sweep_panel import SweepPanel

WIDTH = 8  # grid cells per row (no Recoveries column for local jobs)


def grid_rows(table: JobsTable) -> list[list]:
    """The grid's rows as the user sees them (header excluded), cells in column order."""
    cells = list(table.grid.children[WIDTH:])
    return [cells[i:i + WIDTH] for i in range(0, len(cells), WIDTH)]


def test_a_sweep_is_one_row_that_expands(executor, local_job, wait):
    table = JobsTable(interval=0.2)
    try:
        s = sweep(executor, "echo $X", grid={"X": [1, 2, 3]}, backend="local")
        plain = local_job("echo plain", name="plain")
        wait(lambda: len(table.top_rows) == 2 and len(grid_rows(table)) == 2)
        job_row, group = table.top_rows  # newest first: the plain job was launched last
        assert isinstance(group, SweepRow) and isinstance(job_row, JobRow) and job_row.job_id == plain.id
        assert grid_rows(table)[1][0] is group.name and "skx-jobs-group" in group.name._dom_classes
        assert f"skx-sweep-{s.id}" in group.actions._dom_classes
        assert "skx-jobs-expand" in group.expand_button._dom_classes
        assert s.id in group.name.value and "3 jobs" in group.name.value and "plain" in grid_rows(table)[0][0].value
        assert '<span style="white-space:nowrap">3 jobs</span>' in group.name.value  # never "3 / jobs"
        assert set(table.rows) == {plain.id}  # members are not built while collapsed

        wait(lambda: group.counts == {"SUCCEEDED": 3})
        assert "SUCCEEDED 3" in group.status.value and STATUS_COLOURS[JobStatus.SUCCEEDED] in group.status.value
        assert group.cancel_button.disabled and group.started.value != "—" and ":" in group.duration.value
        assert "local" in group.resources.value and group.texts["exit"] == "0" and group.texts["cost"] == "—"

        group.expand_button.click()
        rows = grid_rows(table)
        assert len(rows) == 5 and rows[0][0] is job_row.name and rows[1][0] is group.name
        members = [table.rows[job.id] for job in s.jobs]
        assert [r[0] for r in rows[2:]] == [m.name for m in members]  # grid order, under the group
        for job, member, x in zip(s.jobs, members, (1, 2, 3)):
            assert f"X-{x}" in member.name.value and f"#{job.id}" in member.name.value
            # named by its values (one short line under the group row), the full name as tooltip
            assert f"&#8627; X={x}</span>" in member.name.value and f'title="{job.name}"' in member.name.value
            assert member.badge.status == "SUCCEEDED" and "skx-jobs-member" in member.name._dom_classes
        assert group.expand_button.icon == "caret-down" and group.expand_button.tooltip.startswith("Collapse")
        members[1].show_button.click()  # members keep their own actions
        panel = table.detail.children[0]
        assert isinstance(panel, LaunchPanel) and panel.job.id == s.jobs[1].id

        group.expand_button.click()
        assert len(grid_rows(table)) == 2 and set(table.rows) == {plain.id} and members[0].name.comm is None
        reads = table.reads
        wait(lambda: table.reads >= reads + 2, timeout=5)
        assert len(grid_rows(table)) == 2 and not group.expanded  # stays collapsed on re-reads
    finally:
        table.close()


def test_cancel_all_and_the_sweep_panel(executor, wait):
    s = sweep(executor, "sleep 60", grid={"A": [1, 2, 3]}, backend="local")
    table = JobsTable(interval=0.2)
    try:
        group = wait(lambda: table.groups.get(s.id))
        wait(lambda: group.counts == {"RUNNING": 3})
        assert not group.cancel_button.disabled

        group.sweep_button.click()
        panel = table.detail.children[0]
        assert isinstance(panel, SweepPanel) and [j.id for j in panel.sweep.jobs] == [j.id for j in s.jobs]
        wait(lambda: panel.states == [JobStatus.RUNNING] * 3)

        group.cancel_button.click()
        wait(lambda: group.counts == {"CANCELLED": 3})
        assert all(job.status == JobStatus.CANCELLED for job in s.jobs)
        assert "CANCELLED 3" in group.status.value and group.cancel_button.disabled and table.message.value == ""
        wait(lambda: panel.states == [JobStatus.CANCELLED] * 3)

        group.sweep_button.click()  # again: hides it
        assert table.detail.children == () and panel.comm is None
    finally:
        for job in s.jobs:
            job.cancel()
        table.close()


def test_group_rows_places_a_sweep_at_its_newest_job():
    def row(job_id: int, sweep_id: str | None = None, index: int = 0) -> dict:
        extra = {"sweep": {"id": sweep_id, "index": index, "size": 2, "values": {}}} if sweep_id else {}
        return {"id": job_id, "extra": extra}

    entries, members = group_rows([row(5), row(4, "s", 0), row(3, "t", 0), row(2, "s", 1), row(1)])
    assert [e if isinstance(e, str) else e["id"] for e in entries] == [5, "s", "t", 1]
    assert [r["id"] for r in members["s"]] == [4, 2] and [r["id"] for r in members["t"]] == [3]
