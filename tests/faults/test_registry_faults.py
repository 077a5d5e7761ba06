"""The registry file under faults: lost, emptied, corrupt, read-only, locked, full, unreachable.

Real SQLite, real supervisor processes (local backend), real files removed or overwritten. What
must hold: a job id, its directory and its log belong to one job forever; a registry that is
missing or empty is recreated silently, a corrupt one is moved aside with one line saying so; a
registry that cannot be used gives one line naming the file and what to do.
"""
from __future__ import annotations

import os
import sqlite3
import warnings
from pathlib import Path

import pytest

from local_helpers import wait_for
from skyexec_nb.engine.jobs.launcher import jobs, launch
from skyexec_nb.engine.jobs.procs import pid_alive
from skyexec_nb.engine.jobs.registry import Registry, RegistryError, RegistryWarning, get_registry
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor

# A local job is two short processes; 60 s covers a loaded 2-core machine many times over.
JOB_TIMEOUT = 60


def _run(text: str):
    """Launch ``echo text`` on the local backend; wait for it to succeed and its supervisor to end
    (the fault then hits a registry no job process has open, as between two cells)."""
    job = launch(SkyExecutor(), f"echo {text}", name="echo", backend="local")
    assert job.wait(JOB_TIMEOUT) is JobStatus.SUCCEEDED, job.error
    pid = job.row()["supervisor_pid"]
    wait_for(lambda: not pid_alive(pid), timeout=JOB_TIMEOUT)
    return job


def _assert_fresh(first, second) -> None:
    """Two jobs share nothing: ids, directories, logs; the first log is untouched."""
    assert second.id != first.id
    assert second.job_dir != first.job_dir and second.log_path != first.log_path
    assert second.id > first.id  # ids continue past the directories that exist
    first_log = Path(first.log_path).read_text()
    assert "first" in first_log and "second" not in first_log
    assert "second" in second.logs() and "first" not in second.logs()


def _one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message


def _corrupt_files(state: Path) -> list[Path]:
    return sorted(p for p in state.iterdir() if ".corrupt-" in p.name)


def test_deleted_registry_is_recreated_silently_and_ids_never_reuse_a_directory():
    first = _run("first")
    db = get_registry().path
    for suffix in ("", "-wal", "-shm"):  # as `rm jobs.db*` would
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegistryWarning)  # silent: no warning
        second = _run("second")
    _assert_fresh(first, second)
    assert [j.id for j in jobs()] == [second.id]
    assert get_registry().notice is None and not _corrupt_files(db.parent)


def test_registry_deleted_alone_leaves_no_stale_wal_behind():
    first = _run("first")
    db = get_registry().path
    db.unlink()  # -wal/-shm of the lost file stay behind; they must not leak into the new one
    second = _run("second")
    _assert_fresh(first, second)
    assert [j.id for j in jobs()] == [second.id]
    # a new process reading the registry sees the same single job, intact
    fresh = Registry(db)
    assert [r["id"] for r in fresh.rows()] == [second.id]
    fresh.close()


def test_registry_emptied_to_zero_bytes_is_recreated_silently():
    first = _run("first")
    db = get_registry().path
    db.write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegistryWarning)
        second = _run("second")
    _assert_fresh(first, second)
    assert [j.id for j in jobs()] == [second.id]
    assert not _corrupt_files(db.parent)


def test_corrupt_registry_is_moved_aside_with_one_warning_line():
    first = _run("first")
    db = get_registry().path
    db.write_bytes(b"this is not a database\n" * 500)
    with pytest.warns(RegistryWarning) as caught:
        second = _run("second")
    assert len(caught) == 1
    message = str(caught[0].message)
    _one_line(message)
    aside = _corrupt_files(db.parent)
    main_aside = [p for p in aside if not p.name.endswith(("-wal", "-shm"))]
    assert len(main_aside) == 1 and main_aside[0].read_bytes().startswith(b"this is not a database")
    assert str(db) in message and main_aside[0].name in message
    assert get_registry().notice == message
    _assert_fresh(first, second)
    assert [j.id for j in jobs()] == [second.id]


def test_corrupt_registry_found_at_open_by_a_new_process(tmp_path):
    db = tmp_path / "state" / "jobs.db"
    db.parent.mkdir()
    db.write_bytes(os.urandom(8192))
    with pytest.warns(RegistryWarning, match=r"moved it aside to jobs\.db\.corrupt-"):
        reg = Registry(db)
    _one_line(reg.notice)
    job_id = reg.insert(name="t", backend="local", status=JobStatus.INIT, claim_dir=True)
    assert reg.get(job_id)["name"] == "t" and (db.parent / "jobs" / str(job_id)).is_dir()
    reg.close()


def test_ids_continue_past_directories_of_a_lost_registry(tmp_path):
    state = tmp_path / "state"
    for taken in ("1", "2", "7", "notanid"):
        (state / "jobs" / taken).mkdir(parents=True)
    (state / "jobs" / "7" / "run.log").write_text("job 7 of a lost registry\n")
    reg = Registry(state / "jobs.db")
    ids = [reg.insert(name=f"j{i}", backend="local", status=JobStatus.INIT, claim_dir=True) for i in range(3)]
    assert ids == [8, 9, 10]
    assert (state / "jobs" / "7" / "run.log").read_text() == "job 7 of a lost registry\n"
    # a directory made behind the registry's back (another registry file) is skipped as well
    (state / "jobs" / "11").mkdir()
    assert reg.insert(name="late", backend="local", status=JobStatus.INIT, claim_dir=True) == 12
    reg.close()


