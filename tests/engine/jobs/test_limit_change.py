"""Changing a job's limits while it runs (``Job.set_limits`` / ``limit_change``): the supervisor
takes the change at its next tick and says so in the log.

The running-job tests use real local ``sleep`` jobs and their supervisors, waiting on conditions
with generous bounds. The 80 % warning after a raised cost limit is checked on ``LimitWatch``
itself with a given clock (``tick(row, now)``), so no test waits for dollars to add up.
"""
from __future__ import annotations

import time

import pytest

from local_helpers import groups_gone, wait_for
from skyexec_nb.engine.jobs.launcher import launch
from skyexec_nb.engine.jobs.limit_change import LimitChangeRefused, change_limits, describe
from skyexec_nb.engine.jobs.limit_watch import LimitWatch
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.spend import Limits
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.jobs.supervisor import build_context
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor

END = 120  # seconds: a job's end on a loaded 2-core machine (a supervisor starts in about a second)


def _running(job) -> None:
    wait_for(lambda: job.status is JobStatus.RUNNING and "up" in job.logs(), timeout=END)


def _ended(job) -> JobStatus:
    status = job.wait(END)
    wait_for(lambda: groups_gone(job.row()["node_pgids"]), timeout=30)
    return status


def test_a_time_limit_set_on_a_running_job_without_limits_stops_it():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="open-ended", backend="local")
    _running(job)
    assert job.set_limits(timeout="1s") == f"job {job.id} (open-ended): time limit none -> 1s"
    assert _ended(job) is JobStatus.CANCELLED
    row, log = job.row(), job.logs()
    assert row["extra"]["limit"]["kind"] == "timeout" and row["error"].startswith("time limit 1s reached (ran ")
    assert "skyexec_nb: limits changed: time limit none -> 1s\n" in log
    assert log.index("limits changed") < log.index("time limit 1s reached")


def test_more_time_for_a_running_job_and_off_removes_the_limit():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="needs-more", backend="local",
                 limits=Limits(timeout=3600))
    _running(job)
    assert job.set_limits(timeout="2h") == f"job {job.id} (needs-more): time limit 1h -> 2h"
    wait_for(lambda: "limits changed: time limit 1h -> 2h" in job.logs(), timeout=END)
    assert job.limits.timeout == 7200 and job.status is JobStatus.RUNNING
    assert job.set_limits(timeout="off") == f"job {job.id} (needs-more): time limit 2h -> none"
    wait_for(lambda: "limits changed: time limit 2h -> none" in job.logs(), timeout=END)
    assert job.limits == Limits() and describe(job.limits) == "no limits"
    assert job.set_limits(timeout="off").endswith("limits unchanged: no limits")
    job.cancel()
    assert _ended(job) is JobStatus.CANCELLED and "limit" not in job.row()["extra"]


def test_bad_values_and_ended_jobs_change_nothing():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="guarded", backend="local", limits=Limits(timeout=3600))
    before = job.row()["launch_options"]
    for kw, message in [({"timeout": "-1h"}, r"^Invalid timeout: a duration like"),
                        ({"timeout": ""}, r"^Invalid timeout: a value like 3h or 90m, or 'off' to remove it"),
                        ({"max_cost": "lots"}, r"^Invalid max_cost: dollars"),
                        ({"max_cost": 50}, r"^Invalid max_cost: a limit on a job whose hourly price is known")]:
        with pytest.raises(FieldError, match=message):
            job.set_limits(**kw)
        assert job.row()["launch_options"] == before
    job.cancel()
    _ended(job)
    with pytest.raises(LimitChangeRefused, match=r"^Job \d+ has ended \(CANCELLED\): its limits no longer apply$"):
        job.set_limits(timeout="2h")
    with pytest.raises(LimitChangeRefused, match=r"^No job 999999 in the registry$"):
        change_limits(get_registry(), 999999, timeout="2h")


def test_work_launched_elsewhere_takes_no_limits(record_row):
    job_id = record_row(started=time.time(), limits=Limits(), backend="attached")
    with pytest.raises(LimitChangeRefused, match=r"^Job \d+ was launched elsewhere \(watched here\): limits apply only"):
        change_limits(get_registry(), job_id, timeout="1s")
    assert get_registry().get(job_id)["launch_options"] == {"limits": {}}


def test_a_cost_limit_with_a_price_given_later_is_recorded_with_it():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="priced-later", backend="local")
    line = job.set_limits(max_cost=40, hourly=3.0, price_note="aws m5.large x 1 (a test price)")
    assert line == f"job {job.id} (priced-later): cost limit none -> $40.00"
    assert job.limits == Limits(max_cost=40.0, hourly=3.0, price_note="aws m5.large x 1 (a test price)")
    job.cancel()
    _ended(job)


def _watch(registry, job_id: int) -> tuple[LimitWatch, object]:
    row = registry.get(job_id)
    ctx = build_context(registry, row)
    watch = LimitWatch(ctx, "local")
    watch.running = True
    return watch, ctx


def test_raising_a_cost_limit_after_its_warning_clears_it_and_warns_again_at_the_new_80_percent(record_row):
    registry = get_registry()
    t0 = time.time()
    job_id = record_row(started=t0, limits=Limits(max_cost=10, hourly=3600.0, price_note="$1 a second"))
    watch, ctx = _watch(registry, job_id)
    assert watch.tick(registry.get(job_id), t0 + 8.5) is False  # $8.50: 80 % of $10
    assert registry.get(job_id)["extra"]["limit_warning"]["kind"] == "cost"
    change_limits(registry, job_id, max_cost=100)
    assert watch.tick(registry.get(job_id), t0 + 11) is False  # past the old limit: goes on
    row = registry.get(job_id)
    assert row["extra"]["limit_warning"] is None and "limit" not in row["extra"]
    assert watch.tick(registry.get(job_id), t0 + 81) is False  # $81: 80 % of the new $100
    assert registry.get(job_id)["extra"]["limit_warning"]["text"].startswith("80% of the $100.00 cost limit used")
    assert watch.tick(registry.get(job_id), t0 + 100) is True and ctx.cancelled.is_set()
    ctx.log.close()
    log = open(row["log_path"]).read()
    assert log.count("80% of the $10.00 cost limit used") == 1
    assert "skyexec_nb: limits changed: cost limit $10.00 -> $100.00\n" in log
    assert "cost limit $100.00 reached" in log


@pytest.fixture
def record_row(tmp_path):
    """``record_row(started=, limits=)``: a RUNNING local job's row, written as a launch would (no process)."""
    def paths(job_id: int) -> dict:
        return {"cluster": f"skx-{job_id}", "job_dir": str(tmp_path / str(job_id)),
                "log_path": str(tmp_path / str(job_id) / "run.log")}

    def record(*, started: float, limits: Limits, backend: str = "local") -> int:
        return get_registry().insert(paths, name="watched", backend=backend,
                                     status=JobStatus.RUNNING, created=started, started=started,
                                     launch_options={"limits": limits.to_options()},
                                     config={"name": "watched", "run": "true", "num_nodes": 1})
    return record
