"""What a real local SkyPilot API server answers offline (one server per session, isolated HOME).

Slow: the server takes ~15-35 s to start cold. Run with ``pytest -m server``.
"""
from __future__ import annotations

import pytest

import skyexec_nb
from skyexec_nb import JobStatus, SkyExecutor

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(600)]


def test_status_is_empty(real_sky):
    assert real_sky.get(real_sky.status()) == []


def test_queue_of_missing_cluster(real_sky):
    with pytest.raises(real_sky.exceptions.ClusterDoesNotExist, match="does not exist"):
        real_sky.get(real_sky.queue("skyexec-nb-missing"))


def test_seed_status_of_missing_cluster(real_sky):
    assert SkyExecutor.status("exp___skyexec-nb-missing___task___1") == (None, None)


def test_launch_without_cloud_ends_failed_with_message(real_sky):
    job = skyexec_nb.launch(SkyExecutor(cpus="1+"), "echo hi", backend="skypilot")
    assert job.wait(300) == JobStatus.FAILED
    assert "Cloud access is not set up" in job.error, job.logs()
    assert "\n" not in job.error and "\x1b" not in job.error
    log = job.logs()
    assert "Cloud access is not set up" in log and "Traceback" not in log
    assert job.extra["sky_requests"]["launch"]
