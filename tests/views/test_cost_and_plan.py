"""Cost so far in the launch panel, the picker's Plan button, recovery counts (injected services, no sky)."""
from __future__ import annotations

import html
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from skyexec_nb.engine.pricing.planning import PlanResult, _no_cloud_message
from skyexec_nb.engine.pricing.rows import PriceRow, PriceUnknown, estimate_cost
from skyexec_nb.engine.jobs.registry import get_registry
from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.views.cost_line import CostLine, money
from skyexec_nb.views.jobs_table import JobsTable
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.picker import ResourcePicker
from skyexec_nb.views.plan_button import LOCAL_MESSAGE


def a100_row(num_nodes: int = 1, use_spot: bool = False) -> PriceRow:
    return PriceRow.make(candidate=0, cloud="aws", region="us-east-1", instance_type="p4d.24xlarge",
                         accelerators="A100:8", num_nodes=num_nodes, use_spot=use_spot,
                         node_on_demand=32.77, node_spot=12.5)


class FakePrices:
    """Stands in for PriceService: records requests; answers prices on demand, plans from a thread."""

    def __init__(self, plan_result: Any = None) -> None:
        self.requests: list[tuple[Any, Callable]] = []
        self.plans: list[Any] = []
        self.plan_result = plan_result

    def request(self, config: Any, callback: Callable) -> None:
        self.requests.append((config, callback))

    def answer(self, result: Any) -> None:
        threading.Thread(target=self.requests[-1][1], args=(result,)).start()

    def plan(self, executor: Any, callback: Callable) -> None:
        self.plans.append(executor)
        threading.Thread(target=callback, args=(self.plan_result,)).start()


class FakeCloudJob:
    """What the launch panel reads of a cloud job, without SkyPilot or a supervisor."""

    def __init__(self, backend: str = "skypilot", started_ago: float = 3600.0, **extra: Any) -> None:
        self.id, self.name, self.backend, self.cluster, self.log_path = 7, "train", backend, "skx-7", None
        self.config = {"num_nodes": 2, "resources": {"accelerators": "A100:8", "use_spot": True}}
        now = time.time()
        self.facts = {"status": JobStatus.RUNNING, "created": now - started_ago - 60, "started": now - started_ago,
                      "ended": None, "error": None, "exit_codes": {}, "extra": extra}
        self.created = self.facts["created"]

    def row(self) -> dict[str, Any]:
        return dict(self.facts)

    def end(self) -> None:
        self.facts.update(status=JobStatus.SUCCEEDED, ended=time.time())

    def cancel(self) -> bool:
        return False


# ------------------------------------------------------------------------------------------- cost

def test_cost_line_estimates_elapsed_times_price_times_nodes():
    service = FakePrices()
    line = CostLine(FakeCloudJob(), service)
    assert len(service.requests) == 1 and service.requests[0][0]["num_nodes"] == 2  # the job's config is priced
    assert "looking up" in line.text and "skx-cost" in line._dom_classes
    service.requests[0][1]([PriceUnknown("no spot offer", 1), a100_row(num_nodes=2, use_spot=True)])
    line.update(1800.0, ended=False)
    expected = estimate_cost(25.0, 1800.0)  # spot: $12.50/hr × 2 nodes for half an hour
    assert expected == 12.5
    assert line.text.startswith(f"cost so far ≈ {money(expected)} (30:00 × $25.00/hr = $12.50/hr × 2 nodes")
    assert "(spot)" in line.text
    line.update(3600.0, ended=True)
    assert line.text.startswith("final cost ≈ $25.00 (1:00:00")
    assert len(service.requests) == 1  # asked once


def test_cost_line_says_why_when_there_is_no_price():
    service = FakePrices()
    line = CostLine(FakeCloudJob(), service)
    service.requests[0][1](PriceUnknown("no catalog on this machine"))
    line.update(10.0, ended=False)
    assert line.text == "cost unknown: no catalog on this machine"
    assert CostLine(FakeCloudJob(), False).text == "cost unknown: price look-up turned off"


def test_cost_line_asks_again_when_no_answer_came():
    service, now = FakePrices(), [0.0]
    line = CostLine(FakeCloudJob(), service, clock=lambda: now[0])
    line.update(1.0, ended=False)
    assert len(service.requests) == 1
    now[0] += 60  # the request was dropped (e.g. replaced in a burst of the shared service)
    line.update(2.0, ended=False)
    assert len(service.requests) == 2


