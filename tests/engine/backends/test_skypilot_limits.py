"""Spend limits on the SkyPilot backends against the SDK stand-in: a time limit cancels the SkyPilot
job and tears down the cluster launched for it; a cluster the user named that was up before is
left up (and the log says so); a managed job is cancelled through the jobs controller.

The limits count real seconds from when the supervisor starts the job (after it imported the SDK):
8 s leaves the stand-in (0.2 s steps) time to launch and run the job first, on a loaded machine too.
"""
from __future__ import annotations

import pytest

from local_helpers import wait_for
from skyexec_nb.engine.jobs.launcher import launch
from skyexec_nb.engine.jobs.spend import Limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

# Each test starts a supervisor that imports sky (seconds): part of the slow selection.
pytestmark = pytest.mark.slow

LIMIT = 8.0
END = 120  # bound of a job's end: the limit, then SkyPilot's confirmation of the cancel


def _clusters(sky_standin) -> list[str]:
    return [record.name for record in sky_standin.get(sky_standin.status())]


def test_a_time_limit_cancels_the_sky_job_and_tears_down_its_cluster(standin):
    import sky_standin

    standin("long")  # the job would run for 1000 steps
    job = launch(SkyExecutor(cpus="1+"), "echo hi", name="bounded", backend="skypilot", limits=Limits(timeout=LIMIT))
    wait_for(lambda: job.row()["extra"].get("sky_job_id"), timeout=END)  # the SkyPilot job exists
    assert job.cluster in _clusters(sky_standin)
    assert job.wait(END) is JobStatus.CANCELLED
    cluster = job.cluster
    assert cluster == f"skx-{job.id}"
    row = job.row()
    text = row["extra"]["limit"]["text"]
    assert row["error"] == text and row["extra"]["cluster_new"] is True
    assert text.startswith("time limit 8s reached (ran ")
    assert text.endswith(f"): cancelling the job and tearing down cluster {cluster}")
    # the SkyPilot job was cancelled (sky.cancel reached the stand-in), then the cluster went down
    assert sky_standin._world.load("clusters", cluster)["jobs"]["1"]["cancel_at"] is not None
    wait_for(lambda: job.row()["extra"].get("cluster_down_at"), timeout=END)  # torn down after the job ended
    assert cluster not in _clusters(sky_standin)
    log = job.logs()
    assert f"skyexec_nb: {text}" in log and "(sky.cancel)" in log
    assert f"[skyexec_nb] cluster {cluster} torn down" in log
    assert log.index("skyexec_nb: time limit") < log.index(f"[skyexec_nb] tearing down cluster {cluster}")
    assert job.row()["extra"]["down"]["state"] == "done"


def test_a_named_cluster_that_was_up_before_is_left_up(standin):
    import sky_standin

    sky_standin.get(sky_standin.launch(sky_standin.Task(name="earlier", run="true"), cluster_name="mine"))
    assert "mine" in _clusters(sky_standin)
    standin("long")
    job = launch(SkyExecutor(cpus="1+", cluster_name="mine"), "echo hi", name="guest", backend="skypilot",
                 limits=Limits(timeout=LIMIT))
    wait_for(lambda: job.row()["extra"].get("sky_job_id"), timeout=END)
    assert job.wait(END) is JobStatus.CANCELLED
    row = job.row()
    assert row["extra"]["cluster_new"] is False
    assert row["error"].endswith("): cancelling the job (cluster mine existed before the job: left up)")
    assert f"skyexec_nb: {row['error']}" in job.logs() and "tearing down" not in job.logs()
    assert "down" not in row["extra"] and "cluster_down_at" not in row["extra"]
    assert "mine" in _clusters(sky_standin)  # still up, its earlier job's record kept
    assert sky_standin._world.load("clusters", "mine")["jobs"]["2"]["cancel_at"] is not None


def test_a_time_limit_cancels_a_managed_job_through_the_controller(standin):
    import sky_standin

    standin("long")
    job = launch(SkyExecutor(cpus="1+"), "python train.py", name="managed", backend="jobs",
                 limits=Limits(timeout=LIMIT))
    wait_for(lambda: job.row()["extra"].get("managed_job_id"), timeout=END)
    assert job.wait(END) is JobStatus.CANCELLED
    error = job.row()["error"]
    assert error.endswith("): cancelling the managed job (SkyPilot's jobs controller removes its cluster)")
    assert "sky.jobs.cancel" in job.logs()
    records = sky_standin.get(sky_standin.jobs.queue(refresh=False, job_ids=[1]))
    assert records[0]["status"] == sky_standin.jobs.ManagedJobStatus.CANCELLED
