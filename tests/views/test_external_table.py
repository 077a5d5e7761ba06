"""The external table (``%skyjobs --all``): driven like a user would, against the SDK stand-in
holding a team's work. With the recording comm, so widgets behave as in a kernel."""
from __future__ import annotations

import pytest

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.views.refresher import Refresher

TIMEOUT = 180  # a supervisor's first `import sky` can take half a minute on a loaded machine


@pytest.fixture
def team(monkeypatch, tmp_path):
    from sky_standin import external

    external.use_standin(monkeypatch, tmp_path)
    return external.seed_team()


@pytest.fixture
def table(sent, team, wait):
    from skyexec_nb.views.external_table import ExternalTable

    view = ExternalTable(refresher=Refresher(interval=0.05))
    wait(lambda: view.complete_at is not None, timeout=TIMEOUT)
    yield view
    view.close()


def _row(table, ref):
    return next(v for v in table.body.children if v.row.ref == ref)


def test_rows_arrive_marked_launched_elsewhere_active_first(table, team):
    views = list(table.body.children)
    assert len(views) == table.max_rows and table.more_button.layout.display == ""
    assert all(v.row.active for v in views[:5])
    live = _row(table, f"team-a:{team['live_job']}")
    assert "launched elsewhere" in live.cells.value and "alice" in live.cells.value and "RUNNING" in live.cells.value
    assert live.watch_button is not None and live.down_button is None
    cluster = _row(table, "team-a")
    assert cluster.down_button is not None and cluster.watch_button is None
    assert "autostop 30 min" in cluster.cells.value and "$" in cluster.cells.value
    text, _, _ = table.record_parts()
    assert text.startswith("5 clusters, 12 jobs on clusters, 16 managed jobs") and "launched elsewhere" in text


def test_filter_and_show_more(table, wait):
    table.filter.value = "bob running"
    refs = {v.row.ref for v in table.body.children}
    assert refs and all(v.row.user == "bob" and v.row.status == "RUNNING" for v in table.body.children)
    assert "match the filter" in table.status_line.value
    table.filter.value = ""
    table.show_more()
    assert len(table.body.children) == min(2 * table.max_rows, 33)


def test_watch_opens_a_live_panel_of_an_attached_job(table, team, wait):
    from skyexec_nb.views.launch_panel import LaunchPanel

    row = _row(table, f"team-a:{team['live_job']}")
    row.watch_button.click()
    panel = table.detail.children[0]
    assert isinstance(panel, LaunchPanel) and panel.job.backend == "attached"
    assert "Watching team-a:10 as job" in table.message.value
    assert panel.down_button.layout.display != "none"  # a cluster job: Tear down offered
    assert panel.job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    wait(lambda: panel.status == JobStatus.SUCCEEDED, timeout=TIMEOUT)  # the panel follows it live
    assert "remote line 4" in panel.job.logs()
    assert f"this notebook: job {panel.job.id}" in row.cells.value


def test_cancel_asks_first_and_a_refusal_is_one_line(table, team, wait):
    row = _row(table, f"{team['protected_cluster']}:{team['protected_job']}")
    row.cancel_button.click()
    assert row.cancel_button.description == "Confirm cancel?"  # nothing sent to SkyPilot yet
    import sky_standin

    assert sky_standin._world.load("clusters", "team-b")["jobs"]["1"]["cancel_at"] is None
    row.confirm_cancel._asked_at -= 1  # the second click comes later than a double click
    row.cancel_button.click()
    wait(lambda: "failed:" in table.message.value, timeout=TIMEOUT)
    import html

    assert ("Cancel team-b:1 failed: PermissionDeniedError: User 'standin' does not have permission"
            in html.unescape(table.message.value))
    assert sky_standin._world.load("clusters", "team-b")["jobs"]["1"]["cancel_at"] is None


def test_tear_down_a_cluster_after_confirmation(table, wait):
    row = _row(table, "mine-1") if any(v.row.ref == "mine-1" for v in table.body.children) else None
    if row is None:
        table.filter.value = "mine-1"
        row = _row(table, "mine-1")
    row.down_button.click()
    assert row.down_button.description == "Yes, tear down"
    row.confirm_down._asked_at -= 1
    row.down_button.click()
    wait(lambda: "Cluster mine-1 torn down" in table.message.value, timeout=TIMEOUT)
    wait(lambda: table.complete_at and not any(r.ref == "mine-1" for r in table.listing.snapshot().rows)
         and table.listing.done, timeout=TIMEOUT)


def test_unreachable_server_is_one_line_in_the_status(sent, team, wait):
    import sky_standin
    from skyexec_nb.views.external_table import ExternalTable

    sky_standin._world.set_api_down(True)
    view = ExternalTable(refresher=Refresher(interval=0.05))
    try:
        wait(lambda: view.complete_at is not None, timeout=TIMEOUT)
        assert "SkyPilot API server is unreachable: ApiServerConnectionError" in view.status_line.value
        assert "#dc3545" in view.status_line.value and list(view.body.children) == []
        assert view.record_parts()[0].startswith("SkyPilot API server is unreachable")
    finally:
        view.close()


def test_the_jobs_table_toggle_lists_all_skypilot_work(team, wait):
    """The jobs table's "All SkyPilot work" toggle shows the external table below it, and hides it."""
    from skyexec_nb.views.jobs_table import JobsTable

    jobs_table = JobsTable()
    try:
        assert jobs_table.external.children == ()
        jobs_table.all_toggle.value = True
        (external,) = jobs_table.external.children
        wait(lambda: external.complete_at is not None, timeout=TIMEOUT)
        assert any("launched elsewhere" in v.cells.value for v in external.body.children)
        jobs_table.all_toggle.value = False
        assert jobs_table.external.children == ()
    finally:
        jobs_table.close()
