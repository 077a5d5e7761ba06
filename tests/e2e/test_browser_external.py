"""A user in JupyterLab lists a team's SkyPilot work (``%skyjobs --all``) and watches a job launched
elsewhere: the external table's rows, then Watch opens a live launch panel following its log.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py); the kernel talks to the SDK
stand-in holding a team's clusters, jobs and managed jobs (``tests/sky_standin/external.py``).
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP_CELL = f"""\
import os, sys, tempfile
sys.path.insert(0, {str(REPO / "tests")!r})
os.environ.update(SKYEXEC_NB_SKY_SDK="sky_standin", SKY_STANDIN_DIR=tempfile.mkdtemp(prefix="standin-"),
                  SKY_STANDIN_STEP="0.5", SKYEXEC_NB_SKY_POLL="0.2",
                  PYTHONPATH=os.pathsep.join(filter(None, [{str(REPO / "tests")!r}, os.environ.get("PYTHONPATH")])))
from sky_standin import external
team = external.seed_team()
external.add_cluster("mine-2", [external.job(1, "my-train", external.running(4, tag="mine"), user=external.ME,
                                             age=0.0)], user=external.ME)
%load_ext skyexec_nb"""


def test_external_rows_and_watch_opens_a_live_panel(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    name = notebook.write("browser_external.ipynb", [SETUP_CELL, "%skyjobs --all"])
    notebook.open(name)
    notebook.run_all()

    table = page.locator(".skx-external")
    expect(table).to_be_visible()
    # The listing arrives in the background (the stand-in imports SkyPilot first: seconds).
    status = table.locator(".skx-external-status")
    expect(status).to_contain_text("6 clusters, 13 jobs on clusters, 16 managed jobs", timeout=120_000)
    expect(status).to_contain_text("logged in as standin")
    rows = table.locator(".skx-external-row")
    expect(rows).to_have_count(25)
    expect(rows.filter(has_text="bob-forever").first).to_contain_text("launched elsewhere")
    expect(rows.filter(has_text="bob-forever").first).to_contain_text("RUNNING")

    table.locator(".skx-external-filter input").fill("my-train")
    mine = rows.filter(has_text="my-train")
    expect(rows).to_have_count(1)
    expect(mine).to_contain_text("standin (you)")
    mine.locator(".skx-watch-button").click()

    panel = table.locator(".skx-external-detail .skx-launch")
    expect(panel).to_be_visible(timeout=60_000)
    expect(panel).to_contain_text("my-train")
    expect(panel).to_contain_text("attached")
    # The supervisor follows SkyPilot's log into the job's run.log; the panel shows it live.
    expect(panel.locator(".skx-status")).to_contain_text("RUNNING", timeout=120_000)
    expect(panel).to_contain_text("mine line 4", timeout=180_000)
    expect(mine).to_contain_text("this notebook: job")

    job_id = notebook.kernel_eval("int(table_job := __import__('skyexec_nb').jobs()[-1].id)")
    notebook.kernel_eval(f"__import__('skyexec_nb').get_job({job_id}).cancel()")  # leave no follower behind
    notebook.wait_kernel(f"str(__import__('skyexec_nb').get_job({job_id}).wait(180))", "'CANCELLED'", timeout=240)