def test_unreachable_state_dir_is_one_line_naming_it(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SKYEXEC_NB_HOME", str(blocker / "state"))
    from skyexec_nb.engine.jobs import settings

    settings.reset()
    with pytest.raises(RegistryError) as info:
        launch(SkyExecutor(), "echo hi", backend="local")
    message = str(info.value)
    _one_line(message)
    assert str(blocker / "state" / "jobs.db") in message and "SKYEXEC_NB_HOME" in message
    assert info.value._render_traceback_() == [f"RegistryError: {message}"]  # what IPython shows


def test_read_only_registry_is_one_line_naming_it(tmp_path):
    db = tmp_path / "jobs.db"
    Registry(db).close()
    reg = Registry(db)
    # the registry's own connection, reopened read-only: every write is refused by SQLite itself
    handle = reg._file.open()
    handle.conn.close()
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    ro.row_factory = sqlite3.Row
    handle.conn = ro
    reg._local.handle = handle
    with pytest.raises(RegistryError) as info:
        reg.insert(name="t", backend="local", status=JobStatus.INIT)
    message = str(info.value)
    _one_line(message)
    assert message.startswith(f"Cannot write the job registry {db}: attempt to write a readonly database")
    assert "permissions" in message and "SKYEXEC_NB_HOME" in message
    assert reg.rows() == []  # reading still works


def test_locked_registry_past_the_busy_timeout_is_one_line(tmp_path):
    db = tmp_path / "jobs.db"
    reg = Registry(db, busy_timeout=0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in a long write transaction
    try:
        with pytest.raises(RegistryError) as info:
            reg.insert(name="t", backend="local", status=JobStatus.INIT)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(info.value)
    _one_line(message)
    assert f"{db}: database is locked" in message and "another process" in message
    assert reg.insert(name="t", backend="local", status=JobStatus.INIT) == 1  # usable once free
    reg.close()


def test_full_disk_is_one_line_and_nothing_half_written(tmp_path):
    db = tmp_path / "jobs.db"
    reg = Registry(db)
    pages = reg._connect().execute("PRAGMA page_count").fetchone()[0]
    reg._connect().execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
    with pytest.raises(RegistryError) as info:
        reg.insert(name="t", backend="local", status=JobStatus.INIT, config={"run": "x" * 100_000},
                   claim_dir=True)
    message = str(info.value)
    _one_line(message)
    assert "database or disk is full" in message and "free space" in message
    assert not (tmp_path / "jobs" / "1").exists()  # the directory claimed with the row is gone too
    reg.close()


def test_huge_ids_are_simply_not_found():
    registry = get_registry()
    assert registry.get(10**30) is None and registry.get(-1) is None and registry.get(0) is None
    assert get_settings().state_path == registry.path.parent


def test_a_cell_shows_a_registry_error_as_one_line(tmp_path, monkeypatch, capsys):
    """In a notebook cell (a real IPython shell), an unusable registry is one line, no traceback."""
    import atexit

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from skyexec_nb.engine.jobs import settings

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SKYEXEC_NB_HOME", str(blocker / "state"))
    settings.reset()
    monkeypatch.chdir(tmp_path)
    if InteractiveShell.initialized():
        atexit.unregister(InteractiveShell.instance().atexit_operations)
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    try:
        ip.run_line_magic("load_ext", "skyexec_nb")
        capsys.readouterr()
        for cell in ("%%skylaunch --backend local\necho hi\n", "%skystatus", "import skyexec_nb\nskyexec_nb.jobs()"):
            result = ip.run_cell(cell)
            assert isinstance(result.error_in_exec, RegistryError), cell
            shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
            assert len(shown) == 1 and shown[0].startswith("RegistryError: Cannot create the directory of"), shown
    finally:
        atexit.unregister(ip.atexit_operations)
        InteractiveShell.clear_instance()


def test_recovery_by_another_process_is_told_here_too(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "jobs.db"
    reg = Registry(db)
    reg.insert(name="old", backend="local", status=JobStatus.INIT, claim_dir=True)
    db.write_bytes(b"garbage" * 1000)
    other = subprocess.run([sys.executable, "-c", "import sys; from skyexec_nb.engine.jobs.registry import "
                            "Registry; Registry(sys.argv[1]).close()", str(db)],
                           capture_output=True, text=True, timeout=JOB_TIMEOUT)
    assert other.returncode == 0 and "RegistryWarning" in other.stderr, other.stderr
    with pytest.warns(RegistryWarning, match="found unreadable by another process") as caught:
        assert reg.rows() == []  # the new, empty registry the other process made
    assert len(caught) == 1 and reg.notice == str(caught[0].message)
    _one_line(reg.notice)
    assert reg.insert(name="new", backend="local", status=JobStatus.INIT, claim_dir=True) == 2
    reg.close()
