"""Spend control in the views, driven as a user would: the picker's "Time limit" / "Max cost ($)"
fields and "Launch anyway", the launch panel's Limits line (and its saved record), the jobs
table's budget line and its "Idle clusters" section with Stop / Tear down.

Prices come from the small offline catalog (``tests/catalog_fixture.py``): a local job naming
``aws p3.2xlarge`` is a rehearsal priced at $3.06/hr. Idle clusters come from the SDK stand-in.
"""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from skyexec_nb.engine.jobs.settings import get_settings
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.picker import ResourcePicker

#: Generous: a supervisor and the price worker's first `import sky` take seconds on a loaded 2-core machine.
TIMEOUT = 180
DURATION_RULE = "a duration like 90m, 2h or 1h30m (1 s to 30 days)"


def text_of(widget_html: str) -> str:
    """What the user reads in an HTML widget's value (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", widget_html))


@pytest.fixture
def rehearsal() -> SkyExecutor:
    return SkyExecutor(cloud="aws", instance_type="p3.2xlarge")


def _launch(executor: SkyExecutor, command: str, **limits: Any) -> Any:
    from skyexec_nb.engine import api

    return api.launch(executor, command, backend="local", name="limited", **limits)


# -- the picker --------------------------------------------------------------------------------------------

def test_limit_fields_are_in_the_grid_with_errors_at_the_field(executor):
    picker = ResourcePicker(executor, command="echo hi", backend="local", price_service=False)
    labels = [text_of(c.value) for c in picker.form.children if "skx-form-label" in c._dom_classes]
    assert "Time limit" in labels and "Max cost ($)" in labels
    timeout, cost = picker.limits.fields["timeout"], picker.limits.fields["max_cost"]
    assert "skx-field-timeout" in timeout._dom_classes and "skx-field-max-cost" in cost._dom_classes
    in_grid = [w for c in picker.form.children for w in getattr(c, "children", ())]
    assert timeout in in_grid and cost in in_grid  # the same grid as every field: aligned

    timeout.value = "-2h"
    assert text_of(picker.limits.error_labels["timeout"].value) == (
        f"Invalid timeout: {DURATION_RULE}. Found: '-2h'")
    assert picker.launch_button.disabled
    assert text_of(picker.launch_reason.value) == "Launch is disabled: fix Time limit first (see the red message)."
    cost.value = "0"
    assert text_of(picker.limits.error_labels["max_cost"].value) == (
        "Invalid max_cost: dollars, more than 0 and at most 1,000,000. Found: '0'")
    assert "fix Time limit, Max cost ($) first" in text_of(picker.launch_reason.value)
    timeout.value, cost.value = "1h30m", "$50"
    assert picker.limits.error_labels["timeout"].value == "" and not picker.launch_button.disabled
    assert picker.limits.launch_kwargs() == {"timeout": 5400.0, "max_cost": 50.0}
    assert "time limit: '1h30m'" in picker.record_bundle()["text/plain"]
    timeout.value = cost.value = ""
    assert picker.limits.launch_kwargs() == {}
    picker.close()


def test_picker_time_limit_stops_the_job_and_the_panel_says_why_once(executor, wait):
    picker = ResourcePicker(executor, command="echo started; sleep 120", backend="local", price_service=False)
    picker.name.value = "timed"
    picker.limits.fields["timeout"].value = "3s"
    picker.launch_button.click()
    job = picker.job
    assert job is not None and job.row()["launch_options"]["limits"]["timeout"] == 3.0
    panel = picker.panels.children[0]
    wait(lambda: "left)" in text_of(panel.limits.value))
    assert text_of(panel.limits.value).startswith("Limits: time limit 3s (")
    wait(lambda: panel.badge.status == "CANCELLED", timeout=TIMEOUT)
    wait(lambda: "reached" in text_of(panel.limits.value))
    error, limits = text_of(panel.error_line.value), text_of(panel.limits.value)
    assert "time limit 3s reached" in error
    assert limits == "Limits: time limit 3s (reached: the job was stopped)"  # the why is the red line, once
    record = panel.record_bundle()["text/plain"]
    assert "Limits: time limit 3s (reached: the job was stopped)" in record and "time limit 3s reached" in record
    picker.close()


def test_a_cost_limit_without_a_price_is_refused_in_words(executor):
    picker = ResourcePicker(executor, command="echo hi", backend="local", price_service=False)
    picker.limits.fields["max_cost"].value = "5"
    picker.launch_button.click()
    assert picker.job is None
    assert text_of(picker.launch_message.value).startswith(
        "Launch failed: Invalid max_cost: a limit on a job whose hourly price is known (no catalog price: the local "
        "backend runs on this machine")
    assert picker.launch_button.description == "Launch" and not picker.launch_button.disabled
    picker.close()


def test_over_budget_launch_turns_into_launch_anyway(rehearsal, priced, monkeypatch, wait):
    from skyexec_nb.engine import api

    calls: list[dict[str, Any]] = []
    real = api.launch
    monkeypatch.setattr(api, "launch", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    get_settings().budget = {"per_day": 1}
    picker = ResourcePicker(rehearsal, command="echo paid", backend="local", price_service=False)
    picker.limits.fields["timeout"].value = "2h"
    picker.launch_button.click()
    assert picker.job is None and calls[-1].get("yes") is None
    message = text_of(picker.launch_message.value)
    assert message.startswith("⚠ This launch may cost up to $6.12 (") and message.endswith(
        "today's budget has $1.00 left of $1.00: $5.12 over. Confirm with --yes (or click Launch again).")
    button = picker.launch_button
    assert (button.description, button.disabled) == ("Launch anyway", False)
    assert "skx-launch-anyway" in button._dom_classes

    picker.limits.fields["timeout"].value = "3h"  # any change: checked again from scratch
    assert button.description == "Launch" and "skx-launch-anyway" not in button._dom_classes
    assert picker.launch_message.value == ""
    button.click()
    assert picker.job is None and "$9.18" in text_of(picker.launch_message.value)
    assert button.description == "Launch anyway"

    with pytest.warns(UserWarning, match="over today's budget"):
        button.click()
    assert calls[-1]["yes"] is True and calls[-1]["timeout"] == 10800.0
    job = picker.job
    assert job is not None and button.description == f"Launched job {job.id}"
    assert "skx-launch-anyway" not in button._dom_classes
    assert text_of(picker.launch_message.value) == f"Launched job {job.id} ({job.name})."
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    picker.close()


# -- the launch panel ----------------------------------------------------------------------------------------

def test_panel_shows_time_left_and_cost_against_the_limits(rehearsal, priced, wait):
    job = _launch(rehearsal, "echo started; sleep 120", timeout=3600, max_cost=50)
    panel = LaunchPanel(job)
    wait(lambda: "left)" in text_of(panel.limits.value))
    shown = text_of(panel.limits.value)
    assert re.fullmatch(r"Limits: time limit 1h \((59m\d+s|1h) left\); cost limit \$50\.00 \(\$\d+\.\d{2,4} so far at "
                        r"\$3\.06/hr, estimated\)", shown), shown
    record = panel.record_bundle()
    assert "Limits: time limit 1h (" in record["text/plain"] and "cost limit $50.00" in record["text/html"]
    job.cancel()
    wait(lambda: panel.badge.status == "CANCELLED", timeout=TIMEOUT)
    wait(lambda: "in all" in text_of(panel.limits.value))
    assert re.search(r"time limit 1h \(ran \d+s\); cost limit \$50\.00 \(\$\d+\.\d{2,4} in all", text_of(panel.limits.value))
    panel.close()


def test_plus_one_hour_gives_a_running_job_more_time_and_goes_when_it_ends(executor, wait):
    job = _launch(executor, "echo started; sleep 300", timeout=3600)
    panel = LaunchPanel(job)
    button = panel.more_time_button
    wait(lambda: "left)" in text_of(panel.limits.value))
    assert button.layout.display == "" and button.description == "+1h"
    button.click()
    button.click()  # a double click: two click messages, one hour
    assert job.limits.timeout == 7200.0  # recorded at the click
    assert text_of(panel.limits.value).startswith("Limits: time limit 2h (")
    wait(lambda: "skyexec_nb: limits changed: time limit 1h -> 2h" in job.logs(), timeout=TIMEOUT)
    assert "time limit 2h" in panel.record_bundle()["text/plain"]  # the saved record says it too
    job.cancel()
    wait(lambda: panel.badge.status == "CANCELLED", timeout=TIMEOUT)
    assert button.layout.display == "none"  # nothing to extend once it ended
    panel._more_time_at -= 2  # (as if two seconds had passed since the last click)
    button.click()  # a click that was on its way: a refusal in words, nothing changed
    assert text_of(panel.error_line.value).startswith("More time failed: Job ") and job.limits.timeout == 7200.0
    panel.close()


def test_no_time_limit_no_more_time_button(local_job, wait):
    panel = LaunchPanel(local_job("echo plain; sleep 1", name="plain"))
    wait(lambda: panel.badge.status == "SUCCEEDED")
    assert panel.more_time_button.layout.display == "none"
    panel.close()


def test_cost_limit_reached_stops_the_job_after_the_amber_warning(priced, wait):
    # a rehearsal of aws p4d.24xlarge, $32.77/hr: $0.05 is reached after ~5.5 s of running (80 % after ~4.4 s)
    job = _launch(SkyExecutor(cloud="aws", instance_type="p4d.24xlarge"), "echo started; sleep 120", max_cost=0.05)
    panel = LaunchPanel(job)
    wait(lambda: panel.badge.status == "CANCELLED", timeout=TIMEOUT)
    wait(lambda: "reached" in text_of(panel.limits.value))
    shown = text_of(panel.limits.value)
    assert shown.startswith("Limits: cost limit $0.05 (reached: the job was stopped)")
    assert "⚠ 80% of the $0.05 cost limit used ($0.04" in shown  # what came first stays, in amber
    assert "skx-limit-warning" in panel.limits.value
    assert "cost limit $0.05 reached" in text_of(panel.error_line.value)  # the why: the red line, once
    panel.close()


def test_limit_warning_is_amber_in_the_panel_and_its_record(rehearsal, priced, wait):
    """The supervisor's 80 % warning (its row's ``extra["limit_warning"]``) shows in amber."""
    from skyexec_nb.engine.jobs.registry import get_registry

    job = _launch(rehearsal, "echo started; sleep 120", max_cost=50)
    panel = LaunchPanel(job)
    text = "80% of the $50.00 cost limit used ($40.02 so far, estimated from the catalog)"
    get_registry().update(job.id, limit_warning={"kind": "cost", "text": text, "at": 1.0})
    wait(lambda: "skx-limit-warning" in panel.limits.value)
    assert f"⚠ {text}" in text_of(panel.limits.value) and "#f57c00" in panel.limits.value  # the amber bar
    record = panel.record_bundle()
    assert f"Limit warning: {text}" in record["text/plain"] and "skx-limit-warning" in record["text/html"]
    job.cancel()
    wait(lambda: panel.badge.status == "CANCELLED", timeout=TIMEOUT)
    panel.close()


def test_a_job_without_limits_has_no_limits_line(local_job, wait):
    panel = LaunchPanel(local_job("echo plain", name="plain"))
    wait(lambda: panel.badge.status == "SUCCEEDED")
    assert panel.limits.value == "" and "Limits" not in panel.record_bundle()["text/plain"]
    panel.close()


# -- the jobs table: budget line ------------------------------------------------------------------------------

def test_budget_line_shows_today_while_a_budget_is_set(priced, wait):
    from skyexec_nb.views.jobs_table import JobsTable

    table = JobsTable(interval=0.2, price_service=False)
    assert table.budget_line.text == "" and table.budget_line.value == ""
    get_settings().budget = {"per_day": 200}
    wait(lambda: table.budget_line.text.startswith("Budget · today: $0.00 spent"))
    assert table.budget_line.text == "Budget · today: $0.00 spent of $200.00, $200.00 left (estimates)"
    # $32.77/hr: a few seconds cost cents; $0.55 at most (1 min) is within the budget: no question asked
    job = _launch(SkyExecutor(cloud="aws", instance_type="p4d.24xlarge"), "sleep 2", timeout=60)
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    wait(lambda: "$0.00 spent" not in table.budget_line.text, timeout=60)  # re-added every 10 s
    assert re.fullmatch(r"Budget · today: \$0\.0\d spent of \$200\.00, \$199\.9\d left \(estimates\)",
                        table.budget_line.text)
    wait(lambda: table.budget_line.text in table.record_bundle()["text/plain"])
    get_settings().budget = {}
    wait(lambda: table.budget_line.value == "")
    table.close()


# -- the jobs table: idle clusters ---------------------------------------------------------------------------

def _sky_job(name: str, **fields: Any) -> Any:
    from skyexec_nb.engine import api

    return api.launch(SkyExecutor(cpus="1+", **fields), "echo hi", backend="skypilot", name=name)


@pytest.mark.slow
def test_idle_clusters_show_and_stop_or_tear_down_after_one_confirmation(priced_standin, wait):
    from skyexec_nb.views.jobs_table import JobsTable

    first, second = _sky_job("idle-a"), _sky_job("idle-b", idle_minutes_to_autostop=30)
    for job in (first, second):
        assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    table = JobsTable(interval=0.2, price_service=False)
    idle = table.idle
    wait(lambda: set(idle.rows) == {first.cluster, second.cluster}, timeout=TIMEOUT)
    assert idle.layout.display is None and "Idle clusters" in text_of(idle.title.value)
    row = idle.rows[first.cluster]
    assert text_of(row.name_cell.value) == first.cluster and text_of(row.idle_cell.value) in ("<1m", "1m", "2m")
    assert re.fullmatch(r"\$\d+\.\d\d \(estimate\)", text_of(row.cost_cell.value))
    assert text_of(row.autostop_cell.value) == "⚠ none: billed until stopped or torn down"  # an amber warning
    assert text_of(idle.rows[second.cluster].autostop_cell.value) == "after 30 min idle, then stop"
    record = table.record_bundle()["text/plain"]
    assert "Idle clusters (2):" in record and f"  {first.cluster} · idle for" in record

    row.stop_button.click()  # asks once more, in place
    row.stop_button.click()  # the second half of a double click only asks
    assert row.stop_button.description == "Confirm stop?" and row.confirm_stop.no.layout.display == ""
    assert first.cluster in idle.rows and idle.message.value == ""
    row.confirm_stop._asked_at -= 1.0  # the user reads the question before answering
    row.stop_button.click()
    wait(lambda: text_of(idle.message.value) == f"Cluster {first.cluster} stopped (sky.stop)", timeout=TIMEOUT)
    wait(lambda: set(idle.rows) == {second.cluster}, timeout=TIMEOUT)  # asked again at once
    assert first.extra["cluster_down_at"] >= first.ended

    down = idle.rows[second.cluster].down_button
    down.click()
    assert down.description == "Yes, tear down"
    idle.rows[second.cluster].confirm_down.no.click()  # "No": nothing happens
    assert down.description == "Tear down" and second.cluster in idle.rows
    down.click()
    idle.rows[second.cluster].confirm_down._asked_at -= 1.0
    down.click()
    wait(lambda: text_of(idle.message.value) == f"Cluster {second.cluster} torn down (sky.down)", timeout=TIMEOUT)
    wait(lambda: not idle.rows, timeout=TIMEOUT)
    assert idle.grid.layout.display == "none"
    table.close()


@pytest.mark.slow
def test_idle_clusters_say_in_one_line_when_skypilot_cannot_be_asked(priced_standin, wait):
    import sky_standin

    from skyexec_nb.views.jobs_table import JobsTable

    job = _sky_job("idle-c")
    assert job.wait(TIMEOUT) is JobStatus.SUCCEEDED
    sky_standin._world.set_api_down(True)
    table = JobsTable(interval=0.2, price_service=False)
    wait(lambda: table.idle.status.value, timeout=TIMEOUT)
    shown = text_of(table.idle.status.value)
    assert shown.startswith("Could not list idle clusters: ") and "\n" not in shown
    assert table.idle.layout.display is None and not table.idle.rows
    sky_standin._world.set_api_down(False)
    table.close()


def test_no_skypilot_job_means_no_idle_section_and_no_question_to_skypilot(local_job, wait):
    from skyexec_nb.views.jobs_table import JobsTable

    job = local_job("echo here", name="here")
    table = JobsTable(interval=0.2, price_service=False)
    wait(lambda: table.rows.get(job.id) is not None and table.rows[job.id].badge.status == "SUCCEEDED")
    assert table.idle.fetch.asked == 0 and table.idle.layout.display == "none"
    assert "Idle clusters" not in table.record_bundle()["text/plain"]
    table.close()


def test_jobs_table_cost_column_shows_a_local_rehearsals_estimate_and_says_nothing_is_billed():
    from skyexec_nb.engine.jobs.status import JobStatus
    from skyexec_nb.views.jobs_costs import LOCAL_COST_TIP, JobCosts

    costs = JobCosts(service=False)
    plain = {"backend": "local", "status": JobStatus.SUCCEEDED, "started": 1000.0, "ended": 1060.0,
             "launch_options": {}, "config": {}}
    assert costs.cost(plain) == ("—", LOCAL_COST_TIP, None)
    priced = {**plain, "launch_options": {"limits": {"hourly": 36.0, "price_note": "aws p3.2xlarge x 1"}}}
    text, tip, amount = costs.cost(priced)  # one minute at $36/hr
    assert (text, amount) == ("$0.6000", 0.6)
    assert "rehearsal priced from aws p3.2xlarge x 1" in tip and "nothing is billed" in tip


def test_typing_a_cost_limit_looks_the_price_up_off_the_kernels_thread(rehearsal, priced):
    import threading

    from skyexec_nb.engine.budget import prices

    picker = ResourcePicker(rehearsal, command="echo paid", backend="local", price_service=False)
    assert prices.cached_price(rehearsal, "local") is None
    picker.limits.fields["max_cost"].value = "50"  # returns at once: the look-up runs in a daemon thread
    warm = [t for t in threading.enumerate() if t.name == "skyexec-nb-price-warm"]
    for thread in warm:
        thread.join(120)  # the price worker's first import of sky: seconds on a loaded machine
    hourly, note = prices.cached_price(rehearsal, "local")
    assert hourly == pytest.approx(3.06) and "p3.2xlarge" in note
    picker.close()


def test_launch_panel_shows_todays_budget_while_one_is_set(local_job, wait):
    from skyexec_nb.views.launch_panel import LaunchPanel

    panel = LaunchPanel(local_job("sleep 30", name="budgeted"))
    panel.tick()
    assert panel.budget_line.text == ""  # no budget: no line
    get_settings().budget = {"per_day": 25}
    # the panel's ticks ask off the kernel's thread; 60 s: a loaded machine
    wait(lambda: panel.tick() and "left" in panel.budget_line.text, 60)
    assert panel.budget_line.text.startswith("Budget · today: $0.00 spent of $25.00, $25.00 left")
    panel.job.cancel()
    panel.close()


def test_a_monthly_budget_alone_shows_its_line(local_job, wait):
    from skyexec_nb.views.launch_panel import LaunchPanel

    get_settings().budget = {"per_month": 300}
    panel = LaunchPanel(local_job("sleep 30", name="monthly"))
    def shown() -> bool:
        panel.tick()  # the panel's ticks ask off the kernel's thread
        return "left" in panel.budget_line.text

    wait(shown, 60)  # 60 s: a loaded machine
    assert panel.budget_line.text.startswith("Budget · this month: $0.00 spent of $300.00, $300.00 left")
    panel.job.cancel()
    panel.close()
