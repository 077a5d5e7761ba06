"""Jobs outlive the process that launched them; other processes list, read and re-attach."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from local_helpers import wait_for
from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.launcher import jobs, launch
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor


def _python(code: str, timeout: float = 60) -> str:
    """Run ``code`` in a fresh Python sharing this test's state dir; return its stdout."""
    env_home = get_settings().state_dir
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, env={**__import__("os").environ, "SKYEXEC_NB_HOME": env_home})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_second_process_lists_jobs_and_reads_logs():
    first = launch(SkyExecutor(), "echo alpha", name="a")
    second = launch(SkyExecutor(num_nodes=2), "echo beta", name="b")
    assert first.wait(120) is second.wait(120) is JobStatus.SUCCEEDED
    out = json.loads(_python("""
        import json
        from skyexec_nb.engine.jobs.launcher import jobs, find_job
        print(json.dumps([[j.id, j.name, j.status.value, j.logs(), j.tail(1)] for j in jobs()]
                         + [find_job("-1").id, find_job("a").id]))
    """))
    listed, last, by_name = out[:-2], out[-2], out[-1]
    assert [row[:3] for row in listed] == [[first.id, "a", "SUCCEEDED"], [second.id, "b", "SUCCEEDED"]]
    assert listed[0][3] == first.logs() and listed[1][3].count("beta") == 2
    assert (last, by_name) == (second.id, first.id)


def test_job_keeps_running_after_launcher_exits_and_new_process_reattaches():
    job_id = int(_python("""
        from skyexec_nb.engine.jobs.launcher import launch
        from skyexec_nb.model.executor import SkyExecutor
        print(launch(SkyExecutor(), "for i in $(seq 1 15); do echo tick $i; sleep 0.1; done", name="bg").id)
    """))  # the launching process has exited here
    job = Job(job_id, get_registry())
    try:
        wait_for(lambda: "tick 3" in job.logs(), timeout=15)
        assert not job.done()
        out = _python(f"""
            from skyexec_nb.engine.jobs.launcher import get_job
            job = get_job({job_id})
            print(job.wait(120).value, sum(1 for line in job.follow() if ' tick ' in line))
        """)
        assert out.split() == ["SUCCEEDED", "15"]
        assert job.status is JobStatus.SUCCEEDED and [j.id for j in jobs()] == [job_id]
    finally:
        job.cancel()


def test_job_survives_kill_9_of_the_launching_kernel_and_keeps_logging():
    """The launching process dies without any clean-up (kill -9, as a crashed kernel)."""
    state = get_settings().state_dir
    code = textwrap.dedent("""
        import os, signal, sys, time
        from skyexec_nb.engine.jobs.launcher import launch
        from skyexec_nb.model.executor import SkyExecutor
        job = launch(SkyExecutor(num_nodes=2), "for i in $(seq 1 20); do echo tick $i; sleep 0.1; done",
                     name="orphan-kernel")
        deadline = time.monotonic() + 20
        while "tick 2" not in job.logs() and time.monotonic() < deadline:
            time.sleep(0.02)
        print(job.id, "tick 2" in job.logs(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "SKYEXEC_NB_HOME": state})
    assert out.returncode == -9, out.stderr
    job_id, saw_tick = out.stdout.split()
    assert saw_tick == "True", "the job did not log within 20 s of its launch"
    job = Job(int(job_id), get_registry())
    try:
        assert not job.done() and "tick 20" not in job.logs()  # still running, not yet finished
        # 2 s of work; the bound is for a heavily loaded machine (a loaded run once needed > 30 s)
        assert job.wait(120) is JobStatus.SUCCEEDED
        ticks = [line for line in job.logs().splitlines() if " tick " in line]
        assert len(ticks) == 40 and job.exit_codes == {0: 0, 1: 0}
    finally:
        job.cancel()
