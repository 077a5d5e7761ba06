"""Spend limits as a user sees them (issue 19), in JupyterLab Light and Dark, 1,000 px and 700 px wide.

Real JupyterLab, real kernel, real headless Chromium (see conftest.py); jobs run on the local
backend. The lab's SkyPilot runtime dir holds the offline test catalog, so a local job whose
executor names an AWS instance is priced as a rehearsal of that instance ($32.77/hr for a
p4d.24xlarge). Shown and checked:

* the picker's "Time limit" and "Max cost ($)" fields, with an invalid time limit's one-line error
  at the field and Launch disabled;
* a launch panel stopped by its time limit (the reason in its error line, the Limits line);
* a launch panel of a rehearsal with a cost limit: the 80 % warning, then the stop;
* a running job's "+1h" button, clicked: its Limits line says the new time limit;
* the jobs table's budget line (a daily budget is set).

For every theme x width: nothing wider than its container, no label cut off, enough contrast.
Screenshots go to test-artifacts/spend_<view>_<theme>_<width>.png.
"""
from __future__ import annotations

import pytest

from test_browser_glance import THEMES, WIDTHS, check_views, set_theme

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """\
%load_ext skyexec_nb
%config SkyLaunchMagics.default_backend = "local"
%config SkyLaunchMagics.budget = {"per_day": 20}"""
PICKER = """\
from skyexec_nb import ResourcePicker, SkyExecutor
picker = ResourcePicker(SkyExecutor(cpus=1), backend="local", command="python train.py")
picker.limits.fields["timeout"].value = "-2h"   # invalid: the error shows at the field
picker.limits.fields["max_cost"].value = "50"
picker"""
TIMED = """\
%%skylaunch --name timed --timeout 3s --out timed
echo "started"; sleep 120"""
COSTLY = """\
%%skylaunch --name rehearsal --cloud aws --instance-type p4d.24xlarge --max-cost 0.05 --out costly
echo "started"; sleep 120"""
LONG = """\
%%skylaunch --name long --timeout 1h --out long
echo "started"; sleep 600"""
WAIT = "timed.wait(120); costly.wait(120); print('ready', timed.status.value, costly.status.value)"
JOBS = "%skyjobs"
CELLS = [SETUP, PICKER, TIMED, COSTLY, LONG, WAIT, JOBS]
VIEWS = {"picker": (1, ".skx-picker"), "timed": (2, ".skx-launch"), "costly": (3, ".skx-launch"),
         "long": (4, ".skx-launch"), "jobs": (6, ".skx-jobs")}
TEXT = ".skx-form-label, .skx-field-error, .skx-limits, .skx-limit-warning, .skx-budget, .skx-jobs-name"


def test_limits_budget_and_stops_in_both_themes_and_widths(notebook) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    notebook.open(notebook.write("spend.ipynb", CELLS))
    notebook.collapse_side_panels()
    notebook.run_all()
    # both jobs stop on their limits; 120 s bounds: a loaded 2-core machine starts supervisors slowly
    expect(notebook.cell_output(5)).to_contain_text("ready CANCELLED CANCELLED", timeout=150_000)
    roots = {name: notebook.cell_output(cell).locator(css).first for name, (cell, css) in VIEWS.items()}

    picker = roots["picker"]
    expect(picker.locator(".skx-field-timeout")).to_be_visible()
    expect(picker).to_contain_text("Invalid timeout: a duration like 90m, 2h or 1h30m")
    expect(picker.locator(".skx-launch-button")).to_be_disabled()
    timed, costly = roots["timed"], roots["costly"]
    expect(timed).to_contain_text("time limit 3s reached", timeout=30_000)
    expect(timed.locator(".skx-limits")).to_contain_text("time limit 3s")
    expect(costly).to_contain_text("cost limit $0.05 reached", timeout=30_000)
    expect(costly.locator(".skx-limit-warning")).to_contain_text("80% of the $0.05 cost limit used")
    expect(roots["jobs"].locator(".skx-budget")).to_contain_text("spent of $20.00")
    long = roots["long"]
    expect(long.locator(".skx-limits")).to_contain_text("time limit 1h (", timeout=60_000)
    long.locator("button.skx-more-time-button").click()  # one more hour, as a user gives it
    expect(long.locator(".skx-limits")).to_contain_text("time limit 2h (", timeout=30_000)
    assert notebook.kernel_eval("long.limits.timeout") == "7200.0"

    problems = []
    for theme_key, theme in THEMES.items():
        set_theme(page, theme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 2600})
            page.wait_for_timeout(400)  # JupyterLab re-lays out the notebook on resize
            problems += check_views(page, roots, f"{theme_key} {width}px", "spend", TEXT, split=False)
    notebook.kernel_eval("long.cancel()")  # nothing left running in the shared lab
    assert not problems, "\n".join(problems)