def test_the_launched_instance_price_replaces_the_cheapest_match(wait):
    service = FakePrices()
    job = FakeCloudJob()
    panel = LaunchPanel(job, price_service=service)
    service.answer([a100_row(num_nodes=2, use_spot=True)])  # cheapest match: us-east-1 at $12.50/node
    wait(lambda: "cheapest catalog match" in panel.cost.text, timeout=5)
    assert len(service.requests) == 1
    job.facts["extra"] = {"launched": {"cloud": "aws", "region": "eu-west-1", "instance_type": "p4d.24xlarge",
                                       "use_spot": True, "num_nodes": 2}}
    wait(lambda: len(service.requests) == 2, timeout=5)
    asked = service.requests[1][0]["resources"]
    assert asked["infra"] == "aws/eu-west-1" and asked["instance_type"] == "p4d.24xlarge" and asked["use_spot"]
    launched = PriceRow.make(candidate=0, cloud="aws", region="eu-west-1", instance_type="p4d.24xlarge",
                             accelerators="A100:8", num_nodes=2, use_spot=True, node_on_demand=35.39, node_spot=14.0)
    service.answer([launched])
    wait(lambda: "launched instance" in panel.cost.text, timeout=5)
    assert "× $28.00/hr = $14.00/hr × 2 nodes" in panel.cost.text and "eu-west-1 (spot)" in panel.cost.text
    assert panel.cost.launched and len(service.requests) == 2  # asked once for the launched instance
    panel.close()


def test_no_price_for_the_launched_instance_keeps_the_catalog_estimate():
    service = FakePrices()
    line = CostLine(FakeCloudJob(), service)
    service.requests[0][1]([a100_row(num_nodes=2, use_spot=True)])
    line.update(3600.0, ended=False, extra={"launched": {"cloud": "aws", "region": "mars-1"}})
    service.requests[1][1](PriceUnknown("no spot price for A100:8 in the aws catalog"))
    assert line.text.startswith("cost so far ≈ $25.00") and "cheapest catalog match" in line.text
    assert not line.launched


def test_panel_cost_ticks_with_elapsed_time_then_shows_the_final_estimate(wait):
    service, job = FakePrices(), FakeCloudJob()
    panel = LaunchPanel(job, price_service=service)
    assert panel.cost is not None and panel.cost in panel.children
    service.answer([a100_row(num_nodes=2, use_spot=True)])
    wait(lambda: panel.cost.text.startswith("cost so far ≈ $25."), timeout=5)
    first = panel.cost.text
    wait(lambda: panel.cost.text != first, timeout=5)  # ticks with the elapsed time
    job.end()
    wait(lambda: panel.cost.text.startswith("final cost ≈ $25.0"), timeout=5)
    final = panel.cost.text
    time.sleep(1.2)
    assert panel.cost.text == final  # the job ended: the estimate no longer moves
    panel.close()


def test_price_arriving_after_the_job_ended_shows_the_final_estimate(wait):
    service, job = FakePrices(), FakeCloudJob()
    job.end()
    panel = LaunchPanel(job, price_service=service)
    wait(lambda: not panel._refresher.is_registered(panel), timeout=5)
    service.answer([a100_row(num_nodes=2, use_spot=True)])
    wait(lambda: panel.cost.text.startswith("final cost ≈ $25.0"), timeout=5)
    panel.close()


def test_an_unreadable_registry_keeps_the_last_state_and_says_so_in_one_line(wait):
    job = FakeCloudJob()
    panel = LaunchPanel(job, price_service=FakePrices())
    wait(lambda: panel.status == JobStatus.RUNNING, timeout=5)

    def broken() -> dict:
        raise OSError("database is locked")

    job.row = broken
    panel.refresh()
    assert panel.status == JobStatus.RUNNING and panel.badge.status == "RUNNING"  # nothing shown is lost
    text = html.unescape(panel.error_line.value)
    assert "Could not read the job status: database is locked" in text and "\n" not in text
    del job.row  # readable again: the line goes away
    panel.refresh()
    assert panel.error_line.value == ""
    panel.close()


def test_tear_down_button_of_a_cloud_job(wait):
    job, downs = FakeCloudJob(), []
    job.down = lambda: downs.append(job.cluster)
    panel = LaunchPanel(job, price_service=FakePrices())
    assert panel.down_button.layout.display != "none" and not panel.down_button.disabled
    assert not panel.cancel_button.disabled
    panel.down_button.click()  # asks once more in place
    assert panel.down_button.description == "Yes, tear down" and downs == []
    panel.confirm_down._asked_at -= 1.0  # the user reads the question before answering
    panel.down_button.click()
    wait(lambda: downs == ["skx-7"] and panel.down_button.disabled, timeout=5)  # done once: disabled
    assert panel.error_line.value == ""
    panel.close()


