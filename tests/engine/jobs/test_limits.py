"""Spend limits recorded at launch and enforced by the job's supervisor, on the local backend with
real ``sleep`` jobs: a time limit, a cost limit (80 % warning, then the stop), a sweep group's
limit and the price of a multi-node job. Prices are passed in (``Limits(hourly=...)``), chosen so
a limit trips within seconds; every wait is on a condition with a generous bound."""
from __future__ import annotations

import math

import pytest

from local_helpers import groups_gone, wait_for
from skyexec_nb.engine.jobs.launcher import launch, launch_many
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.slots import group_env
from skyexec_nb.engine.jobs.spend import Limits, check_limits, group_cost, job_cost
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.model.spend_limits import MAX_TIMEOUT_S

#: Bound of a job's end: a supervisor starts in about a second; a loaded 2-core machine may take far longer.
END = 120


def _ended(job) -> JobStatus:
    status = job.wait(END)
    pgids = job.row()["node_pgids"]
    wait_for(lambda: groups_gone(pgids), timeout=30)  # the job's processes end with it
    return status


def test_a_time_limit_cancels_the_job_and_says_why():
    job = launch(SkyExecutor(), "echo up; sleep 300", name="slow", backend="local", limits=Limits(timeout=2))
    assert job.row()["launch_options"]["limits"] == {"timeout": 2.0}  # recorded at launch
    assert _ended(job) is JobStatus.CANCELLED
    row = job.row()
    limit = row["extra"]["limit"]
    assert limit["kind"] == "timeout" and row["error"] == limit["text"]
    assert limit["text"].startswith("time limit 2s reached (ran ") and limit["text"].endswith("): cancelling the job")
    assert limit["at"] - row["started"] >= 2  # counted from the supervisor's start: never early
    log = job.logs()
    assert "up" in log and f"skyexec_nb: {limit['text']}\n" in log
    assert "spend" not in row["extra"]  # no price: no cost to keep


def test_a_cost_limit_warns_at_80_percent_then_stops():
    hourly = 3600 * 2.0  # $2 a second: 80 % of $10 after 4 s, the stop after 5 s
    job = launch(SkyExecutor(), "echo up; sleep 300", name="pricey", backend="local",
                 limits=Limits(max_cost=10, hourly=hourly, price_note="a test price"))
    assert _ended(job) is JobStatus.CANCELLED
    row, log = job.row(), job.logs()
    warning, limit = row["extra"]["limit_warning"], row["extra"]["limit"]
    assert warning["kind"] == "cost" and limit["kind"] == "cost"
    assert warning["text"].startswith("80% of the $10.00 cost limit used ($")
    assert warning["text"].endswith(" so far, estimated from the catalog)")
    assert limit["text"].startswith("cost limit $10.00 reached ($") and row["error"] == limit["text"]
    assert log.count("skyexec_nb: 80% of the $10.00 cost limit used") == 1  # once
    assert log.index("skyexec_nb: 80% of the") < log.index("skyexec_nb: cost limit $10.00 reached")
    assert warning["at"] <= limit["at"]
    assert row["extra"]["spend"]["cost"] == pytest.approx(job_cost(row), abs=1e-6) and job_cost(row) >= 10


def test_a_sweep_group_limit_stops_every_member_and_queued_ones_never_run():
    hourly = 3600 * 2.0  # two members run at once: $4 a second together, $6 reached after 1.5 s
    items = [(f"member{i}", group_env("grp-limit", 2), {}) for i in range(3)]
    jobs = launch_many(SkyExecutor(), "echo ran-$SKYEXEC_NB_JOB_ID; sleep 300", items, backend="local", start=2,
                       limits=Limits(hourly=hourly, group_max_cost=6))
    assert all(_ended(job) is JobStatus.CANCELLED for job in jobs)
    rows = [job.row() for job in jobs]
    assert {r["launch_options"]["limits"]["group"] for r in rows} == {"grp-limit"}  # the sweep's group
    for row, job in zip(rows, jobs):
        assert row["extra"]["limit"]["kind"] == "sweep_cost"
        assert row["error"].startswith("sweep cost limit $6.00 reached ($"), row["error"]
        assert "skyexec_nb: sweep cost limit $6.00 reached" in job.logs()
    queued = rows[2]  # no slot was ever free: the limit ended it before it ran
    assert queued["started"] is None and queued["error"].endswith(": cancelled before it ran")
    assert "ran-" not in jobs[2].logs() and queued["supervisor_pid"] is None
    assert all(f"ran-{r['id']}" in job.logs() for r, job in zip(rows[:2], jobs[:2]))
    spent, members = group_cost(get_registry(), "grp-limit")
    assert members == 2 and spent >= 6 and spent == pytest.approx(sum(job_cost(r) for r in rows))


def test_hourly_is_the_price_of_all_the_nodes():
    """A 2-node job's ``hourly`` is already for both nodes (the catalog price x num_nodes): the cost
    is hourly x elapsed, not doubled again. At $4/s a $6 limit cannot stop it before 1.5 s."""
    hourly = 3600 * 4.0
    job = launch(SkyExecutor(num_nodes=2), "echo up; sleep 300", name="pair", backend="local",
                 limits=Limits(max_cost=6, hourly=hourly))
    wait_for(lambda: job.logs().count("up") == 2, timeout=END)  # both nodes ran
    assert _ended(job) is JobStatus.CANCELLED
    row = job.row()
    assert row["extra"]["limit"]["at"] - row["started"] >= 1.5
    assert job_cost(row) == pytest.approx(hourly * (row["ended"] - row["started"]) / 3600)


