"""Truth from any process: a dead supervisor is FAILED for every reader, and a launch whose
kernel died at once is adopted and runs."""
from __future__ import annotations

import json
import os
import signal

from leftovers import processes_of, python
from local_helpers import wait_for
from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.procs import marked, pid_alive
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus


def test_a_separate_process_sees_a_killed_supervisor_as_failed(no_leftovers):
    home = no_leftovers
    # A kernel launches the job and exits: nobody with a monitor is left.
    out = python("""
        import json, time
        from skyexec_nb.engine.jobs.launcher import launch
        from skyexec_nb.model.executor import SkyExecutor
        job = launch(SkyExecutor(), "echo up; sleep 300", name="victim")
        deadline = time.monotonic() + 90
        while "up" not in job.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
        row = job.row()
        print(json.dumps([job.id, row["supervisor_pid"], row["extra"]["job_token"]]))
    """, home)
    assert out.returncode == 0, out.stderr
    job_id, supervisor, token = json.loads(out.stdout)
    row = get_registry().get(job_id)  # raw reads here: this process must not be the one noticing
    assert row["status"] is JobStatus.RUNNING and pid_alive(supervisor) and marked(token)
    os.kill(supervisor, signal.SIGKILL)
    # Another process reads jobs() only (no wait(), no monitor of its own before the read).
    seen = python("""
        import json, time
        from skyexec_nb.engine.jobs.launcher import jobs
        deadline = time.monotonic() + 60  # the check runs within ~1 s; generous for a loaded machine
        while time.monotonic() < deadline:
            found = [(j.status.value, j.error) for j in jobs()]
            if found[0][0] != "RUNNING":
                break
            time.sleep(0.2)
        print(json.dumps(found))
    """, home)
    assert seen.returncode == 0, seen.stderr
    [(status, error)] = json.loads(seen.stdout)
    assert status == "FAILED" and error.startswith("supervisor died"), (status, error)
    wait_for(lambda: marked(token) == [], timeout=30)  # its node was ended by that reader


def test_a_launch_whose_kernel_died_at_once_is_adopted_and_runs(no_leftovers):
    home = no_leftovers
    # The kernel dies (kill -9) after launch() returned and before its monitor started anything.
    out = python("""
        import os, signal
        from skyexec_nb.engine.jobs.launcher import launch
        from skyexec_nb.engine.jobs.monitor import get_monitor
        from skyexec_nb.model.executor import SkyExecutor
        with get_monitor().held():  # the supervisor's start is still queued ...
            job = launch(SkyExecutor(), "echo adopted-and-ran", name="orphan-launch")
            print(job.id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # ... when the kernel dies
    """, home)
    assert out.returncode == -9, out.stderr
    job_id = int(out.stdout.split()[0])
    assert get_registry().get(job_id)["supervisor_pid"] is None
    job = Job(job_id)
    assert job.wait(90) is JobStatus.SUCCEEDED, job.error
    assert "adopted-and-ran" in job.logs()
    assert job.extra.get("adopted") and job.extra["launcher"][0] != os.getpid()


def test_two_adopters_never_run_one_job_twice(no_leftovers):
    """Several processes adopt the same orphaned launch at once: the atomic claim lets one run it."""
    home = no_leftovers
    out = python("""
        import os, signal
        from skyexec_nb.engine.jobs.launcher import launch
        from skyexec_nb.engine.jobs.monitor import get_monitor
        from skyexec_nb.model.executor import SkyExecutor
        with get_monitor().held():
            job = launch(SkyExecutor(), "echo ran-once", name="contested")
            print(job.id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """, home)
    job_id = int(out.stdout.split()[0])
    from skyexec_nb.engine.jobs.monitor import start_supervisor

    registry = get_registry()
    procs = [start_supervisor(registry, registry.get(job_id)) for _ in range(3)]
    for proc in procs:
        proc.wait(90)
    job = Job(job_id)
    assert job.wait(60) is JobStatus.SUCCEEDED
    assert job.logs().count("ran-once") == 1
    assert job.row()["supervisor_pid"] in [p.pid for p in procs]
    assert not processes_of(home, supervisors_only=True)
