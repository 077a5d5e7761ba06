"""A job's processes end with the job: setsid daemons, double forks, SIGTERM-ignorers, on the
job's end, on cancel, and (found by their marker) after the supervisor itself was killed -9."""
from __future__ import annotations

import getpass
import os
import signal


from local_helpers import wait_for
from skyexec_nb.engine.jobs.launcher import jobs, launch
from skyexec_nb.engine.jobs.procs import marked, pid_alive
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

#: Escapes of every kind: a new session, a double fork ignoring SIGTERM, nohup in the background.
ESCAPES = """
setsid sleep 300 >/dev/null 2>&1 < /dev/null &
( ( trap '' TERM; exec sleep 301 ) >/dev/null 2>&1 < /dev/null & )
nohup bash -c 'trap "" TERM; sleep 302' >/dev/null 2>&1 &
setsid bash -c 'sleep 303 & wait' &
sleep 0.3
echo started
"""


def _token(job) -> str:
    wait_for(lambda: job.extra.get("job_token"), timeout=60)
    return job.extra["job_token"]


def test_escaped_processes_end_with_the_job(no_leftovers):
    get_settings().cancel_grace = 1.0
    job = launch(SkyExecutor(), ESCAPES, name="escapes")
    token = _token(job)
    assert job.wait(90) is JobStatus.SUCCEEDED, job.error
    assert "started" in job.logs()
    assert marked(token) == []  # ended before the job was recorded as ended


def test_cancel_ends_escaped_processes_and_says_who(no_leftovers):
    get_settings().cancel_grace = 1.0
    job = launch(SkyExecutor(num_nodes=2), ESCAPES + "sleep 300\n", name="escapes-cancel")
    token = _token(job)
    wait_for(lambda: job.logs().count("started") == 2, timeout=60)
    assert len(marked(token)) >= 8  # 4 escapes per node, alive before the cancel
    assert job.cancel()
    assert job.wait(60) is JobStatus.CANCELLED
    assert marked(token) == []
    assert job.extra["cancel_requested"]["by"] == getpass.getuser()
    assert f"skyexec_nb: cancelled by {getpass.getuser()} at " in job.logs()


def test_leftovers_of_a_killed_supervisor_are_found_by_marker_from_another_process(no_leftovers):
    job = launch(SkyExecutor(), ESCAPES + "sleep 300\n", name="escapes-kill9")
    token = _token(job)
    wait_for(lambda: "started" in job.logs(), timeout=60)
    supervisor = job.row()["supervisor_pid"]
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: not pid_alive(supervisor), timeout=30)
    assert len(marked(token)) >= 4  # orphans of a dead supervisor, still running
    # This process reads the registry (no wait()): its liveness check fails the job and ends them.
    wait_for(lambda: [j.status for j in jobs()] == [JobStatus.FAILED], timeout=30)
    assert job.error.startswith("supervisor died")
    wait_for(lambda: marked(token) == [], timeout=30)
