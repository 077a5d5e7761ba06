"""A user in JupyterLab: picks resources in the form, launches, watches, cancels, mistypes a port.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py). Everything is read from
the page as rendered; the kernel is only asked for what the page cannot show (the executor).
``SKX_SAVE_README_SCREENSHOT=1`` also saves the launch panel as docs/launch_panel.png.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # the conftest's page fixture creates it

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PICKER_CELL = """\
from skyexec_nb import ResourcePicker, SkyExecutor

executor = SkyExecutor(gpus_per_node=8, ports="8888")
picker = ResourcePicker(executor, name="browser-hello",
                        command='echo "hello from the browser test"; sleep 1; echo "bye"')
picker"""

LONG_JOB_CELL = """\
%%skylaunch --name long-sleep --out long_job
echo "long job started"
sleep 600"""


def test_pick_launch_watch_cancel_and_validate(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    name = notebook.write("browser_launch.ipynb", ["%load_ext skyexec_nb", PICKER_CELL, LONG_JOB_CELL])
    notebook.open(name)
    notebook.run_all()

    picker = page.locator(".skx-picker")
    expect(picker).to_be_visible()
    yaml_preview = picker.locator(".skx-yaml")
    expect(yaml_preview).to_contain_text("name: browser-hello")
    expect(yaml_preview).not_to_contain_text("accelerators")
    expect(yaml_preview).not_to_contain_text("use_spot")
    # Unset dropdowns show their "unset" choice, not an empty box.
    expect(picker.locator(".skx-field-cloud select")).to_have_value("any")

    # Pick a GPU (the combobox: type or choose, then leave the field) and tick spot.
    gpus = picker.locator(".skx-field-gpus input")
    gpus.fill("A100")
    gpus.press("Enter")
    picker.locator(".skx-field-use-spot input[type=checkbox]").check()
    expect(yaml_preview).to_contain_text("A100")
    expect(yaml_preview).to_contain_text("use_spot: true")
    notebook.wait_kernel("(executor.gpus, executor.use_spot)", "('A100', True)")
    # The price of 8 x A100 on spot, from the small offline catalog the conftest wrote (the
    # cheapest spot row: aws us-west-2 at $12.50/h); the price worker imports SkyPilot (seconds).
    # The local backend bills nothing (it says so); the cloud backend shows the price.
    expect(picker.locator(".skx-price-local")).to_contain_text("Runs here, on this machine")
    picker.locator(".skx-backend select").select_option("skypilot")
    expect(picker.locator(".skx-price")).to_contain_text("$12.50/hr spot", timeout=90_000)
    picker.locator(".skx-backend select").select_option("local")

    # Launch from the form: the job's panel appears under it and runs to SUCCEEDED.
    launch_button = picker.locator(".skx-launch-button")
    expect(launch_button).to_be_enabled()
    launch_button.click()
    panel = picker.locator(".skx-panels .skx-launch")
    expect(panel).to_be_visible()
    expect(panel.locator(".skx-status")).to_contain_text("SUCCEEDED", timeout=60_000)
    expect(panel.locator(".skx-log")).to_contain_text("hello from the browser test")
    expect(panel.locator(".skx-log")).to_contain_text("bye")
    expect(panel.locator(".skx-cancel-button")).to_be_disabled()  # nothing left to cancel
    panel.screenshot(path=str(ARTIFACTS / "launch_panel_succeeded.png"))
    if os.environ.get("SKX_SAVE_README_SCREENSHOT") == "1":
        picker.screenshot(path=str(REPO / "docs" / "launch_panel.png"))

    # The long job (%%skylaunch without --wait) shows its own panel: cancel it there.
    long_panel = notebook.cell_output(2).locator(".skx-launch")
    expect(long_panel.locator(".skx-status")).to_contain_text("RUNNING", timeout=60_000)
    expect(long_panel.locator(".skx-log")).to_contain_text("long job started")
    cancel = long_panel.locator(".skx-cancel-button")
    expect(cancel).to_be_enabled()
    cancel.click()
    expect(long_panel.locator(".skx-status")).to_contain_text("CANCELLED", timeout=60_000)
    notebook.wait_kernel("str(long_job.status)", "'CANCELLED'")
    long_panel.screenshot(path=str(ARTIFACTS / "launch_panel_cancelled.png"))

    # A port out of range: the error appears under the field and Launch is disabled.
    ports = picker.locator(".skx-field-ports input")
    ports.fill("80800")
    ports.press("Tab")
    field_error = picker.locator(".skx-field-error", has_text="Invalid ports")
    expect(field_error).to_be_visible()
    expect(field_error).to_contain_text("Found: '80800'")
    expect(launch_button).to_be_disabled()
    notebook.wait_kernel("executor.ports", "[8888]")  # the executor kept its last valid value
    picker.screenshot(path=str(ARTIFACTS / "picker_invalid_port.png"))

    # Fixing it clears the error and enables Launch again.
    ports.fill("8888, 6006")
    ports.press("Tab")
    expect(field_error).to_have_count(0)
    expect(launch_button).to_be_enabled()
    notebook.wait_kernel("executor.ports", "[8888, 6006]")
