"""Spend control through the magics (a real InteractiveShell): ``%%skylaunch --timeout/--max-cost/
--max-cost-each/--expect/--yes``, the budget setting, the autostop warning and ``%skydown --idle``.

Prices come from the small offline catalog of ``tests/catalog_fixture.py``: a local job whose
executor names ``aws p3.2xlarge`` is a *rehearsal* priced at $3.06/hr (the price worker process
is stopped after each test). Idle clusters come from the SDK stand-in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus

REHEARSAL = "--cloud aws --instance-type p3.2xlarge"  # priced from the test catalog at $3.06/hr
#: Generous: a supervisor (and the price worker's first `import sky`) can take many seconds on a loaded 2-core machine.
TIMEOUT = 180


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every ``api.launch`` / ``sweep.sweep`` call the magic makes, with its keywords (the real one runs)."""
    from skyexec_nb.engine import api
    from skyexec_nb.engine.remote import sweep

    calls: list[tuple[str, dict[str, Any]]] = []
    for module, name in ((api, "launch"), (sweep, "sweep")):
        real = getattr(module, name)

        def spy(*args: Any, _real: Callable = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append((_name, kwargs))
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return calls


def _skylaunch(ip: InteractiveShell, line: str, body: str = "echo hi\n") -> Any:
    ip.run_cell_magic("skylaunch", f"--out _j {line}", body)
    return ip.user_ns.get("_j")


def _limits(job: Any) -> dict[str, Any]:
    return dict((job.row()["launch_options"] or {}).get("limits") or {})


# -- bad input: one line naming the option, nothing launched ------------------------------------------------

@pytest.mark.parametrize(("line", "message"), [
    ("--timeout=-1h", "Invalid --timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: '-1h'"),
    ("--timeout 0", "Invalid --timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: '0'"),
    ("--timeout 31d", "Invalid --timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: '31d'"),
    ("--timeout soon", "Invalid --timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: 'soon'"),
    ("--max-cost 0", "Invalid --max-cost: dollars, more than 0 and at most 1,000,000. Found: '0'"),
    ("--max-cost -5", "Invalid --max-cost: dollars, more than 0 and at most 1,000,000. Found: '-5'"),
    ("--max-cost 2000000", "Invalid --max-cost: dollars, more than 0 and at most 1,000,000. Found: '2000000'"),
    ("--max-cost lots", "Invalid --max-cost: dollars, more than 0 and at most 1,000,000. Found: 'lots'"),
    ("--expect forever", "Invalid --expect: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: 'forever'"),
    ("--max-cost-each 5", "--max-cost-each needs --sweep (the cost limit of one job is --max-cost)"),
    ("--sweep A=1,2 --max-cost-each nan", ("Invalid --max-cost-each: dollars, more than 0 and at most 1,000,000. "
                                          "Found: 'nan'")),
])
def test_a_bad_limit_is_one_line_naming_the_option(ip: InteractiveShell, recorded: Callable, line: str,
                                                   message: str) -> None:
    with pytest.raises(UsageError) as info:
        _skylaunch(ip, line)
    assert str(info.value) == message
    assert recorded() == []


def test_the_help_lists_the_spend_options(ip: InteractiveShell) -> None:
    doc = ip.find_cell_magic("skylaunch").__doc__
    for option in ("--timeout DURATION", "--max-cost DOLLARS", "--max-cost-each DOLLARS", "--expect DURATION"):
        assert option in doc
    assert "%skydown" in ip.find_line_magic("skydown").__doc__ and "--idle" in ip.find_line_magic("skydown").__doc__


# -- limits reach the engine and the job --------------------------------------------------------------------

def test_limits_and_yes_reach_the_api_and_are_recorded_with_the_price(ip: InteractiveShell, priced: None,
                                                                     api_calls: list) -> None:
    job = _skylaunch(ip, f"--timeout 2h --max-cost 50 --yes --expect 3h --name limited {REHEARSAL}")
    (name, kwargs), = api_calls
    assert name == "launch"
    assert {k: kwargs[k] for k in ("timeout", "max_cost", "expected_duration", "yes")} == {
        "timeout": 7200.0, "max_cost": 50.0, "expected_duration": 10800.0, "yes": True}
    limits = _limits(job)
    assert (limits["timeout"], limits["max_cost"], limits["hourly"]) == (7200.0, 50.0, 3.06)
    assert "p3.2xlarge" in limits["price_note"]
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED


def test_task_yaml_launch_takes_the_limits_too(ip: InteractiveShell, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.write_text("name: from-yaml\nrun: echo from the yaml\n")
    ip.run_line_magic("skylaunch", f"--task {task} --timeout 90m --out _j")
    job = ip.user_ns["_j"]
    assert _limits(job)["timeout"] == 5400.0 and job.name == "from-yaml"
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED


def test_time_limit_cancels_the_job_and_says_why(ip: InteractiveShell) -> None:
    job = _skylaunch(ip, "--timeout 2s --name stopped-in-time", "echo started; sleep 120\n")
    assert job.wait(TIMEOUT) is JobStatus.CANCELLED
    assert "time limit 2s reached" in job.error
    assert job.extra["limit"]["kind"] == "timeout"
    assert "skyexec_nb: time limit 2s reached" in job.logs()


def test_a_cost_limit_without_a_price_is_one_printed_line(ip: InteractiveShell, recorded: Callable,
                                                          capsys: pytest.CaptureFixture) -> None:
    assert _skylaunch(ip, "--max-cost 5 --name unpriced") is None
    out = capsys.readouterr().out.strip()
    assert out.startswith("Nothing launched: Invalid --max-cost: a limit on a job whose hourly price is known "
                          "(no catalog price: the local backend runs on this machine")
    assert "\n" not in out
    assert recorded() == []


# -- the budget ---------------------------------------------------------------------------------------------

def test_budget_config_reaches_the_engine_and_bad_values_are_refused(ip: InteractiveShell,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    magics = ip.magics_manager.registry["SkyLaunchMagics"]
    assert magics.budget == {} and get_settings().budget == {}
    ip.run_line_magic("config", 'SkyLaunchMagics.budget = {"per_day": 200}')
    assert get_settings().budget == {"per_day": 200.0} and magics.budget == {"per_day": 200.0}
    for bad in ('{"per_day": -1}', '{"per_day": 0}', '{"weekly": 5}', '{"per_day": "lots"}'):
        caplog.clear()
        ip.run_line_magic("config", f"SkyLaunchMagics.budget = {bad}")
        assert "Invalid budget" in caplog.text, bad
        assert get_settings().budget == {"per_day": 200.0} and magics.budget == {"per_day": 200.0}
    ip.run_line_magic("config", 'SkyLaunchMagics.budget = {"per_day": 200, "per_week": 600, "per_month": 2000}')
    assert get_settings().budget == {"per_day": 200.0, "per_week": 600.0, "per_month": 2000.0}
    ip.run_line_magic("config", "SkyLaunchMagics.budget = {}")
    assert get_settings().budget == {} and magics.budget == {}


def test_a_launch_over_the_budget_is_one_line_until_yes(ip: InteractiveShell, priced: None, recorded: Callable,
                                                        capsys: pytest.CaptureFixture) -> None:
    ip.run_line_magic("config", 'SkyLaunchMagics.budget = {"per_day": 1}')
    assert _skylaunch(ip, f"--timeout 2h --name pricey {REHEARSAL}") is None
    out = capsys.readouterr().out.strip()
    # $3.06/hr x 2h = $6.12 expected against $1.00 left
    assert out.startswith("This launch may cost up to $6.12 (")
    assert out.endswith("today's budget has $1.00 left of $1.00: $5.12 over. Confirm with --yes "
                        "(or click Launch again).")
    assert "\n" not in out and recorded() == []
    with pytest.warns(UserWarning, match=r"\$5\.12 over today's budget"):
        job = _skylaunch(ip, f"--timeout 2h --name pricey --yes {REHEARSAL}")
    assert [j.id for j in recorded()] == [job.id]
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED


# -- sweeps: --max-cost is the total, --max-cost-each per job ------------------------------------------------

def test_sweep_cost_limits_are_the_total_and_each(ip: InteractiveShell, priced: None, api_calls: list) -> None:
    sweep = _skylaunch(ip, f"--sweep A=1,2 --max-cost 10 --max-cost-each 4 --timeout 1h --expect 20m --name sw "
                           f"{REHEARSAL}")
    (name, kwargs), = api_calls
    assert name == "sweep"
    assert {k: kwargs[k] for k in ("max_cost", "max_cost_each", "timeout", "expected_duration")} == {
        "max_cost": 10.0, "max_cost_each": 4.0, "timeout": 3600.0, "expected_duration": 1200.0}
    rows = [_limits(job) for job in sweep.jobs]
    assert [(r["group_max_cost"], r["max_cost"], r["timeout"]) for r in rows] == [(10.0, 4.0, 3600.0)] * 2
    assert len({r["group"] for r in rows}) == 1
    sweep.wait(TIMEOUT)


def test_sweep_cost_limit_without_a_price_is_one_printed_line(ip: InteractiveShell, recorded: Callable,
                                                               capsys: pytest.CaptureFixture) -> None:
    assert _skylaunch(ip, "--sweep A=1,2 --max-cost 10 --name sw") is None
    out = capsys.readouterr().out.strip()
    assert out.startswith("Nothing launched: Invalid --max-cost: a limit on a job whose hourly price is known")
    assert "\n" not in out and recorded() == []


def test_remote_python_takes_the_time_limit(ip: InteractiveShell) -> None:
    job = _skylaunch(ip, "--python --timeout 2h --name py-limited", "x = 1\n")
    assert _limits(job)["timeout"] == 7200.0
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED


# -- the autostop warning and %skydown --------------------------------------------------------------------------

@pytest.mark.slow
def test_skypilot_launch_without_autostop_warns_and_skydown_idle_stops_it(ip: InteractiveShell, priced_standin: None,
                                                                          capsys: pytest.CaptureFixture) -> None:
    job = _skylaunch(ip, "--backend skypilot --cpus 1+ --name idle-soon")
    err = capsys.readouterr().err
    assert (f"Cluster {job.cluster} has no autostop: it stays up and billed after the job; set "
            "idle_minutes_to_autostop or autodown") in err
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    ip.run_line_magic("skydown", "--idle --stop")
    assert capsys.readouterr().out.strip() == f"Cluster {job.cluster} stopped (sky.stop)"
    assert job.extra["cluster_down_at"] >= job.ended
    ip.run_line_magic("skydown", "--idle")  # a stopped cluster is not idle: nothing left
    assert capsys.readouterr().out.strip() == "Nothing idle: no cluster launched from here is up without a job."


@pytest.mark.slow
def test_skydown_idle_tears_down_and_autostop_silences_the_warning(ip: InteractiveShell, priced_standin: None,
                                                                   capsys: pytest.CaptureFixture) -> None:
    job = _skylaunch(ip, "--backend skypilot --cpus 1+ --idle-minutes 30 --name with-autostop")
    assert "no autostop" not in capsys.readouterr().err
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    ip.run_line_magic("skydown", "--idle")
    assert capsys.readouterr().out.strip() == f"Cluster {job.cluster} torn down (sky.down)"


@pytest.mark.slow
def test_skydown_idle_says_in_one_line_when_skypilot_cannot_be_asked(ip: InteractiveShell, priced_standin: None) -> None:
    import sky_standin

    job = _skylaunch(ip, "--backend skypilot --cpus 1+ --autodown --name unreachable")
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    sky_standin._world.set_api_down(True)
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("skydown", "--idle")
    assert str(info.value).startswith("Could not list the idle clusters: ") and "\n" not in str(info.value)
    sky_standin._world.set_api_down(False)


def test_skydown_idle_with_nothing_launched_here(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    _skylaunch(ip, "--wait --name local-only")  # the local backend leaves no cluster up
    capsys.readouterr()
    ip.run_line_magic("skydown", "--idle")
    assert capsys.readouterr().out.strip() == "Nothing idle: no cluster launched from here is up without a job."
    assert "no autostop" not in capsys.readouterr().err


@pytest.mark.parametrize(("line", "message"), [
    ("", "the following arguments are required: CLUSTER (or --idle"),
    ("box --idle", "Invalid %skydown: either CLUSTER or --idle (every idle cluster), not both"),
    ("--stop", "--stop needs --idle"),
    ("box --stop", "--stop needs --idle"),
])
def test_skydown_argument_errors_are_one_line(ip: InteractiveShell, line: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("skydown", line)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_skydown_cluster_keeps_working(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    ip.run_line_magic("skydown", "nowhere")
    assert capsys.readouterr().out.strip() == "No recorded job ran on cluster 'nowhere'; nothing torn down."


# -- %skylimit: a running job's limits changed ------------------------------------------------------------

def test_skylimit_shows_and_changes_a_running_jobs_limits(ip: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    job = _skylaunch(ip, "--timeout 1h --name long-run", "echo up; sleep 300\n")
    capsys.readouterr()
    ip.run_line_magic("skylimit", "long-run")
    assert capsys.readouterr().out.startswith(f"job {job.id} (long-run): time limit 1h (change with --timeout")
    ip.run_line_magic("skylimit", f"{job.id} --timeout 3h")
    assert capsys.readouterr().out == f"job {job.id} (long-run): time limit 1h -> 3h\n"
    assert _limits(job)["timeout"] == 10800.0
    for line, message in [("-1 --timeout=-2h", "Invalid --timeout: a duration like 90m, 2h or 1h30m"),
                          ("-1 --max-cost lots", "Invalid --max-cost: dollars, more than 0"),
                          ("-1 --max-cost 50", "Invalid --max-cost: a limit on a job whose hourly price is known "
                                               "(no catalog price: the local backend runs on this machine"),
                          ("no-such-job --timeout 2h", "Invalid JOB: a job id, a job name")]:
        with pytest.raises(UsageError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            ip.run_line_magic("skylimit", line)
    assert _limits(job)["timeout"] == 10800.0  # nothing changed by the refusals
    ip.run_line_magic("skylimit", "-1 --timeout 1s")  # below what it ran: stopped at the next tick
    assert job.wait(TIMEOUT) is JobStatus.CANCELLED and "time limit 1s reached" in job.error
    capsys.readouterr()
    ip.run_line_magic("skylimit", "-1 --timeout 2h")
    assert capsys.readouterr().out.startswith(f"Nothing changed: Job {job.id} has ended (CANCELLED)")


def test_skylimit_prices_a_job_launched_without_a_price(ip: InteractiveShell, priced: None,
                                                        capsys: pytest.CaptureFixture) -> None:
    job = _skylaunch(ip, f"--name rehearsal {REHEARSAL}", "echo up; sleep 300\n")
    assert "hourly" not in _limits(job)  # no limit at launch: not priced then
    capsys.readouterr()
    ip.run_line_magic("skylimit", "rehearsal --max-cost 50")
    assert capsys.readouterr().out == f"job {job.id} (rehearsal): cost limit none -> $50.00\n"
    limits = _limits(job)
    assert (limits["max_cost"], limits["hourly"]) == (50.0, 3.06) and "p3.2xlarge" in limits["price_note"]
    job.cancel()
    assert job.wait(TIMEOUT) is JobStatus.CANCELLED
