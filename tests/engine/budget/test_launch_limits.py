"""Limits and the daily budget at launch: priced from the test catalog (a rehearsal on the local
backend), the confirmation when over budget, one-line refusals; nothing recorded when refused."""
from __future__ import annotations

import pytest

import skyexec_nb
from skyexec_nb import SkyExecutor
from skyexec_nb.engine.api import BudgetConfirmationNeeded, BudgetWarning, PriceUnavailable, hourly_price, launch, sweep
from skyexec_nb.engine.budget.launching import expected_cost, resolve_limits
from skyexec_nb.engine.budget.prices import LOCAL_REASON
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.errors import FieldError

TIMEOUT = 120  # a loaded 2-core machine starts a supervisor (and the price worker) in seconds
SPOT_A100 = dict(cloud="aws", gpus="A100:8", use_spot=True)  # $12.50/hr: the cheapest spot row (us-west-2)


def test_prices_of_the_test_catalog(catalog) -> None:
    hourly, note = hourly_price(SkyExecutor(cloud="aws", gpus="V100:1", num_nodes=2), "local")
    assert hourly == pytest.approx(6.12)
    assert note.startswith("rehearsal: what this would cost on aws p3.2xlarge (V100:1) x 2 in us-east-1, "
                           "on-demand (catalog of ")
    assert hourly_price(SkyExecutor(**SPOT_A100), "skypilot")[0] == pytest.approx(12.5)
    hourly, note = hourly_price(SkyExecutor(gpus="A100:8"), "skypilot")  # cheapest on-demand: Lambda
    assert hourly == pytest.approx(14.32) and note.startswith("lambda gpu_8x_a100 (A100:8) x 1 in ")
    with pytest.raises(PriceUnavailable) as missing:
        hourly_price(SkyExecutor(gpus="B300:8"), "skypilot")
    assert str(missing.value) == "B300:8 is not in the catalog on this machine (clouds: aws, lambda)"
    with pytest.raises(PriceUnavailable) as local:
        hourly_price(SkyExecutor(cpus=2), "local")
    assert str(local.value) == LOCAL_REASON


def test_over_budget_needs_a_confirmation_and_records_nothing(catalog, budget) -> None:
    budget(10)
    ex = SkyExecutor(**SPOT_A100)
    with pytest.raises(BudgetConfirmationNeeded) as refused:
        launch(ex, "true", backend="local", timeout="2h24m")  # 2.4 h x $12.50 = $30.00
    text = str(refused.value)
    assert text.startswith("This launch may cost up to $30.00 ($12.50/hr for 2h24m: rehearsal: what this would "
                           "cost on aws p4d.24xlarge (A100:8) x 1 in us-west-2, spot (catalog of ")
    assert text.endswith("; today's budget has $10.00 left of $10.00: $20.00 over. "
                         "Confirm with --yes (or click Launch again).")
    assert "\n" not in text and refused.value.over == pytest.approx(20.0)
    assert get_registry().rows() == []

    with pytest.warns(BudgetWarning, match=r"^Launched \$20\.00 over today's budget"):
        job = launch(ex, "true", backend="local", timeout="2h24m", yes=True)
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    limits = job.row()["launch_options"]["limits"]
    assert limits["hourly"] == pytest.approx(12.5) and limits["timeout"] == 8640.0
    assert limits["price_note"].startswith("rehearsal: what this would cost on aws")
    spent = skyexec_nb.budget_status()
    assert 0 < spent.spent_today < 1 and spent.left == pytest.approx(10 - spent.spent_today)
    assert [r["cost"] is not None for r in skyexec_nb.costs()] == [True]


def test_no_time_limit_under_a_budget_is_unbounded(catalog, budget) -> None:
    budget(500)
    ex = SkyExecutor(**SPOT_A100)
    unbounded = (r"^This launch has no time or cost limit, so its cost is unbounded \(\$12\.50/hr: rehearsal: "
                 r".*\$500\.00 left of \$500\.00; set --timeout, --max-cost or --expect to bound it\. "
                 r"Confirm with --yes \(or click Launch again\)\.$")
    with pytest.raises(BudgetConfirmationNeeded, match=unbounded):
        launch(ex, "true", backend="local")
    assert get_registry().rows() == []
    job = launch(ex, "true", backend="local", expected_duration="1h")  # $12.50 of $500: no question
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert launch(ex, "true", backend="local", max_cost=5).wait(TIMEOUT) == JobStatus.SUCCEEDED  # bounded by its limit


