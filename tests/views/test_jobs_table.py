"""JobsTable over the real registry: newest first, live status, row actions, bounded reads."""
from __future__ import annotations

import html

from skyexec_nb.views.jobs_table import JobsTable


def test_lists_jobs_newest_first_and_follows_them(local_job, wait):
    table = JobsTable(interval=0.2)
    assert "No jobs yet" in table.summary.value
    first = local_job("echo one", name="first")
    second = local_job("echo started; sleep 60", name="second")
    wait(lambda: list(table.rows) == [second.id, first.id])
    names = [c.value for c in table.grid.children[8::8]]
    assert "second" in names[0] and "first" in names[1]
    row1, row2 = table.rows[first.id], table.rows[second.id]
    wait(lambda: row1.badge.status == "SUCCEEDED" and row2.badge.status == "RUNNING")
    assert row1.cancel_button.disabled and not row2.cancel_button.disabled
    assert row2.down_button.disabled  # local backend: nothing to tear down
    assert "local" in row2.resources.value and second.cluster not in row2.resources.value  # no cluster here
    assert row2.cost.value.startswith('<span title="runs on this machine') and row2.exit.value == "—"
    assert ":" in row2.duration.value and row2.started.value != "—"
    assert "skx-jobs" in table._dom_classes and f"skx-job-{second.id}" in row2.name._dom_classes

    panel = table.show(second.id)
    assert table.detail.children == (panel,) and panel.job.id == second.id
    row2.show_button.click()  # again: hides it
    assert table.detail.children == ()

    row2.cancel_button.click()
    wait(lambda: row2.badge.status == "CANCELLED")
    wait(lambda: row2.cancel_button.disabled)
    assert table.message.value == ""
    table.close()
    assert not table._refresher.is_registered(table)


def test_registry_is_read_at_most_once_per_interval(wait):
    table = JobsTable(interval=0.5)
    reads = table.reads
    wait(lambda: table.reads >= reads + 2, timeout=5)
    table.close()
    assert table.reads <= reads + 4  # about 2/s for 0.5 s, never once per tick (10/s)


def test_cancel_error_is_reported(local_job, wait, monkeypatch):
    job = local_job("sleep 30", name="stubborn")
    table = JobsTable(interval=0.2)
    from skyexec_nb.engine.jobs.job import Job

    def refuse(self):
        raise RuntimeError("no permission")

    monkeypatch.setattr(Job, "cancel", refuse)
    table.rows[job.id].cancel_button.click()
    wait(lambda: "Cancel failed: no permission" in html.unescape(table.message.value))
    monkeypatch.undo()
    job.cancel()
    table.close()
