"""Spend limits live with the job's supervisor: a kernel killed with -9 changes nothing (the limit
still stops the job, and a sweep group's limit still stops every member). A supervisor killed
with -9 enforces nothing: the liveness check fails its job (FAILED, no limit recorded)."""
from __future__ import annotations

import json
import os
import signal

from leftovers import python
from local_helpers import groups_gone, wait_for
from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.launcher import launch
from skyexec_nb.engine.jobs.spend import Limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

END = 120  # bound of a job's end: a loaded 2-core machine starts and stops supervisors slowly


def test_a_time_limit_holds_after_the_kernel_is_killed(no_leftovers):
    home = no_leftovers
    out = python("""
        import os, signal, time
        from skyexec_nb.engine.jobs.launcher import launch
        from skyexec_nb.engine.jobs.spend import Limits
        from skyexec_nb.model.executor import SkyExecutor
        job = launch(SkyExecutor(), "echo up; sleep 300", name="orphaned", backend="local", limits=Limits(timeout=3))
        deadline = time.monotonic() + 90  # the supervisor runs the job within seconds
        while "up" not in job.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        print(job.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the kernel dies; its job's supervisor lives on
    """, home)
    assert out.returncode == -9, out.stderr
    job = Job(int(out.stdout.split()[0]))
    assert job.wait(END) is JobStatus.CANCELLED
    assert job.error.startswith("time limit 3s reached (ran ") and job.error.endswith("): cancelling the job")
    assert f"skyexec_nb: {job.error}" in job.logs() and job.extra["limit"]["kind"] == "timeout"
    pgids = job.row()["node_pgids"]
    wait_for(lambda: groups_gone(pgids), timeout=30)  # and no_leftovers: no process of the job is left


def test_a_sweep_limit_stops_every_member_after_the_kernel_is_killed(no_leftovers):
    home = no_leftovers
    out = python("""
        import json, os, signal, time
        from skyexec_nb.engine.jobs.launcher import launch_many
        from skyexec_nb.engine.jobs.slots import group_env
        from skyexec_nb.engine.jobs.spend import Limits
        from skyexec_nb.model.executor import SkyExecutor
        items = [(f"m{i}", group_env("orphan-sweep", 2), {}) for i in range(3)]
        # $2/s each, two at once: the $8 limit trips after about 2 s, the third member still queued
        jobs = launch_many(SkyExecutor(), "echo up; sleep 300", items, backend="local", start=2,
                           limits=Limits(hourly=7200.0, group_max_cost=8))
        deadline = time.monotonic() + 90
        while sum("up" in j.logs() for j in jobs) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        print(json.dumps([j.id for j in jobs]), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """, home)
    assert out.returncode == -9, out.stderr
    jobs = [Job(i) for i in json.loads(out.stdout)]
    assert [job.wait(END) for job in jobs] == [JobStatus.CANCELLED] * 3
    assert all(job.error.startswith("sweep cost limit $8.00 reached ($") for job in jobs)
    assert jobs[2].row()["started"] is None and jobs[2].error.endswith(": cancelled before it ran")


def test_a_supervisor_killed_with_minus_9_fails_the_job_and_no_limit_fires(no_leftovers):
    job = launch(SkyExecutor(), "echo up; sleep 300", name="headless", backend="local",
                 limits=Limits(timeout=60))  # far beyond the kill: only the liveness check can end it
    wait_for(lambda: "up" in job.logs(), timeout=END)
    os.kill(job.row()["supervisor_pid"], signal.SIGKILL)
    assert job.wait(END) is JobStatus.FAILED  # the liveness check, not the limit
    assert job.error.startswith("supervisor died") and "limit" not in job.extra
    assert "time limit" not in job.logs()
