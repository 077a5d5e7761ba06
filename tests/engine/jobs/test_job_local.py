"""Local backend lifecycle with real processes, files and SQLite."""
from __future__ import annotations

import os
import re
import signal
import time

import pytest

from local_helpers import groups_gone, wait_for
from skyexec_nb.engine.jobs.job import Job
from skyexec_nb.engine.jobs.launcher import launch
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor


def test_two_nodes_see_rank_count_and_ips():
    job = launch(SkyExecutor(num_nodes=2, gpus="A100", gpus_per_node=2),
                 'echo "rank=$SKYPILOT_NODE_RANK n=$SKYPILOT_NUM_NODES gpus=$SKYPILOT_NUM_GPUS_PER_NODE"\n'
                 'echo "ips=$(echo "$SKYPILOT_NODE_IPS" | tr "\\n" ,)"\necho "task=$SKYPILOT_TASK_ID"',
                 name="pair")
    assert job.wait(120) is JobStatus.SUCCEEDED
    log = job.logs()
    head = re.search(r"^\(head, rank=0, pid=(\d+)\) rank=0 n=2 gpus=2$", log, re.M)
    worker = re.search(r"^\(worker1, rank=1, pid=(\d+), ip=127\.0\.0\.1\) rank=1 n=2 gpus=2$", log, re.M)
    assert head and worker, log
    assert log.count("ips=127.0.0.1,127.0.0.1,") == 2
    assert f"_{job.cluster}_{job.id}" in log
    assert job.exit_codes == {0: 0, 1: 0}
    assert job.started and job.ended >= job.started and job.error is None
    assert sorted(job.row()["node_pgids"]) == sorted(int(m.group(1)) for m in (head, worker))


def test_single_node_prefix_uses_task_name_and_envs_apply():
    job = launch(SkyExecutor(env_vars={"GREETING": "hi"}), "echo $GREETING $EXTRA", name="greet",
                 env={"EXTRA": "there"})
    assert job.wait(120) is JobStatus.SUCCEEDED
    assert re.fullmatch(r"\(greet, pid=\d+\) hi there\n", job.logs())


def test_setup_failure_gives_failed_setup_and_run_never_starts(tmp_path):
    marker = tmp_path / "ran"
    job = launch(SkyExecutor(setup="echo preparing; exit 4"), f"touch {marker}", name="s")
    assert job.wait(120) is JobStatus.FAILED_SETUP
    assert not marker.exists()
    assert re.search(r"^\(setup pid=\d+\) preparing$", job.logs(), re.M)
    assert "setup exited with code 4" in job.error


def test_setup_then_run_in_work_dir():
    job = launch(SkyExecutor(setup="echo built > artefact"), "cat artefact; pwd", name="sr")
    assert job.wait(120) is JobStatus.SUCCEEDED
    lines = job.tail(2)
    assert lines[0].endswith(") built") and lines[1].endswith(str(job.job_dir / "work"))


def test_nonzero_exit_fails_with_exit_codes():
    job = launch(SkyExecutor(num_nodes=2), "sleep $SKYPILOT_NODE_RANK; exit $((SKYPILOT_NODE_RANK * 3))", name="bad")
    assert job.wait(120) is JobStatus.FAILED
    assert job.exit_codes == {0: 0, 1: 3}
    assert job.error == "node rank 1 exited with code 3"
    assert "ERROR: Job" in job.logs()


def test_one_failing_node_stops_the_others():
    job = launch(SkyExecutor(num_nodes=2), '[ "$SKYPILOT_NODE_RANK" = 1 ] && exit 2; sleep 300', name="stop")
    assert job.wait(120) is JobStatus.FAILED
    assert job.exit_codes == {0: -15, 1: 2}
    assert job.error == "node rank 1 exited with code 2"


