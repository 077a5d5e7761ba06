"""Idle clusters on the skypilot backend against the SDK stand-in: a job ends, its cluster stays UP
and is listed idle with its cost so far; down_idle / stop_cluster end it, and costs() counts the
idle time up to that teardown (recorded in ``extra["cluster_down_at"]``)."""
from __future__ import annotations

import time

import pytest
from local_helpers import wait_for

import skyexec_nb
from skyexec_nb import JobStatus, SkyExecutor
from skyexec_nb.engine.api import (ClusterActionError, autostop_warning, costs, down_cluster, down_idle, idle_clusters,
                                   stop_cluster)

# Each test starts supervisors that import sky (the stand-in uses its types) and the price worker.
pytestmark = pytest.mark.slow

TIMEOUT = 120
P4D = 32.7726  # $/hr of the stand-in's launched instance (aws p4d.24xlarge, us-east-1) in the test catalog


def launch(command: str = "echo hi", **fields):
    return skyexec_nb.launch(SkyExecutor(cpus="1+", **fields), command, backend="skypilot")


def cluster_states() -> dict[str, str]:
    import sky_standin

    return {r["name"]: r["status"].value for r in sky_standin.get(sky_standin.status(None))}


def test_an_ended_jobs_cluster_is_idle_until_torn_down(standin, catalog) -> None:
    job = launch()
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert cluster_states() == {job.cluster: "UP"}  # no autostop, no autodown: it stays up, billed
    assert autostop_warning(job, "skypilot") == (f"Cluster {job.cluster} has no autostop: it stays up and billed "
                                                 "after the job; set idle_minutes_to_autostop or autodown")
    now = job.ended + 1800
    [idle] = idle_clusters(now=now)
    assert (idle.name, idle.job_ids, idle.idle_since, idle.autostop, idle.autodown) == \
        (job.cluster, (job.id,), job.ended, None, False)
    assert idle.hourly == pytest.approx(P4D) and idle.cost_so_far == pytest.approx(P4D / 2)
    assert idle.price_note.startswith("aws p4d.24xlarge (A100:8) x 1 in us-east-1, on-demand")

    assert down_idle() == [f"Cluster {job.cluster} torn down (sky.down)"]
    assert cluster_states() == {} and idle_clusters() == []
    down_at = job.extra["cluster_down_at"]
    assert job.ended <= down_at <= time.time() and job.extra["cluster_down"]["how"] == "down"
    [row] = costs(now=down_at + 3600)  # the idle time counts up to the teardown, not to now
    assert row["idle_s"] == pytest.approx(down_at - job.ended)
    assert row["cost"] == pytest.approx(P4D * (job.ended - job.started + down_at - job.ended) / 3600)
    assert f"Cluster {job.cluster} torn down (sky.down)" in job.logs()


def test_autostop_minutes_are_read_and_stop_ends_the_idle_time(standin, catalog) -> None:
    job = launch(idle_minutes_to_autostop=30)
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert autostop_warning(job, "skypilot") is None
    assert autostop_warning(SkyExecutor(autodown=True), "skypilot") is None
    assert autostop_warning({"cluster_name": "mine"}, "skypilot").startswith("Cluster mine has no autostop")
    assert autostop_warning(SkyExecutor(), "local") is None
    [idle] = idle_clusters()
    assert idle.autostop == 30 and idle.name == job.cluster
    with pytest.raises(ClusterActionError, match=r"^Unknown cluster 'nope': no job launched from here ran on it$"):
        stop_cluster("nope")
    assert stop_cluster(job.cluster) == f"Cluster {job.cluster} stopped (sky.stop)"
    assert cluster_states() == {job.cluster: "STOPPED"} and idle_clusters() == []
    [row] = costs()
    assert row["idle_s"] == pytest.approx(job.extra["cluster_down_at"] - job.ended) and row["idle_s"] < 1800
    # gone meanwhile (torn down elsewhere): one line, recorded as down
    import sky_standin

    sky_standin.get(sky_standin.down(job.cluster))
    assert down_cluster(job.cluster) == f"Cluster {job.cluster} does not exist any more (nothing to tear down)"


def test_a_cluster_in_use_is_not_idle(standin, catalog) -> None:
    import sky_standin

    standin("long")
    job = launch()
    wait_for(lambda: job.status == JobStatus.RUNNING, TIMEOUT)
    assert idle_clusters() == []  # our job runs on it
    with pytest.raises(ClusterActionError, match=rf"^Cluster {job.cluster} has job {job.id} RUNNING: cancel it first"):
        down_cluster(job.cluster)
    job.cancel()
    assert job.wait(TIMEOUT) == JobStatus.CANCELLED
    # our job ended, but another user's job (launched outside) runs on the cluster: not idle either
    sky_standin.get(sky_standin.launch(sky_standin.Task(run="sleep 1000"), cluster_name=job.cluster))
    wait_for(lambda: [r.status.value for r in sky_standin.get(sky_standin.queue(job.cluster, skip_finished=True))]
             == ["RUNNING"], TIMEOUT)
    assert idle_clusters() == []
    assert down_idle() == []
    sky_standin.get(sky_standin.down(job.cluster))
