"""The external table (``%skyjobs --all``): driven like a user would, against the SDK stand-in
holding a team's work. With the recording comm, so widgets behave as in a kernel."""
from __future__ import annotations

import heapq
import time

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
    live = _row(table, f"{team['protected_cluster']}:{team['protected_job']}")  # bob's, running for good
    assert "launched elsewhere" in live.cells.value and "bob" in live.cells.value and "RUNNING" in live.cells.value
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


# -- row views are reused as the rows shown change -------------------------------------------------

@pytest.fixture
def held(monkeypatch, tmp_path):
    """30 UP clusters of 3 jobs each (newer than the clusters, not ended), their queues held: the
    table first shows clusters only; released, the jobs take every place."""
    from sky_standin import _world, external

    external.use_standin(monkeypatch, tmp_path)
    external.seed_many(clusters=30, jobs_per_cluster=3, managed=0)
    _world.set_hold("queue", True)
    yield _world
    _world.set_hold("queue", False)


@pytest.fixture
def closed(monkeypatch):
    """Widgets closed during the test (their count)."""
    import ipywidgets

    count = [0]
    original = ipywidgets.Widget.close

    def close(self):
        if self.comm is not None:
            count[0] += 1
        original(self)

    monkeypatch.setattr(ipywidgets.Widget, "close", close)
    return count


def _kinds(table):
    return {v.row.kind for v in table.body.children}


def test_row_views_are_reused_as_the_rows_shown_change(sent, held, closed, wait):
    import ipywidgets
    from ipywidgets.widgets.widget import _instances

    from skyexec_nb.views.external_table import ExternalTable, sort_key

    table = ExternalTable(refresher=Refresher(interval=0.05))
    try:
        wait(lambda: len(table.body.children) == table.max_rows, timeout=TIMEOUT)
        views = list(table.body.children)
        assert _kinds(table) == {"cluster"} and all(v.down_button is not None for v in views)
        asking = views[0]
        asking.down_button.click()  # a question in progress on a row about to change
        assert asking.down_button.description == "Yes, tear down"
        made = len(_instances)

        held.set_hold("queue", False)  # the jobs arrive: newer and active, they take every place
        wait(lambda: table.complete_at is not None and _kinds(table) == {"job"}, timeout=TIMEOUT)
        assert {id(v) for v in table.body.children} == {id(v) for v in views}  # the same widgets
        assert closed[0] == 0
        assert len(_instances) - made == 2 * table.max_rows  # each view made its Watch and Cancel once
        for view in table.body.children:
            assert view.down_button is None and view.watch_button is not None and view.cancel_button is not None
            assert "skx-ext-job" in view._dom_classes and "skx-ext-cluster" not in view._dom_classes
            assert view.row.ref in view.cells.value and view.row.ref + view.row.kind in table.rows
        assert asking.confirm_down is None and asking._made["confirm_down"].asking is False  # withdrawn
        assert asking._made["down"].description == "Tear down"

        # the handlers act on the row the view shows now, not the cluster it was made for
        asking.cancel_button.click()
        assert asking.cancel_button.description == "Confirm cancel?"
        asking.confirm_cancel._asked_at -= 1
        asking.cancel_button.click()
        wait(lambda: f"Asked SkyPilot to cancel {asking.row.ref}" in table.message.value, timeout=TIMEOUT)

        # ask again: while the new answers arrive and after, no widget is made or closed
        made, messages = len(_instances), len(sent)
        table.refresh()
        wait(lambda: table.listing.done and table._version == table.listing.snapshot().version, timeout=TIMEOUT)
        assert len(_instances) == made and closed[0] == 0
        # which rows lead depends on the clock (a job that ended meanwhile falls below the UP clusters):
        # the rows shown are the snapshot's first ones, whatever their kind
        snapshot = table.listing.snapshot()
        assert [v.row for v in table.body.children] == heapq.nsmallest(table.max_rows, snapshot.rows, key=sort_key)
        assert len(sent) - messages < 10 * table.max_rows  # cells that changed, not widgets re-made
    finally:
        table.close()
    assert not [w for w in _instances.values() if isinstance(w, ipywidgets.Widget) and w is table]