def test_local_job_has_no_cost_line(local_job, wait):
    service = FakePrices()
    panel = LaunchPanel(local_job("echo hi", name="free"), price_service=service)
    wait(lambda: panel.badge.status == "SUCCEEDED")
    assert panel.cost is None and service.requests == []
    assert not any("skx-cost" in getattr(c, "_dom_classes", ()) for c in panel._all_children())


# ----------------------------------------------------------------------------------- recoveries

def test_managed_job_recovery_count_in_the_panel_header(wait):
    job = FakeCloudJob(backend="jobs", recovery_count=2)
    panel = LaunchPanel(job, price_service=FakePrices())
    assert "recoveries: 2" in panel.recoveries.value and "skx-recoveries" in panel.recoveries._dom_classes
    job.facts["extra"] = {"recovery_count": 3}
    wait(lambda: "recoveries: 3" in panel.recoveries.value, timeout=5)
    panel.close()
    assert LaunchPanel(FakeCloudJob(), price_service=FakePrices()).recoveries.value == ""  # skypilot, none


def test_jobs_table_shows_a_recoveries_column_for_managed_jobs(local_job, wait, tmp_path: Path):
    local = local_job("echo hi", name="here")
    table = JobsTable(interval=0.2)
    assert table.recoveries_header not in table.grid.children  # local jobs only: no Recoveries column
    job_id = get_registry().insert(name="spot", backend="jobs", status=JobStatus.RUNNING, cluster="c1",
                                   config={}, log_path=str(tmp_path / "log"), job_dir=str(tmp_path),
                                   extra={"recovery_count": 1})
    wait(lambda: job_id in table.rows and table._recoveries_shown, timeout=5)
    headers = [c.value for c in table.grid.children[:9]]
    assert "Recoveries" in headers[2] and len(table.grid.layout.grid_template_columns.split()) == 9
    assert table.rows[job_id].recoveries.value == "1" and table.rows[local.id].recoveries.value == ""
    assert table.grid.children[9 + 2] is table.rows[job_id].recoveries  # newest first, Recoveries after Status
    table.close()


# ----------------------------------------------------------------------------------------- plan

@pytest.fixture
def plan_picker(executor):
    made: list = []

    def make(result: Any, backend: str) -> tuple[ResourcePicker, FakePrices]:
        service = FakePrices(result)
        picker = ResourcePicker(executor, command="python train.py", price_service=service)
        picker.backend.value = backend
        made.append(picker)
        return picker, service

    yield make
    for picker in made:
        picker.close()


def test_plan_button_shows_the_optimizer_plan(plan_picker, wait):
    result = PlanResult(ok=True, table="CLOUD  INSTANCE  $/hr\nAWS    p4d.24xlarge  65.54  ✔",
                        message="Chosen: p4d.24xlarge on aws/us-east-1 × 2 node(s), $65.54/hr. Nothing was launched.",
                        hourly=65.54, num_nodes=2, enabled_clouds=("aws",))
    picker, service = plan_picker(result, "skypilot")
    picker.inputs["gpus"].value = "A100:8"
    assert "skx-plan-button" in picker.plan_button._dom_classes and "skx-plan" in picker.plan_output._dom_classes
    picker.plan_button.click()
    wait(lambda: "Chosen: p4d.24xlarge" in html.unescape(picker.plan_output.value), timeout=5)
    shown = html.unescape(picker.plan_output.value)
    assert "AWS    p4d.24xlarge  65.54" in shown and "skx-plan-table" in shown
    assert service.plans == [picker.executor] and picker.executor.gpus == "A100:8"
    assert picker.job is None and get_registry().rows() == []  # nothing launched


def test_plan_button_says_what_sky_check_reported(plan_picker, wait):
    message = _no_cloud_message({"aws": {"default": {"enabled": False, "reason": "AWS credentials are not set."}}})
    picker, _ = plan_picker(PlanResult(ok=False, message=message), "jobs")
    picker.plan_button.click()
    wait(lambda: "No cloud is enabled" in html.unescape(picker.plan_output.value), timeout=5)
    assert "aws: AWS credentials are not set." in picker.planner.text and "sky check" in picker.planner.text
    assert picker.job is None and get_registry().rows() == []


def test_plan_button_with_the_local_backend(plan_picker):
    picker, service = plan_picker(None, "local")
    picker.plan_button.click()
    assert picker.planner.text == LOCAL_MESSAGE and "this machine" in html.unescape(picker.plan_output.value)
    assert service.plans == [] and picker.job is None


def test_new_view_modules_never_import_sky():
    code = ("import sys; import skyexec_nb.views.cost_line, skyexec_nb.views.endpoint_links, "
            "skyexec_nb.views.plan_button, skyexec_nb.views.launch_panel, skyexec_nb.engine.jobs.job; "
            "print('sky' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
