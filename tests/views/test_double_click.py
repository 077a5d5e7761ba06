"""One click, one job: Launch/Cancel buttons clicked twice in a row act once."""
from __future__ import annotations

from skyexec_nb.engine.api import jobs
from skyexec_nb.views.launch_panel import LaunchPanel
from skyexec_nb.views.picker import ResourcePicker


def test_double_click_on_launch_starts_one_job(executor, wait):
    picker = ResourcePicker(executor, command="echo once", backend="local", price_service=False)
    before = len(jobs())
    picker.launch_button.click()
    picker.launch_button.click()  # ipywidgets delivers a double click as two click messages
    assert len(jobs()) == before + 1
    job = picker.job
    assert picker.launch_button.disabled and picker.launch_button.description == f"Launched job {job.id}"
    assert f"Launched job {job.id}" in picker.launch_message.value
    picker.command.value = "echo twice"  # an edit offers Launch again
    assert not picker.launch_button.disabled and picker.launch_button.description == "Launch"
    picker.launch_button.click()
    assert len(jobs()) == before + 2
    for j in jobs()[-2:]:
        j.wait(timeout=60)
    picker.close()


def test_reentrant_launch_does_nothing(executor, monkeypatch):
    """A click handled while a launch is under way (re-entered) launches nothing."""
    from skyexec_nb.engine.jobs import launcher

    picker = ResourcePicker(executor, command="echo inner", backend="local", price_service=False)
    real, calls = launcher.launch, []

    def launch_and_click_again(*args, **kwargs):
        calls.append(1)
        assert picker.launch_button.disabled and picker.launch_button.description == "Launching…"
        picker.launch_button.click()  # re-entered: ignored
        return real(*args, **kwargs)

    monkeypatch.setattr(launcher, "launch", launch_and_click_again)
    picker.launch_button.click()
    assert len(calls) == 1
    picker.job.wait(timeout=60)
    picker.close()


def test_launch_failure_offers_launch_again(executor):
    picker = ResourcePicker(executor, command="echo x", backend="local", price_service=False)
    picker.name.value = "bad name with spaces and / slash"
    picker.launch_button.click()
    if picker.job is None:  # refused: the reason shows, Launch is offered again
        assert "Launch failed" in picker.launch_message.value
        assert not picker.launch_button.disabled and picker.launch_button.description == "Launch"
    else:
        picker.job.wait(timeout=60)
    picker.close()


def test_cancel_clicked_twice_cancels_once(local_job, wait):
    job = local_job("echo started; sleep 60", name="dbl-cancel")
    panel = LaunchPanel(job)
    wait(lambda: panel.badge.status == "RUNNING", timeout=90)
    calls = []
    real = job.cancel
    job.cancel = lambda: calls.append(1) or real()
    panel.confirm_cancel.run = lambda: panel._act("cancel", job.cancel)
    panel.cancel_button.click()
    panel.cancel_button.click()
    # generous: on a loaded 2-core machine the supervisor's SIGTERM handling can take a while
    wait(lambda: panel.badge.status == "CANCELLED", timeout=90)
    assert len(calls) == 1
    panel.close()


def test_cloud_cancel_asks_once_more_in_place(local_job, wait):
    job = local_job("echo started; sleep 60", name="confirm")
    panel = LaunchPanel(job)
    wait(lambda: panel.badge.status == "RUNNING")
    step = panel.confirm_cancel
    step.needed = lambda: True  # as on a cloud backend
    panel.cancel_button.click()
    assert panel.cancel_button.description == "Confirm cancel?" and panel.confirm_cancel.no.layout.display == ""
    panel.cancel_button.click()  # the rest of a double click: ignored, still asking
    assert step.asking and panel.badge.status == "RUNNING"
    step.no.click()
    assert panel.cancel_button.description == "Cancel" and step.no.layout.display == "none"
    panel.cancel_button.click()
    step._asked_at -= 1.0  # the user reads the question before answering
    panel.cancel_button.click()
    wait(lambda: panel.badge.status == "CANCELLED")
    panel.close()
