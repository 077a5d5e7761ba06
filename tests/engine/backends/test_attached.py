"""The "attached" backend: following work this notebook did not launch (``engine/backends/attached.py``).

Real supervisors, a real registry and log files, against the SDK stand-in holding a team's work.
Bounds are generous: a supervisor imports SkyPilot (seconds on a loaded 2-core machine).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from local_helpers import env_for_child, wait_for
from skyexec_nb.engine.backends.attached import attach, find_attached, lookup
from skyexec_nb.engine.jobs.procs import pid_alive
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.skyapi.external_rows import ServerProblem

TIMEOUT = 180  # a supervisor's first `import sky` can take half a minute on a loaded machine


@pytest.fixture
def team(standin):
    from sky_standin import external

    return external.seed_team()


def _lines(job, marker: str) -> list[str]:
    return [line for line in job.logs().splitlines() if marker in line]


def test_watching_a_cluster_job_records_it_and_keeps_its_whole_log(team):
    ref = f"team-a:{team['live_job']}"
    row = lookup(ref)
    assert (row.name, row.user, row.status) == ("train-live", "alice", "RUNNING")
    job = attach(ref, row)
    assert job.backend == "attached" and job.cluster == "team-a" and job.status == JobStatus.RUNNING
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert _lines(job, "remote line") == [f"(task, pid=3001) remote line {i}" for i in (1, 2, 3, 4)]
    assert "Job finished (status: SUCCEEDED)" in job.logs()
    extra = job.extra
    assert (extra["attached"], extra["owner"], extra["sky_job_id"], extra["remote_final"]) == (ref, "alice", 10, True)
    assert job.log_path.parent == get_registry().jobs_dir / str(job.id)
    assert attach(ref).id == job.id  # watched again: the same job, nothing new recorded
    assert len(get_registry().rows()) == 1


def test_an_attached_job_is_found_by_another_process(team):
    job = attach(f"team-a:{team['live_job']}", lookup(f"team-a:{team['live_job']}"))
    code = ("from skyexec_nb.engine.backends.attached import find_attached; "
            f"print(find_attached('team-a:{team['live_job']}'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=env_for_child(str(get_registry().path.parent)))
    assert out.stdout.strip() == str(job.id), out.stderr
    job.wait(TIMEOUT)


def test_an_ended_job_is_fetched_whole_and_ends_as_skypilot_says(team):
    job = attach("team-a:6", lookup("team-a:6"))
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert "FAILED log" in job.logs() and job.error == "SkyPilot job 6 ended FAILED"


def test_a_managed_job_is_followed_to_its_end(team):
    ref = f"jobs:{team['live_managed']}"
    job = attach(ref, lookup(ref))
    assert job.cluster is None and job.extra["managed_job_id"] == team["live_managed"]
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert _lines(job, "managed line") == [f"(task, pid=3001) managed line {i}" for i in (1, 2, 3)]
    assert "a managed job" in job.down()


def test_cancelling_my_job_cancels_it_on_skypilot(team):
    import sky_standin
    from sky_standin import external

    managed_id = external.add_managed("mine-forever", external.running(2, tag="mine"), user=external.ME, age=0.0)
    job = attach(f"jobs:{managed_id}", lookup(f"jobs:{managed_id}"))
    wait_for(lambda: "mine line 2" in job.logs(), timeout=TIMEOUT)
    assert job.cancel()
    assert job.wait(TIMEOUT) == JobStatus.CANCELLED
    assert sky_standin._world.load("managed", managed_id)["cancel_at"] is not None
    assert "cancelling jobs:" in job.logs()


def test_another_users_job_that_cannot_be_cancelled_is_one_line_and_goes_on(team):
    ref = f"{team['protected_cluster']}:{team['protected_job']}"
    job = attach(ref, lookup(ref))
    wait_for(lambda: "bob line 2" in job.logs(), timeout=TIMEOUT)
    assert job.cancel()
    wait_for(lambda: job.error, timeout=TIMEOUT)
    assert job.error.startswith(f"Cancel of {ref} refused: PermissionDeniedError")
    assert "owned by 'bob'" in job.error and "\n" not in job.error
    assert job.status == JobStatus.RUNNING and not job.extra.get("cancel_requested")
    assert "bob line 1" in job.logs()  # nothing recorded is lost
    job.cancel()  # asked again: refused again, still followed
    wait_for(lambda: len(_lines(job, "refused")) == 2, timeout=TIMEOUT)
    assert job.status == JobStatus.RUNNING
    pid = job.row()["supervisor_pid"]
    time.sleep(10)  # (a SIGTERM within 10 s of a cancel request is that request's own)
    os.kill(pid, signal.SIGTERM)  # someone stops the follower: SkyPilot's job is left alone
    assert job.wait(TIMEOUT) == JobStatus.FAILED
    assert job.error.startswith(f"stopped following {ref} (SIGTERM to its supervisor)")
    wait_for(lambda: not pid_alive(pid), timeout=TIMEOUT)
    assert find_attached(ref) is None  # watching it again starts anew


def test_api_server_going_down_mid_follow_pauses_then_resumes_without_losing_or_repeating(standin, monkeypatch):
    import sky_standin
    from sky_standin import external

    monkeypatch.setenv("SKY_STANDIN_STEP", "0.5")  # a line every 0.5 s, for 50 s; ended by the test
    external.add_cluster("slow-c", [external.job(1, "long", external.running(100), age=0.0)])
    job = attach("slow-c:1", lookup("slow-c:1"))
    wait_for(lambda: "remote line 3" in job.logs(), timeout=TIMEOUT)
    sky_standin._world.set_api_down(True)
    wait_for(lambda: job.error and job.error.startswith("Watching paused"), timeout=TIMEOUT)
    assert "unreachable" in job.error and "\n" not in job.error
    assert job.status == JobStatus.RUNNING and "remote line 3" in job.logs()
    assert len(_lines(job, "lost the SkyPilot API server")) == 1
    sky_standin._world.set_api_down(False)
    wait_for(lambda: "remote line 100" in job.logs(), timeout=TIMEOUT)
    external.finish("slow-c", 1)
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert job.error is None
    assert _lines(job, "remote line") == [f"(task, pid=3001) remote line {i}" for i in range(1, 101)]


def test_bad_references_are_one_line_and_record_nothing(team):
    import sky_standin

    for ref, message in [("team-a:99", "No job 99 on cluster 'team-a' (its jobs: 1-10)"),
                         ("nope:1", "No cluster 'nope' on the SkyPilot API server"),
                         ("jobs:999", "No managed job 999 on the SkyPilot API server"),
                         ("team-stopped:1", "Cluster 'team-stopped' is not up")]:
        with pytest.raises(LookupError) as found:
            lookup(ref)
        assert str(found.value).startswith(message) and "\n" not in str(found.value)
    with pytest.raises(ValueError, match="Invalid job: CLUSTER:JOB_ID"):
        lookup("team-a")
    sky_standin._world.set_api_down(True)
    with pytest.raises(ServerProblem, match="^SkyPilot API server is unreachable"):
        lookup("team-a:1")
    assert get_registry().rows() == [] and find_attached("team-a:1") is None


def test_attached_is_not_a_backend_to_launch_with(standin):
    import skyexec_nb
    from skyexec_nb.engine.jobs.backend_table import BACKEND_NAMES

    assert "attached" not in BACKEND_NAMES
    with pytest.raises(ValueError, match="Invalid backend: 'attached' only watches work launched elsewhere"):
        skyexec_nb.launch(skyexec_nb.SkyExecutor(), "echo hi", backend="attached")
    assert get_registry().rows() == []
