"""Rich display: a widget inside a kernel, the text/HTML fallback elsewhere."""
from __future__ import annotations

import sys
import types

import pytest

import skyexec_nb  # noqa: F401  (registers the view factories)
from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.views import display


@pytest.fixture
def kernel(monkeypatch):
    """Pretend to run inside an ipykernel: IPython.get_ipython() returns a shell with a kernel."""
    import IPython

    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    return shell


def test_no_frontend_gives_none_and_the_fallback():
    ex = SkyExecutor(gpus="A100:8", env_vars={"HF_TOKEN": "real"})
    assert display.executor_widget(ex) is None and display.sweep_widget(object()) is None
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert "text/plain" in bundle and "real" not in bundle["text/html"] + bundle["text/plain"]


def test_inside_a_kernel_the_executor_shows_its_picker(kernel, monkeypatch):
    from skyexec_nb.engine.pricing import service as pricing_service
    from skyexec_nb.process_wide import ProcessWide

    monkeypatch.setattr(pricing_service, "_shared", ProcessWide(lambda: types.SimpleNamespace(request=lambda ex, cb: None)))
    ex = SkyExecutor(env_vars={"HF_TOKEN": "real"})
    widget = display.executor_widget(ex)
    assert type(widget).__name__ == "ResourcePicker" and widget.executor is ex
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "real" not in bundle["text/html"]
    widget.close()


def test_inside_a_kernel_a_job_shows_its_launch_panel(kernel, local_job, wait):
    job = local_job("echo shown", name="shown")
    bundle = job._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/plain" in bundle
    panel = display.job_widget(job)
    wait(lambda: "shown" in panel.log_pane.value)
    panel.close()


def test_outside_ipython_nothing_is_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert display.has_widget_frontend() is False


def test_executor_edit_returns_a_bound_picker_even_without_a_frontend():
    import skyexec_nb
    from skyexec_nb.views.picker import ResourcePicker

    ex = skyexec_nb.SkyExecutor(gpus="A100:8")
    picker = ex.edit()
    assert isinstance(picker, ResourcePicker)
    ex.num_nodes = 3
    assert picker.inputs["num_nodes"].value == "3"


def test_a_job_without_a_frontend_has_a_readable_text_and_html_fallback(local_job, wait):
    job = local_job("echo plain", name="plain")
    wait(lambda: job.done())
    assert display.job_widget(job) is None
    bundle = job._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"].startswith(f"<Job {job.id} 'plain' local SUCCEEDED")
    assert f"<b>Job {job.id}</b> plain" in bundle["text/html"] and "SUCCEEDED" in bundle["text/html"]
