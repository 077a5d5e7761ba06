"""Training curves in a real browser: a running job's chart grows, metrics can be toggled, and a
sweep is compared by its curves and a sortable table; screenshots at 1,000 and 700 px in
JupyterLab Light and Dark (test-artifacts/metrics_*.png). Everything asserted is read from the page."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '%load_ext skyexec_nb\n%config SkyLaunchMagics.default_backend = "local"'

#: A decreasing loss and a rising accuracy, one line every 50 ms until the test creates the gate file.
LIVE_CELL = r"""%%skylaunch --name curves --out live
i=0
while [ ! -e GATE ] && [ $i -lt 3000 ]; do
  i=$((i + 1))
  python3 -c "import math, random; i=$i; print(f'step {i} loss={2*math.exp(-i/60)+0.1+random.random()*0.05:.4f} acc={1-math.exp(-i/80):.4f}')"
  sleep 0.05
done"""

SWEEP_CELL = r"""%%skylaunch --sweep LR=0.3,0.1,0.03 --sweep BS=16,64 --name cmp --out sw --metrics loss
python3 - <<'PY'
import math, os
lr, bs = float(os.environ["LR"]), int(os.environ["BS"])
for step in range(1, 61):
    print(f"step {step} loss={1.5 * math.exp(-step * lr / 4) + 16 / bs / 10 + 0.05:.4f}")
PY"""

CELLS = [SETUP, LIVE_CELL, SWEEP_CELL]
LIVE, SWEEP = 1, 2

POINTS = "(chart) => [...chart.querySelectorAll('.skx-mc-line')].map(l => Number(l.dataset.points))"


def _set_theme(page, theme: str) -> None:
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    light = "true" if theme == "JupyterLab Light" else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000)
    time.sleep(0.5)


def _screenshots(page, panel, label: str) -> None:
    for theme, short in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        _set_theme(page, theme)
        for width in (1000, 700):
            page.set_viewport_size({"width": width, "height": 1100})
            time.sleep(0.6)  # layout and the chart's redraw (ResizeObserver)
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(ARTIFACTS / f"metrics_{label}_{width}_{short}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    _set_theme(page, "JupyterLab Light")


def test_a_running_jobs_chart_grows_and_a_sweep_compares_by_curves(notebook, tmp_path) -> None:
    from playwright.sync_api import expect

    page = notebook.page
    gate = tmp_path / "gate"
    name = notebook.write("browser_metrics.ipynb", [c.replace("GATE", str(gate)) for c in CELLS])
    notebook.open(name)
    notebook.run_all()

    live = notebook.cell_output(LIVE).locator(".skx-launch")
    chart = live.locator(".skx-mc")
    expect(chart.locator(".skx-mc-line").first).to_be_visible(timeout=60_000)
    expect(chart.locator(".skx-mc-title")).to_have_count(2)  # loss and acc, one chart each
    expect(chart.locator("select.skx-mc-x")).to_have_value("step")
    first = chart.evaluate(POINTS)
    # It grows while the job runs (points arrive a few times a second).
    page.wait_for_function("(n) => { const l = document.querySelectorAll('.skx-launch .skx-mc-line');"
                           " return l.length && Number(l[0].dataset.points) >= n; }", arg=first[0] + 20,
                           timeout=60_000)
    # Hide acc with its toggle: one chart left; show it again.
    toggle = chart.locator(".skx-mc-toggle", has_text="acc")
    toggle.click()
    expect(chart.locator(".skx-mc-title")).to_have_count(1)
    toggle.click()
    expect(chart.locator(".skx-mc-title")).to_have_count(2)
    page.wait_for_function("() => Number(document.querySelector('.skx-launch .skx-mc-line').dataset.points) >= 60",
                           timeout=60_000)
    _screenshots(page, live, "launch_panel")
    gate.write_text("done")
    expect(live.locator(".skx-status")).to_contain_text("SUCCEEDED", timeout=60_000)

    sweep = notebook.cell_output(SWEEP).locator(".skx-sweep")
    table = sweep.locator(".skx-mc-table")
    expect(table.locator("tbody tr")).to_have_count(6, timeout=90_000)
    expect(sweep.locator(".skx-mc-line")).to_have_count(6, timeout=90_000)
    page.wait_for_function("() => [...document.querySelectorAll('.skx-sweep .skx-mc-line')]"
                           ".every(l => Number(l.dataset.points) === 60)", timeout=90_000)
    colours = sweep.evaluate("(s) => [...new Set([...s.querySelectorAll('.skx-mc-line')].map(l => l.getAttribute('stroke')))]")
    assert len(colours) == 3  # coloured by LR: three values, three colours
    # Sorted by best loss (lower is better) at first; a click on LR sorts by it.
    best = table.evaluate("(t) => [...t.querySelectorAll('tbody tr')].map(r => Number(r.lastChild.textContent))")
    assert best == sorted(best)
    table.locator("th", has_text="LR").click()
    lrs = table.evaluate("(t) => [...t.querySelectorAll('tbody tr')].map(r => Number(r.firstChild.textContent))")
    assert lrs == sorted(lrs)
    sweep.locator("select.skx-mc-colour").select_option("BS")
    page.wait_for_function("() => new Set([...document.querySelectorAll('.skx-sweep .skx-mc-line')]"
                           ".map(l => l.getAttribute('stroke'))).size === 2", timeout=30_000)
    sweep.locator("select.skx-mc-colour").select_option("LR")
    _screenshots(page, sweep, "sweep")