def test_cancel_mid_run_ends_cancelled_without_orphans():
    job = launch(SkyExecutor(num_nodes=2), "sleep 300 &\necho started\nsleep 300", name="long")
    wait_for(lambda: job.logs().count("started") == 2)
    pgids = job.row()["node_pgids"]
    assert len(pgids) == 2 and not groups_gone(pgids)
    t0 = time.monotonic()
    assert job.cancel()
    assert job.wait(120) is JobStatus.CANCELLED
    assert time.monotonic() - t0 < 5
    wait_for(lambda: groups_gone(pgids), timeout=5)
    assert not job.cancel()  # already ended


def test_cancel_respects_sigterm_handlers_then_kills():
    from skyexec_nb.engine.jobs.settings import get_settings

    get_settings().cancel_grace = 0.5  # recorded in launch_options, so the supervisor uses it
    job = launch(SkyExecutor(), "trap 'echo got-term' TERM\necho ready\nwhile true; do sleep 0.1; done",
                 name="stubborn")
    wait_for(lambda: "ready" in job.logs())
    pgids = job.row()["node_pgids"]
    t0 = time.monotonic()
    job.cancel()
    assert job.wait(120) is JobStatus.CANCELLED
    assert time.monotonic() - t0 < 3
    wait_for(lambda: groups_gone(pgids), timeout=5)
    assert "got-term" in job.logs()


def test_kill_9_of_a_node_fails_the_job_with_minus_9():
    job = launch(SkyExecutor(num_nodes=2), "echo up; sleep 300", name="k9")
    wait_for(lambda: job.logs().count("up") == 2)
    pgids = job.row()["node_pgids"]
    os.kill(max(pgids), signal.SIGKILL)  # the worker's bash
    assert job.wait(120) is JobStatus.FAILED
    codes = job.exit_codes
    assert -9 in codes.values(), codes
    assert "killed by signal 9" in job.error
    wait_for(lambda: groups_gone(pgids), timeout=10)


def test_bad_executor_input_raises_before_anything_is_recorded():
    from skyexec_nb.model.errors import FieldError

    ex = SkyExecutor(file_mounts={"/data": "/definitely/missing"})
    with pytest.raises(FieldError):
        launch(ex, "echo")
    with pytest.raises(FieldError, match="Invalid env"):
        launch(SkyExecutor(), "echo", env={"1BAD": "x"})
    with pytest.raises(FieldError, match="Invalid name"):
        launch(SkyExecutor(), "echo", name="a___b")
    with pytest.raises(FieldError, match="Invalid backend"):
        launch(SkyExecutor(), "echo", backend="slurm")
    assert get_registry().rows() == []
    from skyexec_nb.engine.jobs.monitor import get_monitor

    assert get_monitor().children == {}


def test_dryrun_records_and_starts_nothing():
    plan = launch(SkyExecutor(num_nodes=2), "python train.py", dryrun=True)
    assert re.fullmatch(r"train-[0-9a-f]{4}", plan.name) and plan.backend == "local"  # see default_name
    assert plan.config["num_nodes"] == 2 and "run: python train.py" in plan.yaml
    assert "text/html" in plan._repr_mimebundle_() and "Plan" in repr(plan)
    assert get_registry().rows() == []


def test_workdir_copied_and_file_mounts_linked(tmp_path):
    src = tmp_path / "proj"
    src.mkdir()
    (src / "main.sh").write_text("echo from-workdir\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.txt").write_text("mounted\n")
    ex = SkyExecutor(file_mounts={"/data": str(data)})
    ex.workdir = str(src)
    job = launch(ex, "bash main.sh; cat $SKYEXEC_NB_MOUNTS/data/x.txt; touch new", name="wd")
    assert job.wait(120) is JobStatus.SUCCEEDED, job.logs()
    assert [ln.split(") ", 1)[1] for ln in job.tail(2)] == ["from-workdir", "mounted"]
    assert not (src / "new").exists() and (job.job_dir / "work" / "new").exists()
    assert (job.job_dir / "mounts" / "data").resolve() == data.resolve()


def test_cloud_mount_refused_at_launch():
    from skyexec_nb.model.errors import FieldError

    with pytest.raises(FieldError, match="file_mounts"):
        launch(SkyExecutor(file_mounts={"/data": "s3://bucket/x"}), "echo")
    assert get_registry().rows() == []


