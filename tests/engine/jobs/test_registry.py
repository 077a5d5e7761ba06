"""The SQLite registry: rows, JSON columns, transitions (terminal is final), concurrency."""
from __future__ import annotations

import threading

import pytest

from skyexec_nb.engine.jobs.registry import COLUMNS, Registry, get_registry
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus


@pytest.fixture
def reg(tmp_path) -> Registry:
    return Registry(tmp_path / "jobs.db")


def _new(reg: Registry, **kw) -> int:
    return reg.insert(name=kw.pop("name", "t"), backend="local", status=JobStatus.INIT, **kw)


def test_insert_get_roundtrip_with_json_columns(reg):
    job_id = reg.insert(lambda i: {"app_id": f"a___c___t___{i}"}, name="t", backend="local",
                        status="INIT", config={"run": "echo"}, exit_codes={}, node_pgids=[])
    row = reg.get(job_id)
    assert set(row) == set(COLUMNS)
    assert row["status"] is JobStatus.INIT and row["config"] == {"run": "echo"}
    assert row["app_id"] == f"a___c___t___{job_id}" and row["extra"] == {}
    assert row["created"] <= row["updated"]
    assert reg.get(job_id + 100) is None


def test_ids_increase_and_rows_oldest_first(reg):
    ids = [_new(reg, name=f"j{i}") for i in range(3)]
    assert ids == sorted(ids) and [r["id"] for r in reg.rows()] == ids
    assert reg.last()["id"] == ids[-1]
    assert reg.find("j1")["id"] == ids[1] and reg.find("nope") is None


def test_status_stamps_times_and_terminal_is_final(reg):
    job_id = _new(reg)
    assert reg.set_status(job_id, JobStatus.RUNNING)
    started = reg.get(job_id)["started"]
    assert started is not None and reg.get(job_id)["ended"] is None
    assert reg.set_status(job_id, JobStatus.FAILED, exit_codes={"0": 3}, error="node rank 0 exited with code 3")
    row = reg.get(job_id)
    assert row["ended"] >= started and row["exit_codes"] == {0: 3}
    assert not reg.set_status(job_id, JobStatus.SUCCEEDED)
    assert not reg.set_status(job_id, JobStatus.RUNNING)
    assert reg.get(job_id)["status"] is JobStatus.FAILED
    assert reg.active() == []


def test_update_merges_extra(reg):
    job_id = _new(reg)
    reg.update(job_id, request_id="r1", extra={"cost": 1.5})
    reg.update(job_id, endpoints={"8888": "http://x"}, supervisor_pid=42)
    row = reg.get(job_id)
    assert row["extra"] == {"request_id": "r1", "cost": 1.5, "endpoints": {"8888": "http://x"}}
    assert row["supervisor_pid"] == 42


def test_versions_change_on_write(reg):
    job_id = _new(reg)
    before = reg.versions([job_id])[job_id]
    reg.update(job_id, note="x")
    assert reg.versions([job_id])[job_id] != before
    assert reg.versions([]) == {}


def test_many_threads_write_concurrently(reg):
    ids = [_new(reg) for _ in range(4)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                reg.update(ids[n % 4], **{f"k{n}": i})
                reg.get(ids[n % 4])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(reg.get(ids[n % 4])["extra"][f"k{n}"] == 49 for n in range(16))


def test_get_registry_follows_state_dir(isolated_home):
    reg = get_registry()
    assert reg.path == get_settings().state_path / "jobs.db"
    assert str(reg.path).startswith(str(isolated_home))
    assert reg.path.parent.exists()
    assert reg._connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_claim_dir_makes_the_directory_with_the_row(reg, tmp_path):
    job_id = reg.insert(name="t", backend="local", status=JobStatus.INIT, claim_dir=True)
    assert (tmp_path / "jobs" / str(job_id)).is_dir() and reg.jobs_dir == tmp_path / "jobs"
    assert reg.notice is None


def test_a_failed_write_inside_an_outer_transaction_is_undone_whole(reg, tmp_path):
    def boom(job_id):
        raise RuntimeError("derive failed")

    conn = reg._connect()
    conn.execute("BEGIN IMMEDIATE")  # as a sweep's one_transaction does
    kept = _new(reg, name="kept")
    with pytest.raises(RuntimeError):
        reg.insert(boom, name="lost", backend="local", status=JobStatus.INIT, claim_dir=True)
    conn.execute("COMMIT")
    assert [r["name"] for r in reg.rows()] == ["kept"] and reg.get(kept) is not None
    assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())


def test_reopened_after_close_and_ids_outside_sqlite_range_are_absent(reg):
    job_id = _new(reg)
    reg.close()
    assert reg.get(job_id)["id"] == job_id
    assert reg.get(2**63) is None and reg.get(10**30) is None and reg.get(0) is None
