"""costs() and budget_status() over recorded jobs, with a fixed clock (``now=``): the day split at
local midnight, the cluster time after a job (autostop, autodown, teardown, reuse), unpriced jobs."""
from __future__ import annotations

import datetime

import pytest

import skyexec_nb
from skyexec_nb.engine.budget.spend import ESTIMATE_NOTE, costs, split_shared
from skyexec_nb.engine.budget.user_budget import budget_status
from skyexec_nb.engine.jobs.status import JobStatus


def at(hour: int, minute: int = 0, day: int = 0) -> float:
    """Local time on 2026-03-10 (+ ``day`` days): no daylight-saving change near it."""
    return (datetime.datetime(2026, 3, 10, 0, 0) + datetime.timedelta(days=day, hours=hour, minutes=minute)).timestamp()


def priced(hourly: float, **options) -> dict:
    return {"limits": {"hourly": hourly, "price_note": "aws p3.2xlarge (V100:1) x 1 in us-east-1, on-demand"},
            **options}


def sky_job(record_job, hourly: float, start: float, end: float | None, **options) -> int:
    """A skypilot-backend job whose cluster came up (SkyPilot gave it a job id)."""
    status = JobStatus.SUCCEEDED if end is not None else JobStatus.RUNNING
    cluster, extra = options.pop("cluster", None), options.pop("extra", {})
    return record_job(backend="skypilot", status=status, started=start, ended=end, cluster=cluster,
                      launch_options=priced(hourly, **options), extra={"sky_job_id": 1, **extra})


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["id"]: r for r in rows}


def test_a_job_over_midnight_counts_in_both_days_and_today_is_after_midnight(record_job, budget) -> None:
    job = record_job(started=at(23), ended=at(1, day=1), launch_options=priced(10.0))
    record_job(started=at(12), ended=at(13))  # local, no rehearsal price: listed without a cost
    days = costs("day", now=at(2, day=1))
    assert [(d["day"], round(d["cost"], 6), d["jobs"]) for d in days] == [("2026-03-10", 10.0, 1),
                                                                            ("2026-03-11", 10.0, 1)]
    assert all(d["estimate"] and d["note"].startswith(ESTIMATE_NOTE) for d in days)
    assert "1 job(s) without a price not counted" in days[0]["note"]
    row = by_id(costs(now=at(2, day=1)))[job]
    assert row["run_s"] == 7200 and row["idle_s"] == 0 and row["cost"] == pytest.approx(20.0)
    assert row["estimate"] is True and row["note"] == ESTIMATE_NOTE and row["hourly"] == 10.0

    budget(200)
    status = budget_status(now=at(2, day=1))
    assert status.per_day == 200 and status.spent_today == pytest.approx(10.0) and status.left == pytest.approx(190.0)
    assert status.text == "today: $10.00 spent of $200.00, $190.00 left (estimates)"
    assert skyexec_nb.budget_status(now=at(23, 30)).text == "today: $5.00 spent of $200.00, $195.00 left (estimates)"


def test_unpriced_jobs_are_listed_with_the_reason(record_job) -> None:
    job = record_job(started=at(9), ended=at(10))
    row = by_id(costs(now=at(11)))[job]
    assert row["cost"] is None and row["hourly"] is None
    assert row["note"] == "no price: runs on this machine: no cloud cost (no rehearsal price recorded)"
    assert budget_status(now=at(11)).text == "today: $0.00 spent (estimates; no daily budget set)"


def test_autostop_counts_its_idle_minutes_unless_the_cluster_is_used_again(record_job) -> None:
    first = sky_job(record_job, 6.0, at(9), at(10), idle_minutes=30, cluster="shared")
    rows = by_id(costs(now=at(12)))
    assert rows[first]["run_s"] == 3600 and rows[first]["idle_s"] == 1800
    assert rows[first]["cost"] == pytest.approx(9.0) and "cluster up 30 min after the job" in rows[first]["note"]

    second = sky_job(record_job, 6.0, at(10, 10), at(10, 40), idle_minutes=30, cluster="shared")
    rows = by_id(costs(now=at(12)))
    assert rows[first]["idle_s"] == 600  # the next job on the cluster started 10 minutes later
    assert rows[second]["idle_s"] == 1800
    assert sum(r["cost"] for r in rows.values()) == pytest.approx(6.0 * (1 + 10 / 60 + 0.5 + 0.5))