def test_a_cost_limit_without_a_price_is_refused_and_nothing_recorded():
    with pytest.raises(FieldError) as err:
        launch(SkyExecutor(), "sleep 1", backend="local",
               limits=Limits(max_cost=5, price_note="the local backend runs on this machine"))
    assert str(err.value) == ("Invalid max_cost: a limit on a job whose hourly price is known (no catalog price: "
                              "the local backend runs on this machine). Found: 5")
    with pytest.raises(FieldError, match=r"^Invalid group_max_cost: a limit on a job whose hourly price"):
        launch_many(SkyExecutor(), "sleep 1", [("a", {}, {}), ("b", {}, {})], backend="local",
                    limits=Limits(group_max_cost=5))
    with pytest.raises(FieldError, match=r"^Invalid timeout: "):
        launch(SkyExecutor(), "sleep 1", backend="local", limits=Limits(timeout=-1))
    with pytest.raises(FieldError, match=r"^Invalid limits: "):
        launch(SkyExecutor(), "sleep 1", backend="local", limits={"timeout": 60})
    assert get_registry().rows() == []
    from skyexec_nb.engine.jobs.monitor import get_monitor

    assert get_monitor().children == {}


def test_limits_are_recorded_only_when_given():
    plain = launch(SkyExecutor(), "true", name="plain", backend="local")
    priced = launch(SkyExecutor(), "true", name="priced", backend="local", limits=Limits(hourly=1.5, price_note="n"))
    assert _ended(plain) is JobStatus.SUCCEEDED and _ended(priced) is JobStatus.SUCCEEDED
    assert "limits" not in plain.row()["launch_options"] and "spend" not in plain.row()["extra"]
    assert priced.row()["launch_options"]["limits"] == {"hourly": 1.5, "price_note": "n"}
    assert priced.row()["extra"]["spend"]["cost"] == pytest.approx(job_cost(priced.row()), abs=1e-6)  # final
    plan = launch(SkyExecutor(), "true", backend="local", dryrun=True, limits=Limits(timeout=60))
    assert plan.launch_options["limits"] == {"timeout": 60.0}


# -- Limits, job_cost and check_limits without processes -----------------------------------------
def test_limits_round_trip_through_options():
    limits = Limits(timeout=7200, max_cost=50, hourly=3.06, price_note="aws p3.2xlarge x 1", group="g",
                    group_max_cost=500)
    options = limits.to_options()
    assert options == {"timeout": 7200.0, "max_cost": 50.0, "hourly": 3.06, "price_note": "aws p3.2xlarge x 1",
                       "group": "g", "group_max_cost": 500.0}
    assert Limits.from_options(options) == limits
    assert Limits.from_options({"limits": options}) == limits  # a whole launch_options works too
    assert limits.any and Limits(hourly=1.0).any is False and Limits().to_options() == {}


def test_limits_from_a_bad_row_are_empty_not_an_error():
    assert Limits.from_options(None) == Limits()
    assert Limits.from_options({"timeout": "soon", "hourly": float("nan"), "max_cost": True, "group": 3}) == Limits()


def test_job_cost_is_hourly_times_elapsed():
    row = {"launch_options": {"limits": {"hourly": 36.0}}, "started": 1000.0, "ended": None}
    assert job_cost(row, now=1100.0) == pytest.approx(1.0)  # $36/h for 100 s
    assert job_cost({**row, "ended": 1010.0}, now=5000.0) == pytest.approx(0.1)  # ended: fixed
    assert job_cost({**row, "started": None}, now=1100.0) == 0.0  # queued: nothing spent
    assert job_cost({"launch_options": {"limits": {"timeout": 60.0}}, "started": 1.0}) is None  # no price
    assert job_cost({"launch_options": None, "started": 1.0}) is None


@pytest.mark.parametrize("limits, field", [
    (Limits(timeout=-1), "timeout"),
    (Limits(timeout=float("nan")), "timeout"),
    (Limits(timeout=MAX_TIMEOUT_S * 2), "timeout"),
    (Limits(max_cost=0, hourly=1.0), "max_cost"),
    (Limits(max_cost=float("nan"), hourly=1.0), "max_cost"),
    (Limits(group_max_cost=-3, hourly=1.0), "group_max_cost"),
    (Limits(hourly=-1.0), "hourly"),
    (Limits(hourly=math.inf), "hourly"),
    (Limits(hourly=True), "hourly"),
    (Limits(group=""), "group"),
    ({"timeout": 60}, "limits"),
])
def test_check_limits_refuses_bad_values(limits, field):
    with pytest.raises(FieldError, match=rf"^Invalid {field}: ") as err:
        check_limits(limits)
    assert "\n" not in str(err.value)


def test_a_cost_limit_without_a_price_is_refused_with_the_reason():
    with pytest.raises(FieldError) as err:
        check_limits(Limits(max_cost=50, price_note="the local backend runs on this machine"))
    assert str(err.value) == ("Invalid max_cost: a limit on a job whose hourly price is known (no catalog price: "
                              "the local backend runs on this machine). Found: 50")
    with pytest.raises(FieldError, match=r"^Invalid group_max_cost: a limit on a job whose hourly price is known "
                                         r"\(no catalog price: no price was given\)"):
        check_limits(Limits(group_max_cost=50))
    assert check_limits(Limits(timeout=60)) == Limits(timeout=60)  # a time limit needs no price
    assert check_limits(None) is None