def test_200000_lines_lose_none():
    job = launch(SkyExecutor(), "seq 1 200000", name="many")
    assert job.wait(60) is JobStatus.SUCCEEDED
    lines = job.logs().splitlines()
    assert len(lines) == 200000
    assert [int(ln.rsplit(" ", 1)[1]) for ln in lines] == list(range(1, 200001))
    assert len(list(job.follow())) == 200000


def test_twenty_jobs_at_once_all_succeed():
    jobs = [launch(SkyExecutor(num_nodes=1 + i % 2), f"echo job {i}", name=f"j{i}") for i in range(20)]
    assert [j.wait(60) for j in jobs] == [JobStatus.SUCCEEDED] * 20
    for i, job in enumerate(jobs):
        assert job.logs().count(f"job {i}") == 1 + i % 2


def test_follow_yields_lines_until_done():
    job = launch(SkyExecutor(), "for i in 1 2 3; do echo line $i; sleep 0.1; done", name="f")
    assert [ln.split(") ", 1)[1] for ln in job.follow()] == ["line 1", "line 2", "line 3"]
    assert job.done()


def test_on_change_callbacks_and_failing_callback_does_not_kill_monitor():
    seen: list[JobStatus] = []
    job = launch(SkyExecutor(), "sleep 0.3", name="cb")

    def boom(_job: Job) -> None:
        raise RuntimeError("view bug")

    unsubscribe_boom = job.on_change(boom)
    job.on_change(lambda j: seen.append(j.status))
    assert job.wait(120) is JobStatus.SUCCEEDED
    wait_for(lambda: JobStatus.SUCCEEDED in seen)
    unsubscribe_boom()
    assert launch(SkyExecutor(), "true").wait(120) is JobStatus.SUCCEEDED  # monitor still alive


def test_wait_timeout_raises_and_repr():
    job = launch(SkyExecutor(), "sleep 30", name="slow")
    with pytest.raises(TimeoutError):
        job.wait(0.2)
    assert re.fullmatch(rf"<Job {job.id} 'slow' local (INIT|PENDING|SETTING_UP|RUNNING) \d+\.\ds>", repr(job))
    assert job.cancel() and job.wait(120) is JobStatus.CANCELLED
    bundle = job._repr_mimebundle_()
    assert bundle["text/plain"].startswith(f"<Job {job.id} 'slow' local CANCELLED")


def test_cancel_before_supervisor_starts():
    job = launch(SkyExecutor(), "echo should-not-run", name="early")
    job.cancel()
    assert job.wait(120) is JobStatus.CANCELLED
    time.sleep(0.5)
    assert "should-not-run" not in job.logs()


def test_dead_supervisor_fails_job_and_kills_nodes():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="orphaned")
    wait_for(lambda: "up" in job.logs())
    pgids = job.row()["node_pgids"]
    os.kill(job.row()["supervisor_pid"], signal.SIGKILL)
    assert job.wait(120) is JobStatus.FAILED
    assert job.error.startswith("supervisor died")
    wait_for(lambda: groups_gone(pgids), timeout=10)


def test_supervisor_dying_on_a_cancel_ends_the_job_cancelled():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="cancel-then-die")
    wait_for(lambda: "up" in job.logs())
    pgids = job.row()["node_pgids"]
    supervisor = job.row()["supervisor_pid"]
    os.kill(supervisor, signal.SIGSTOP)  # it cannot act on the cancel ...
    try:
        assert job.cancel()
        assert job.extra.get("cancel_requested")
    finally:
        os.kill(supervisor, signal.SIGKILL)  # ... and dies without ending the job
    assert job.wait(120) is JobStatus.CANCELLED
    assert job.error is None
    wait_for(lambda: groups_gone(pgids), timeout=10)


def test_down_is_a_message_for_local():
    job = launch(SkyExecutor(), "true", name="d")
    job.wait(120)
    assert "no cluster" in job.down()
