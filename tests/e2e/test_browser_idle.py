"""A cluster left up after its job, caught in JupyterLab (issue 19): the launch warns that it has no
autostop, the jobs table lists it under "Idle clusters" with Stop and Tear down, and one confirmed
click tears it down.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py); the kernel's skypilot
backend talks to the SDK stand-in (``tests/sky_standin``). Screenshots of the idle section in
Light and Dark at 1,000 and 700 px go to test-artifacts/idle_jobs_<theme>_<width>.png.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from test_browser_glance import THEMES, WIDTHS, check_views, set_theme

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = f"""\
import os, sys, tempfile
sys.path.insert(0, {str(REPO / "tests")!r})
os.environ.update(SKYEXEC_NB_SKY_SDK="sky_standin", SKY_STANDIN_DIR=tempfile.mkdtemp(prefix="standin-"),
                  SKY_STANDIN_STEP="0.2", SKY_STANDIN_SCENARIO="ok", SKYEXEC_NB_SKY_POLL="0.2",
                  PYTHONPATH=os.pathsep.join(filter(None, [{str(REPO / "tests")!r}, os.environ.get("PYTHONPATH")])))
%load_ext skyexec_nb"""
LAUNCH = """\
%%skylaunch --backend skypilot --name left-up --out job
echo "training"; echo "done\""""
WAIT = "job.wait(240); print('ended', job.status.value)"
JOBS = "%skyjobs"
CELLS = [SETUP, LAUNCH, WAIT, JOBS]
TEXT = ".skx-idle-name, .skx-idle-for, .skx-idle-cost, .skx-idle-autostop, .skx-jobs-name"


def test_idle_cluster_is_listed_warned_and_torn_down_after_one_confirmation(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    notebook.open(notebook.write("idle.ipynb", CELLS))
    notebook.collapse_side_panels()
    notebook.run_all()
    # 240 s: the supervisor imports SkyPilot (seconds, more on a loaded 2-core machine)
    expect(notebook.cell_output(2)).to_contain_text("ended SUCCEEDED", timeout=300_000)
    expect(notebook.cell_output(1)).to_contain_text("has no autostop: it stays up and billed after the job")
    cluster = notebook.kernel_eval("job.cluster").strip("'")  # skx-<id>: the lab's other tests ran jobs too
    jobs = notebook.cell_output(3).locator(".skx-jobs").first
    idle = jobs.locator(".skx-idle")
    # each cell of a row is a grid item of its own (classes skx-idle-row and skx-idle-<column>)
    name = idle.locator(f".skx-idle-name.skx-idle-{cluster}")
    expect(name).to_be_visible(timeout=120_000)  # asked of SkyPilot off the kernel's thread
    expect(name).to_contain_text(cluster)
    expect(idle.locator(".skx-idle-autostop").first).to_contain_text("none")

    problems = []
    for theme_key, theme in THEMES.items():
        set_theme(page, theme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 1600})
            page.wait_for_timeout(400)  # JupyterLab re-lays out the notebook on resize
            problems += check_views(page, {"jobs": jobs}, f"{theme_key} {width}px", "idle", TEXT, split=False)
    assert not problems, "\n".join(problems)

    set_theme(page, THEMES["light"])
    down = idle.locator(f".skx-idle-{cluster} .skx-idle-down")
    down.click()  # the first click asks once more, in place
    expect(down).to_contain_text("Yes, tear down")
    # a user's deliberate second click: one within 0.5 s counts as a double click and is ignored
    # (views/actions.py DOUBLE_CLICK_SECONDS); the question stays open for 8 s
    page.wait_for_timeout(700)
    down.click()
    expect(idle.locator(".skx-idle-message")).to_contain_text(f"Cluster {cluster} torn down", timeout=120_000)
    notebook.wait_kernel("[c.name for c in __import__('skyexec_nb').idle_clusters()]", "[]", timeout=120)
