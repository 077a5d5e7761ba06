"""Saved output tells the truth: each view's record (text/plain + text/html, updated in place).

Real local jobs, a real IPython shell whose display publisher records what a front end (or
nbclient) would receive: the displayed record, then every ``update_display_data`` of its id.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

from skyexec_nb.engine.jobs.status import JobStatus
from skyexec_nb.views import record
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.static_repr import resources_text

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Recorder(DisplayPublisher):
    """Keeps every published bundle: ``(data, display_id, update)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[tuple[dict, str | None, bool]] = []

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
        self.sent.append((data, (transient or {}).get("display_id"), update))

    def latest(self, display_id: str) -> dict:
        """What an output with ``display_id`` shows now (its last display or update)."""
        return [d for d, i, _ in self.sent if i == display_id][-1]


@pytest.fixture
def shown(monkeypatch):
    """``shown(view)``: display ``view`` in a real IPython shell; returns ``(publisher, display id)``."""
    shell = InteractiveShell.instance()
    publisher = Recorder(shell=shell)
    monkeypatch.setattr(shell, "display_pub", publisher)
    monkeypatch.setattr(record, "_keeper", None)

    def show(view: Any) -> tuple[Recorder, str]:
        from IPython.display import display

        display(view)
        ids = [i for _, i, _ in publisher.sent if i]
        assert ids, "the record was shown without a display id"
        return publisher, ids[-1]

    yield show
    record.get_keeper().unhook()


def settle(panel: LaunchPanel, wait) -> None:
    wait(lambda: panel.status is not None and panel.status.is_terminal and not panel._refresher.is_registered(panel))


def text_of(html_text: str) -> str:
    return re.sub(r"<[^>]+>", " ", html_text)


def test_succeeded_job_record_is_final_in_place(local_job, wait, shown):
    job = local_job("echo first line; sleep 1; echo 'last <line>'", name="rec-ok", gpus="A100:8", num_nodes=1)
    panel = LaunchPanel(job)
    publisher, display_id = shown(panel)
    widget_output = publisher.sent[0][0]
    assert WIDGET_VIEW in widget_output and "children=" not in widget_output["text/plain"]
    settle(panel, wait)
    wait(lambda: "SUCCEEDED" in publisher.latest(display_id)["text/plain"])
    bundle = publisher.latest(display_id)
    plain, page = bundle["text/plain"], bundle["text/html"]
    assert "INIT" not in plain and "RUNNING" not in plain
    for expected in ("Job %d rec-ok" % job.id, "rank 0: 0", "Duration", "A100:8", "last <line>", "first line",
                     "%skylogs " + str(job.id)):
        assert expected in plain, expected
    assert "SUCCEEDED" in page and "last &lt;line&gt;" in page and "<script" not in page
    assert f"skx-record-{panel.model_id}" in page and "Live view not connected" in text_of(page)
    # the update went to the record's display id, never a new output
    assert all(i == display_id for d, i, update in publisher.sent if update)
    panel.close()


def test_failed_job_record_says_exit_code_and_error(local_job, wait, shown):
    job = local_job("echo about to fail; exit 3", name="rec-bad")
    panel = LaunchPanel(job)
    publisher, display_id = shown(panel)
    settle(panel, wait)
    wait(lambda: "FAILED" in publisher.latest(display_id)["text/plain"])
    plain = publisher.latest(display_id)["text/plain"]
    assert "rank 0: 3" in plain and "about to fail" in plain and "Error" in plain
    assert "INIT" not in plain
    panel.close()


def test_cancelled_job_record_and_widget_state_agree(local_job, wait, shown):
    job = local_job("echo started; sleep 60", name="rec-cancel")
    panel = LaunchPanel(job)
    publisher, display_id = shown(panel)
    wait(lambda: panel.badge.status == "RUNNING")
    panel.cancel_button.click()  # local backend: no confirmation step
    settle(panel, wait)
    wait(lambda: "CANCELLED" in publisher.latest(display_id)["text/plain"])
    assert panel.badge.status == "CANCELLED" and panel.cancel_button.disabled  # the widget's own traits
    assert "Ended" in publisher.latest(display_id)["text/plain"]
    panel.close()


def test_post_run_cell_resends_a_record_sent_outside_a_cell(local_job, wait, shown, sent):
    """nbclient keeps only messages of a running cell: the cell-end hook re-sends what it missed,
    the record and the widget state (the badge says SUCCEEDED in a message sent by the hook)."""
    job = local_job("echo done", name="rec-hook")
    panel = LaunchPanel(job)
    publisher, display_id = shown(panel)
    keeper = record.get_keeper()
    keeper.cell_running = False  # the job ends while no cell runs
    settle(panel, wait)
    before, sent_before = len(publisher.sent), len(sent)
    keeper.post_run_cell()
    resent = [d for d, i, update in publisher.sent[before:] if update and i == display_id]
    assert resent and "SUCCEEDED" in resent[-1]["text/plain"]
    badge_states = [data["state"] for _, c, data in sent[sent_before:] if c is panel.badge.comm and "state" in data]
    assert any("SUCCEEDED" in state.get("value", "") for state in badge_states)
    keeper.post_run_cell()  # nothing new: nothing sent
    assert len(publisher.sent) == before + len(resent)
    panel.close()


def test_picker_record_shows_fields_and_launched_job(executor, wait, shown):
    from skyexec_nb.engine.api import jobs
    from skyexec_nb.views.picker import ResourcePicker

    executor.gpus = "A100:8"
    picker = ResourcePicker(executor, command="echo picked", backend="local", price_service=False)
    publisher, display_id = shown(picker)
    first = publisher.latest(display_id)
    assert "A100:8" in first["text/plain"] and "echo picked" in first["text/plain"]
    assert "ResourcePicker(children" not in first["text/plain"] and "VBox(" not in first["text/html"]
    picker.launch_button.click()
    job = jobs()[-1]
    job.wait(timeout=60)
    wait(lambda: "SUCCEEDED" in publisher.latest(display_id)["text/plain"])
    assert f"Job {job.id}" in publisher.latest(display_id)["text/plain"]
    picker.close()


def test_resources_text_says_what_was_asked():
    config = {"num_nodes": 2, "resources": {"accelerators": "A100:8", "use_spot": True, "infra": "aws/us-east-1"}}
    assert resources_text(config) == "A100:8 × 2 nodes, spot, aws/us-east-1"
    assert resources_text({"num_nodes": 1, "resources": {"accelerators": {"H100": 4}}}) == "H100:4"
    assert resources_text({"num_nodes": 1}) == ""


def test_statuses_are_final_not_init(local_job, wait, shown):
    job = local_job("true", name="rec-quick")
    job.wait(timeout=60)
    panel = LaunchPanel(job)
    publisher, display_id = shown(panel)
    assert JobStatus.SUCCEEDED.value in publisher.latest(display_id)["text/plain"]
    panel.close()
