"""The jobs table read at a glance: its columns, counts per state, filters by state and name, the
order toggle, the cost of cloud jobs, and a saved record with the same columns."""
from __future__ import annotations

import html
import re

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.engine.pricing.rows import PriceRow
from skyexec_nb.engine.remote.sweep import sweep
from skyexec_nb.views.jobs_costs import JobCosts
from skyexec_nb.views.jobs_rows import COLUMNS, exit_short, job_texts
from skyexec_nb.views.jobs_table import JobsTable


def text(widget) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", widget.value)).split()


def plain(widget) -> str:
    return " ".join(text(widget))


def shown_names(table: JobsTable) -> list[str]:
    return [plain(r.name) for r in table.top_rows]


def test_columns_and_what_they_show(local_job, wait):
    ok = local_job("echo ok", name="ok-job", cpus=2, num_nodes=2)
    bad = local_job("exit 3", name="bad-job")
    ok.wait(120), bad.wait(120)
    table = JobsTable(interval=0.2)
    try:
        assert [plain(h) for h in table.header] == ["Name", "Status", "Resources", "Started", "Duration", "Exit",
                                                    "Cost", ""] == [c for c in COLUMNS]
        row, failed = table.rows[ok.id], table.rows[bad.id]
        assert plain(row.resources) == "2 CPUs × 2 nodes local" and plain(row.exit) == "0"
        assert plain(failed.exit) == "3" and failed.badge.status == "FAILED"
        assert re.fullmatch(r"\d\d:\d\d:\d\d", plain(row.started)) and re.fullmatch(r"\d+:\d\d", plain(row.duration))
        assert plain(row.cost) == "—" and "no cloud cost" in row.cost.value  # the local backend bills nothing
        assert f'title="{job_texts(ok.row())["started_full"]}"' in row.started.value
    finally:
        table.close()


def test_counts_filters_and_order(local_job, executor, wait):
    done = [local_job("true", name=f"done-{i}") for i in range(2)]
    for job in done:
        job.wait(120)
    running = local_job("sleep 60", name="long-train")
    s = sweep(executor, "true", grid={"LR": [1, 2]}, name="scan", backend="local")
    s.wait(120)
    table = JobsTable(interval=0.2)
    try:
        wait(lambda: table.state_counts == {"RUNNING": 1, "SUCCEEDED": 4})
        assert "RUNNING 1" in table.state_counts_line.value and "SUCCEEDED 4" in table.state_counts_line.value
        assert shown_names(table)[0].startswith("scan sweep") and shown_names(table)[1] == f"long-train #{running.id}"
        assert table.sort_button.description == "Newest first"

        table.sort_button.click()  # oldest first
        assert table.sort_button.description == "Oldest first"
        assert shown_names(table)[0] == f"done-0 #{done[0].id}" and shown_names(table)[-1].startswith("scan sweep")
        table.sort_button.click()
        assert shown_names(table)[0].startswith("scan sweep")

        table.state_filter.value = "RUNNING"
        assert shown_names(table) == [f"long-train #{running.id}"]
        assert "1 match the filter" in table.summary.value
        table.state_filter.value = "active"
        assert shown_names(table) == [f"long-train #{running.id}"]
        table.state_filter.value = "all"
        table.name_filter.value = "DONE"  # case-insensitive substring
        assert shown_names(table) == [f"done-1 #{done[1].id}", f"done-0 #{done[0].id}"]
        table.name_filter.value = "scan"  # a sweep matches by its name
        assert len(table.top_rows) == 1 and table.top_rows[0].sweep_id == s.id
        table.name_filter.value = "nothing-like-this"
        assert table.top_rows == [] and "No job matches the filter" in table.summary.value
        table.name_filter.value = ""
        assert len(table.top_rows) == 4

        text_, body, _ = table.record_parts()  # the saved record: the same columns and counts
        assert text_.startswith("5 jobs · RUNNING 1, SUCCEEDED 4")
        for title in ("Name", "Status", "Resources", "Started", "Duration", "Exit", "Cost"):
            assert f">{title}</th>" in body
        assert "long-train" in body and "scan" in body
    finally:
        running.cancel()
        table.close()


class Prices:
    """A price service that answers at once (one request at a time, as the real one)."""

    def __init__(self) -> None:
        self.asked: list[dict] = []

    def request(self, config, callback) -> None:
        self.asked.append(config)
        callback([PriceRow.make(candidate=0, cloud="aws", region="us-east-1", instance_type="p4d.24xlarge",
                                accelerators="A100:8", num_nodes=1, use_spot=False, node_on_demand=36.0,
                                node_spot=None)])


def test_cost_of_a_cloud_job_is_elapsed_times_the_catalog_price():
    costs = JobCosts(Prices())
    row = {"backend": "skypilot", "status": JobStatus.SUCCEEDED, "started": 1000.0, "ended": 1000.0 + 600,
           "config": {"resources": {"accelerators": "A100:8", "cloud": "aws"}}, "extra": {}}
    cost, tip, amount = costs.cost(row)
    assert cost == "$6.00" and amount == 6.0 and tip.startswith("final cost ≈ $6.00 (10:00 × $36.00/hr")
    assert costs.cost(row)[0] == "$6.00" and len(costs._service.asked) == 1  # asked once per configuration
    assert costs.cost({**row, "backend": "local"})[0] == "—"
    off = JobCosts(False)
    assert off.cost(row)[0] == "?" and "turned off" in off.cost(row)[1]


def test_exit_codes_in_a_few_characters():
    assert exit_short({0: 0, 1: 0}) == "0" and exit_short({0: 0, 1: 3}) == "0, 3" and exit_short({}) == ""