def test_jobs_running_at_once_on_one_cluster_split_its_time_and_count_it_once(record_job, budget) -> None:
    # `%%skylaunch --cluster dev` twice: both jobs run on the one cluster from 11:00 to 12:00.
    first = sky_job(record_job, 10.0, at(10), at(12), autodown=True, cluster="dev")
    second = sky_job(record_job, 10.0, at(11), at(13), autodown=True, cluster="dev")
    elsewhere = sky_job(record_job, 10.0, at(11), at(12), autodown=True)  # its own skx-<id> cluster
    rows = by_id(costs(now=at(14)))
    assert rows[first]["run_s"] == rows[second]["run_s"] == 7200  # each job's own run time
    assert rows[first]["shared_s"] == rows[second]["shared_s"] == 3600 and rows[elsewhere]["shared_s"] == 0
    assert rows[first]["cost"] == pytest.approx(15.0) and rows[second]["cost"] == pytest.approx(15.0)
    assert "cluster shared with other jobs for 60 min (that time split between them)" in rows[first]["note"]
    assert rows[elsewhere]["cost"] == pytest.approx(10.0)
    # The day's spend is the cluster's 3 hours once (not 4) plus the other cluster's hour.
    assert costs("day", now=at(14))[0]["cost"] == pytest.approx(40.0)
    budget(100)
    assert budget_status(now=at(14)).spent_today == pytest.approx(40.0)
    # Counting only from 11:30: the shared half hour is split too.
    since = by_id(costs(since=at(11, 30), now=at(14)))
    assert since[first]["cost"] == pytest.approx(2.5) and since[second]["cost"] == pytest.approx(12.5)


def test_split_shared_cuts_where_the_number_running_changes() -> None:
    pieces = split_shared({1: (0.0, 10.0), 2: (5.0, 20.0), 3: (5.0, 8.0), 4: (30.0, 40.0)})
    assert pieces[1] == [(0.0, 5.0, 1), (5.0, 8.0, 3), (8.0, 10.0, 2)]
    assert pieces[2] == [(5.0, 8.0, 3), (8.0, 10.0, 2), (10.0, 20.0, 1)]
    assert pieces[3] == [(5.0, 8.0, 3)] and pieces[4] == [(30.0, 40.0, 1)]
    for job, (a, b) in {1: (0.0, 10.0), 2: (5.0, 20.0), 3: (5.0, 8.0), 4: (30.0, 40.0)}.items():
        assert sum(e - s for s, e, _ in pieces[job]) == b - a  # every second of each job, once
    # What all the jobs are billed adds up to the time the cluster ran at all.
    billed = sum((e - s) / k for job in pieces for s, e, k in pieces[job])
    assert billed == pytest.approx(20.0 + 10.0)


def test_autodown_has_no_idle_time_and_no_autostop_runs_until_teardown_or_now(record_job) -> None:
    down = sky_job(record_job, 6.0, at(9), at(10), autodown=True)
    forever = sky_job(record_job, 6.0, at(9), at(10))
    torn = sky_job(record_job, 6.0, at(9), at(10), extra={"cluster_down_at": at(10, 45)})
    never_up = record_job(backend="skypilot", status=JobStatus.FAILED_NO_RESOURCE, started=at(9), ended=at(9, 1),
                          launch_options=priced(6.0))
    running = sky_job(record_job, 6.0, at(11), None)
    rows = by_id(costs(now=at(12)))
    assert rows[down]["idle_s"] == 0
    assert rows[forever]["idle_s"] == 2 * 3600 and rows[forever]["cost"] == pytest.approx(18.0)
    assert rows[torn]["idle_s"] == 45 * 60
    assert rows[never_up]["idle_s"] == 0 and rows[never_up]["run_s"] == 60
    assert rows[running]["run_s"] == 3600 and rows[running]["ended"] is None
    assert rows[running]["cost"] == pytest.approx(6.0)


