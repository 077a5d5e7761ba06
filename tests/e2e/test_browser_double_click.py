"""One click, one job: a user double-clicks Launch in the picker (real JupyterLab + Chromium).

Chromium's double click sends two click events; ipywidgets delivers them as two comm messages,
handled one after the other by the kernel. Exactly one job must be recorded.
"""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"',
    "import skyexec_nb\nbefore = len(skyexec_nb.jobs())  # the session's Lab may hold other tests' jobs\n"
    'picker = skyexec_nb.ResourcePicker(command="echo double; sleep 2", backend="local", price_service=False)\n'
    "picker",
]


def test_double_click_on_launch_starts_one_job(notebook):
    notebook.open(notebook.write("double_click.ipynb", CELLS))
    notebook.run_all()
    button = notebook.cell_output(1).locator("button.skx-launch-button")
    button.wait_for(timeout=60_000)
    button.dblclick()
    launched = notebook.cell_output(1).locator("button.skx-launch-button", has_text="Launched job")
    launched.wait_for(timeout=60_000)
    notebook.wait_kernel("picker.job is not None", "True")
    # Both click messages were handled once the button says what it started; one job only.
    notebook.wait_kernel("len(skyexec_nb.jobs()) - before", "1")
    assert launched.is_disabled()
    notebook.wait_kernel("picker.job.wait(timeout=60).value", "'SUCCEEDED'", timeout=90)
    assert notebook.kernel_eval("len(skyexec_nb.jobs()) - before") == "1"
