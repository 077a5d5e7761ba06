"""Logs under faults, with real jobs: a 50 MB line, a log deleted or truncated while the job runs.

Timings are not asserted here (see ``bench/log_lines.py``); these tests assert what a user
reads: the whole line intact, and a one-line notice instead of silence.
"""
from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from local_helpers import wait_for
from skyexec_nb.engine.jobs import logfile
from skyexec_nb.engine.jobs.launcher import launch
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.model.executor import SkyExecutor

TIMEOUT = 90  # seconds: a supervisor start, a bash process and 50 MB through a pipe, on a loaded box
BIG = 50 * 1024 * 1024


def following(job) -> tuple[list[str], threading.Thread]:
    """Follow the job's log in a thread; returns the lines so far (growing) and the thread."""
    lines: list[str] = []
    thread = threading.Thread(target=lambda: lines.extend(job.follow(poll=0.02)), daemon=True)
    thread.start()
    return lines, thread


def gated(go, before: str, after: str) -> str:
    """A job script printing ``before``, waiting for the file ``go``, then printing ``after``."""
    return f"echo {before}\nwhile [ ! -e {go} ]; do sleep 0.05; done\necho {after}"


def test_a_50mb_single_line_comes_back_whole():
    script = f"{sys.executable} -c \"import sys; sys.stdout.write('x' * {BIG})\"\necho\necho done"
    job = launch(SkyExecutor(), script, name="big")
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED, job.error
    last, done = job.tail(2)
    prefix = "(big, pid="
    assert last.startswith(prefix) and last.endswith(") " + "x" * BIG)  # one line, not one byte lost
    assert len(last) - last.index(") ") - 2 == BIG
    assert done.startswith(prefix) and done.endswith(") done")
    assert job.logs().count("\n") == 2
    shown = logfile.cap_line(last)  # what a view shows of it
    assert len(shown) < 10_100 and shown.endswith("more characters; full line in the log file]")


def test_log_deleted_while_the_job_runs_is_said_and_later_output_is_kept(tmp_path):
    go = tmp_path / "go"
    job = launch(SkyExecutor(), gated(go, "first", "second"), name="del")
    lines, reader = following(job)
    try:
        wait_for(lambda: any(line.endswith(") first") for line in lines), timeout=TIMEOUT)
        job.log_path.unlink()
        wait_for(lambda: logfile.deleted_notice(job.log_path) in lines, timeout=TIMEOUT)
    finally:
        go.touch()
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    reader.join(TIMEOUT)
    notice = lines.index(logfile.deleted_notice(job.log_path))
    assert lines[notice + 1].startswith("skyexec_nb: the earlier log file of this job was deleted")
    assert lines[notice + 2].endswith(") second")
    kept = job.logs().splitlines()  # the new file at the same path keeps what came after
    assert kept[0].startswith("skyexec_nb: the earlier log file") and kept[1].endswith(") second")


def test_log_truncated_while_followed_is_said(tmp_path):
    go = tmp_path / "go"
    job = launch(SkyExecutor(), gated(go, "old", "new"), name="trunc")
    lines, reader = following(job)
    try:
        wait_for(lambda: any(line.endswith(") old") for line in lines), timeout=TIMEOUT)
        os.truncate(job.log_path, 0)
        wait_for(lambda: logfile.truncated_notice(job.log_path) in lines, timeout=TIMEOUT)
    finally:
        go.touch()
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    reader.join(TIMEOUT)
    notice = lines.index(logfile.truncated_notice(job.log_path))
    assert [line.split(") ", 1)[-1] for line in lines[notice + 1:]] == ["new"]


def test_a_deleted_log_of_an_ended_job_gives_a_notice_not_silence(capsys):
    job = launch(SkyExecutor(), "echo hello", name="gone")
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    job.log_path.unlink()
    notice = logfile.missing_notice(job.log_path)
    assert job.logs() == notice + "\n"
    assert job.tail() == [notice] and job.tail(0) == []
    assert list(job.follow()) == [notice] and list(job.follow(last=5)) == [notice]
    shell = _shell()
    try:
        shell.run_line_magic("skylogs", str(job.id))
        shell.run_line_magic("skystatus", str(job.id))
    finally:
        _drop_shell()
    out = capsys.readouterr().out
    assert notice in out and "(deleted: its output is not kept)" in out


def test_a_job_not_started_yet_has_no_log_and_no_notice(tmp_path):
    go = tmp_path / "go"
    result = sweep(SkyExecutor(), f"while [ ! -e {go} ]; do sleep 0.05; done", {"I": [1, 2]}, max_parallel=1)
    first, second = result.jobs
    try:
        wait_for(lambda: first.status is JobStatus.RUNNING, timeout=TIMEOUT)
        assert not second.log_path.exists()  # waiting for its slot: nothing written yet
        assert second.logs() == "" and second.tail() == []
    finally:
        go.touch()
    assert result.wait(TIMEOUT) == {"SUCCEEDED": 2}


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    _drop_shell()
    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=cfg)
    shell.run_line_magic("load_ext", "skyexec_nb")
    return shell


def _drop_shell() -> None:
    import atexit

    from IPython.core.interactiveshell import InteractiveShell

    if InteractiveShell.initialized():
        atexit.unregister(InteractiveShell.instance().atexit_operations)
    InteractiveShell.clear_instance()


@pytest.mark.slow
def test_writer_keeps_output_of_a_busy_job_after_its_log_is_deleted(tmp_path):
    """A job writing all the time: from the deletion on, every line lands in the new file, in order."""
    stop = tmp_path / "stop"
    script = f"i=0; while [ ! -e {stop} ]; do i=$((i+1)); echo tick $i; sleep 0.01; done; echo end"
    job = launch(SkyExecutor(), script, name="busy")
    try:
        wait_for(lambda: job.log_path.exists() and b"tick 5\n" in job.log_path.read_bytes(), timeout=TIMEOUT)
        job.log_path.unlink()
        wait_for(lambda: job.log_path.exists() and b"tick" in job.log_path.read_bytes(), timeout=TIMEOUT)
        time.sleep(0.2)  # let a few more ticks land in the new file
    finally:
        stop.touch()
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    kept = job.logs().splitlines()
    assert kept[0].startswith("skyexec_nb: the earlier log file of this job was deleted")
    ticks = [int(line.rsplit(" ", 1)[1]) for line in kept[1:-1]]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))  # in order, none missing from then on
    assert kept[-1].endswith(") end")
