"""``%skyjobs --all``, ``%skylogs CLUSTER:JOB_ID`` / ``jobs:ID`` and ``%skystatus CLUSTER`` against the
SDK stand-in holding a team's work (clusters, jobs and managed jobs this notebook did not launch)."""
from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from local_helpers import wait_for
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus

TIMEOUT = 180  # a supervisor's first `import sky` can take half a minute on a loaded machine


@pytest.fixture
def team(monkeypatch, tmp_path):
    from sky_standin import external

    external.use_standin(monkeypatch, tmp_path)
    return external.seed_team()


@pytest.fixture
def shown(monkeypatch) -> list[Any]:
    """What the magics pass to ``display`` (the live views), in order."""
    found: list[Any] = []
    monkeypatch.setattr("skyexec_nb.magics.skylaunch.display", lambda obj, **_: found.append(obj))
    yield found
    for obj in found:
        close = getattr(obj, "close", None)
        if callable(close):
            close()


def test_skyjobs_all_shows_this_notebooks_jobs_then_everything_the_server_knows(ip, team, shown):
    ip.run_line_magic("skyjobs", "--all")
    from skyexec_nb.views.external_table import ExternalTable
    from skyexec_nb.views.jobs_table import JobsTable

    assert [type(v) for v in shown] == [JobsTable, ExternalTable]
    table = shown[1]
    assert table.listing.wait(TIMEOUT)
    table.tick()  # what the shared ticker does
    wait_for(lambda: table.complete_at is not None, timeout=TIMEOUT)
    assert "5 clusters, 12 jobs on clusters, 16 managed jobs (logged in as standin)" in table.status_line.value
    refs = [view.row.ref for view in table.body.children]
    assert f"team-a:{team['live_job']}" in refs and len(refs) == table.max_rows


def test_skyjobs_without_all_asks_nothing_of_skypilot(ip, team, shown):
    ip.run_line_magic("skyjobs", "")
    assert len(shown) == 1


def test_skylogs_cluster_job_shows_a_live_panel_and_records_an_attached_job(ip, team, shown):
    ref = f"team-a:{team['live_job']}"
    ip.run_line_magic("skylogs", ref)
    job = shown[0]
    assert (job.backend, job.extra["attached"], job.name) == ("attached", ref, "train-live")
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    ip.run_line_magic("skylogs", ref)  # again: the same job (also after a kernel restart)
    assert shown[1].id == job.id and len(get_registry().rows()) == 1


def test_skylogs_follow_prints_the_log_until_the_job_ends(ip, team, capsys):
    ip.run_line_magic("skylogs", f"jobs:{team['live_managed']} --follow")
    out = capsys.readouterr().out
    for i in (1, 2, 3):
        assert f"(task, pid=3001) managed line {i}" in out
    assert "job ended: SUCCEEDED" in out


@pytest.mark.parametrize("ref, message", [
    ("team-a:99", "No job 99 on cluster 'team-a' (its jobs: 1-10)"),
    ("nope:3", "No cluster 'nope' on the SkyPilot API server (see %skyjobs --all)"),
    ("jobs:999", "No managed job 999 on the SkyPilot API server (see %skyjobs --all)"),
])
def test_skylogs_unknown_cluster_or_job_is_one_line_and_records_nothing(ip, team, ref, message):
    with pytest.raises(UsageError) as found:
        ip.run_line_magic("skylogs", ref)
    assert str(found.value) == message
    assert get_registry().rows() == []


def test_skylogs_with_the_server_down_is_one_line(ip, team):
    import sky_standin

    sky_standin._world.set_api_down(True)
    with pytest.raises(UsageError, match=r"^SkyPilot API server is unreachable: ApiServerConnectionError") as found:
        ip.run_line_magic("skylogs", "team-a:1")
    assert "\n" not in str(found.value) and get_registry().rows() == []


def test_skystatus_cluster_shows_resources_endpoints_and_autostop(ip, team, capsys):
    ip.run_line_magic("skystatus", "team-a")
    out = capsys.readouterr().out
    assert out.startswith("Cluster team-a: UP")
    assert "owner      alice" in out and "resources  1x AWS(p4d.24xlarge, {'A100': 8})" in out
    assert "autostop   after 30 idle minutes, then stop" in out
    assert "endpoint   8888: http://127.0.0.1:8888" in out
    assert "2 RUNNING" in out and "%skylogs team-a:JOB_ID" in out and "cost       $" in out
    ip.run_line_magic("skystatus", "team-b")
    out = capsys.readouterr().out
    assert "autostop   off" in out and "endpoints  none (" in out and "owner      bob" in out


def test_skystatus_unknown_cluster_is_one_line(ip, team):
    with pytest.raises(UsageError) as found:
        ip.run_line_magic("skystatus", "nope")
    assert str(found.value).startswith("Invalid JOB: a job id, a job name")
    assert str(found.value).endswith("Nor a cluster: No cluster 'nope' on the SkyPilot API server (see %skyjobs --all)")
    assert "\n" not in str(found.value)
    with pytest.raises(UsageError, match="Invalid JOB"):
        ip.run_line_magic("skystatus", "42")  # a job id stays a job id


def test_skystatus_of_a_recorded_job_still_shows_the_job(ip, team, shown, capsys):
    ip.run_line_magic("skylogs", "team-a:5")
    job = shown[0]
    capsys.readouterr()
    ip.run_line_magic("skystatus", str(job.id))
    out = capsys.readouterr().out
    assert out.startswith(f"Job {job.id} 'exp-succeeded'") and "backend    attached" in out