def test_by_sweep_since_and_frame(record_job) -> None:
    sweep = {"id": "abc123", "name": "lr", "index": 0, "size": 2, "values": {}, "max_parallel": None}
    a = record_job(started=at(9), ended=at(10), launch_options=priced(4.0), extra={"sweep": sweep})
    record_job(started=at(9), ended=at(11), launch_options=priced(4.0), extra={"sweep": {**sweep, "index": 1}})
    alone = record_job(started=at(8), ended=at(8, 30), launch_options=priced(2.0))
    rows = {r["sweep"]: r for r in costs("sweep", now=at(12))}
    assert rows["abc123"]["jobs"] == 2 and rows["abc123"]["cost"] == pytest.approx(12.0)
    assert rows["abc123"]["name"] == "lr" and rows["abc123"]["run_s"] == 3 * 3600
    assert rows[None]["cost"] == pytest.approx(1.0)

    since = costs(since=at(10), now=at(12))  # time after 10:00 only; the 8:00 job had none
    assert alone not in by_id(since) and a not in by_id(since)
    assert sum(r["cost"] for r in since) == pytest.approx(4.0)

    frame = costs("day", as_frame=True, now=at(12))
    assert list(frame["day"]) == ["2026-03-10"] and frame["cost"].iloc[0] == pytest.approx(13.0)
    with pytest.raises(ValueError, match=r"^Invalid by: one of job, sweep, day\. Found: 'week'$"):
        costs("week")


def test_week_and_month_budgets_count_their_own_periods_and_the_tightest_decides(record_job) -> None:
    from skyexec_nb.engine.budget.user_budget import BudgetConfirmationNeeded, check_budget
    from skyexec_nb.engine.jobs.settings import get_settings

    # 2026-03-10 is a Tuesday: the week began on Monday the 9th, the month on the 1st.
    record_job(started=at(9, day=-9), ended=at(11, day=-9), launch_options=priced(10.0))  # Sun 1 March: $20
    record_job(started=at(9, day=-2), ended=at(10, day=-2), launch_options=priced(6.0))   # Sun 8 March: $6
    record_job(started=at(9, day=-1), ended=at(10, day=-1), launch_options=priced(3.0))   # Mon 9 March: $3
    record_job(started=at(9), ended=at(10), launch_options=priced(1.0))                   # today: $1
    record_job(started=at(9, day=-10), ended=at(10, day=-10), launch_options=priced(50.0))  # 28 February
    get_settings().budget = {"per_day": 100, "per_week": 50, "per_month": 32}
    status = budget_status(now=at(12))
    assert [(p.label, p.budget, round(p.spent, 6)) for p in status.periods] == [
        ("today", 100.0, 1.0), ("this week", 50.0, 4.0), ("this month", 32.0, 30.0)]
    assert status.text == ("today: $1.00 spent of $100.00, $99.00 left; this week: $4.00 spent of $50.00, $46.00 left; "
                           "this month: $30.00 spent of $32.00, $2.00 left (estimates)")
    assert status.left == pytest.approx(2.0) and status.tightest.label == "this month"
    assert status.per_day == 100 and status.spent_today == pytest.approx(1.0)
    assert check_budget(1.5, yes=False, what="a test", hourly=1.0, now=at(12)) is None  # within all three
    with pytest.raises(BudgetConfirmationNeeded) as over:
        check_budget(5.0, yes=False, what="aws p3.2xlarge for 5h", hourly=1.0, now=at(12))
    assert str(over.value) == ("This launch may cost up to $5.00 (aws p3.2xlarge for 5h); this month's budget has "
                               "$2.00 left of $32.00: $3.00 over. Confirm with --yes (or click Launch again).")
    assert (over.value.period, over.value.budget, over.value.over) == ("this month", 32.0, pytest.approx(3.0))

    get_settings().budget = {"per_month": 25}  # a month's budget alone, already passed
    status = budget_status(now=at(12))
    assert status.text == "this month: $30.00 spent of $25.00, $5.00 over (estimates)" and status.per_day is None
    assert status.left == pytest.approx(-5.0) and status.spent_today == pytest.approx(1.0)
    get_settings().budget = {}