def test_a_sweep_is_checked_for_all_its_jobs_and_carries_its_group_limit(catalog, budget) -> None:
    budget(30)
    ex = SkyExecutor(**SPOT_A100)
    over = r"up to \$37\.50 \(3 jobs × \$12\.50/hr for 1h: .*\$7\.50 over\."
    with pytest.raises(BudgetConfirmationNeeded, match=over):
        sweep(ex, "true", {"LR": [1, 2, 3]}, backend="local", timeout="1h")
    assert get_registry().rows() == []
    done = sweep(ex, "true", {"LR": [1, 2, 3]}, backend="local", timeout="1h", max_cost=20, max_cost_each="$8")
    done.wait(TIMEOUT)
    limits = [job.row()["launch_options"]["limits"] for job in done.jobs]
    assert {(lim["group"], lim["group_max_cost"], lim["max_cost"], lim["hourly"]) for lim in limits} == \
        {(done.id, 20.0, 8.0, 12.5)}


def test_bad_limits_are_one_line_and_record_nothing() -> None:
    ex = SkyExecutor()
    cases = [
        (dict(timeout="-5"), "Invalid timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: '-5'"),
        (dict(timeout="31d"), "Invalid timeout: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: '31d'"),
        (dict(max_cost=0), "Invalid max_cost: dollars, more than 0 and at most 1,000,000. Found: 0"),
        (dict(max_cost="lots"), "Invalid max_cost: dollars, more than 0 and at most 1,000,000. Found: 'lots'"),
        (dict(expected_duration=float("nan")),
         "Invalid expected_duration: a duration like 90m, 2h or 1h30m (1 s to 30 days). Found: nan"),
        (dict(yes="y"), "Invalid yes: True or False. Found: 'y'"),
        (dict(max_cost=50), f"Invalid max_cost: a limit on a job whose hourly price is known (no catalog price: "
                            f"{LOCAL_REASON}). Found: 50"),
    ]
    for kwargs, message in cases:
        with pytest.raises(FieldError) as refused:
            launch(ex, "true", backend="local", **kwargs)
        assert str(refused.value) == message
    with pytest.raises(FieldError, match=r"^Invalid max_cost_each: dollars"):
        sweep(ex, "true", {"A": [1]}, backend="local", max_cost_each=-1)
    from skyexec_nb.engine.remote.python_jobs import launch_python

    with pytest.raises(FieldError, match=r"^Invalid max_cost: a limit on a job whose hourly price is known"):
        launch_python(ex, "x = 1", backend="local", max_cost=3)
    assert get_registry().rows() == []
    for value in ({"per_day": 0}, {"per_day": -1}, {"per_day": 1e12}, {"per_day": float("inf")}, {"daily": 5},
                  {"per_day": "200"}, {"per_day": 200, "per_month": -1}, {"per_year": 9}, [200], None):
        with pytest.raises(Exception) as absurd:
            get_settings().budget = value
        assert str(absurd.value) == ('Invalid budget: {"per_day", "per_week" and/or "per_month": dollars, more than 0 '
                                     f"and at most 10,000,000}} (or {{}} for no budget). Found: {value!r}")


def test_local_launch_without_cloud_fields_is_not_priced_even_with_a_budget(budget) -> None:
    budget(1)
    ex = SkyExecutor(cpus=1)
    job = launch(ex, "true", backend="local", timeout="10m")  # a limit, nothing to price: no worker asked
    assert job.wait(TIMEOUT) == JobStatus.SUCCEEDED
    assert job.row()["launch_options"]["limits"] == {"timeout": 600.0}


def test_expected_cost_and_resolve_limits_without_a_price() -> None:
    limits = resolve_limits(SkyExecutor(), "local", timeout="1h")
    assert limits.hourly is None and limits.timeout == 3600.0 and expected_cost(limits) is None
    from skyexec_nb.engine.jobs.spend import Limits

    assert expected_cost(Limits(hourly=10.0, timeout=1800)) == pytest.approx(5.0)
    assert expected_cost(Limits(hourly=10.0, timeout=1800), expected_duration=7200) == pytest.approx(20.0)
    assert expected_cost(Limits(hourly=10.0, max_cost=3.0), count=2) == pytest.approx(6.0)
    assert expected_cost(Limits(hourly=10.0, timeout=3600, group_max_cost=15.0), count=4) == pytest.approx(15.0)
    assert expected_cost(Limits(hourly=10.0)) is None
