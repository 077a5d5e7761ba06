"""The picker read at a glance: why Launch is disabled (in words), stale preview and price while a
field is invalid, no cloud price for the local backend, a warning for GPUs this machine lacks, and
the default job name shown before the launch and used by it."""
from __future__ import annotations

import html
import re

import pytest

from skyexec_nb.model.executor import SkyExecutor
from skyexec_nb.views import picker as picker_module
from skyexec_nb.views.local_gpus import gpu_warning
from skyexec_nb.views.picker import LOCAL_PRICE_TEXT, ResourcePicker


class StubPrices:
    def __init__(self) -> None:
        self.requests: list = []

    def request(self, executor, callback) -> None:
        self.requests.append(callback)


def shown(widget) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", widget.value))


@pytest.fixture
def cloud_picker():
    service = StubPrices()
    p = ResourcePicker(SkyExecutor(), command="python train.py", backend="skypilot", price_service=service)
    p.service = service
    yield p
    p.close()


def test_disabled_launch_says_why_next_to_the_button():
    p = ResourcePicker(SkyExecutor(), price_service=False)
    try:
        assert p.launch_button.disabled and shown(p.launch_reason) == "Launch is disabled: type a command first."
        p.command.value = "python train.py"
        assert not p.launch_button.disabled and shown(p.launch_reason) == ""
        p.inputs["ports"].value = "80800"
        p.inputs["num_nodes"].value = "two"
        assert p.launch_button.disabled
        assert shown(p.launch_reason).startswith("Launch is disabled: fix Nodes, Ports first")  # form order
        p.inputs["ports"].value = "8888"
        p.inputs["num_nodes"].value = "2"
        assert not p.launch_button.disabled and shown(p.launch_reason) == ""
    finally:
        p.close()


def test_preview_and_price_are_marked_stale_while_a_field_is_invalid(cloud_picker):
    p = cloud_picker
    assert p.yaml.stale_text == "" and p.yaml.stale_note.layout.display == "none"
    assert "skx-is-stale" not in p.price._dom_classes and shown(p.price_note) == ""
    p.inputs["ports"].value = "80800"
    assert p.yaml.stale_text.startswith("Out of date") and "Fix Ports" in p.yaml.stale_text
    assert p.yaml.stale_note.layout.display is None and "skx-is-stale" in p.yaml.preview._dom_classes
    assert "Out of date" in shown(p.price_note) and "Fix Ports" in shown(p.price_note)
    assert "skx-price-stale" in p.price_note._dom_classes and "skx-is-stale" in p.price._dom_classes
    p.inputs["ports"].value = "8888"
    assert p.yaml.stale_text == "" and "skx-is-stale" not in p.yaml.preview._dom_classes
    assert shown(p.price_note) == "" and "skx-is-stale" not in p.price._dom_classes


def test_local_backend_shows_no_cloud_price_and_asks_for_none(cloud_picker):
    p = cloud_picker
    asked = len(p.service.requests)
    assert asked >= 1 and p.price.layout.display is None
    p.backend.value = "local"
    assert p.price.layout.display == "none" and shown(p.price_note) == LOCAL_PRICE_TEXT
    assert "skx-price-local" in p.price_note._dom_classes
    p.inputs["num_nodes"].value = "3"
    assert len(p.service.requests) == asked  # no look-up for a backend that bills nothing
    p.backend.value = "skypilot"
    assert p.price.layout.display is None and len(p.service.requests) == asked + 1


def test_gpu_warning_for_the_local_backend_on_a_machine_without_gpus(monkeypatch):
    monkeypatch.setattr(picker_module, "local_gpu_count", lambda: 0)
    p = ResourcePicker(SkyExecutor(), command="python train.py", backend="local", price_service=False)
    try:
        assert p.gpu_warning.layout.display == "none"
        p.inputs["gpus"].value = "A100:8"
        text = shown(p.gpu_warning)
        assert "no NVIDIA GPU" in text and "8 per node" in text and "without GPUs" in text
        assert "SKYPILOT_NUM_GPUS_PER_NODE is still set to 8" in text and p.gpu_warning.layout.display is None
        p.backend.value = "skypilot"  # a cloud gives the GPUs: nothing to warn about
        assert p.gpu_warning.layout.display == "none" and shown(p.gpu_warning) == ""
        p.backend.value = "local"
        p.inputs["gpus"].value = ""
        assert p.gpu_warning.layout.display == "none"
    finally:
        p.close()


def test_gpu_warning_words():
    assert gpu_warning(0, 0) == "" and gpu_warning(2, 4) == ""
    assert gpu_warning(8, 2).startswith("This machine has 2 GPUs, but 8 per node") and "with the 2 GPUs it has" in gpu_warning(8, 2)


def test_default_name_is_shown_and_launched(executor, wait):
    p = ResourcePicker(executor, command="python -m pkg.train --epochs 1", backend="local", price_service=False)
    try:
        default = p.default_job_name()
        assert re.fullmatch(r"train-[0-9a-f]{4}", default)
        assert p.name.placeholder.startswith(default) and f"name: {default}" in p.yaml.text
        p.command.value = "echo hi; python eval.py"
        default = p.default_job_name()
        assert default.startswith("eval-") and p.name.placeholder.startswith(default)
        job = p.launch()
        assert job is not None and job.name == default  # the preview's name is the job's name
        assert p.default_job_name() != default  # the next launch from here gets its own name
        job.wait(120)
    finally:
        p.close()


def test_labels_are_in_their_own_column_and_never_cut():
    p = ResourcePicker(SkyExecutor(), price_service=False)
    try:
        labels = [shown(w) for w in p.form.children if "skx-form-label" in w._dom_classes]
        assert "Idle minutes to autostop" in labels and "Use spot instances" in labels
        assert "Job recovery (managed jobs)" in labels and "torchrun nproc per node" in labels
        assert p.inputs["use_spot"].description == ""  # the checkbox sits in the field column
        region = next(w for w in p.form.children if p.inputs["region"] in getattr(w, "children", ()))
        assert region.layout.display == "none"
        p.advanced.value = True
        assert region.layout.display is None and p.advanced.icon == "caret-down"
    finally:
        p.close()