def test_nothing_is_sent_when_nothing_changed(sent, held, wait, monkeypatch):
    from types import SimpleNamespace

    from skyexec_nb.views import external_table
    from skyexec_nb.views.external_table import ExternalTable

    held.set_hold("queue", False)
    now = external_table.time.time()
    monkeypatch.setattr(external_table, "time", SimpleNamespace(time=lambda: now, monotonic=time.monotonic))
    table = ExternalTable(refresher=Refresher(interval=0.05))
    try:
        wait(lambda: table.complete_at is not None, timeout=TIMEOUT)
        table._render()
        count = len(sent)
        table._render()
        table.filter.value = ""  # the same filter: nothing to redo
        table.sync_state()
        assert len(sent) == count
    finally:
        table.close()


def test_closing_the_table_closes_every_widget_it_made(sent, team, wait):
    from ipywidgets.widgets.widget import _instances

    from skyexec_nb.views.external_table import ExternalTable

    before = set(_instances)
    table = ExternalTable(refresher=Refresher(interval=0.05))
    wait(lambda: table.complete_at is not None, timeout=TIMEOUT)
    table.show_more()
    table.filter.value = "bob"  # some views spare
    assert set(_instances) - before
    table.close()
    assert set(_instances) - before == set()  # nothing left registered: the table can be collected


def test_the_rows_shown_are_the_first_in_order_as_answers_replace_and_add_rows(sent):
    """The table ranks again from the rows it showed and the rows that arrived since; whatever the
    answers do (new rows, rows replaced by newer answers, rows gone, filter, show more), the rows
    shown are the first ``page`` of every row in :func:`sort_key` order."""
    import heapq
    import random
    import threading

    from skyexec_nb.engine.skyapi.external import Listing
    from skyexec_nb.engine.skyapi.external_rows import Batch, ExternalRow
    from skyexec_nb.views.external_table import ExternalTable, matches, sort_key

    class HandFed(Listing):
        def start(self):  # the test merges the answers itself
            self._thread = threading.current_thread()
            return self

    def row(kind, ref, status, started):
        return ExternalRow(kind=kind, ref=ref, name=ref, cluster=None if kind == "managed" else ref.split(":")[0],
                           job_id=None, user=random.choice(["ann", "bob"]), user_hash="h", status=status,
                           resources="-", started=started)

    random.seed(17)
    listing = HandFed(sky=object())
    table = ExternalTable(listing=listing, max_rows=7, refresher=Refresher(interval=60))
    try:
        listing._merge(Batch(user="me"))
        for step in range(60):
            key = random.choice(["clusters", "managed", *(f"queue:c{i}" for i in range(6))])
            if key == "clusters":
                rows = [row("cluster", f"c{i}", random.choice(["UP", "STOPPED"]), random.uniform(0, 100))
                        for i in range(6)]
            else:
                kind = "managed" if key == "managed" else "job"
                prefix = "jobs" if kind == "managed" else key.split(":")[1]
                rows = [row(kind, f"{prefix}:{j}", random.choice(["RUNNING", "SUCCEEDED", "PENDING"]),
                            random.uniform(0, 100)) for j in range(random.randint(0, 9))]
            listing._merge(Batch(rows=tuple(rows[:4]), replaces=key))
            if len(rows) > 4:
                listing._merge(Batch(rows=tuple(rows[4:]), replaces=key, extends=True))
            if step % 10 == 9:
                table.filter.value = random.choice(["", "ann", "running", "bob up"])
            if step % 15 == 14:
                table.show_more()
            table._render()
            words = table.filter.value.lower().split()
            every = [r for r in listing.snapshot().rows if matches(r, words)]
            expected = heapq.nsmallest(table.page, every, key=sort_key)
            assert [(r.kind, r.ref) for r in table.shown] == [(r.kind, r.ref) for r in expected], step
            assert [v.row for v in table.body.children] == expected
    finally:
        table.close()
