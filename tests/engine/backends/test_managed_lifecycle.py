"""The managed-jobs backend ("jobs") end to end against the SDK stand-in, recovery included."""
from __future__ import annotations

import time

import pytest

import skyexec_nb
from skyexec_nb import JobStatus, SkyExecutor

from test_skypilot_lifecycle import TIMEOUT, watch

# Each test starts processes that import sky (seconds each): part of the slow selection.
pytestmark = pytest.mark.slow


def launch(**fields):
    return skyexec_nb.launch(SkyExecutor(cpus="1+", **fields), "python train.py", name="train", backend="jobs")


def test_managed_job_succeeds(standin):
    job = launch()
    seen = watch(job, lambda j: j.done())
    assert seen[0] == JobStatus.PROVISIONING and seen[-1] == JobStatus.SUCCEEDED
    assert JobStatus.PENDING in seen and JobStatus.RUNNING in seen
    log = job.logs()
    assert "Managed job submitted" in log and "managed line 2" in log
    assert job.extra["managed_job_id"] == 1 and job.extra["recovery_count"] == 0
    assert job.extra["managed_status"] == "SUCCEEDED"
    assert job.row()["app_id"].endswith("___train___1")


def test_managed_job_recovers_after_preemption(standin):
    standin("preempt")
    job = launch()
    seen = watch(job, lambda j: j.done())
    assert seen[-1] == JobStatus.SUCCEEDED
    recovering = seen.index(JobStatus.RECOVERING)
    assert JobStatus.RUNNING in seen[:recovering] and JobStatus.RUNNING in seen[recovering:]
    assert job.extra["recovery_count"] == 1
    log = job.logs()
    assert "preempted. Recovering." in log and "recovery count 1" in log
    assert log.index("managed line 2") < log.index("managed line 3 after recovery")


def test_managed_job_cancel(standin):
    import sky_standin

    standin("long")
    job = launch()
    watch(job, lambda j: j.status == JobStatus.RUNNING)
    assert job.cancel()
    seen = watch(job, lambda j: j.done(), timeout=20)
    assert seen[-1] == JobStatus.CANCELLED
    records = sky_standin.get(sky_standin.jobs.queue(refresh=False, job_ids=[1]))
    assert records[0]["status"] == sky_standin.jobs.ManagedJobStatus.CANCELLED
    assert "sky.jobs.cancel" in job.logs()


def test_managed_cancel_in_flight(standin):
    standin("slow")
    job = launch()
    watch(job, lambda j: j.extra.get("sky_request_state") == "RUNNING")
    job.cancel()
    assert job.wait(120) == JobStatus.CANCELLED
    assert "sky.api_cancel" in job.logs()


def test_managed_failure_carries_reason(standin):
    standin("fail")
    job = launch()
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert job.error == "Job failed: user code exited with 1."
    assert "RuntimeError: boom" in job.logs()


def test_managed_no_cloud(standin):
    standin("no_cloud")
    job = launch()
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert job.error == "NoCloudAccessError: Cloud access is not set up. Run: sky check"


def test_managed_down_is_a_message(standin):
    job = launch()
    job.wait(TIMEOUT)
    started = time.monotonic()
    assert "jobs controller" in job.down()
    assert time.monotonic() - started < 0.5


def test_managed_job_records_where_it_runs_and_survives_the_api_server_going_down(standin):
    import sky_standin

    standin("long")
    job = launch(gpus="A100:8", use_spot=True)
    watch(job, lambda j: j.status == JobStatus.RUNNING and "launched" in j.extra)
    assert job.extra["launched"] == {"cloud": "aws", "region": "us-west-2", "zone": "us-west-2a",
                                     "accelerators": {"A100": 8}}
    sky_standin._world.set_api_down(True)
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert "Could not connect to SkyPilot API server" in job.error
    assert "managed line 2" in job.logs() and job.extra["managed_job_id"] == 1  # nothing recorded is lost
