"""The skypilot backend end to end (launch -> supervisor -> SDK) against the SDK stand-in."""
from __future__ import annotations

import time

import pytest

import skyexec_nb
from skyexec_nb import JobStatus, SkyExecutor

# Each test starts processes that import sky (seconds each): part of the slow selection.
pytestmark = pytest.mark.slow

TIMEOUT = 60


def watch(job, until, timeout: float = TIMEOUT) -> list[JobStatus]:
    """Statuses seen (in order, deduplicated) until ``until(job)`` holds."""
    seen: list[JobStatus] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status
        if not seen or seen[-1] != status:
            seen.append(status)
        if until(job):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"job {job.id} stuck: seen {seen}, log:\n{job.logs()}")


def launch(command: str = "echo hi", **fields):
    return skyexec_nb.launch(SkyExecutor(cpus="1+", **fields), command, backend="skypilot")


def test_lifecycle_succeeds_with_log(standin):
    job = launch()
    seen = watch(job, lambda j: j.done())
    assert seen[0] == JobStatus.PROVISIONING
    assert JobStatus.RUNNING in seen and seen[-1] == JobStatus.SUCCEEDED
    assert seen.index(JobStatus.PROVISIONING) < seen.index(JobStatus.RUNNING)
    log = job.logs()
    assert "Running on cluster: skx-" in log  # the launch request's own log
    assert "(task, pid=1002) standin line 3" in log and "Job finished (status: SUCCEEDED)" in log
    extra = job.extra
    assert extra["sky_job_id"] == 1 and extra["sky_requests"]["launch"]
    assert job.row()["app_id"].endswith(f"___{job.cluster}___{job.name}___1")
    assert SkyExecutor.parse_app(job.row()["app_id"]) == (job.cluster, job.name, 1)
    assert job.error is None and job.started and job.ended


@pytest.mark.parametrize("scenario, status, text", [
    ("fail", JobStatus.FAILED, "RuntimeError: boom"),
    ("setup_fail", JobStatus.FAILED_SETUP, "ERROR: setup failed"),
])
def test_job_failure(standin, scenario, status, text):
    standin(scenario)
    job = launch()
    assert job.wait(TIMEOUT) == status
    assert text in job.logs()
    assert f"ended {status.value}" in job.error


@pytest.mark.parametrize("scenario, message", [
    ("no_cloud", "NoCloudAccessError: Cloud access is not set up. Run: sky check"),
    ("no_resource", "ResourcesUnavailableError: Failed to provision all possible launchable resources."),
])
def test_skypilot_error_ends_failed_with_one_line(standin, scenario, message):
    standin(scenario)
    job = launch()
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert job.error.startswith(message) and "\n" not in job.error and "\x1b" not in job.error
    log = job.logs()
    assert message in log and "Traceback" not in log and "\x1b" not in log


def test_cancel_while_launch_request_in_flight(standin):
    import sky_standin

    standin("slow")
    job = launch()
    watch(job, lambda j: "launch" in j.extra.get("sky_requests", {}))
    watch(job, lambda j: j.extra.get("sky_request_state") == "RUNNING")
    assert job.status == JobStatus.PROVISIONING
    started = time.monotonic()
    assert job.cancel()
    assert job.wait(120) == JobStatus.CANCELLED
    assert time.monotonic() - started < 10
    request_id = job.extra["sky_requests"]["launch"]
    assert sky_standin.api_status([request_id])[0].status == "CANCELLED"
    assert "sky.api_cancel" in job.logs()


def test_cancel_while_running(standin):
    import sky_standin

    standin("long")
    job = launch()
    watch(job, lambda j: j.status == JobStatus.RUNNING)
    assert job.cancel()
    assert job.wait(120) == JobStatus.CANCELLED
    assert "sky.cancel" in job.logs() and "job ended: CANCELLED" in job.logs()
    statuses = sky_standin.get(sky_standin.job_status(job.cluster, [1]))
    assert statuses == {1: sky_standin.JobStatus.CANCELLED}


def test_endpoints_recorded_when_running(standin):
    standin("long")
    job = launch(ports=[8888])
    watch(job, lambda j: "endpoints" in j.extra)
    assert job.extra["endpoints"] == {"8888": "http://127.0.0.1:8888"}
    job.cancel()
    job.wait(120)


def test_down_after_success_runs_in_background(standin):
    import sky_standin

    job = launch()
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    started = time.monotonic()
    message = job.down()
    assert time.monotonic() - started < 1.0  # the kernel never waits on sky
    assert job.cluster in message
    watch(job, lambda j: j.extra.get("down", {}).get("state") == "done")
    assert f"cluster {job.cluster} torn down" in job.logs()
    assert sky_standin.get(sky_standin.status()) == []


def test_down_while_running_ends_cancelled(standin):
    standin("long")
    job = launch()
    watch(job, lambda j: j.status == JobStatus.RUNNING)
    job.down()
    assert job.wait(120) == JobStatus.CANCELLED
    assert "torn down" in job.error


def test_down_of_missing_cluster_is_recorded(standin):
    standin("no_cloud")
    job = launch()
    job.wait(TIMEOUT)
    job.down()
    watch(job, lambda j: j.extra.get("down", {}).get("state") == "done")
    assert "does not exist" in job.extra["down"]["message"]


def test_launched_instance_is_recorded_for_the_cost_estimate(standin):
    job = launch(gpus="A100:8", num_nodes=2, use_spot=True)
    watch(job, lambda j: "launched" in j.extra)
    assert job.extra["launched"] == {"cloud": "aws", "region": "us-east-1", "zone": "us-east-1a",
                                     "instance_type": "p4d.24xlarge", "accelerators": {"A100": 8},
                                     "use_spot": True, "num_nodes": 2}
    job.wait(TIMEOUT)


def test_api_server_down_at_launch_fails_at_once_in_one_line(standin):
    import sky_standin

    sky_standin._world.set_api_down(True)
    job = launch()
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert job.error.startswith("ApiServerConnectionError: Could not connect to SkyPilot API server")
    assert "\n" not in job.error and "Traceback" not in job.logs()


def test_api_server_going_down_mid_run_keeps_what_was_recorded(standin):
    import sky_standin

    standin("long")
    job = launch()
    watch(job, lambda j: j.status == JobStatus.RUNNING and "standin line 3" in j.logs())
    recorded = dict(job.extra)
    sky_standin._world.set_api_down(True)
    assert job.wait(TIMEOUT) == JobStatus.FAILED  # after a few failed polls, never hangs
    assert "Could not connect to SkyPilot API server" in job.error and "\n" not in job.error
    log = job.logs()
    assert "standin line 3" in log and "state poll failed" in log  # the log so far is kept
    assert all(job.extra[k] == v for k, v in recorded.items() if k != "sky_request_state")
